// The sluice demo page: the same consumers against the raw WebSocket feed (/raw) and the
// RSocket feed (route demo.feed), side by side, drawn from the server's own counters
// (route demo.stats) and from what this page consumes. No dependencies but the sluice
// browser client the server serves at /js/sluice.js.
import { connect } from '/js/sluice.js';

const $ = (s, el = document) => el.querySelector(s);
const $$ = (s, el = document) => [...el.querySelectorAll(s)];
const pageId = Math.random().toString(36).slice(2, 6);
const wsBase = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host;
const HISTORY_MS = 60_000;
const RATE_WINDOW_MS = 4_000;
const COLORS = ['#3b82f6', '#f97316', '#22a35a', '#a855f7', '#e11d48', '#0ea5b7', '#ca8a04', '#6366f1', '#84cc16', '#94a3b8'];

const SCENARIOS = {
  slow: {
    cfg: { speed: 20, size: 1024, prefetch: 16, consumers: 1, bw: 0, mixed: false, hol: false },
    desc: 'One consumer takes 20 elements a second. Raw: the server keeps writing until its queue and the kernel\'s ' +
      'buffers are full — thousands of elements, megabytes, and every element is older when it is finally used. ' +
      'RSocket: in flight never exceeds the prefetch window (16), and data is fresh.',
  },
  network: {
    cfg: { speed: 500, size: 1024, prefetch: 16, consumers: 1, bw: 65536, mixed: false, hol: false },
    desc: 'The consumer could take 500/s but each connection\'s network gives 64 KiB/s (a limiter in the server). ' +
      'Raw: the queue in front of the slow link fills and the data waiting in it grows older by a second every second. ' +
      'RSocket: credit crosses the network, so the producer makes only what the link delivers.',
  },
  fair: {
    cfg: { speed: 200, size: 1024, prefetch: 8, consumers: 10, bw: 0, mixed: true, hol: false },
    desc: 'Ten consumers at 20, 40 … 200 elements/s, each on its own connection. RSocket: each gets exactly its own ' +
      'pace (the delivered lines sit on their dashed targets) with at most 8 in flight. Raw: same rates, but the server ' +
      'holds a queue per connection — watch server memory.',
  },
  hol: {
    cfg: { speed: 200, size: 1024, prefetch: 16, consumers: 1, bw: 0, mixed: false, hol: true },
    desc: 'Two streams share one connection: one consumed at 200/s, one at 5/s. Both pages keep at most 16 elements ' +
      'per stream. Raw: messages arrive in one order on one socket, so once the slow stream\'s 16 are waiting the ' +
      'fast one is stuck behind them (head-of-line blocking). RSocket: each stream has its own credit; the fast one keeps its pace.',
  },
};

// ---------- small helpers ----------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function fmtInt(n) { return n == null || Number.isNaN(n) ? '–' : Math.round(n).toLocaleString('en-US'); }
function fmtBytes(n) {
  if (n == null || Number.isNaN(n)) return '–';
  if (n >= 1 << 30) return (n / (1 << 30)).toFixed(2) + ' GiB';
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + ' MiB';
  if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + ' KiB';
  return Math.round(n) + ' B';
}
function fmtMs(ms) {
  if (ms == null || Number.isNaN(ms)) return '–';
  if (ms >= 60_000) return (ms / 60_000).toFixed(1) + ' min';
  if (ms >= 1000) return (ms / 1000).toFixed(ms >= 10_000 ? 0 : 1) + ' s';
  return Math.max(0, Math.round(ms)) + ' ms';
}
function fmtRate(r) { return r == null ? '–' : (r >= 100 ? Math.round(r) : r.toFixed(1)) + '/s'; }
function median(a) {
  if (!a.length) return null;
  const s = [...a].sort((x, y) => x - y);
  return s[s.length >> 1];
}
// The producer's clock, read from bytes 8–15 of an element (Unix ns, big-endian), in ms.
function madeAtMs(b) {
  if (b.byteLength < 16) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return (v.getUint32(8) * 4294967296 + v.getUint32(12)) / 1e6;
}
// Server clock minus ours, estimated from stats snapshots (the largest t - arrival seen).
let clockOffset = null;
const serverNow = () => Date.now() + (clockOffset ?? 0);

