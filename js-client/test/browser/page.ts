// Runs in the page (headless Chromium). Imports the built bundle (dist/sluice.js, served
// as /sluice.js) exactly as an application would, and exposes one async function per case
// on `window.sluiceCases`. A case throws on failure and returns a small JSON report.
import { connect, ErrorCode, RSocketError, type Client, type ConnectOptions } from '/sluice.js';

type Transport = 'websocketstream' | 'websocket';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
function check(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}
function expectCode(e: unknown, code: number): void {
  check(e instanceof RSocketError, `expected RSocketError, got ${String(e)}`);
  check(e.code === code, `expected code 0x${code.toString(16)}, got ${e.name} ${e.message}`);
}

async function withClient<T>(url: string, transport: Transport, fn: (c: Client) => Promise<T>, opts: ConnectOptions = {}): Promise<T & { transport: string }> {
  const c = await connect(url, { transport, keepAlive: 1000, lifetime: 10000, ...opts });
  try {
    const r = await fn(c);
    await sleep(10);
    const s = c.stats();
    check(s.streams === 0, `streams left: ${JSON.stringify(s.perStream)}`);
    check(s.listeners === 0, 'abort listeners left');
    return { ...r, transport: s.transport };
  } finally {
    await c.close();
    check(c.stats().timers === 0, 'timers left after close');
  }
}

