/** RSocket 1.0 error codes (the u32 code of an ERROR frame). */
export declare const ErrorCode: {
    /** The SETUP was malformed, had a bad version, or the first frame was not SETUP. Stream 0. */
    readonly INVALID_SETUP: 1;
    /** The server does not support the SETUP's parameters. Stream 0. */
    readonly UNSUPPORTED_SETUP: 2;
    /** The server refused the SETUP; the reason is in the message. Stream 0. */
    readonly REJECTED_SETUP: 3;
    /** The server refused a RESUME. Stream 0. */
    readonly REJECTED_RESUME: 4;
    /** The connection failed and is being closed (also: transport lost, keepalive timeout). Stream 0. */
    readonly CONNECTION_ERROR: 257;
    /** The connection is closing after its streams finish (also: `client.close()`). Stream 0. */
    readonly CONNECTION_CLOSE: 258;
    /** The responder's application failed the request. */
    readonly APPLICATION_ERROR: 513;
    /** The responder did not process the request at all (safe to retry). */
    readonly REJECTED: 514;
    /** The stream was cancelled (by the responder, by `signal`, or locally). */
    readonly CANCELED: 515;
    /** The request, or the peer's behaviour on the stream, was invalid (e.g. over-delivery). */
    readonly INVALID: 516;
};
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
/** The name of an error code (`APPLICATION_ERROR`), or its hex form for unknown codes. */
export declare function errorCodeName(code: number): string;
/**
 * The one error type of this client: an ERROR frame received, a local cancel or abort
 * (CANCELED), a protocol violation by the peer (INVALID / CONNECTION_ERROR), or a lost
 * connection (CONNECTION_ERROR).
 */
export declare class RSocketError extends Error {
    /** The RSocket error code (see `ErrorCode`); application codes are 0x301..0xFFFFFFFE. */
    readonly code: number;
    /** The stream the error belongs to; 0 for the connection. */
    readonly streamId: number;
    constructor(code: number, message: string, options?: {
        cause?: unknown;
        streamId?: number;
    });
    /**
     * Turns anything thrown into an RSocketError: an RSocketError is returned as is, an
     * `AbortError` (or `TimeoutError`) becomes CANCELED, anything else APPLICATION_ERROR.
     */
    static from(reason: unknown, streamId?: number): RSocketError;
}
