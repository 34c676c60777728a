import { RSocketError } from './errors.js';
import { type Frame } from './frames.js';
/** A received element. `data` and `metadata` may alias the received message. */
export interface Payload {
    readonly data: Uint8Array;
    /** null when the frame had no metadata; an empty array when it had empty metadata. */
    readonly metadata: Uint8Array | null;
    /** `data` decoded as UTF-8. */
    text(): string;
}
/** An element to send. A string is sent as UTF-8. */
export interface PayloadInit {
    data?: Uint8Array | string;
    metadata?: Uint8Array | null;
}
export declare class ReceivedPayload implements Payload {
    readonly data: Uint8Array;
    readonly metadata: Uint8Array | null;
    constructor(data: Uint8Array, metadata: Uint8Array | null);
    text(): string;
}
export declare function toBytes(d: Uint8Array | string | undefined): Uint8Array;
/** Per-stream numbers, as `client.stats().perStream` reports them. */
export interface StreamStats {
    id: number;
    kind: 'requestResponse' | 'requestStream' | 'requestChannel' | 'responder';
    /** Credit granted to the peer so far (initial N + every REQUEST_N); 2^31-1 once unbounded. */
    requested: number;
    /** Elements received. */
    received: number;
    /** Elements the application has taken. */
    consumed: number;
    /** Received and not yet taken (never more than granted). */
    buffered: number;
    /** Credit the peer still holds: requested - received. */
    outstanding: number;
    /** The prefetch window, or 0 for manual demand. */
    window: number;
    /** Outbound elements sent (channels and responders). */
    sent: number;
    /** Outbound credit the peer has granted us and we have not used. */
    sendCredit: number;
}
/** What a stream needs from its connection. */
export interface StreamLink {
    /** Sends a frame on the wire, in order. */
    send(f: Frame): void;
    /** Resolves when the transport can take more data frames. */
    drain(): Promise<void>;
    /** Forgets the stream id (removes the stream from the connection's table). */
    release(id: number): void;
    /** Hooks an AbortSignal; returns the idempotent unhook. */
    hook(signal: AbortSignal | undefined, onAbort: (reason: unknown) => void): () => void;
}
/** Options of a Stream's inbound half. */
export interface StreamInit {
    kind: StreamStats['kind'];
    /** Prefetch window (credit kept outstanding), 0 = manual. */
    window: number;
    signal?: AbortSignal | undefined;
    /** Sends the request frame with initial N and returns the new stream id. */
    start?: (n: number, self: Stream) => number;
    /** For streams that already exist on the wire (responder channel). */
    id?: number;
    /** The outbound source (channels, after the first element). */
    source?: AsyncIterable<PayloadInit> | undefined;
    /** The peer's outbound half is already complete. */
    inboundComplete?: boolean;
}
/**
 * The inbound half of a request-stream or request-channel: an AsyncIterable of received
 * elements with element credit. Iterate it once. `break`, `return()`, `throw()`, the
 * request's `signal` and `cancel()` all cancel the stream on the wire.
 */
export declare class Stream implements AsyncIterable<Payload> {
    #private;
    /** The stream id; 0 until the request is on the wire (manual demand before request()). */
    get id(): number;
    /**
     * Grants `n` more elements of credit (Infinity or 2^31-1 = unbounded). In manual mode
     * the first call sends the request itself with initial N = n. Ignored after the end.
     */
    request(n: number): void;
    /** Cancels the stream (CANCEL on the wire while open); iteration ends without error. */
    cancel(): void;
    [Symbol.asyncIterator](): AsyncIterator<Payload>;
}
/** Who an Outbound reports to. */
export interface OutboundOwner {
    outboundEnded(err: RSocketError | null): void;
}
/**
 * Sends the elements of an AsyncIterable as PAYLOAD frames, pulling one only while the
 * peer has granted credit and the transport has room; PAYLOAD C when the source ends,
 * ERROR (APPLICATION_ERROR) when it throws. stop() calls the source's return().
 */
export declare class Outbound {
    #private;
    id: number;
    sent: number;
    done: boolean;
    constructor(link: StreamLink, source: AsyncIterable<PayloadInit>, owner: OutboundOwner);
    get creditLeft(): number;
    credit(n: number): void;
    stop(): void;
    /** Whether the source was ever pulled. */
    get started(): boolean;
}