// ---------- consumers ----------
// A Row is one consumer: one stream on one connection, paced at `speed` elements/s.
class Row {
  constructor(panel, conn, index, label, speed, color) {
    Object.assign(this, { panel, conn, index, label, speed, color });
    this.produced = null; this.queued = null; this.credit = null; // from the server
    this.delivered = 0; this.consumed = 0;                           // measured here
    this.next = 0; this.ages = []; this.age = null;
    this.samples = []; // [t, delivered] for the rate
    this.hist = { inflight: [], rate: [], age: [] };
    this.buf = []; this.wakeData = null; this.wakeSpace = null; // raw, two streams
  }
  // Waits for this consumer's next turn: a token bucket of one element, with up to
  // 50 ms of catch-up so timer granularity does not cap fast consumers.
  async pace() {
    const now = performance.now();
    if (now < this.next) await sleep(this.next - now);
    this.next = Math.max(this.next, performance.now() - 50) + 1000 / this.speed;
  }
  consume(data) {
    this.consumed++;
    const made = madeAtMs(data);
    if (made != null && clockOffset != null) this.ages.push(serverNow() - made);
  }
  get inflight() { return this.produced == null ? null : Math.max(0, this.produced - this.consumed); }
}

let run = null; // the current scenario's connections
let gen = 0;

function rowsOf(cfg) {
  const conns = [];
  for (const panel of ['raw', 'rs']) {
    for (let i = 0; i < cfg.consumers; i++) {
      const conn = { panel, name: `${pageId}.${gen}/${panel}-${i + 1}`, rows: [] };
      if (cfg.hol) {
        const slow = Math.max(1, Math.round(cfg.speed / 40));
        conn.rows.push(new Row(panel, conn, 0, `#${i + 1} fast stream`, cfg.speed, COLORS[(2 * i) % 10]));
        conn.rows.push(new Row(panel, conn, 1, `#${i + 1} slow stream`, slow, COLORS[(2 * i + 1) % 10]));
      } else {
        const speed = cfg.mixed ? Math.max(1, Math.round(cfg.speed * (i + 1) / cfg.consumers)) : cfg.speed;
        conn.rows.push(new Row(panel, conn, 0, `#${i + 1}`, speed, COLORS[i % 10]));
      }
      conns.push(conn);
    }
  }
  return conns;
}

function start(cfg) {
  stop();
  gen++;
  const ac = new AbortController();
  run = { gen, cfg, ac, conns: rowsOf(cfg), started: performance.now() };
  const r = run;
  for (const conn of r.conns) {
    const p = conn.panel === 'rs' ? startRSocket(r, conn) : startRaw(r, conn);
    p.catch((e) => { if (!ac.signal.aborted) setStatus(`${conn.panel === 'rs' ? 'RSocket' : 'raw'} consumer failed: ${e?.message ?? e}`); });
  }
  updateFrameTargets(true);
}

function stop() {
  if (!run) return;
  run.ac.abort();
  for (const conn of run.conns) {
    try { conn.client?.close(); } catch { /* closing anyway */ }
    try { conn.wss?.close(); } catch { /* closing anyway */ }
    try { conn.ws?.close(); } catch { /* closing anyway */ }
  }
  run = null;
}

async function startRSocket(r, conn) {
  let url = `${wsBase}/rsocket?name=${encodeURIComponent(conn.name)}`;
  if (r.cfg.bw) url += `&bw=${r.cfg.bw}`;
  const client = await connect(url, { keepAlive: 10_000, lifetime: 120_000, signal: r.ac.signal });
  conn.client = client;
  if (r.ac.signal.aborted) { client.close(); return; }
  await Promise.all(conn.rows.map(async (row) => {
    const s = client.requestStream({ data: String(r.cfg.size) }, { route: 'demo.feed', prefetch: r.cfg.prefetch });
    row.stream = s;
    const it = s[Symbol.asyncIterator]();
    try {
      while (!r.ac.signal.aborted) {
        await row.pace();            // wait for our turn first, then take: credit follows consumption
        if (r.ac.signal.aborted) break;
        const x = await it.next();
        if (x.done) break;
        row.consume(x.value.data);
      }
    } catch (e) {
      if (!r.ac.signal.aborted) throw e;
    } finally {
      s.cancel();
    }
  }));
}

