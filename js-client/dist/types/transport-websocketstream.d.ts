import { type TransportFactory } from './transport.js';
interface WSSReader {
    read(): Promise<{
        value?: ArrayBuffer | string;
        done: boolean;
    }>;
    releaseLock(): void;
}
interface WSSWriter {
    write(chunk: Uint8Array): Promise<void>;
}
/** The part of the WebSocketStream API this client uses. */
export interface WebSocketStreamLike {
    readonly opened: Promise<{
        readable: {
            getReader(): WSSReader;
        };
        writable: {
            getWriter(): WSSWriter;
        };
    }>;
    readonly closed: Promise<{
        closeCode?: number;
        reason?: string;
    }>;
    close(info?: {
        closeCode?: number;
        reason?: string;
    }): void;
}
/** A WebSocketStream constructor (`globalThis.WebSocketStream` in Chromium). */
export type WebSocketStreamConstructor = new (url: string, options?: {
    signal?: AbortSignal;
}) => WebSocketStreamLike;
/** A TransportFactory over WebSocketStream. */
export declare function webSocketStream(Ctor: WebSocketStreamConstructor, highWater?: number): TransportFactory;
export {};
