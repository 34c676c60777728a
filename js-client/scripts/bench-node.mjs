// npm run bench:node — elements/s in Node (ws) for 64 B and 1 KiB streams from the Go server:
//   sluice        this client (dist/sluice.js) over `ws`, blob route, prefetch 256
//   rsocket-js    rsocket-js 1.0's client over `ws`, blob route, request(256) then request(128)
//                 each time 128 have been consumed (our client's top-up mark)
//   raw /raw      a `ws` socket counting messages from the server's raw push feed
//                 (/raw?size=SIZE: one message, and one write system call, per element)
//   raw blob ab   a `ws` socket that sends SETUP + REQUEST_STREAM(unbounded) on the blob route by
//                 hand and only counts messages, binaryType 'arraybuffer' as both clients set it:
//                 the ceiling for a WebSocket-API client on the same feed
//   raw blob nb   the same with ws's default binaryType 'nodebuffer' (no copy per message)
// run alternately (the order rotates every round), median of BENCH_ROUNDS. Then Chromium's own
// ceiling: a page that only counts onmessage from /raw, launched as bench-browser.mjs does.
// Not part of npm test.
//   BENCH_N (elements per run, default 200000), BENCH_WINDOW (256), BENCH_ROUNDS (3),
//   BENCH_BROWSER_N (100000; 0 skips Chromium), SLUICE_BIN (a prebuilt sluice), CHROMIUM
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RSocketConnector } from 'rsocket-core';
import { WebsocketClientTransport } from 'rsocket-websocket-client';
import { encodeCompositeMetadata, encodeRoute, WellKnownMimeType } from 'rsocket-composite-metadata';
import WebSocket from 'ws';
import { connect, encodeComposite, encodeFrame, encodeRoutes, FrameType, MAX_N, MIME_ROUTING } from '../dist/sluice.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.BENCH_N ?? 200_000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 256);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BROWSER_N = Number(process.env.BENCH_BROWSER_N ?? 100_000);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SIZES = [64, 1024];

// ---- the Go server: built into a temp dir, started, killed by PID ------------------------