async function startRaw(r, conn) {
  let url = `${wsBase}/raw?size=${r.cfg.size}&name=${encodeURIComponent(conn.name)}`;
  if (r.cfg.bw) url += `&bw=${r.cfg.bw}`;
  if (r.cfg.hol) url += '&streams=2';
  const two = conn.rows.length === 2;
  const stopped = () => r.ac.signal.aborted;
  if (!globalThis.WebSocketStream) return startRawClassic(r, conn, url);
  const wss = new WebSocketStream(url);
  conn.wss = wss;
  wss.closed.catch(() => {});
  let reader;
  try {
    reader = (await wss.opened).readable.getReader();
  } catch (e) {
    if (stopped()) return;
    throw e;
  }
  if (stopped()) { wss.close(); return; }
  const read = async () => {
    const { value, done } = await reader.read();
    if (done) return null;
    return typeof value === 'string' ? new TextEncoder().encode(value) : new Uint8Array(value);
  };
  try {
    if (!two) { // read only as fast as we consume: the most a raw page can do to hold back
      const row = conn.rows[0];
      while (!stopped()) {
        await row.pace();
        if (stopped()) break;
        const b = await read();
        if (!b) break;
        row.delivered++;
        row.consume(b);
      }
      return;
    }
    // Two streams on one socket: the page keeps at most `prefetch` per stream, so a message
    // for a full stream blocks every message behind it.
    const loops = conn.rows.map(async (row) => {
      while (!stopped()) {
        await row.pace();
        while (!row.buf.length && !stopped()) await new Promise((res) => { row.wakeData = res; });
        if (stopped()) break;
        const b = row.buf.shift();
        row.wakeSpace?.(); row.wakeSpace = null;
        row.consume(b);
      }
    });
    while (!stopped()) {
      const b = await read();
      if (!b) break;
      const row = conn.rows[b[16] & 1];
      while (row.buf.length >= r.cfg.prefetch && !stopped()) await new Promise((res) => { row.wakeSpace = res; });
      row.buf.push(b);
      row.delivered++;
      row.wakeData?.(); row.wakeData = null;
    }
    for (const row of conn.rows) row.wakeData?.();
    await Promise.all(loops);
  } catch (e) {
    if (!stopped()) throw e;
  }
}

// Browsers without WebSocketStream: the classic socket delivers every message as it
// arrives, so the page's own queue is what grows (capped here at 100k messages).
function startRawClassic(r, conn, url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    conn.ws = ws;
    const two = conn.rows.length === 2;
    let total = 0;
    ws.onmessage = (ev) => {
      const b = new Uint8Array(ev.data);
      const row = conn.rows[two ? b[16] & 1 : 0];
      row.buf.push(b);
      row.delivered++;
      row.wakeData?.(); row.wakeData = null;
      if (++total > 100_000 && conn.rows.reduce((n, x) => n + x.buf.length, 0) > 100_000) {
        r.notice = 'raw panel (classic WebSocket): the page\'s own queue passed 100,000 messages, so the demo closed that socket';
        ws.close();
      }
    };
    ws.onerror = () => { if (!r.ac.signal.aborted) reject(new Error('raw WebSocket error')); };
    ws.onclose = () => { for (const row of conn.rows) row.wakeData?.(); resolve(); };
    for (const row of conn.rows) {
      (async () => {
        while (!r.ac.signal.aborted) {
          await row.pace();
          while (!row.buf.length && !r.ac.signal.aborted && ws.readyState <= 1) await new Promise((res) => { row.wakeData = res; });
          if (!row.buf.length) break;
          row.consume(row.buf.shift());
        }
      })();
    }
  });
}

// ---------- the server's view ----------
const others = new Map(); // key -> Row-like for connections that are not this page's
const memHist = [];
let snapshots = 0;
let lastSnap = null;

