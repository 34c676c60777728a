export declare const MIME_COMPOSITE = "message/x.rsocket.composite-metadata.v0";
export declare const MIME_ROUTING = "message/x.rsocket.routing.v0";
export declare const MIME_AUTH = "message/x.rsocket.authentication.v0";
/** The MIME string of a well-known ID, or undefined for an unassigned one. */
export declare function wellKnownMime(id: number): string | undefined;
/** The well-known ID of a MIME string, or -1. */
export declare function wellKnownId(mime: string): number;
/**
 * One composite metadata entry. `mime` is the MIME string when known; `id` is the
 * well-known ID when the entry used one (unassigned IDs are kept as `id` only).
 */
export interface MetadataEntry {
    mime: string;
    id?: number;
    content: Uint8Array;
}
/** Encodes composite metadata; well-known MIME strings are written as their ID. */
export declare function encodeComposite(entries: readonly MetadataEntry[]): Uint8Array;
/** Decodes composite metadata. Throws RangeError when a length runs past the end. */
export declare function decodeComposite(b: Uint8Array): MetadataEntry[];
/** Encodes routing metadata: each tag as u8 length (1..255, the real length) + UTF-8. */
export declare function encodeRoutes(...tags: string[]): Uint8Array;
/** Decodes routing metadata into its tags. */
export declare function decodeRoutes(b: Uint8Array): string[];
/**
 * Authentication for a request or SETUP: `{bearer}` (well-known type 0x01), `{username,
 * password}` (simple, 0x00), or any `{type, payload}` (a well-known ID or a custom string).
 */
export type Auth = {
    bearer: string;
} | {
    username: string;
    password: string;
} | {
    type: string | number;
    payload: Uint8Array;
};
/** Encodes the content of an authentication metadata entry. */
export declare function encodeAuth(auth: Auth): Uint8Array;
/** Decodes the content of an authentication metadata entry. */
export declare function decodeAuth(b: Uint8Array): {
    type: string | number;
    payload: Uint8Array;
};
/**
 * Encodes per-stream MIME entries (`message/x.rsocket.mime-type.v0` holds one,
 * `accept-mime-types.v0` several): a well-known ID with bit 7, or length-1 + the string.
 */
export declare function encodeMimeTypes(...mimes: string[]): Uint8Array;
/** Decodes per-stream MIME entries; unassigned well-known IDs come back with mime ''. */
export declare function decodeMimeTypes(b: Uint8Array): {
    mime: string;
    id?: number;
}[];
