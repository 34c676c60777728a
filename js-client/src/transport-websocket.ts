// The classic WebSocket transport (browsers without WebSocketStream, and Node with the
// `ws` package or a global WebSocket). Reads are pushed by `onmessage`; sending obeys
// `bufferedAmount` (drain() polls it).

import { DEFAULT_HIGH_WATER, type Transport, type TransportFactory, type TransportSink } from './transport.js';

/** The part of the WebSocket API this client uses; `ws` and the DOM's WebSocket both fit. */
export interface WebSocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor: the global one or `ws`'s default export. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

const POLL_MS = 4;

/** A TransportFactory over a classic WebSocket constructor. */
export function classicWebSocket(Ctor: WebSocketConstructor, highWater = DEFAULT_HIGH_WATER): TransportFactory {
  return (url, sink, signal) => new Promise<Transport>((resolve, reject) => {
    if (signal?.aborted) { reject(signal.reason); return; }
    const ws = new Ctor(url);
    // Node's `ws` can hand over its own buffers ('nodebuffer', Uint8Array views)
    // instead of copying each message into a new ArrayBuffer; browsers ignore
    // that value, so they get 'arraybuffer'.
    try { ws.binaryType = 'nodebuffer'; } catch { /* not supported */ }
    if (ws.binaryType !== 'nodebuffer') ws.binaryType = 'arraybuffer';
    let opened = false;
    let ended = false;
    let lastError: Error | undefined;
    let pollTimer: ReturnType<typeof setTimeout> | undefined;
    let waiters: (() => void)[] = [];
    const onAbort = (): void => { ws.close(1000, 'aborted'); fail(signal?.reason); };
    const fail = (err: unknown): void => {
      if (opened) return;
      opened = true;
      signal?.removeEventListener('abort', onAbort);
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    signal?.addEventListener('abort', onAbort);
    const wake = (): void => {
      const w = waiters;
      waiters = [];
      for (const r of w) r();
    };
    const poll = (): void => {
      pollTimer = undefined;
      if (ended || ws.bufferedAmount <= highWater) { wake(); return; }
      pollTimer = setTimeout(poll, POLL_MS);
    };
    const t: Transport = {
      kind: 'websocket',
      send(data) { if (!ended && ws.readyState === 1) ws.send(data); },
      get buffered() { return ws.bufferedAmount; },
      drain() {
        if (ended || ws.bufferedAmount <= highWater) return Promise.resolve();
        return new Promise<void>((r) => {
          waiters.push(r);
          if (pollTimer === undefined) pollTimer = setTimeout(poll, POLL_MS);
        });
      },
      close(code = 1000, reason = '') {
        if (ended) return;
        try { ws.close(code, reason); } catch { ws.close(); }
      },
    };
    ws.onopen = () => {
      if (opened) { ws.close(); return; }
      opened = true;
      signal?.removeEventListener('abort', onAbort);
      resolve(t);
    };
    ws.onerror = (ev) => {
      const msg = typeof ev === 'object' && ev !== null && 'message' in ev ? String((ev as { message: unknown }).message) : 'WebSocket error';
      lastError = new Error(msg);
      fail(lastError);
    };
    ws.onmessage = (ev) => {
      const d = ev.data;
      if (d instanceof ArrayBuffer) sink.message(new Uint8Array(d));
      else if (ArrayBuffer.isView(d)) sink.message(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      else ws.close(1003, 'text messages are not RSocket frames');
    };
    ws.onclose = (ev) => {
      ended = true;
      if (pollTimer !== undefined) { clearTimeout(pollTimer); pollTimer = undefined; }
      wake();
      ws.onmessage = ws.onopen = ws.onerror = ws.onclose = null;
      if (!opened) { fail(lastError ?? new Error(`WebSocket closed before opening (${ev.code})`)); return; }
      const clean = ev.code === 1000 || ev.code === 1001 || ev.code === 1005;
      sink.closed(clean && !lastError ? undefined : lastError ?? new Error(`WebSocket closed: ${ev.code} ${ev.reason}`));
    };
  });
}
