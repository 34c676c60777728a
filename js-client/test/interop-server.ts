// An rsocket-js 1.0 server (rsocket-core + rsocket-websocket-server, devDependencies only)
// that implements the conformance routes of contract.md, for the interop tests and as the
// browser harness's stand-in for the Go server. Every producer emits only with credit,
// and records the largest credit it ever held, so tests can see demand on the wire.
import { ErrorCodes, RSocketError, RSocketServer, type Payload, type RSocket } from 'rsocket-core';
import { WebsocketServerTransport } from 'rsocket-websocket-server';
import { decodeCompositeMetadata, decodeRoutes } from 'rsocket-composite-metadata';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';

const ROUTING = 'message/x.rsocket.routing.v0';

export interface InteropStats {
  connections: number;
  cancels: number;
  metadataPushes: number;
  /** Largest credit a stream of that route held at once (`count`, `blob`, `ticks`, `channel.echo`). */
  maxCredit: Record<string, number>;
  /** Elements emitted per route. */
  emitted: Record<string, number>;
  /** Routes seen, in order. */
  routes: string[];
}

export interface InteropServer {
  url: string;
  stats: InteropStats;
  close(): Promise<void>;
}

function routeOf(metadata: Buffer | undefined): string {
  if (!metadata) return '';
  for (const e of decodeCompositeMetadata(metadata)) {
    if (e.mimeType === ROUTING) for (const r of decodeRoutes(e.content)) return r;
  }
  return '';
}

const text = (p: Payload): string => (p.data ? p.data.toString('utf8') : '');
const appError = (msg: string): RSocketError => new RSocketError(ErrorCodes.APPLICATION_ERROR, msg);

interface Emitter { request(n: number): void; cancel(): void; onExtension(): void }

/**
 * Emits `produce(i)` while credit lasts (null = complete), a batch per macrotask so an
 * unbounded stream never blocks the event loop.
 */
function emitter(
  stats: InteropStats, route: string, initial: number,
  out: { onNext(p: Payload, complete: boolean): void; onComplete(): void },
  produce: (i: number) => Buffer | null,
): Emitter {
  let credit = 0;
  let i = 0;
  let done = false;
  let scheduled = false;
  const grant = (n: number): void => {
    credit = Math.min(credit + n, 0x7fffffff);
    stats.maxCredit[route] = Math.max(stats.maxCredit[route] ?? 0, credit);
    schedule();
  };
  const schedule = (): void => {
    if (scheduled || done) return;
    scheduled = true;
    setImmediate(pump);
  };
  const pump = (): void => {
    scheduled = false;
    for (let k = 0; k < 256 && !done && credit > 0; k++) {
      const data = produce(i);
      if (data === null) { done = true; out.onComplete(); return; }
      i++;
      if (credit < 0x7fffffff) credit--;
      stats.emitted[route] = (stats.emitted[route] ?? 0) + 1;
      out.onNext({ data }, false);
    }
    if (!done && produce(i) === null) { done = true; out.onComplete(); return; }
    if (!done && credit > 0) schedule();
  };
  grant(initial);
  return {
    request: grant,
    cancel() { done = true; stats.cancels++; },
    onExtension() {},
  };
}

