// One RSocket connection as a client: SETUP, the stream table, keepalive, fragmentation and
// reassembly, requests in all four interactions, and (optionally) responding to requests
// from the server. Single-threaded: everything runs on the event loop, nothing is locked.

import { ErrorCode, RSocketError } from './errors.js';
import {
  EMPTY, Flags, FrameError, FrameType, MAX_N, concat, decodeFrame, encodeFrame, fragment, type Frame,
} from './frames.js';
import {
  MIME_AUTH, MIME_COMPOSITE, MIME_ROUTING, encodeAuth, encodeComposite, encodeRoutes, type Auth, type MetadataEntry,
} from './metadata.js';
import { Hooks } from './signals.js';
import {
  Outbound, ReceivedPayload, Stream, toBytes, type OutboundOwner, type Payload, type PayloadInit, type StreamLink,
  type StreamStats,
} from './stream.js';
import type { Transport, TransportFactory, TransportSink } from './transport.js';
import { classicWebSocket, type WebSocketConstructor } from './transport-websocket.js';
import { webSocketStream, type WebSocketStreamConstructor } from './transport-websocketstream.js';

/** Per-request options. */
export interface RequestOptions {
  /** A route, sent as a routing entry in composite metadata (or as routing metadata). */
  route?: string;
  /** Authentication, sent as an authentication entry in composite metadata. */
  auth?: Auth;
  /** Aborting cancels the request on the wire (CANCEL) and rejects with CANCELED. */
  signal?: AbortSignal;
}

/** Options of request-stream and request-channel. */
export interface StreamOptions extends RequestOptions {
  /**
   * Prefetch window: the credit kept outstanding. Credit is topped up from `next()` once
   * the consumer has taken half the window, so at most `prefetch` elements are ever
   * requested and not yet consumed. `Infinity` = unbounded.
   * @default 32
   */
  prefetch?: number;
  /** `'manual'`: only `stream.request(n)` grants credit (the first call sends the request). */
  request?: 'manual';
}

/** What the client answers when the server sends requests (all optional). */
export interface Handlers {
  requestResponse?(payload: Payload, ctx: RequestContext): PayloadInit | Promise<PayloadInit>;
  fireAndForget?(payload: Payload, ctx: RequestContext): void;
  /** Elements are pulled only while the server has granted credit. */
  requestStream?(payload: Payload, ctx: RequestContext): AsyncIterable<PayloadInit>;
  /** `payload` is the first element; `inbound` holds the rest, with credit as it is consumed. */
  requestChannel?(payload: Payload, inbound: Stream, ctx: RequestContext): AsyncIterable<PayloadInit>;
  metadataPush?(metadata: Uint8Array): void;
}

/** Context of a request received from the server. */
export interface RequestContext {
  readonly streamId: number;
  /** Aborted when the server cancels or the connection ends. */
  readonly signal: AbortSignal;
}

/** Options of connect(). */
export interface ConnectOptions {
  /**
   * Interval between the client's KEEPALIVE frames, ms.
   * @default 20000
   */
  keepAlive?: number;
  /**
   * The connection is closed (CONNECTION_ERROR) when nothing arrives from the server for
   * this long, ms.
   * @default 90000
   */
  lifetime?: number;
  /** @default 'application/octet-stream' */
  dataMimeType?: string;
  /** @default 'message/x.rsocket.composite-metadata.v0' */
  metadataMimeType?: string;
  /** The SETUP payload; `route` and `auth` go into composite metadata. */
  setup?: { data?: Uint8Array | string; metadata?: Uint8Array; route?: string; auth?: Auth };
  /**
   * Which socket to use. Default: WebSocketStream where the runtime has it (unless
   * `WebSocket` is given), else the classic WebSocket. A function is a custom transport.
   */
  transport?: 'websocketstream' | 'websocket' | TransportFactory;
  /** A WebSocket constructor for runtimes without a global one (Node 20: `ws`). */
  WebSocket?: new (url: string) => unknown;
  /** A WebSocketStream constructor; defaults to `globalThis.WebSocketStream`. */
  WebSocketStream?: new (url: string, options?: { signal?: AbortSignal }) => unknown;
  /** Aborts connecting; aborting later closes the client. */
  signal?: AbortSignal;
  /** Answers requests from the server; without one, such requests get REJECTED. */
  handlers?: Handlers;
  /**
   * Split outbound frames larger than this many bytes into fragments (0 = never; at least 64).
   * @default 0
   */
  fragmentSize?: number;
  /**
   * Largest element reassembled from fragments; beyond it the stream fails.
   * @default 16777215
   */
  maxReassembly?: number;
  /**
   * Queued outbound bytes above which channel and responder sends wait.
   * @default 1048576
   */
  highWaterMark?: number;
  /**
   * Prefetch window of the inbound side of server-initiated channels.
   * @default 32
   */
  responderPrefetch?: number;
}