function onSnapshot(snap) {
  const now = performance.now();
  const recv = Date.now();
  const off = snap.t - recv;
  if (clockOffset == null || off > clockOffset) clockOffset = off;
  else clockOffset += (off - clockOffset) * 0.01; // follow slow drift
  snapshots++;
  lastSnap = snap;
  $('#rss').textContent = fmtBytes(snap.rss);
  $('#heap').textContent = fmtBytes(snap.heap);
  $$('.rawcap').forEach((el) => { el.textContent = fmtBytes(snap.rawCap); });
  memHist.push([now, snap.rss]);
  trim(memHist, now);

  const byName = new Map(snap.conns.map((c) => [c.name, c]));
  const own = run ? run.conns : [];
  const ownNames = new Set(own.map((c) => c.name));
  for (const conn of own) {
    const sc = byName.get(conn.name);
    conn.id = sc?.id;
    conn.queued = sc ? sc.queued : null;
    for (const row of conn.rows) {
      let st = null;
      if (sc && conn.panel === 'rs') st = sc.streams.find((s) => s.id === row.stream?.id && s.route === 'demo.feed');
      if (sc && conn.panel === 'raw') st = sc.streams[row.index];
      if (st) {
        row.produced = st.produced;
        row.credit = conn.panel === 'rs' ? st.credit : null;
        row.queued = conn.panel === 'rs' ? st.queued : sc.queued;
      }
      if (conn.panel === 'rs' && row.stream) {
        const ss = row.stream.stats?.() ?? conn.client?.stats().perStream.find((x) => x.id === row.stream.id);
        if (ss) row.delivered = ss.received;
      }
      sample(row, now);
    }
  }
  // Everyone else: Go clients, the CLI, other tabs (their control connections aside).
  const seen = new Set();
  for (const sc of snap.conns) {
    if (ownNames.has(sc.name) || sc.name.endsWith('/control') || sc.name.startsWith(pageId + '.')) continue;
    for (const st of sc.streams) {
      if (st.route === 'demo.stats' || st.route === 'demo.frames') continue;
      const key = `${sc.id}/${st.id}`;
      seen.add(key);
      let o = others.get(key);
      if (!o) {
        o = new Row(sc.kind === 'raw' ? 'raw' : 'rs', { name: sc.name, id: sc.id }, st.id,
          `${sc.name || sc.remote}${sc.streams.length > 1 ? ' · stream ' + st.id : ''}`, null, '#94a3b8');
        o.other = true;
        others.set(key, o);
      }
      o.conn.id = sc.id;
      o.produced = st.produced;
      o.delivered = st.sent; // what the server sent is all we know of it
      o.consumed = null;
      o.credit = sc.kind === 'raw' ? null : st.credit;
      o.queued = sc.kind === 'raw' ? sc.queued : st.queued;
      o.route = st.route;
      sample(o, now);
    }
  }
  for (const k of [...others.keys()]) if (!seen.has(k)) others.delete(k);
  render(now);
  updateFrameTargets(false);
}

function trim(h, now) {
  while (h.length && h[0][0] < now - HISTORY_MS) h.shift();
}

function sample(row, now) {
  row.samples.push([now, row.delivered]);
  while (row.samples.length > 2 && row.samples[1][0] <= now - RATE_WINDOW_MS) row.samples.shift();
  const [t0, d0] = row.samples[0];
  row.rate = now - t0 >= 1500 ? (row.delivered - d0) * 1000 / (now - t0) : null;
  if (row.ages.length) { row.age = median(row.ages); row.ages = []; }
  const inflight = row.other ? null : row.inflight;
  if (inflight != null) row.hist.inflight.push([now, inflight]);
  if (row.rate != null) row.hist.rate.push([now, row.rate]);
  if (row.age != null && !row.other) row.hist.age.push([now, row.age]);
  for (const h of Object.values(row.hist)) trim(h, now);
}

