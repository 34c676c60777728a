/** Where a transport delivers what it reads. Owned by one connection. */
export interface TransportSink {
    /** One inbound binary message (one frame). The array may alias a buffer the transport no longer uses. */
    message(data: Uint8Array): void;
    /** The transport is gone. Called at most once; `error` is undefined after a clean close. */
    closed(error?: Error): void;
}
/** An open, message-oriented, ordered, reliable transport. */
export interface Transport {
    /** A short name for stats: `websocket`, `websocketstream`, `memory`. */
    readonly kind: string;
    /** Queues one message. Never blocks; after close it is a no-op. */
    send(data: Uint8Array): void;
    /** Bytes queued and not yet handed to the network. */
    readonly buffered: number;
    /**
     * Resolves once `buffered` is at or below the transport's high-water mark, or the
     * transport closed. Producers await it before queueing more data frames.
     */
    drain(): Promise<void>;
    /** Closes the transport; `closed` on the sink follows. Safe to call twice. */
    close(code?: number, reason?: string): void;
}
/**
 * Opens a transport to `url` and delivers to `sink`. Rejects if it cannot open or
 * `signal` aborts first.
 */
export type TransportFactory = (url: string, sink: TransportSink, signal?: AbortSignal) => Promise<Transport>;
/** Default high-water mark of queued outbound bytes before producers wait. */
export declare const DEFAULT_HIGH_WATER: number;
