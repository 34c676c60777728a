// The benchmark page: elements/s for our client, rsocket-js's browser client and a raw
// WebSocket onmessage counter, same server, same page, same run.
import { connect, encodeComposite, encodeFrame, encodeRoutes, FrameType, MAX_N, MIME_ROUTING } from '/sluice.js';
import { rsocketJsStream } from './rsocketjs.js';

async function sluiceStream(url: string, n: number, size: number, window: number, transport: 'websocketstream' | 'websocket'): Promise<number> {
  const c = await connect(url, { transport });
  let count = 0;
  try {
    for await (const p of c.requestStream({ data: `${n} ${size}` }, { route: 'blob', prefetch: window })) {
      if (p.data.length === size) count++;
    }
  } finally { await c.close(); }
  return count;
}

/** A classic WebSocket that sends SETUP + REQUEST_STREAM(unbounded) by hand and only counts messages. */
function rawStream(url: string, n: number, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    let count = 0;
    ws.onopen = () => {
      ws.send(encodeFrame({ streamId: 0, type: FrameType.SETUP, flags: 0, metadata: null, data: new Uint8Array(), keepalive: 20000, lifetime: 90000, metadataMime: 'message/x.rsocket.composite-metadata.v0', dataMime: 'application/octet-stream' }));
      ws.send(encodeFrame({ streamId: 1, type: FrameType.REQUEST_STREAM, flags: 0, n: MAX_N, metadata: encodeComposite([{ mime: MIME_ROUTING, content: encodeRoutes('blob') }]), data: new TextEncoder().encode(`${n} ${size}`) }));
    };
    ws.onmessage = () => { if (++count === n + 1) { ws.close(); resolve(n); } }; // n elements + COMPLETE
    ws.onerror = () => reject(new Error('raw websocket failed'));
  });
}

async function timed(fn: () => Promise<number>): Promise<{ n: number; ms: number; perSec: number }> {
  const t0 = performance.now();
  const n = await fn();
  const ms = performance.now() - t0;
  return { n, ms: Math.round(ms), perSec: Math.round((n / ms) * 1000) };
}

export async function run(url: string, n: number, window: number, rounds: number) {
  const out: Record<string, Record<string, number[]>> = {};
  const add = (size: number, name: string, v: number) => { ((out[`${size}B`] ??= {})[name] ??= []).push(v); };
  for (const size of [64, 1024]) {
    for (let r = 0; r < rounds; r++) {
      // Interleaved so drift on a noisy machine hits every client alike.
      add(size, 'raw onmessage', (await timed(() => rawStream(url, n, size))).perSec);
      add(size, 'sluice websocketstream', (await timed(() => sluiceStream(url, n, size, window, 'websocketstream'))).perSec);
      add(size, 'sluice websocket', (await timed(() => sluiceStream(url, n, size, window, 'websocket'))).perSec);
      add(size, 'rsocket-js', (await timed(() => rsocketJsStream(url, Math.min(n, 50_000), size, window))).perSec);
    }
  }
  return out;
}

(window as unknown as { bench: typeof run; sluiceReady: boolean }).bench = run;
(window as unknown as { sluiceReady: boolean }).sluiceReady = true;