export async function startInteropServer(host = '127.0.0.1', port = 0): Promise<InteropServer> {
  const stats: InteropStats = { connections: 0, cancels: 0, metadataPushes: 0, maxCredit: {}, emitted: {}, routes: [] };
  let wss: WebSocketServer | undefined;
  const server = new RSocketServer({
    transport: new WebsocketServerTransport({
      host, port,
      wsCreator: (o) => { wss = new WebSocketServer({ host: o.host, port: o.port, maxPayload: 16 << 20 }); return wss as never; },
    }),
    acceptor: {
      accept: async (_setup, peer: RSocket) => {
        stats.connections++;
        let fnf = 0;
        const responder: Partial<RSocket> = {
          fireAndForget(p) {
            const r = routeOf(p.metadata);
            stats.routes.push(r);
            if (r === 'fnf') fnf++;
            return { cancel() {} };
          },
          metadataPush(_md, out) {
            stats.metadataPushes++;
            out.onComplete();
          },
          requestResponse(p, out) {
            const r = routeOf(p.metadata);
            stats.routes.push(r);
            const live = { cancel() { stats.cancels++; }, onExtension() {} };
            switch (r) {
              case 'echo': out.onNext({ data: p.data ?? Buffer.alloc(0) }, true); break;
              case 'error': out.onError(appError(text(p))); break;
              case 'never': break;
              case 'fnf.count': out.onNext({ data: Buffer.from(String(fnf)) }, true); break;
              case 'reverse.echo':
                // A request from the server to the client's handlers, answered back.
                peer.requestResponse({ data: p.data ?? Buffer.alloc(0) }, {
                  onNext: (v) => out.onNext({ data: v.data ?? Buffer.alloc(0) }, true),
                  onError: (e) => out.onError(appError(`client failed: ${e.message}`)),
                  onComplete: () => {},
                  onExtension: () => {},
                });
                break;
              default: out.onError(appError(`unknown route: ${r}`));
            }
            return live;
          },
          requestStream(p, n, out) {
            const r = routeOf(p.metadata);
            stats.routes.push(r);
            const arg = text(p);
            switch (r) {
              case 'count': {
                const max = arg === '' ? Infinity : Number(arg);
                return emitter(stats, r, n, out, (i) => (i < max ? Buffer.from(String(i)) : null));
              }
              case 'blob': {
                const [count, size] = arg.split(' ').map(Number) as [number, number];
                return emitter(stats, r, n, out, (i) => {
                  if (i >= count) return null;
                  const b = Buffer.alloc(size);
                  if (size >= 8) b.writeBigUInt64BE(BigInt(i), 0);
                  return b;
                });
              }
              case 'ticks':
                return emitter(stats, r, n, out, (i) => Buffer.from(`${i} ${BigInt(Date.now()) * 1000000n}`));
              default:
                out.onError(appError(`unknown route: ${r}`));
                return { request() {}, cancel() {}, onExtension() {} };
            }
          },
          requestChannel(p, n, inboundDone, out) {
            const r = routeOf(p.metadata);
            stats.routes.push(r);
            if (r !== 'channel.echo') {
              out.onError(appError(`unknown route: ${r}`));
              return { onNext() {}, onError() {}, onComplete() {}, onExtension() {}, request() {}, cancel() {} };
            }
            const window = 8;
            const queue: Payload[] = [p];
            let credit = n;
            let inDone = inboundDone;
            let done = false;
            stats.maxCredit[r] = Math.max(stats.maxCredit[r] ?? 0, credit);
            const flush = (): void => {
              while (!done && credit > 0 && queue.length) {
                const e = queue.shift()!;
                credit--;
                stats.emitted[r] = (stats.emitted[r] ?? 0) + 1;
                out.onNext({ data: e.data ?? Buffer.alloc(0) }, false);
                if (!inDone) out.request(1);
              }
              if (!done && inDone && queue.length === 0) { done = true; out.onComplete(); }
            };
            if (!inDone) out.request(window);
            queueMicrotask(flush);
            return {
              onNext(e, complete) { queue.push(e); if (complete) inDone = true; flush(); },
              onComplete() { inDone = true; flush(); },
              onError() { done = true; },
              onExtension() {},
              request(k) {
                credit = Math.min(credit + k, 0x7fffffff);
                stats.maxCredit[r] = Math.max(stats.maxCredit[r] ?? 0, credit);
                flush();
              },
              cancel() { done = true; stats.cancels++; },
            };
          },
        };
        return responder;
      },
    },
  });
  const closeable = await server.bind();
  const addr = wss!.address() as AddressInfo;
  return {
    url: `ws://${host}:${addr.port}/rsocket`,
    stats,
    close: () => new Promise<void>((resolve) => {
      for (const c of wss!.clients) c.terminate();
      closeable.close();
      wss!.close(() => resolve());
    }),
  };
}
