// The WebSocketStream transport (Chromium >= 124). The client reads with a pull loop, so a
// page that stops reading stops TCP too; writes are counted until the stream accepts them.

import { DEFAULT_HIGH_WATER, type Transport, type TransportFactory } from './transport.js';

interface WSSReader {
  read(): Promise<{ value?: ArrayBuffer | string; done: boolean }>;
  releaseLock(): void;
}
interface WSSWriter {
  write(chunk: Uint8Array): Promise<void>;
}
/** The part of the WebSocketStream API this client uses. */
export interface WebSocketStreamLike {
  readonly opened: Promise<{
    readable: { getReader(): WSSReader };
    writable: { getWriter(): WSSWriter };
  }>;
  readonly closed: Promise<{ closeCode?: number; reason?: string }>;
  close(info?: { closeCode?: number; reason?: string }): void;
}
/** A WebSocketStream constructor (`globalThis.WebSocketStream` in Chromium). */
export type WebSocketStreamConstructor = new (url: string, options?: { signal?: AbortSignal }) => WebSocketStreamLike;

/** A TransportFactory over WebSocketStream. */
export function webSocketStream(Ctor: WebSocketStreamConstructor, highWater = DEFAULT_HIGH_WATER): TransportFactory {
  return async (url, sink, signal) => {
    if (signal?.aborted) throw signal.reason;
    const wss = new Ctor(url, signal ? { signal } : undefined);
    // Observe `closed` early so a failed handshake is not an unhandled rejection.
    const closed = wss.closed.then((i) => i, (e: unknown) => e instanceof Error ? e : new Error(String(e)));
    const { readable, writable } = await wss.opened;
    const reader = readable.getReader();
    const writer = writable.getWriter();
    let buffered = 0;
    let ended = false;
    let waiters: (() => void)[] = [];
    const wake = (): void => {
      const w = waiters;
      waiters = [];
      for (const r of w) r();
    };
    let reported = false;
    const end = (err?: Error): void => {
      ended = true;
      wake();
      if (!reported) { reported = true; sink.closed(err); }
    };
    const t: Transport = {
      kind: 'websocketstream',
      send(data) {
        if (ended) return;
        const n = data.byteLength;
        buffered += n;
        writer.write(data).then(() => {
          buffered -= n;
          if (buffered <= highWater && waiters.length) wake();
        }, () => { buffered -= n; });
      },
      get buffered() { return buffered; },
      drain() {
        if (ended || buffered <= highWater) return Promise.resolve();
        return new Promise<void>((r) => waiters.push(r));
      },
      close(code = 1000, reason = '') {
        if (ended) return;
        ended = true;
        try { wss.close({ closeCode: code, reason }); } catch { wss.close(); }
      },
    };
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (typeof value === 'string' || value === undefined) {
            t.close(1003, 'text messages are not RSocket frames');
            break;
          }
          sink.message(new Uint8Array(value));
        }
      } catch {
        // The read side failed: `closed` says why.
      }
      const info = await closed;
      if (info instanceof Error) { end(info); return; }
      const code = info.closeCode ?? 1005;
      end(code === 1000 || code === 1001 || code === 1005 ? undefined : new Error(`WebSocket closed: ${code} ${info.reason ?? ''}`));
    })();
    return t;
  };
}