// ---------- rendering ----------
function render(now) {
  const all = run ? run.conns.flatMap((c) => c.rows) : [];
  const otherRows = [...others.values()];
  for (const panel of ['raw', 'rs']) {
    const el = $('#' + panel);
    const rows = all.filter((r) => r.panel === panel);
    const orows = otherRows.filter((r) => r.panel === panel);
    const inflight = rows.reduce((n, r) => n + (r.inflight ?? 0), 0);
    const queued = run ? run.conns.filter((c) => c.panel === panel).reduce((n, c) => n + (c.queued ?? 0), 0) : 0;
    const ages = rows.map((r) => r.age).filter((a) => a != null);
    const rate = rows.reduce((n, r) => n + (r.rate ?? 0), 0);
    const k = (name) => $(`[data-kpi="${name}"]`, el);
    k('inflight').textContent = fmtInt(inflight);
    k('inflightBytes').textContent = run ? '≈ ' + fmtBytes(inflight * run.cfg.size) : '';
    k('queued').textContent = fmtBytes(queued);
    k('age').textContent = ages.length ? fmtMs(Math.max(...ages)) : '–';
    k('rate').textContent = fmtRate(rate);
    el.dataset.inflight = inflight;
    el.dataset.queued = queued;

    const tb = $('tbody', el);
    tb.innerHTML = rows.concat(orows).map((r) => {
      const name = esc(r.label);
      const title = r.other ? `${r.label} — another client on this server (route ${r.route}); server-side numbers only` : r.conn.name;
      const attrs = `data-name="${esc(r.conn.name)}" data-stream="${r.index}" data-speed="${r.speed ?? ''}" ` +
        `data-produced="${r.produced ?? ''}" data-delivered="${r.delivered ?? ''}" data-consumed="${r.consumed ?? ''}" ` +
        `data-inflight="${r.other ? '' : r.inflight ?? ''}" data-rate="${r.rate ?? ''}" data-age="${r.age ?? ''}" ` +
        `data-queued="${r.queued ?? ''}" data-credit="${r.credit ?? ''}"`;
      return `<tr class="${r.other ? 'other' : 'own'}" ${attrs}>` +
        `<td class="who" title="${esc(title)}"><span class="sw" style="background:${r.color}"></span>${name}</td>` +
        `<td>${r.speed ? fmtRate(r.speed) : '–'}</td><td>${fmtInt(r.produced)}</td><td>${fmtInt(r.delivered)}</td>` +
        `<td>${r.other ? '–' : fmtInt(r.consumed)}</td><td>${r.other ? (r.credit != null ? 'credit ' + fmtInt(r.credit) : '–') : fmtInt(r.inflight)}</td>` +
        `<td>${fmtRate(r.rate)}</td><td>${r.other ? '–' : fmtMs(r.age)}</td><td>${fmtBytes(r.queued)}</td></tr>`;
    }).join('') || '<tr><td colspan="9" class="note">starting…</td></tr>';
  }
  renderVerdict(all);
  // Charts: in flight and age share one log scale across both panels; rates share a linear one.
  const seriesOf = (rows, key) => rows.map((r) => ({ color: r.color, points: r.hist[key], dash: r.other ? [2, 3] : null }));
  const maxOf = (key) => Math.max(0, ...all.concat(otherRows).flatMap((r) => r.hist[key].map((p) => p[1])));
  const inflightMax = maxOf('inflight');
  const ageMax = maxOf('age');
  // The rate scale follows this page's consumers; much faster clients (a Go benchmark, say) run off the top.
  const rateMax = Math.max(0, ...all.flatMap((r) => r.hist.rate.map((p) => p[1])), ...all.map((r) => r.speed)) * 1.15 || 10;
  for (const panel of ['raw', 'rs']) {
    const rows = all.filter((r) => r.panel === panel);
    const orows = otherRows.filter((r) => r.panel === panel);
    const el = $('#' + panel);
    const refs = panel === 'rs' && run ? [{ v: run.cfg.prefetch, label: `window ${run.cfg.prefetch}`, dash: [1, 3] }] : [];
    drawChart($('[data-chart="inflight"]', el), seriesOf(rows, 'inflight'), now, { log: true, min: 1, max: inflightMax, fmt: fmtInt, refs });
    drawChart($('[data-chart="rate"]', el), seriesOf(rows.concat(orows), 'rate'), now, {
      min: 0, max: rateMax, fmt: (v) => fmtInt(v),
      targets: rows.map((r) => ({ v: r.speed, color: r.color })),
    });
    drawChart($('[data-chart="age"]', el), seriesOf(rows, 'age'), now, { log: true, min: 1, max: ageMax, fmt: fmtMs });
  }
  drawChart($('#memchart'), [{ color: cssVar('--accent'), points: memHist }], now, { min: 0, max: Math.max(...memHist.map((p) => p[1])) * 1.2, fmt: fmtBytes, bare: true });
  $('#status').textContent = `connected · ${snapshots} snapshots from demo.stats · ${lastSnap?.goroutines ?? '–'} goroutines on the server` +
    (globalThis.WebSocketStream ? '' : ' · this browser has no WebSocketStream: the raw panel reads with the classic WebSocket') +
    (run?.notice ? ` · ${run.notice}` : '');
}

