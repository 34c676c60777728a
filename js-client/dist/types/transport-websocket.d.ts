import { type TransportFactory } from './transport.js';
/** The part of the WebSocket API this client uses; `ws` and the DOM's WebSocket both fit. */
export interface WebSocketLike {
    binaryType: string;
    readonly bufferedAmount: number;
    readonly readyState: number;
    onopen: ((ev: unknown) => void) | null;
    onmessage: ((ev: {
        data: unknown;
    }) => void) | null;
    onerror: ((ev: unknown) => void) | null;
    onclose: ((ev: {
        code: number;
        reason: string;
        wasClean?: boolean;
    }) => void) | null;
    send(data: Uint8Array): void;
    close(code?: number, reason?: string): void;
}
/** A WebSocket constructor: the global one or `ws`'s default export. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;
/** A TransportFactory over a classic WebSocket constructor. */
export declare function classicWebSocket(Ctor: WebSocketConstructor, highWater?: number): TransportFactory;
