/** Frame types of RSocket 1.0. */
export declare const FrameType: {
    readonly RESERVED: 0;
    readonly SETUP: 1;
    readonly LEASE: 2;
    readonly KEEPALIVE: 3;
    readonly REQUEST_RESPONSE: 4;
    readonly REQUEST_FNF: 5;
    readonly REQUEST_STREAM: 6;
    readonly REQUEST_CHANNEL: 7;
    readonly REQUEST_N: 8;
    readonly CANCEL: 9;
    readonly PAYLOAD: 10;
    readonly ERROR: 11;
    readonly METADATA_PUSH: 12;
    readonly RESUME: 13;
    readonly RESUME_OK: 14;
    readonly EXT: 63;
};
export type FrameType = (typeof FrameType)[keyof typeof FrameType];
/** Flag bits of the header; some bits have a per-type meaning. */
export declare const Flags: {
    readonly IGNORE: 512;
    readonly METADATA: 256;
    readonly FOLLOWS: 128;
    readonly COMPLETE: 64;
    readonly NEXT: 32;
    /** SETUP R: resume token present. */
    readonly RESUME: 128;
    /** SETUP L: will honour LEASE. */
    readonly LEASE: 64;
    /** KEEPALIVE R: please answer. */
    readonly RESPOND: 128;
};
/** The largest u31 value; as credit it means unbounded. */
export declare const MAX_N = 2147483647;
/** The largest frame on any transport. */
export declare const MAX_FRAME = 16777215;
/** Protocol version 1.0 as major<<16 | minor. */
export declare const VERSION_1_0 = 65536;
/**
 * One frame. Which fields are meaningful depends on `type` (the same field names as the
 * Go codec and the shared golden vectors): `n` is the initial request N, the REQUEST_N
 * credit or the LEASE count; `keepalive` is SETUP's interval or LEASE's TTL.
 * `metadata` is null when the M flag is clear and a (possibly empty) array when set.
 */
export interface Frame {
    streamId: number;
    type: number;
    flags: number;
    metadata: Uint8Array | null;
    data: Uint8Array;
    n?: number;
    code?: number;
    version?: number;
    keepalive?: number;
    lifetime?: number;
    token?: Uint8Array;
    metadataMime?: string;
    dataMime?: string;
    position?: number;
    position2?: number;
    extType?: number;
}
/** A malformed frame. `ignorable` mirrors the frame's I flag. */
export declare class FrameError extends Error {
    readonly ignorable: boolean;
    readonly streamId: number;
    constructor(message: string, streamId: number, ignorable: boolean);
}
export declare const EMPTY: Uint8Array;
/** The encoded length of a frame. */
export declare function encodedLength(f: Frame): number;
/**
 * Encodes a frame. The M flag is derived from `metadata` (set when non-null) for the
 * frame types that carry metadata; other flags are taken as given.
 */
export declare function encodeFrame(f: Frame): Uint8Array;
/**
 * Decodes one frame. Every length is checked against the bytes that are there; the
 * returned arrays alias `b`. Values that are well-formed but illegal (a REQUEST_N of 0)
 * are left for the receiver to judge. Throws FrameError.
 */
export declare function decodeFrame(b: Uint8Array): Frame;
/**
 * Splits a REQUEST_* or PAYLOAD frame into fragments of at most `mtu` encoded bytes
 * (metadata first, then data; later fragments are PAYLOAD frames, N set on them, C and
 * the request N only where the rules put them). Frames that fit are returned as is.
 */
export declare function fragment(f: Frame, mtu: number): Frame[];
/** Joins byte arrays. */
export declare function concat(parts: Uint8Array[], total?: number): Uint8Array;