// One sentence saying what the numbers above mean right now.
function renderVerdict(all) {
  const el = $('#verdict');
  if (!run) return;
  const side = (panel) => {
    const rows = all.filter((r) => r.panel === panel);
    const conns = run.conns.filter((c) => c.panel === panel);
    const ages = rows.map((r) => r.age).filter((a) => a != null);
    return {
      inflight: rows.reduce((n, r) => n + (r.inflight ?? 0), 0),
      queued: conns.reduce((n, c) => n + (c.queued ?? 0), 0),
      age: ages.length ? Math.max(...ages) : null,
      rows,
    };
  };
  const raw = side('raw'), rs = side('rs');
  if (!rs.rows.some((r) => r.produced != null)) { el.textContent = 'Starting…'; return; }
  const w = run.cfg.prefetch;
  let html = `<b class="raw">Raw WebSocket:</b> <b>${fmtInt(raw.inflight)}</b> in flight, <b>${fmtBytes(raw.queued)}</b> ` +
    `queued on the server${raw.age != null ? `, data <b>${fmtMs(raw.age)}</b> old when used` : ''}. ` +
    `<b class="rs">RSocket:</b> <b>${fmtInt(rs.inflight)}</b> in flight (window ${w}${run.cfg.hol ? ' per stream' : ''}` +
    `${rs.rows.length > 1 ? `, ${rs.rows.length} streams` : ''}), <b>${fmtBytes(rs.queued)}</b> queued` +
    `${rs.age != null ? `, <b>${fmtMs(rs.age)}</b> old` : ''}.`;
  if (run.cfg.hol) {
    const f = (p) => p.rows.find((r) => r.index === 0)?.rate;
    html += ` Fast stream: raw <b>${fmtRate(f(raw))}</b>, RSocket <b>${fmtRate(f(rs))}</b> (wanted ${run.cfg.speed}/s).`;
  } else if (rs.rows.length > 1) {
    const ratios = rs.rows.filter((r) => r.rate != null).map((r) => r.rate / r.speed);
    if (ratios.length === rs.rows.length) {
      html += ` RSocket consumers are delivered <b>${Math.round(100 * Math.min(...ratios))}–${Math.round(100 * Math.max(...ratios))}%</b> of their own speeds.`;
    }
  }
  el.innerHTML = html;
}

function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

