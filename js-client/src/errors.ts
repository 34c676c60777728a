/** RSocket 1.0 error codes (the u32 code of an ERROR frame). */
export const ErrorCode = {
  /** The SETUP was malformed, had a bad version, or the first frame was not SETUP. Stream 0. */
  INVALID_SETUP: 0x00000001,
  /** The server does not support the SETUP's parameters. Stream 0. */
  UNSUPPORTED_SETUP: 0x00000002,
  /** The server refused the SETUP; the reason is in the message. Stream 0. */
  REJECTED_SETUP: 0x00000003,
  /** The server refused a RESUME. Stream 0. */
  REJECTED_RESUME: 0x00000004,
  /** The connection failed and is being closed (also: transport lost, keepalive timeout). Stream 0. */
  CONNECTION_ERROR: 0x00000101,
  /** The connection is closing after its streams finish (also: `client.close()`). Stream 0. */
  CONNECTION_CLOSE: 0x00000102,
  /** The responder's application failed the request. */
  APPLICATION_ERROR: 0x00000201,
  /** The responder did not process the request at all (safe to retry). */
  REJECTED: 0x00000202,
  /** The stream was cancelled (by the responder, by `signal`, or locally). */
  CANCELED: 0x00000203,
  /** The request, or the peer's behaviour on the stream, was invalid (e.g. over-delivery). */
  INVALID: 0x00000204,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The name of an error code (`APPLICATION_ERROR`), or its hex form for unknown codes. */
export function errorCodeName(code: number): string {
  for (const k in ErrorCode) if (ErrorCode[k as keyof typeof ErrorCode] === code) return k;
  return '0x' + (code >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

/**
 * The one error type of this client: an ERROR frame received, a local cancel or abort
 * (CANCELED), a protocol violation by the peer (INVALID / CONNECTION_ERROR), or a lost
 * connection (CONNECTION_ERROR).
 */
export class RSocketError extends Error {
  /** The RSocket error code (see `ErrorCode`); application codes are 0x301..0xFFFFFFFE. */
  readonly code: number;
  /** The stream the error belongs to; 0 for the connection. */
  readonly streamId: number;

  constructor(code: number, message: string, options?: { cause?: unknown; streamId?: number }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code >>> 0;
    this.streamId = options?.streamId ?? 0;
    this.name = errorCodeName(this.code);
  }

  /**
   * Turns anything thrown into an RSocketError: an RSocketError is returned as is, an
   * `AbortError` (or `TimeoutError`) becomes CANCELED, anything else APPLICATION_ERROR.
   */
  static from(reason: unknown, streamId?: number): RSocketError {
    if (reason instanceof RSocketError) return reason;
    const opts = { cause: reason, streamId: streamId ?? 0 };
    if (isAbort(reason)) {
      const msg = reason instanceof Error && reason.message ? reason.message : 'aborted';
      return new RSocketError(ErrorCode.CANCELED, msg, opts);
    }
    if (reason instanceof Error) return new RSocketError(ErrorCode.APPLICATION_ERROR, reason.message, opts);
    return new RSocketError(ErrorCode.APPLICATION_ERROR, String(reason), opts);
  }
}

function isAbort(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'name' in e &&
    ((e as { name: unknown }).name === 'AbortError' || (e as { name: unknown }).name === 'TimeoutError');
}
