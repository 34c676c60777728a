// RSocket metadata extensions: composite metadata, routing, authentication, and the
// well-known MIME table. Pure functions.

/** Well-known MIME type IDs (7-bit) of the composite metadata extension. */
const WELL_KNOWN = [
  'application/avro', 'application/cbor', 'application/graphql', 'application/gzip',
  'application/javascript', 'application/json', 'application/octet-stream', 'application/pdf',
  'application/vnd.apache.thrift.binary', 'application/vnd.google.protobuf', 'application/xml',
  'application/zip', 'audio/aac', 'audio/mp3', 'audio/mp4', 'audio/mpeg3', 'audio/mpeg', 'audio/ogg',
  'audio/opus', 'audio/vorbis', 'image/bmp', 'image/gif', 'image/heic-sequence', 'image/heic',
  'image/heif-sequence', 'image/heif', 'image/jpeg', 'image/png', 'image/tiff', 'multipart/mixed',
  'text/css', 'text/csv', 'text/html', 'text/plain', 'text/xml', 'video/H264', 'video/H265', 'video/VP8',
  'application/x-hessian', 'application/x-java-object', 'application/cloudevents+json',
  'application/x-capnp', 'application/x-flatbuffers',
];
const WELL_KNOWN_HIGH: Record<number, string> = {
  0x7a: 'message/x.rsocket.mime-type.v0',
  0x7b: 'message/x.rsocket.accept-mime-types.v0',
  0x7c: 'message/x.rsocket.authentication.v0',
  0x7d: 'message/x.rsocket.tracing-zipkin.v0',
  0x7e: 'message/x.rsocket.routing.v0',
  0x7f: 'message/x.rsocket.composite-metadata.v0',
};

export const MIME_COMPOSITE = 'message/x.rsocket.composite-metadata.v0';
export const MIME_ROUTING = 'message/x.rsocket.routing.v0';
export const MIME_AUTH = 'message/x.rsocket.authentication.v0';

/** The MIME string of a well-known ID, or undefined for an unassigned one. */
export function wellKnownMime(id: number): string | undefined {
  return id < WELL_KNOWN.length ? WELL_KNOWN[id] : WELL_KNOWN_HIGH[id];
}

/** The well-known ID of a MIME string, or -1. */
export function wellKnownId(mime: string): number {
  const i = WELL_KNOWN.indexOf(mime);
  if (i >= 0) return i;
  for (const k in WELL_KNOWN_HIGH) if (WELL_KNOWN_HIGH[k] === mime) return Number(k);
  return -1;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/**
 * One composite metadata entry. `mime` is the MIME string when known; `id` is the
 * well-known ID when the entry used one (unassigned IDs are kept as `id` only).
 */
export interface MetadataEntry {
  mime: string;
  id?: number;
  content: Uint8Array;
}

function ascii(s: string): Uint8Array {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) throw new RangeError('MIME type must be US-ASCII');
  return utf8.encode(s);
}