function drawChart(cv, series, now, o) {
  const dpr = window.devicePixelRatio || 1;
  const w = cv.clientWidth, h = cv.clientHeight;
  if (!w || !h) return;
  if (cv.width !== Math.round(w * dpr) || cv.height !== Math.round(h * dpr)) {
    cv.width = Math.round(w * dpr); cv.height = Math.round(h * dpr);
  }
  const g = cv.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const fg = cssVar('--muted'), grid = cssVar('--grid');
  const left = o.bare ? 2 : 52, right = w - 6, top = 6, bottom = h - (o.bare ? 2 : 14);
  let lo = o.min, hi = Math.max(o.max, o.min + 1);
  let y;
  const ticks = [];
  if (o.log) {
    lo = Math.max(o.min, 1);
    hi = Math.pow(10, Math.max(1, Math.ceil(Math.log10(Math.max(hi, 10)))));
    const L = (v) => Math.log10(Math.max(v, lo));
    y = (v) => bottom - (L(v) - L(lo)) / (L(hi) - L(lo)) * (bottom - top);
    for (let v = lo; v <= hi; v *= 10) ticks.push(v);
  } else {
    y = (v) => bottom - (v - lo) / (hi - lo) * (bottom - top);
    const step = niceStep((hi - lo) / 3);
    for (let v = lo; v <= hi; v += step) ticks.push(v);
  }
  const x = (t) => right - (now - t) / HISTORY_MS * (right - left);
  if (!o.bare) {
    g.font = '10px system-ui, sans-serif';
    g.fillStyle = fg; g.strokeStyle = grid; g.lineWidth = 1;
    g.textAlign = 'right'; g.textBaseline = 'middle';
    for (const v of ticks) {
      const yy = Math.round(y(v)) + 0.5;
      g.beginPath(); g.moveTo(left, yy); g.lineTo(right, yy); g.stroke();
      g.fillText(o.fmt(v), left - 4, yy);
    }
    g.textAlign = 'left'; g.textBaseline = 'alphabetic';
    g.fillText('−60 s', left, h - 2);
    g.textAlign = 'right';
    g.fillText('now', right, h - 2);
  }
  for (const r of o.refs ?? []) {
    g.strokeStyle = fg; g.setLineDash(r.dash); g.beginPath();
    const yy = y(r.v); g.moveTo(left, yy); g.lineTo(right, yy); g.stroke(); g.setLineDash([]);
    g.fillStyle = fg; g.textAlign = 'left'; g.textBaseline = 'bottom'; g.fillText(r.label, left + 4, yy - 1);
  }
  for (const t of o.targets ?? []) {
    g.strokeStyle = t.color; g.globalAlpha = 0.6; g.setLineDash([5, 4]); g.beginPath();
    const yy = y(t.v); g.moveTo(left, yy); g.lineTo(right, yy); g.stroke(); g.setLineDash([]); g.globalAlpha = 1;
  }
  g.lineWidth = 2;
  for (const s of series) {
    if (!s.points.length) continue;
    g.strokeStyle = s.color; g.setLineDash(s.dash ?? []);
    g.beginPath();
    s.points.forEach(([t, v], i) => {
      const xx = x(t), yy = Math.min(bottom, Math.max(top, y(v)));
      if (i) g.lineTo(xx, yy); else g.moveTo(xx, yy);
    });
    g.stroke();
  }
  g.setLineDash([]);
}

function niceStep(raw) {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

// ---------- frame log ----------
let ctl = null;
let framesStream = null;
let framesTarget = '';
const MAX_LOG_LINES = 400;

function frameTargets() {
  const list = [];
  if (run) for (const c of run.conns) if (c.panel === 'rs') list.push({ value: c.name, label: `this page · RSocket consumer ${c.name.split('-').pop()}` });
  for (const o of others.values()) {
    if (o.panel === 'rs' && !list.some((x) => x.value === o.conn.id)) list.push({ value: o.conn.id, label: `${o.conn.name || 'unnamed'} (${o.conn.id})` });
  }
  return list;
}

function updateFrameTargets(restarted) {
  const sel = $('#frames-conn');
  const list = frameTargets();
  const key = list.map((x) => x.value).join('|');
  if (sel.dataset.key !== key) {
    const cur = sel.value;
    sel.innerHTML = list.map((x) => `<option value="${esc(x.value)}">${esc(x.label)}</option>`).join('');
    sel.dataset.key = key;
    if (list.some((x) => x.value === cur)) sel.value = cur;
    else if (restarted && cur) sel.selectedIndex = list.findIndex((x) => x.label === sel.dataset.label);
  }
  sel.dataset.label = sel.selectedOptions[0]?.textContent ?? '';
  if (framesStream && sel.value && sel.value !== framesTarget) startFrames();
}

function appendLog(text) {
  const pre = $('#frames');
  const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  const frag = document.createDocumentFragment();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const span = document.createElement('span');
    if (/REQUEST_N|REQUEST_STREAM/.test(line)) span.className = 'rn';
    else if (/CANCEL|ERROR/.test(line)) span.className = 'ctl';
    span.textContent = line + '\n';
    frag.append(span);
  }
  pre.append(frag);
  while (pre.childNodes.length > MAX_LOG_LINES) pre.firstChild.remove();
  if (stick) pre.scrollTop = pre.scrollHeight;
}

