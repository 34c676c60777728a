// The demo page in headless Chromium against a real `sluice serve`: each scenario runs for a
// few seconds, and what the page shows is checked against the server's own counters
// (/metrics) and against the promise — RSocket keeps in flight within the prefetch window
// with bounded server queues; raw WebSocket lets in flight grow; with ten consumers each
// RSocket consumer is delivered at its own speed. Screenshots go to demo/test/out/
// (gitignored); UPDATE_SCREENSHOT=1 also refreshes demo/screenshot.png for the README.
//
//   npm run test:demo        (node --test demo/test/)
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const out = join(root, 'demo/test/out');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let server; // child process
let base; // http://127.0.0.1:PORT
let context;
let page;
let profile;
const errors = [];
const figures = {};

before(async () => {
  mkdirSync(out, { recursive: true });
  const bin = join(out, 'sluice');
  execFileSync('go', ['build', '-o', bin, './cmd/sluice'], { cwd: root, stdio: 'inherit' });
  server = spawn(bin, ['serve', '--addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  base = await new Promise((res, rej) => {
    let buf = '';
    const timer = setTimeout(() => rej(new Error('no listening line within 10 s')), 10_000);
    server.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/listening ws:\/\/([\d.]+:\d+)\/rsocket/);
      if (m) { clearTimeout(timer); res(`http://${m[1]}`); }
    });
    server.on('exit', (c) => rej(new Error(`sluice serve exited with ${c}`)));
  });
  profile = mkdtempSync(join(tmpdir(), 'sluice-demo-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] ?? await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.sluiceDemo?.snapshots > 2, null, { timeout: 10_000 });
});