/** Encodes composite metadata; well-known MIME strings are written as their ID. */
export function encodeComposite(entries: readonly MetadataEntry[]): Uint8Array {
  const heads: Uint8Array[] = [];
  let total = 0;
  for (const e of entries) {
    const id = e.id ?? wellKnownId(e.mime);
    let head: Uint8Array;
    if (id >= 0) head = Uint8Array.of(0x80 | id);
    else {
      const m = ascii(e.mime);
      if (m.length < 1 || m.length > 128) throw new RangeError('custom MIME type must be 1..128 bytes');
      head = new Uint8Array(1 + m.length);
      head[0] = m.length - 1;
      head.set(m, 1);
    }
    if (e.content.length > 0xffffff) throw new RangeError('metadata entry too large');
    heads.push(head);
    total += head.length + 3 + e.content.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  entries.forEach((e, i) => {
    const h = heads[i]!;
    out.set(h, o); o += h.length;
    const n = e.content.length;
    out[o] = n >>> 16; out[o + 1] = (n >>> 8) & 0xff; out[o + 2] = n & 0xff; o += 3;
    out.set(e.content, o); o += n;
  });
  return out;
}

/** Decodes composite metadata. Throws RangeError when a length runs past the end. */
export function decodeComposite(b: Uint8Array): MetadataEntry[] {
  const out: MetadataEntry[] = [];
  let o = 0;
  while (o < b.length) {
    const h = b[o++]!;
    let entry: MetadataEntry;
    if (h & 0x80) {
      const id = h & 0x7f;
      entry = { mime: wellKnownMime(id) ?? '', id, content: b };
    } else {
      const len = h + 1;
      if (o + len > b.length) throw new RangeError('composite metadata: MIME runs past the end');
      entry = { mime: utf8d.decode(b.subarray(o, o + len)), content: b };
      o += len;
    }
    if (o + 3 > b.length) throw new RangeError('composite metadata: truncated entry length');
    const n = (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
    o += 3;
    if (o + n > b.length) throw new RangeError('composite metadata: entry runs past the end');
    entry.content = b.subarray(o, o + n);
    o += n;
    out.push(entry);
  }
  return out;
}

/** Encodes routing metadata: each tag as u8 length (1..255, the real length) + UTF-8. */
export function encodeRoutes(...tags: string[]): Uint8Array {
  const parts = tags.map((t) => utf8.encode(t));
  let n = 0;
  for (const p of parts) {
    if (p.length < 1 || p.length > 255) throw new RangeError('route tag must be 1..255 bytes');
    n += 1 + p.length;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out[o] = p.length; out.set(p, o + 1); o += 1 + p.length; }
  return out;
}

/** Decodes routing metadata into its tags. */
export function decodeRoutes(b: Uint8Array): string[] {
  const tags: string[] = [];
  let o = 0;
  while (o < b.length) {
    const n = b[o++]!;
    if (o + n > b.length) throw new RangeError('routing metadata: tag runs past the end');
    tags.push(utf8d.decode(b.subarray(o, o + n)));
    o += n;
  }
  return tags;
}

/**
 * Authentication for a request or SETUP: `{bearer}` (well-known type 0x01), `{username,
 * password}` (simple, 0x00), or any `{type, payload}` (a well-known ID or a custom string).
 */
export type Auth =
  | { bearer: string }
  | { username: string; password: string }
  | { type: string | number; payload: Uint8Array };

/** Encodes the content of an authentication metadata entry. */
export function encodeAuth(auth: Auth): Uint8Array {
  let type: number | string;
  let payload: Uint8Array;
  if ('bearer' in auth) { type = 1; payload = utf8.encode(auth.bearer); }
  else if ('username' in auth) {
    const u = utf8.encode(auth.username);
    const p = utf8.encode(auth.password);
    if (u.length > 0xffff) throw new RangeError('username too long');
    payload = new Uint8Array(2 + u.length + p.length);
    payload[0] = u.length >>> 8; payload[1] = u.length & 0xff;
    payload.set(u, 2); payload.set(p, 2 + u.length);
    type = 0;
  } else { type = auth.type; payload = auth.payload; }
  let head: Uint8Array;
  if (typeof type === 'number') head = Uint8Array.of(0x80 | (type & 0x7f));
  else {
    const t = type === 'simple' ? null : type === 'bearer' ? null : ascii(type);
    if (t === null) head = Uint8Array.of(type === 'simple' ? 0x80 : 0x81);
    else {
      if (t.length < 1 || t.length > 128) throw new RangeError('auth type must be 1..128 bytes');
      head = new Uint8Array(1 + t.length); head[0] = t.length - 1; head.set(t, 1);
    }
  }
  const out = new Uint8Array(head.length + payload.length);
  out.set(head); out.set(payload, head.length);
  return out;
}

/** Decodes the content of an authentication metadata entry. */
export function decodeAuth(b: Uint8Array): { type: string | number; payload: Uint8Array } {
  if (b.length < 1) throw new RangeError('authentication metadata is empty');
  const h = b[0]!;
  if (h & 0x80) return { type: h & 0x7f, payload: b.subarray(1) };
  const n = h + 1;
  if (1 + n > b.length) throw new RangeError('authentication metadata: type runs past the end');
  return { type: utf8d.decode(b.subarray(1, 1 + n)), payload: b.subarray(1 + n) };
}

/**
 * Encodes per-stream MIME entries (`message/x.rsocket.mime-type.v0` holds one,
 * `accept-mime-types.v0` several): a well-known ID with bit 7, or length-1 + the string.
 */
export function encodeMimeTypes(...mimes: string[]): Uint8Array {
  const parts = mimes.map((m) => {
    const id = wellKnownId(m);
    if (id >= 0) return Uint8Array.of(0x80 | id);
    const s = ascii(m);
    if (s.length < 1 || s.length > 128) throw new RangeError('MIME type must be 1..128 bytes');
    const b = new Uint8Array(1 + s.length);
    b[0] = s.length - 1;
    b.set(s, 1);
    return b;
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Decodes per-stream MIME entries; unassigned well-known IDs come back with mime ''. */
export function decodeMimeTypes(b: Uint8Array): { mime: string; id?: number }[] {
  const out: { mime: string; id?: number }[] = [];
  let o = 0;
  while (o < b.length) {
    const h = b[o++]!;
    if (h & 0x80) { out.push({ mime: wellKnownMime(h & 0x7f) ?? '', id: h & 0x7f }); continue; }
    const n = h + 1;
    if (o + n > b.length) throw new RangeError('MIME type entry runs past the end');
    out.push({ mime: utf8d.decode(b.subarray(o, o + n)) });
    o += n;
  }
  return out;
}