/** A snapshot of one connection. */
export interface ClientStats {
  /** `websocketstream`, `websocket`, `memory`, or a custom transport's kind. */
  transport: string;
  closed: boolean;
  /** Streams in the table (requester and responder). */
  streams: number;
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Bytes queued in the transport and not yet on the network. */
  buffered: number;
  /** AbortSignal listeners currently hooked by this connection. */
  listeners: number;
  /** Timers currently armed by this connection (keepalive). */
  timers: number;
  perStream: StreamStats[];
}

/** A connected RSocket client. */
export interface Client {
  /** Request-response. Resolves with the response (an empty payload for a bare COMPLETE). */
  requestResponse(payload: PayloadInit, opts?: RequestOptions): Promise<Payload>;
  /** Request-stream: iterate the result with `for await`. */
  requestStream(payload: PayloadInit, opts?: StreamOptions): Stream;
  /**
   * Request-channel: `payload` goes out in REQUEST_CHANNEL; elements of `source` follow
   * only as the server grants credit; the source's end completes the outbound half.
   */
  requestChannel(source: AsyncIterable<PayloadInit>, payload: PayloadInit, opts?: StreamOptions): Stream;
  /** Fire-and-forget. Resolves once the frame is queued on the transport. */
  fireAndForget(payload: PayloadInit, opts?: RequestOptions): Promise<void>;
  /** METADATA_PUSH on stream 0. */
  metadataPush(metadata: Uint8Array): Promise<void>;
  stats(): ClientStats;
  /** Closes the connection: open streams fail with CONNECTION_CLOSE. Resolves when the transport is closed. */
  close(): Promise<void>;
  /** Resolves (never rejects) with the reason once the connection is closed. */
  readonly closed: Promise<RSocketError>;
}

const DEFAULT_PREFETCH = 32;
const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

interface Entry {
  frame(f: Frame): void;
  fail(err: RSocketError): void;
  stats(): StreamStats;
}

interface Reassembly {
  type: number;
  flags: number;
  n: number | undefined;
  md: Uint8Array[] | null;
  data: Uint8Array[];
  size: number;
}

function pickTransport(o: ConnectOptions): TransportFactory {
  const t = o.transport;
  if (typeof t === 'function') return t;
  const g = globalThis as { WebSocket?: unknown; WebSocketStream?: unknown };
  const wss = (o.WebSocketStream ?? g.WebSocketStream) as WebSocketStreamConstructor | undefined;
  const ws = (o.WebSocket ?? g.WebSocket) as WebSocketConstructor | undefined;
  const hw = o.highWaterMark;
  if (t === 'websocketstream' || (t === undefined && !o.WebSocket && wss)) {
    if (!wss) throw new RSocketError(ErrorCode.CONNECTION_ERROR, 'WebSocketStream is not available in this runtime');
    return webSocketStream(wss, hw);
  }
  if (!ws) throw new RSocketError(ErrorCode.CONNECTION_ERROR, 'no WebSocket: pass the `WebSocket` option (in Node: the ws package)');
  return classicWebSocket(ws, hw);
}

