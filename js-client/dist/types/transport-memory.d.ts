import { type Frame } from './frames.js';
import type { TransportFactory } from './transport.js';
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
export declare function memoryTransport(highWater?: number): {
    factory: TransportFactory;
    peer: MemoryPeer;
};
