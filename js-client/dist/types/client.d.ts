import { RSocketError } from './errors.js';
import { type Auth } from './metadata.js';
import { Stream, type Payload, type PayloadInit, type StreamStats } from './stream.js';
import type { TransportFactory } from './transport.js';
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
    setup?: {
        data?: Uint8Array | string;
        metadata?: Uint8Array;
        route?: string;
        auth?: Auth;
    };
    /**
     * Which socket to use. Default: WebSocketStream where the runtime has it (unless
     * `WebSocket` is given), else the classic WebSocket. A function is a custom transport.
     */
    transport?: 'websocketstream' | 'websocket' | TransportFactory;
    /** A WebSocket constructor for runtimes without a global one (Node 20: `ws`). */
    WebSocket?: new (url: string) => unknown;
    /** A WebSocketStream constructor; defaults to `globalThis.WebSocketStream`. */
    WebSocketStream?: new (url: string, options?: {
        signal?: AbortSignal;
    }) => unknown;
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
/**
 * Connects to an RSocket server over WebSocket and sends SETUP. Resolves as soon as the
 * transport is open and SETUP is queued (RSocket has no SETUP acknowledgement: a
 * rejection arrives as an ERROR that fails the connection's streams).
 */
export declare function connect(url: string, options?: ConnectOptions): Promise<Client>;