async function startFrames() {
  stopFrames(false);
  const target = $('#frames-conn').value;
  if (!ctl || !target) return;
  framesTarget = target;
  const s = ctl.requestStream({ data: target }, { route: 'demo.frames', prefetch: 8 });
  framesStream = s;
  setFramesState(true, `showing ${$('#frames-conn').selectedOptions[0]?.textContent ?? target}`);
  appendLog(`— frames of ${target} —`);
  try {
    for await (const p of s) appendLog(p.text());
  } catch (e) {
    if (framesStream === s) appendLog(`— log ended: ${e.message} —`);
  }
  if (framesStream === s) stopFrames(true);
}

function stopFrames(show = true) {
  const s = framesStream;
  framesStream = null;
  framesTarget = '';
  s?.cancel();
  if (show) setFramesState(false, 'paused');
}

function setFramesState(on, text) {
  const b = $('#frames-toggle');
  b.setAttribute('aria-pressed', String(on));
  b.textContent = on ? 'Pause' : 'Start';
  $('#frames-state').textContent = text;
}

// ---------- controls ----------
const form = $('#controls');

function readForm() {
  const f = new FormData(form);
  const num = (k, lo, hi, d) => { const n = Math.round(Number(f.get(k))); return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : d; };
  return {
    speed: num('speed', 1, 5000, 20), size: num('size', 16, 1 << 20, 1024), prefetch: num('prefetch', 1, 1024, 16),
    consumers: num('consumers', 1, 10, 1), bw: num('bw', 0, 1 << 30, 0), mixed: f.get('mixed') === 'on', hol: f.get('hol') === 'on',
  };
}

function writeForm(cfg) {
  for (const [k, v] of Object.entries(cfg)) {
    const el = form.elements[k];
    if (el.type === 'checkbox') el.checked = v; else el.value = String(v);
  }
}

function choose(name) {
  const sc = SCENARIOS[name];
  writeForm(sc.cfg);
  $$('[data-scenario]').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.scenario === name)));
  $('#scenario-desc').textContent = sc.desc;
  document.body.dataset.scenario = name;
  start(readForm());
}

function custom() {
  $$('[data-scenario]').forEach((b) => b.setAttribute('aria-pressed', 'false'));
  const c = readForm();
  writeForm(c);
  $('#scenario-desc').textContent = `Your settings: ${c.consumers} consumer${c.consumers > 1 ? 's' : ''}` +
    `${c.mixed ? ' at mixed speeds up to' : ' at'} ${c.speed}/s, ${fmtBytes(c.size)} elements, prefetch ${c.prefetch}` +
    `${c.bw ? `, network ${fmtBytes(c.bw)}/s` : ''}${c.hol ? ', two streams per connection' : ''}.`;
  document.body.dataset.scenario = 'custom';
  start(c);
}

function setStatus(text) { $('#status').textContent = text; }

$$('[data-scenario]').forEach((b) => b.addEventListener('click', () => choose(b.dataset.scenario)));
form.addEventListener('change', custom);
form.addEventListener('submit', (e) => { e.preventDefault(); custom(); });
$('#frames-toggle').addEventListener('click', () => { if (framesStream) stopFrames(); else startFrames(); });
$('#frames-clear').addEventListener('click', () => { $('#frames').textContent = ''; });
$('#frames-conn').addEventListener('change', () => { if (framesStream) startFrames(); });
window.addEventListener('resize', () => render(performance.now()));

// ---------- start ----------
async function main() {
  const initial = new URLSearchParams(location.search).get('scenario');
  choose(SCENARIOS[initial] ? initial : 'slow');
  try {
    ctl = await connect(`${wsBase}/rsocket?name=${pageId}/control`, { keepAlive: 10_000, lifetime: 120_000 });
  } catch (e) {
    setStatus(`cannot reach the server: ${e.message}`);
    return;
  }
  ctl.closed.then((e) => setStatus(`disconnected from the server (${e.message}); reload to reconnect`));
  const stats = ctl.requestStream({ data: '' }, { route: 'demo.stats', prefetch: 2 });
  try {
    for await (const p of stats) onSnapshot(JSON.parse(p.text()));
  } catch (e) {
    setStatus(`stats feed ended: ${e.message}; reload to reconnect`);
  }
}

window.sluiceDemo = { get snapshots() { return snapshots; }, get scenario() { return document.body.dataset.scenario; }, pageId };
main();