async function startGoServer(allowOrigin) {
  let bin = process.env.SLUICE_BIN;
  let tmp;
  if (!bin) {
    tmp = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
    bin = join(tmp, 'sluice');
    execFileSync('go', ['build', '-o', bin, './cmd/sluice'], { cwd: resolve(root, '..'), stdio: 'inherit' });
  }
  const child = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--allow-origin', allowOrigin], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(child.pid, 'SIGTERM');
      const t = setTimeout(() => { if (child.exitCode === null) process.kill(child.pid, 'SIGKILL'); }, 5000);
      await exited;
      clearTimeout(t);
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const url = await new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no listening line in 30 s\n${stderr}`)), 30_000);
      createInterface({ input: child.stdout }).once('line', (line) => {
        clearTimeout(timer);
        const m = /^listening (ws:\/\/\S+)\/rsocket$/.exec(line.trim());
        if (m) res(m[1]); else rej(new Error(`unexpected first line from sluice serve: ${line}`));
      });
      child.once('exit', (code) => { clearTimeout(timer); rej(new Error(`sluice serve exited (${code})\n${stderr}`)); });
    });
    child.stdout.resume();
    return { base: url, pid: child.pid, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

// ---- the clients: each resolves with the number of elements it took ---------------------

async function sluiceClient(base, n, size) {
  const c = await connect(`${base}/rsocket`, { WebSocket });
  let count = 0;
  try {
    for await (const p of c.requestStream({ data: `${n} ${size}` }, { route: 'blob', prefetch: WINDOW })) {
      if (p.data.length === size) count++;
    }
  } finally { await c.close(); }
  return count;
}

async function rsocketJsClient(base, n, size) {
  const connector = new RSocketConnector({
    setup: { keepAlive: 20000, lifetime: 90000, dataMimeType: 'application/octet-stream', metadataMimeType: 'message/x.rsocket.composite-metadata.v0' },
    transport: new WebsocketClientTransport({ url: `${base}/rsocket`, wsCreator: (u) => new WebSocket(u) }),
  });
  const rsocket = await connector.connect();
  const metadata = encodeCompositeMetadata([[WellKnownMimeType.MESSAGE_RSOCKET_ROUTING, encodeRoute('blob')]]);
  const refill = Math.max(1, Math.ceil(WINDOW / 2));
  try {
    return await new Promise((res, rej) => {
      let count = 0;
      let consumed = 0;
      const sub = rsocket.requestStream({ data: Buffer.from(`${n} ${size}`), metadata }, WINDOW, {
        onNext(p) {
          if (p.data?.length === size) count++;
          if (++consumed >= refill) { consumed = 0; sub.request(refill); }
        },
        onComplete() { res(count); },
        onError(e) { rej(e); },
        onExtension() {},
      });
    });
  } finally {
    rsocket.close();
  }
}

function rawFeed(base, n, size) {
  return new Promise((res, rej) => {
    const ws = new WebSocket(`${base}/raw?size=${size}&name=bench-node`);
    let count = 0;
    ws.on('message', () => { if (++count === n) { ws.terminate(); res(count); } });
    ws.on('error', rej);
  });
}

function rawBlob(base, n, size, binaryType) {
  return new Promise((res, rej) => {
    const ws = new WebSocket(`${base}/rsocket`);
    ws.binaryType = binaryType;
    let count = 0;
    ws.on('open', () => {
      ws.send(encodeFrame({ streamId: 0, type: FrameType.SETUP, flags: 0, metadata: null, data: new Uint8Array(), keepalive: 20000, lifetime: 90000, metadataMime: 'message/x.rsocket.composite-metadata.v0', dataMime: 'application/octet-stream' }));
      ws.send(encodeFrame({ streamId: 1, type: FrameType.REQUEST_STREAM, flags: 0, n: MAX_N, metadata: encodeComposite([{ mime: MIME_ROUTING, content: encodeRoutes('blob') }]), data: new TextEncoder().encode(`${n} ${size}`) }));
    });
    ws.on('message', () => { if (++count === n + 1) { ws.terminate(); res(n); } }); // n elements + COMPLETE
    ws.on('error', rej);
  });
}

const CLIENTS = [
  ['sluice', sluiceClient],
  ['rsocket-js', rsocketJsClient],
  ['raw /raw', rawFeed],
  ['raw blob ab', (b, n, size) => rawBlob(b, n, size, 'arraybuffer')],
  ['raw blob nb', (b, n, size) => rawBlob(b, n, size, 'nodebuffer')],
];

async function timed(fn, n) {
  const t0 = performance.now();
  const got = await fn();
  const ms = performance.now() - t0;
  if (got !== n) throw new Error(`took ${got} of ${n} elements`);
  return Math.round((n / ms) * 1000);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (v) => v.toLocaleString('en-US');

// ---- Chromium: a page that only counts onmessage ----------------------------------------

const PAGE = `<!doctype html><meta charset="utf-8"><title>onmessage counter</title><link rel="icon" href="data:,">
<script>
window.count = (url, n) => new Promise((resolve, reject) => {
  const t0 = performance.now();
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  let c = 0;
  ws.onmessage = () => { if (++c === n) { const ms = performance.now() - t0; ws.close(); resolve(ms); } };
  ws.onerror = () => reject(new Error('websocket failed'));
});
window.ready = true;
</script>`;

async function chromiumCeiling(base, origin) {
  if (!existsSync(CHROMIUM)) { console.log(`\n${CHROMIUM} is missing: Chromium skipped`); return; }
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] ?? await context.newPage();
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.ready === true);
    console.log(`\nChromium ${context.browser()?.version() ?? ''}: a page that only counts onmessage from /raw, n=${BROWSER_N}, median of ${ROUNDS}`);
    for (const size of SIZES) {
      const runs = [];
      for (let r = 0; r < ROUNDS; r++) {
        const ms = await page.evaluate(([u, n]) => window.count(u, n), [`${base}/raw?size=${size}&name=bench-chromium`, BROWSER_N]);
        runs.push(Math.round((BROWSER_N / ms) * 1000));
      }
      console.log(`${String(size).padStart(5)} B  raw onmessage /raw   ${fmt(median(runs)).padStart(10)} el/s   runs: ${runs.map(fmt).join(', ')}`);
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// ---- main ----------------------------------------------------------------------------------

const web = createServer((req, res) => {
  if (req.url !== '/') { res.writeHead(404).end(); return; }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE);
});
await new Promise((r) => web.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${web.address().port}`;
const srv = await startGoServer(origin);
const onSignal = async () => { await srv.stop(); process.exit(130); };
process.once('SIGINT', onSignal);
try {
  console.log(`Node ${process.version}, ws ${(await import('ws/package.json', { with: { type: 'json' } })).default.version}; server ${srv.base} (pid ${srv.pid}); n=${N} prefetch=${WINDOW} rounds=${ROUNDS}`);
  for (const size of SIZES) { // warm-up: JIT, server goroutines, socket buffers
    for (const [, fn] of CLIENTS) await timed(() => fn(srv.base, Math.min(N, 20_000), size), Math.min(N, 20_000));
  }
  const res = {};
  for (const size of SIZES) {
    res[size] = Object.fromEntries(CLIENTS.map(([name]) => [name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < CLIENTS.length; i++) {
        const [name, fn] = CLIENTS[(i + r) % CLIENTS.length]; // the order rotates every round
        res[size][name].push(await timed(() => fn(srv.base, N, size), N));
      }
    }
  }
  console.log(`\n  size  client         median el/s   x rsocket-js   % of raw blob ab   runs`);
  for (const size of SIZES) {
    const m = Object.fromEntries(Object.entries(res[size]).map(([k, v]) => [k, median(v)]));
    for (const [name] of CLIENTS) {
      const v = m[name];
      console.log(`${String(size).padStart(4)} B  ${name.padEnd(12)} ${fmt(v).padStart(12)}   ${(v / m['rsocket-js']).toFixed(2).padStart(11)}x   ${(v / m['raw blob ab'] * 100).toFixed(0).padStart(15)}%   ${res[size][name].map(fmt).join(', ')}`);
    }
  }
  if (BROWSER_N > 0) await chromiumCeiling(srv.base, origin);
} finally {
  process.off('SIGINT', onSignal);
  await srv.stop();
  await new Promise((r) => { web.closeAllConnections(); web.close(() => r()); });
}