const cases: Record<string, (url: string, t: Transport) => Promise<unknown>> = {
  async transport(url, t) {
    return withClient(url, t, async () => ({}));
  },

  async requestResponse(url, t) {
    return withClient(url, t, async (c) => {
      const r = await c.requestResponse({ data: 'hello from the browser' }, { route: 'echo' });
      check(r.text() === 'hello from the browser', `echo: ${r.text()}`);
      const big = new Uint8Array(200_000).map((_, i) => i % 251);
      const rb = await c.requestResponse({ data: big }, { route: 'echo' });
      check(rb.data.length === big.length && rb.data.every((v, i) => v === big[i]), 'big echo');
      try { await c.requestResponse({ data: 'it broke' }, { route: 'error' }); check(false, 'error route resolved'); }
      catch (e) { expectCode(e, ErrorCode.APPLICATION_ERROR); check((e as Error).message === 'it broke', (e as Error).message); }
      try { await c.requestResponse({}, { route: 'no.such.route' }); check(false, 'unknown route resolved'); }
      catch (e) { expectCode(e, ErrorCode.APPLICATION_ERROR); }
      return {};
    });
  },

  async abort(url, t) {
    return withClient(url, t, async (c) => {
      const ac = new AbortController();
      const p = c.requestResponse({}, { route: 'never', signal: ac.signal });
      setTimeout(() => ac.abort(), 20);
      try { await p; check(false, 'never resolved'); } catch (e) { expectCode(e, ErrorCode.CANCELED); }
      const ac2 = new AbortController();
      let n = 0;
      try {
        for await (const _ of c.requestStream({}, { route: 'ticks', signal: ac2.signal, prefetch: 2 })) if (++n === 3) ac2.abort();
        check(false, 'ticks ended');
      } catch (e) { expectCode(e, ErrorCode.CANCELED); }
      check(n === 3, `n=${n}`);
      // The connection is still fine afterwards.
      check((await c.requestResponse({ data: 'ok' }, { route: 'echo' })).text() === 'ok', 'echo after abort');
      return {};
    });
  },

  async fireAndForget(url, t) {
    return withClient(url, t, async (c) => {
      for (let i = 0; i < 10; i++) await c.fireAndForget({ data: String(i) }, { route: 'fnf' });
      let count = '';
      for (let i = 0; i < 50 && count !== '10'; i++) {
        count = (await c.requestResponse({}, { route: 'fnf.count' })).text();
        if (count !== '10') await sleep(10);
      }
      check(count === '10', `fnf.count = ${count}`);
      return { count };
    });
  },

  async metadataPush(url, t) {
    return withClient(url, t, async (c) => {
      await c.metadataPush(new TextEncoder().encode('pushed'));
      check((await c.requestResponse({ data: 'after' }, { route: 'echo' })).text() === 'after', 'echo after push');
      return {};
    });
  },

  async requestStream(url, t) {
    return withClient(url, t, async (c) => {
      const got: string[] = [];
      for await (const p of c.requestStream({ data: '500' }, { route: 'count', prefetch: 16 })) got.push(p.text());
      check(got.length === 500 && got.every((v, i) => v === String(i)), `count: ${got.length}`);
      let i = 0;
      const s = c.requestStream({ data: '20 1024' }, { route: 'blob', request: 'manual' });
      s.request(5);
      for await (const p of s) {
        check(p.data.length === 1024, `blob size ${p.data.length}`);
        check(new DataView(p.data.buffer, p.data.byteOffset, 8).getBigUint64(0) === BigInt(i), `blob seq ${i}`);
        if (++i % 5 === 0) s.request(5);
      }
      check(i === 20, `blob count ${i}`);
      return {};
    });
  },

  async breakCancels(url, t) {
    return withClient(url, t, async (c) => {
      let n = 0;
      for await (const p of c.requestStream({ data: '' }, { route: 'count', prefetch: 8 })) {
        check(p.text() === String(n), `element ${n}`);
        if (++n === 25) break;
      }
      check(c.stats().streams === 0, 'break removed the stream');
      return {};
    });
  },

  async requestChannel(url, t) {
    return withClient(url, t, async (c) => {
      let pulled = 0;
      async function* source() { for (let i = 1; i <= 100; i++) { pulled++; yield { data: `m${i}` }; } }
      const got: string[] = [];
      for await (const p of c.requestChannel(source(), { data: 'm0' }, { route: 'channel.echo', prefetch: 8 })) got.push(p.text());
      check(got.length === 101 && got.every((v, i) => v === `m${i}`), `channel echo: ${got.length} ${got.slice(0, 3)}`);
      check(pulled === 100, `pulled ${pulled}`);
      let returned = false;
      async function* endless() { try { for (let i = 1; ; i++) yield { data: `e${i}` }; } finally { returned = true; } }
      let n = 0;
      for await (const _ of c.requestChannel(endless(), { data: 'e0' }, { route: 'channel.echo', prefetch: 4 })) if (++n === 10) break;
      await sleep(20);
      check(returned, 'source returned after break');
      return {};
    });
  },

  /**
   * Demand on the wire: a consumer that sleeps 50 ms per element never has more credit
   * outstanding than its window, and the server's clock in each `ticks` element shows the
   * element was produced at most about a window ago (the producer moves at our pace).
   */
  async slowConsumer(url, t) {
    return withClient(url, t, async (c) => {
      const window = 4;
      const n = 20;
      let maxHeld = 0;
      let maxOutstanding = 0;
      let maxBuffered = 0;
      const ages: number[] = [];
      let i = 0;
      for await (const p of c.requestStream({}, { route: 'ticks', prefetch: window })) {
        const [seq, nanos] = p.text().split(' ');
        check(Number(seq) === i, `seq ${seq} != ${i}`);
        ages.push(Date.now() - Number(BigInt(nanos!) / 1_000_000n));
        const st = c.stats().perStream[0]!;
        maxHeld = Math.max(maxHeld, st.requested - st.consumed);
        maxOutstanding = Math.max(maxOutstanding, st.outstanding);
        maxBuffered = Math.max(maxBuffered, st.buffered);
        if (++i === n) break;
        await sleep(50);
      }
      check(maxHeld <= window, `credit held ${maxHeld} > window ${window}`);
      check(maxOutstanding <= window && maxBuffered <= window, `outstanding ${maxOutstanding} buffered ${maxBuffered}`);
      // After the first window, data is at most ~window * 50 ms old when consumed.
      const late = ages.slice(window + 1);
      const maxAge = Math.max(...late);
      check(maxAge < (window + 2) * 50 + 250, `data ${maxAge} ms old: producer ran ahead of demand`);
      return { maxHeld, maxOutstanding, maxBuffered, maxAge, window };
    });
  },
};

declare global {
  interface Window { sluiceCases: typeof cases; sluiceReady: boolean }
}
window.sluiceCases = cases;
window.sluiceReady = true;
