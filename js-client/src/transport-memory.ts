// An in-memory transport pair for tests: the client side is a TransportFactory, the other
// side a scripted peer that reads the exact frames the client sent and sends any frame
// (or raw bytes) back. Not part of the bundle.

import { decodeFrame, encodeFrame, type Frame } from './frames.js';
import type { Transport, TransportFactory, TransportSink } from './transport.js';

/** The far end of a memory transport. */
export interface MemoryPeer {
  /** The next frame the client sent (waits for it). */
  recv(): Promise<Frame>;
  /** Frames the client sent that `recv()` has not returned yet. */
  readonly pending: number;
  /** Sends a frame (or raw bytes) to the client, synchronously. */
  send(frame: Frame | Uint8Array): void;
  /** Closes the transport as the peer would; `error` makes it an unclean close. */
  close(error?: Error): void;
  /** Pretends that many bytes are queued outbound on the client side (backpressure). */
  setBuffered(n: number): void;
  /** Whether the client closed the transport. */
  readonly closedByClient: boolean;
  /** Resolves once the client side connected. */
  readonly connected: Promise<void>;
}

/** Creates a memory transport: pass `factory` as connect()'s `transport` option. */
export function memoryTransport(highWater = 1 << 20): { factory: TransportFactory; peer: MemoryPeer } {
  const queue: Frame[] = [];
  let waiter: ((f: Frame) => void) | undefined;
  let sink: TransportSink | undefined;
  let ended = false;
  let closedByClient = false;
  let buffered = 0;
  let drains: (() => void)[] = [];
  let onConnected!: () => void;
  const connected = new Promise<void>((r) => { onConnected = r; });
  const finish = (err?: Error): void => {
    if (ended) return;
    ended = true;
    for (const d of drains) d();
    drains = [];
    const s = sink;
    queueMicrotask(() => s?.closed(err));
  };
  const transport: Transport = {
    kind: 'memory',
    send(data) {
      if (ended) return;
      // Copy, as a real socket would, so later mutation by the sender cannot leak in.
      const f = decodeFrame(data.slice());
      if (waiter) { const w = waiter; waiter = undefined; w(f); } else queue.push(f);
    },
    get buffered() { return buffered; },
    drain() {
      if (ended || buffered <= highWater) return Promise.resolve();
      return new Promise<void>((r) => drains.push(r));
    },
    close() { if (!ended) { closedByClient = true; finish(); } },
  };
  const factory: TransportFactory = async (_url, s, signal) => {
    if (signal?.aborted) throw signal.reason;
    sink = s;
    onConnected();
    return transport;
  };
  const peer: MemoryPeer = {
    recv() {
      const f = queue.shift();
      if (f) return Promise.resolve(f);
      return new Promise<Frame>((r) => { waiter = r; });
    },
    get pending() { return queue.length; },
    send(frame) {
      if (ended || !sink) throw new Error('memory transport is not open');
      sink.message(frame instanceof Uint8Array ? frame : encodeFrame(frame));
    },
    close(error) { finish(error); },
    setBuffered(n) {
      buffered = n;
      if (buffered <= highWater) { const d = drains; drains = []; for (const r of d) r(); }
    },
    get closedByClient() { return closedByClient; },
    connected,
  };
  return { factory, peer };
}