after(async () => {
  await context?.close();
  if (server && server.exitCode === null) {
    process.kill(server.pid, 'SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (Object.keys(figures).length) console.log('# figures', JSON.stringify(figures));
});

// What the page shows: the panels' totals and every row's numbers (data attributes).
function readPage() {
  return page.evaluate(() => {
    const num = (v) => (v === '' || v == null ? null : Number(v));
    const panel = (id) => {
      const el = document.getElementById(id);
      return {
        inflight: num(el.dataset.inflight),
        queued: num(el.dataset.queued),
        rows: [...el.querySelectorAll('tbody tr.own')].map((tr) => Object.fromEntries(
          ['speed', 'produced', 'delivered', 'consumed', 'inflight', 'rate', 'age', 'queued', 'credit', 'stream']
            .map((k) => [k, num(tr.dataset[k])]).concat([['name', tr.dataset.name]]))),
      };
    };
    return { raw: panel('raw'), rs: panel('rs'), snapshots: window.sluiceDemo.snapshots, scenario: window.sluiceDemo.scenario };
  });
}

async function metrics() {
  const text = await (await fetch(`${base}/metrics`)).text();
  const sent = new Map();
  for (const m of text.matchAll(/^sluice_stream_elements_sent\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (labels.route === 'demo.feed') sent.set(`${labels.name}#${labels.stream}`, Number(m[2]));
  }
  return { sent, text };
}

// Runs a scenario for `ms`, sampling the page every 500 ms once it has its new rows.
async function runScenario(name, ms) {
  await page.click(`[data-scenario="${name}"]`);
  await page.waitForFunction((n) => {
    const rows = [...document.querySelectorAll('#rs tbody tr.own, #raw tbody tr.own')];
    return window.sluiceDemo.scenario === n && rows.length > 0 && rows.every((r) => r.dataset.produced !== '');
  }, name, { timeout: 10_000 });
  const samples = [];
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    await sleep(500);
    samples.push(await readPage());
  }
  await page.screenshot({ path: join(out, `${name}.png`) });
  return samples;
}

// The page's produced (from the stats feed) against /metrics, read right after: the
// counter can only have moved on by what was granted since.
async function checkAgainstMetrics(slack) {
  const p = await readPage();
  const { sent } = await metrics();
  let checked = 0;
  for (const r of p.rs.rows) {
    // Stream ids are per connection; the page's rows carry the connection's name.
    const m = [...sent.entries()].filter(([k]) => k.startsWith(r.name + '#')).map(([, v]) => v);
    if (!m.length) continue;
    const best = m.reduce((a, b) => (Math.abs(b - r.produced) < Math.abs(a - r.produced) ? b : a));
    assert.ok(best >= r.produced && best <= r.produced + slack,
      `${r.name}: page shows produced ${r.produced}, /metrics says ${best} (slack ${slack})`);
    checked++;
  }
  assert.ok(checked > 0, 'no RSocket row of the page found in /metrics');
}

test('slow consumer: RSocket in flight ≤ prefetch with bounded queues; raw in flight grows', async () => {
  const s = await runScenario('slow', 5_000);
  const prefetch = 16;
  for (const x of s) {
    for (const r of x.rs.rows) assert.ok(r.inflight <= prefetch, `RSocket in flight ${r.inflight} > prefetch ${prefetch}`);
    assert.ok(x.rs.queued <= prefetch * 1100, `RSocket server queued ${x.rs.queued} bytes`);
  }
  // The raw side runs ahead within the first second (until the queue's cap and the kernel's
  // buffers stop it), then stays there: the consumer at 20/s barely dents it.
  const first = s[0].raw.inflight;
  const last = s.at(-1).raw.inflight;
  const rawMax = Math.max(...s.map((x) => x.raw.inflight));
  assert.ok(rawMax > 50 * prefetch, `raw in flight only ${rawMax}`);
  assert.ok(last > 0.9 * rawMax, `raw in flight drained: max ${rawMax}, now ${last}`);
  const rawAges = s.map((x) => x.raw.rows[0].age).filter((v) => v != null);
  assert.ok(rawAges.at(-1) > rawAges[0] + 2000, `raw age did not grow: ${rawAges[0]} -> ${rawAges.at(-1)} ms`);
  const rsMax = Math.max(...s.flatMap((x) => x.rs.rows.map((r) => r.inflight)));
  const rsQueuedMax = Math.max(...s.map((x) => x.rs.queued));
  const rawQueuedMax = Math.max(...s.map((x) => x.raw.queued));
  figures.slow = { rawInflightFirst: first, rawInflightLast: last, rawAgeFirstMs: rawAges[0], rawAgeLastMs: rawAges.at(-1),
    rsAgeLastMs: s.at(-1).rs.rows[0].age, rawQueuedMax, rsInflightMax: rsMax, rsQueuedMax,
    rsRate: s.at(-1).rs.rows[0].rate, rawRate: s.at(-1).raw.rows[0].rate };
  await checkAgainstMetrics(prefetch + 20);
});

test('slow network: the limiter sets the pace; RSocket stays within the window, raw queues', async () => {
  const s = await runScenario('network', 5_000);
  for (const x of s) {
    for (const r of x.rs.rows) assert.ok(r.inflight <= 16, `RSocket in flight ${r.inflight}`);
    // Bytes count as queued until the write that carries them returns, and through a slow
    // link the consumer is granting (and the producer making) the next elements while the
    // last batch is still being written: at most about two windows.
    assert.ok(x.rs.queued <= 2 * 16 * 1100, `RSocket server queued ${x.rs.queued}`);
  }
  const last = s.at(-1);
  const rsRate = last.rs.rows[0].rate;
  // 64 KiB/s of 1 KiB elements (plus framing): about 60/s, far below the consumer's 500/s.
  assert.ok(rsRate > 25 && rsRate < 75, `RSocket delivered ${rsRate}/s through a 64 KiB/s link`);
  assert.ok(last.raw.queued > 1 << 20, `raw server queue only ${last.raw.queued} bytes`);
  figures.network = { rsRate, rsQueuedMax: Math.max(...s.map((x) => x.rs.queued)), rsInflightMax: Math.max(...s.flatMap((x) => x.rs.rows.map((r) => r.inflight))),
    rawQueued: last.raw.queued, rawInflight: last.raw.inflight, rawAgeMs: last.raw.rows[0].age, rsAgeMs: last.rs.rows[0].age };
  await checkAgainstMetrics(16 + 40);
});

test('ten consumers of mixed speeds: each RSocket consumer gets its own speed', async () => {
  // 9 s: the raw side's start (ten 16 MiB queues filled at once) costs this 2-core machine a
  // second or two of CPU; the page's 4 s rate window must have left it behind by the end.
  const s = await runScenario('fair', 9_000);
  for (const x of s) for (const r of x.rs.rows) assert.ok(r.inflight <= 8, `RSocket in flight ${r.inflight} > 8`);
  // Delivered per second over the last 3 s, from the page's delivered counters, and the
  // page's own rate column (4 s window) at the end.
  const a = s.at(-7).rs.rows, b = s.at(-1).rs.rows;
  assert.equal(b.length, 10);
  const rates = b.map((r, i) => (r.delivered - a[i].delivered) / 3);
  for (const [i, r] of b.entries()) {
    assert.ok(Math.abs(rates[i] / r.speed - 1) < 0.25, `consumer at ${r.speed}/s was delivered ${rates[i].toFixed(1)}/s over 3 s`);
    assert.ok(Math.abs(r.rate / r.speed - 1) < 0.35, `consumer at ${r.speed}/s shows ${r.rate?.toFixed(1)}/s`);
  }
  figures.fair = { speeds: b.map((r) => r.speed), rsRates: rates.map((r) => Math.round(r)),
    rawRates: s.at(-1).raw.rows.map((r) => Math.round(r.rate)), rawQueued: s.at(-1).raw.queued, rsQueued: s.at(-1).rs.queued,
    rsInflightMax: Math.max(...s.flatMap((x) => x.rs.rows.map((r) => r.inflight))) };
  await checkAgainstMetrics(8 + 60);
});

test('fast and slow stream on one connection: no head-of-line blocking with RSocket', async () => {
  const s = await runScenario('hol', 5_000);
  const last = s.at(-1);
  const fast = (p) => p.rows.find((r) => r.stream === 0);
  const slow = (p) => p.rows.find((r) => r.stream === 1);
  assert.ok(fast(last.rs).rate > 0.7 * fast(last.rs).speed, `RSocket fast stream at ${fast(last.rs).rate}/s`);
  assert.ok(fast(last.raw).rate < 0.5 * fast(last.raw).speed, `raw fast stream not held back: ${fast(last.raw).rate}/s`);
  figures.hol = { rsFast: fast(last.rs).rate, rsSlow: slow(last.rs).rate, rawFast: fast(last.raw).rate, rawSlow: slow(last.raw).rate };
});

test('frame log shows REQUEST_N once started; phone size and dark mode render', async () => {
  await page.click('[data-scenario="slow"]');
  await page.waitForFunction(() => document.querySelector('#frames-conn').options.length > 0);
  assert.equal(await page.textContent('#frames-state'), 'paused');
  await page.focus('#frames-toggle');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /REQUEST_N/.test(document.querySelector('#frames').textContent), null, { timeout: 5_000 });
  await page.screenshot({ path: join(out, 'framelog.png'), fullPage: true });
  await page.click('#frames-toggle');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await sleep(1_000);
  await page.screenshot({ path: join(out, 'phone-dark.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await sleep(4_000);
  await page.screenshot({ path: join(out, 'readme.png') });
  if (process.env.UPDATE_SCREENSHOT) copyFileSync(join(out, 'readme.png'), join(root, 'demo/screenshot.png'));
});

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