/**
 * Connects to an RSocket server over WebSocket and sends SETUP. Resolves as soon as the
 * transport is open and SETUP is queued (RSocket has no SETUP acknowledgement: a
 * rejection arrives as an ERROR that fails the connection's streams).
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Client> {
  const factory = pickTransport(options);
  const conn = new Connection(options);
  const sink: TransportSink = {
    message: (d) => conn.onMessage(d),
    closed: (e) => conn.onTransportClosed(e),
  };
  let transport: Transport;
  try {
    transport = await factory(url, sink, options.signal);
  } catch (e) {
    throw e instanceof RSocketError ? e : new RSocketError(ErrorCode.CONNECTION_ERROR,
      `cannot connect to ${url}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  conn.start(transport);
  return conn;
}

class Connection implements Client, StreamLink {
  readonly #opts: ConnectOptions;
  readonly #mdMime: string;
  readonly #hooks = new Hooks();
  readonly #streams = new Map<number, Entry>();
  readonly #frags = new Map<number, Reassembly>();
  readonly #mtu: number;
  readonly #maxReassembly: number;
  #transport: Transport | undefined;
  #nextId = 1;
  #established = false;
  #closedErr: RSocketError | undefined;
  #resolveClosed!: (e: RSocketError) => void;
  #transportGone!: () => void;
  readonly #transportClosed: Promise<void>;
  readonly closed: Promise<RSocketError>;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #lastRecv = Date.now();
  #unhookConnect: () => void = () => {};
  #txFrames = 0;
  #txBytes = 0;
  #rxFrames = 0;
  #rxBytes = 0;

  constructor(opts: ConnectOptions) {
    this.#opts = opts;
    this.#mdMime = opts.metadataMimeType ?? MIME_COMPOSITE;
    this.#mtu = opts.fragmentSize ?? 0;
    if (this.#mtu !== 0 && this.#mtu < 64) throw new RangeError('fragmentSize must be 0 or at least 64');
    this.#maxReassembly = opts.maxReassembly ?? 0xffffff;
    this.closed = new Promise((r) => { this.#resolveClosed = r; });
    this.#transportClosed = new Promise((r) => { this.#transportGone = r; });
  }

  start(t: Transport): void {
    this.#transport = t;
    const o = this.#opts;
    const keepAlive = o.keepAlive ?? 20000;
    const lifetime = o.lifetime ?? 90000;
    const s = o.setup ?? {};
    const md = s.route !== undefined || s.auth !== undefined
      ? this.#metadata(s.metadata ?? null, { ...(s.route !== undefined && { route: s.route }), ...(s.auth && { auth: s.auth }) })
      : s.metadata ?? null;
    this.send({
      streamId: 0, type: FrameType.SETUP, flags: 0, metadata: md, data: toBytes(s.data),
      keepalive: keepAlive, lifetime, metadataMime: this.#mdMime, dataMime: o.dataMimeType ?? 'application/octet-stream',
    });
    this.#lastRecv = Date.now();
    this.#keepalive = setInterval(() => this.#tick(lifetime), keepAlive);
    this.#unhookConnect = this.#hooks.hook(o.signal, (reason) => {
      this.#terminate(new RSocketError(ErrorCode.CONNECTION_CLOSE, 'aborted', { cause: reason }));
    });
  }

  #tick(lifetime: number): void {
    if (Date.now() - this.#lastRecv > lifetime) {
      this.#protocolError(`nothing received from the server for ${lifetime} ms`);
      return;
    }
    this.send({ streamId: 0, type: FrameType.KEEPALIVE, flags: Flags.RESPOND, metadata: null, data: EMPTY, position: 0 });
  }

  // ---- StreamLink ----

  send(f: Frame): void {
    const t = this.#transport;
    if (!t || this.#closedErr) return;
    const parts = this.#mtu ? fragment(f, this.#mtu) : [f];
    for (const p of parts) {
      const b = encodeFrame(p);
      this.#txFrames++;
      this.#txBytes += b.length;
      t.send(b);
    }
  }

  drain(): Promise<void> {
    return this.#transport && !this.#closedErr ? this.#transport.drain() : Promise.resolve();
  }

  release(id: number): void {
    this.#streams.delete(id);
    this.#frags.delete(id);
  }

  hook(signal: AbortSignal | undefined, onAbort: (reason: unknown) => void): () => void {
    return this.#hooks.hook(signal, onAbort);
  }

  // ---- requests ----

  #allocId(): number {
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id + 2 > MAX_N ? 1 : id + 2;
      if (!this.#streams.has(id)) return id;
    }
  }

  #metadata(md: Uint8Array | null, o: RequestOptions | undefined): Uint8Array | null {
    if (!o || (o.route === undefined && o.auth === undefined)) return md;
    if (this.#mdMime === MIME_COMPOSITE) {
      const entries: MetadataEntry[] = [];
      if (o.route !== undefined) entries.push({ mime: MIME_ROUTING, content: encodeRoutes(o.route) });
      if (o.auth) entries.push({ mime: MIME_AUTH, content: encodeAuth(o.auth) });
      const head = encodeComposite(entries);
      return md && md.length ? concat([head, md]) : head;
    }
    if (this.#mdMime === MIME_ROUTING && o.auth === undefined && o.route !== undefined) return encodeRoutes(o.route);
    throw new TypeError(`route/auth need metadata MIME ${MIME_COMPOSITE} (connection uses ${this.#mdMime})`);
  }

  #aborted(reason: unknown, streamId = 0): RSocketError {
    return new RSocketError(ErrorCode.CANCELED, 'aborted', { cause: reason, streamId });
  }

  requestResponse(payload: PayloadInit, opts?: RequestOptions): Promise<Payload> {
    return new Promise<Payload>((resolve, reject) => {
      if (this.#closedErr) { reject(this.#closedErr); return; }
      const signal = opts?.signal;
      if (signal?.aborted) { reject(this.#aborted(signal.reason)); return; }
      const md = this.#metadata(payload.metadata ?? null, opts);
      const id = this.#allocId();
      let unhook = (): void => {};
      let done = false;
      const end = (): boolean => {
        if (done) return false;
        done = true;
        this.release(id);
        unhook();
        return true;
      };
      this.#streams.set(id, {
        frame: (f) => {
          if (f.type === FrameType.PAYLOAD) {
            if (!(f.flags & (Flags.NEXT | Flags.COMPLETE))) return;
            if (!end()) return;
            resolve(f.flags & Flags.NEXT ? new ReceivedPayload(f.data, f.metadata) : new ReceivedPayload(EMPTY, null));
          } else if (f.type === FrameType.ERROR) {
            if (end()) reject(new RSocketError(f.code ?? 0, utf8d.decode(f.data), { streamId: id }));
          }
        },
        fail: (err) => { if (end()) reject(err); },
        stats: () => ({ id, kind: 'requestResponse', requested: 1, received: 0, consumed: 0, buffered: 0, outstanding: 1, window: 1, sent: 0, sendCredit: 0 }),
      });
      unhook = this.#hooks.hook(signal, (reason) => {
        if (!end()) return;
        this.send({ streamId: id, type: FrameType.CANCEL, flags: 0, metadata: null, data: EMPTY });
        reject(this.#aborted(reason, id));
      });
      this.send({ streamId: id, type: FrameType.REQUEST_RESPONSE, flags: 0, metadata: md, data: toBytes(payload.data) });
    });
  }

  requestStream(payload: PayloadInit, opts?: StreamOptions): Stream {
    return this.#requestStreamOrChannel(FrameType.REQUEST_STREAM, undefined, payload, opts);
  }

  requestChannel(source: AsyncIterable<PayloadInit>, payload: PayloadInit, opts?: StreamOptions): Stream {
    return this.#requestStreamOrChannel(FrameType.REQUEST_CHANNEL, source, payload, opts);
  }

  #requestStreamOrChannel(type: number, source: AsyncIterable<PayloadInit> | undefined, payload: PayloadInit, opts?: StreamOptions): Stream {
    const manual = opts?.request === 'manual';
    const window = manual ? 0 : Math.min(opts?.prefetch ?? DEFAULT_PREFETCH, MAX_N);
    if (!manual && !(window >= 1 && Number.isInteger(window))) throw new RangeError(`prefetch must be a positive integer, got ${opts?.prefetch}`);
    const kind = type === FrameType.REQUEST_STREAM ? 'requestStream' : 'requestChannel';
    if (this.#closedErr) {
      const s = new Stream(this, { kind, window: 0, source });
      s.fail(this.#closedErr);
      return s;
    }
    const md = this.#metadata(payload.metadata ?? null, opts);
    const data = toBytes(payload.data);
    return new Stream(this, {
      kind, window, signal: opts?.signal, source,
      start: (n, self) => {
        if (this.#closedErr) { queueMicrotask(() => self.fail(this.#closedErr!)); return 0; }
        const id = this.#allocId();
        this.#streams.set(id, self);
        this.send({ streamId: id, type, flags: 0, metadata: md, data, n });
        return id;
      },
    });
  }

  async fireAndForget(payload: PayloadInit, opts?: RequestOptions): Promise<void> {
    if (this.#closedErr) throw this.#closedErr;
    if (opts?.signal?.aborted) throw this.#aborted(opts.signal.reason);
    const md = this.#metadata(payload.metadata ?? null, opts);
    await this.drain();
    if (this.#closedErr) throw this.#closedErr;
    this.send({ streamId: this.#allocId(), type: FrameType.REQUEST_FNF, flags: 0, metadata: md, data: toBytes(payload.data) });
  }

  async metadataPush(metadata: Uint8Array): Promise<void> {
    if (this.#closedErr) throw this.#closedErr;
    await this.drain();
    if (this.#closedErr) throw this.#closedErr;
    this.send({ streamId: 0, type: FrameType.METADATA_PUSH, flags: Flags.METADATA, metadata, data: EMPTY });
  }

  stats(): ClientStats {
    const perStream: StreamStats[] = [];
    for (const e of this.#streams.values()) perStream.push(e.stats());
    return {
      transport: this.#transport?.kind ?? 'none',
      closed: this.#closedErr !== undefined,
      streams: this.#streams.size,
      framesSent: this.#txFrames,
      framesReceived: this.#rxFrames,
      bytesSent: this.#txBytes,
      bytesReceived: this.#rxBytes,
      buffered: this.#transport?.buffered ?? 0,
      listeners: this.#hooks.live,
      timers: this.#keepalive !== undefined ? 1 : 0,
      perStream,
    };
  }

  close(): Promise<void> {
    this.#terminate(new RSocketError(ErrorCode.CONNECTION_CLOSE, 'client closed'));
    return this.#transportClosed;
  }

  // ---- inbound ----

  onTransportClosed(e?: Error): void {
    this.#transportGone();
    this.#terminate(e
      ? new RSocketError(ErrorCode.CONNECTION_ERROR, `connection lost: ${e.message}`, { cause: e })
      : new RSocketError(ErrorCode.CONNECTION_CLOSE, 'connection closed by the server'));
  }

  onMessage(b: Uint8Array): void {
    if (this.#closedErr) return;
    this.#rxFrames++;
    this.#rxBytes += b.length;
    this.#lastRecv = Date.now();
    let f: Frame;
    try {
      f = decodeFrame(b);
    } catch (e) {
      if (e instanceof FrameError && e.ignorable) return;
      this.#protocolError(e instanceof Error ? e.message : String(e));
      return;
    }
    const id = f.streamId;
    if (id === 0) { this.#connectionFrame(f); return; }
    const r = this.#frags.get(id);
    if (r) {
      if (f.type === FrameType.PAYLOAD) { this.#continueFragment(id, r, f); return; }
      if (f.type !== FrameType.CANCEL && f.type !== FrameType.ERROR) return;
      this.#frags.delete(id);
    } else if (f.flags & Flags.FOLLOWS && (f.type === FrameType.PAYLOAD
      ? !(f.flags & Flags.COMPLETE) && this.#streams.has(id)
      : f.type >= FrameType.REQUEST_RESPONSE && f.type <= FrameType.REQUEST_CHANNEL && id % 2 === 0 && !this.#streams.has(id))) {
      const md = f.metadata;
      this.#frags.set(id, { type: f.type, flags: f.flags, n: f.n, md: md ? [md] : null, data: [f.data], size: (md?.length ?? 0) + f.data.length });
      return;
    }
    this.#dispatch(f);
  }

  #continueFragment(id: number, r: Reassembly, f: Frame): void {
    if (f.metadata) (r.md ??= []).push(f.metadata);
    r.data.push(f.data);
    r.size += (f.metadata?.length ?? 0) + f.data.length;
    if (r.size > this.#maxReassembly) {
      this.#frags.delete(id);
      const err = new RSocketError(ErrorCode.INVALID, `reassembled element exceeds ${this.#maxReassembly} bytes`, { streamId: id });
      const e = this.#streams.get(id);
      if (e) {
        this.send(id % 2 === 1
          ? { streamId: id, type: FrameType.CANCEL, flags: 0, metadata: null, data: EMPTY }
          : { streamId: id, type: FrameType.ERROR, flags: 0, metadata: null, data: utf8.encode(err.message), code: ErrorCode.REJECTED });
        e.fail(err);
        this.release(id);
      }
      return;
    }
    if (f.flags & Flags.FOLLOWS && !(f.flags & Flags.COMPLETE)) return;
    this.#frags.delete(id);
    const flags = (r.flags & ~(Flags.FOLLOWS | Flags.METADATA)) | (f.flags & Flags.COMPLETE) | (r.md ? Flags.METADATA : 0);
    const whole: Frame = {
      streamId: id, type: r.type, flags, metadata: r.md ? concat(r.md) : null, data: concat(r.data),
      ...(r.n !== undefined && { n: r.n }),
    };
    this.#dispatch(whole);
  }

  #dispatch(f: Frame): void {
    const id = f.streamId;
    if (f.type >= FrameType.REQUEST_RESPONSE && f.type <= FrameType.REQUEST_CHANNEL) {
      // Requests from the server use even ids; one on a live id is ignored.
      if (id % 2 === 1 || this.#streams.has(id)) return;
      this.#established = true;
      this.#respond(f);
      return;
    }
    const e = this.#streams.get(id);
    if (!e) return;
    this.#established = true;
    e.frame(f);
  }

  #connectionFrame(f: Frame): void {
    switch (f.type) {
      case FrameType.KEEPALIVE:
        if (f.flags & Flags.RESPOND) {
          this.send({ streamId: 0, type: FrameType.KEEPALIVE, flags: 0, metadata: null, data: f.data, position: 0 });
        }
        return;
      case FrameType.ERROR: {
        const code = f.code ?? 0;
        const setupCode = code >= ErrorCode.INVALID_SETUP && code <= ErrorCode.REJECTED_RESUME;
        if (setupCode && this.#established) return;
        this.#terminate(new RSocketError(code, utf8d.decode(f.data)));
        return;
      }
      case FrameType.METADATA_PUSH:
        try {
          this.#opts.handlers?.metadataPush?.(f.metadata ?? EMPTY);
        } catch {
          // A handler's failure is the application's; the connection goes on.
        }
        return;
      case FrameType.LEASE:
        this.#established = true;
        return;
      default:
        // SETUP at the client, RESUME*, EXT: ignored.
        return;
    }
  }

  #protocolError(message: string): void {
    const err = new RSocketError(ErrorCode.CONNECTION_ERROR, message);
    this.send({ streamId: 0, type: FrameType.ERROR, flags: 0, metadata: null, data: utf8.encode(message), code: err.code });
    this.#terminate(err);
  }

  #terminate(err: RSocketError): void {
    if (this.#closedErr) return;
    this.#closedErr = err;
    if (this.#keepalive !== undefined) { clearInterval(this.#keepalive); this.#keepalive = undefined; }
    this.#unhookConnect();
    const entries = [...this.#streams.values()];
    this.#streams.clear();
    this.#frags.clear();
    for (const e of entries) e.fail(err);
    if (this.#transport) this.#transport.close(1000, '');
    else this.#transportGone();
    this.#resolveClosed(err);
  }

  // ---- responding to the server ----

  #respond(f: Frame): void {
    const id = f.streamId;
    const h = this.#opts.handlers;
    const payload = new ReceivedPayload(f.data, f.metadata);
    const ac = new AbortController();
    const ctx: RequestContext = { streamId: id, signal: ac.signal };
    const reject = (code: number, message: string): void => {
      this.send({ streamId: id, type: FrameType.ERROR, flags: 0, metadata: null, data: utf8.encode(message), code });
    };
    const errorOf = (e: unknown): RSocketError => {
      const err = RSocketError.from(e, id);
      return err.code >= ErrorCode.APPLICATION_ERROR ? err : new RSocketError(ErrorCode.APPLICATION_ERROR, err.message);
    };
    switch (f.type) {
      case FrameType.REQUEST_FNF:
        try { h?.fireAndForget?.(payload, ctx); } catch { /* best effort */ }
        return;
      case FrameType.REQUEST_RESPONSE: {
        const handler = h?.requestResponse;
        if (!handler) { reject(ErrorCode.REJECTED, 'no requestResponse handler'); return; }
        let live = true;
        this.#streams.set(id, {
          frame: (fr) => { if (fr.type === FrameType.CANCEL && live) { live = false; this.release(id); ac.abort(); } },
          fail: (err) => { live = false; ac.abort(err); },
          stats: () => ({ id, kind: 'responder', requested: 0, received: 1, consumed: 1, buffered: 0, outstanding: 0, window: 0, sent: 0, sendCredit: 1 }),
        });
        Promise.resolve().then(() => handler(payload, ctx)).then((res) => {
          if (!live) return;
          live = false;
          this.release(id);
          this.send({ streamId: id, type: FrameType.PAYLOAD, flags: Flags.NEXT | Flags.COMPLETE, metadata: res.metadata ?? null, data: toBytes(res.data) });
        }, (e: unknown) => {
          if (!live) return;
          live = false;
          this.release(id);
          const err = errorOf(e);
          reject(err.code, err.message);
        });
        return;
      }
      case FrameType.REQUEST_STREAM: {
        const handler = h?.requestStream;
        if (!handler) { reject(ErrorCode.REJECTED, 'no requestStream handler'); return; }
        let source: AsyncIterable<PayloadInit>;
        try { source = handler(payload, ctx); } catch (e) { const err = errorOf(e); reject(err.code, err.message); return; }
        const rs = new ResponderStream(this, id, source, ac);
        this.#streams.set(id, rs);
        rs.out.credit(f.n ?? 0);
        return;
      }
      case FrameType.REQUEST_CHANNEL: {
        const handler = h?.requestChannel;
        if (!handler) { reject(ErrorCode.REJECTED, 'no requestChannel handler'); return; }
        const inbound = new Stream(this, {
          kind: 'responder', window: Math.min(this.#opts.responderPrefetch ?? DEFAULT_PREFETCH, MAX_N), id,
          signal: ac.signal, inboundComplete: (f.flags & Flags.COMPLETE) !== 0,
        });
        this.#streams.set(id, inbound);
        let source: AsyncIterable<PayloadInit>;
        try { source = handler(payload, inbound, ctx); } catch (e) {
          const err = errorOf(e);
          reject(err.code, err.message);
          inbound.fail(err);
          return;
        }
        inbound.attach(source, f.n ?? 0);
        return;
      }
    }
  }
}

/** A stream the server requested from us: an Outbound gated by the server's credit. */
class ResponderStream implements Entry, OutboundOwner {
  readonly out: Outbound;
  readonly #link: StreamLink;
  readonly #id: number;
  readonly #ac: AbortController;

  constructor(link: StreamLink, id: number, source: AsyncIterable<PayloadInit>, ac: AbortController) {
    this.#link = link;
    this.#id = id;
    this.#ac = ac;
    this.out = new Outbound(link, source, this);
    this.out.id = id;
  }

  frame(f: Frame): void {
    if (f.type === FrameType.REQUEST_N) { if (f.n !== undefined && f.n > 0) this.out.credit(f.n); }
    else if (f.type === FrameType.CANCEL) { this.out.stop(); this.#link.release(this.#id); this.#ac.abort(); }
  }

  fail(err: RSocketError): void {
    this.out.stop();
    this.#ac.abort(err);
  }

  outboundEnded(): void {
    this.#link.release(this.#id);
  }

  stats(): StreamStats {
    return { id: this.#id, kind: 'responder', requested: 0, received: 0, consumed: 0, buffered: 0, outstanding: 0, window: 0, sent: this.out.sent, sendCredit: this.out.creditLeft };
  }
}
