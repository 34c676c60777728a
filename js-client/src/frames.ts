// The RSocket 1.0 wire codec: every frame type, encode and bounds-checked decode,
// fragmentation. Pure functions, no I/O. Frames are handled without a length prefix
// (one frame per WebSocket message).

/** Frame types of RSocket 1.0. */
export const FrameType = {
  RESERVED: 0x00,
  SETUP: 0x01,
  LEASE: 0x02,
  KEEPALIVE: 0x03,
  REQUEST_RESPONSE: 0x04,
  REQUEST_FNF: 0x05,
  REQUEST_STREAM: 0x06,
  REQUEST_CHANNEL: 0x07,
  REQUEST_N: 0x08,
  CANCEL: 0x09,
  PAYLOAD: 0x0a,
  ERROR: 0x0b,
  METADATA_PUSH: 0x0c,
  RESUME: 0x0d,
  RESUME_OK: 0x0e,
  EXT: 0x3f,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Flag bits of the header; some bits have a per-type meaning. */
export const Flags = {
  IGNORE: 0x200,
  METADATA: 0x100,
  FOLLOWS: 0x080,
  COMPLETE: 0x040,
  NEXT: 0x020,
  /** SETUP R: resume token present. */
  RESUME: 0x080,
  /** SETUP L: will honour LEASE. */
  LEASE: 0x040,
  /** KEEPALIVE R: please answer. */
  RESPOND: 0x080,
} as const;

/** The largest u31 value; as credit it means unbounded. */
export const MAX_N = 0x7fffffff;
/** The largest frame on any transport. */
export const MAX_FRAME = 0xffffff;
/** Protocol version 1.0 as major<<16 | minor. */
export const VERSION_1_0 = 0x10000;
const HEADER = 6;

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
export class FrameError extends Error {
  readonly ignorable: boolean;
  readonly streamId: number;
  constructor(message: string, streamId: number, ignorable: boolean) {
    super(message);
    this.name = 'FrameError';
    this.streamId = streamId;
    this.ignorable = ignorable;
  }
}

export const EMPTY: Uint8Array = new Uint8Array(0);

/** Whether frames of this type carry a u24-length metadata section when M is set. */
function hasMetadataSection(type: number): boolean {
  return (type >= FrameType.REQUEST_RESPONSE && type <= FrameType.REQUEST_CHANNEL) ||
    type === FrameType.PAYLOAD || type === FrameType.SETUP || type === FrameType.EXT;
}

function asciiBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) throw new RangeError('MIME type must be US-ASCII');
    b[i] = c;
  }
  return b;
}

function asciiString(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function u31(v: number | undefined, what: string): number {
  const x = v ?? 0;
  if (!Number.isInteger(x) || x < 0 || x > MAX_N) throw new RangeError(`${what} out of range: ${x}`);
  return x;
}

function putU63(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, Math.floor(v / 0x100000000) & 0x7fffffff);
  dv.setUint32(off + 4, v >>> 0);
}

function getU63(dv: DataView, off: number): number {
  return (dv.getUint32(off) & 0x7fffffff) * 0x100000000 + dv.getUint32(off + 4);
}

/** The encoded length of a frame. */
export function encodedLength(f: Frame): number {
  let len = HEADER;
  const md = f.metadata;
  switch (f.type) {
    case FrameType.SETUP:
      len += 12 + 2 + (f.metadataMime?.length ?? 0) + (f.dataMime?.length ?? 0);
      if (f.flags & Flags.RESUME) len += 2 + (f.token?.length ?? 0);
      break;
    case FrameType.LEASE: len += 8; break;
    case FrameType.KEEPALIVE: len += 8; break;
    case FrameType.REQUEST_STREAM:
    case FrameType.REQUEST_CHANNEL:
    case FrameType.REQUEST_N:
    case FrameType.ERROR:
    case FrameType.EXT:
      len += 4; break;
    case FrameType.RESUME: len += 6 + (f.token?.length ?? 0) + 16; break;
    case FrameType.RESUME_OK: len += 8; break;
  }
  if (md !== null && (f.flags & Flags.METADATA || f.type === FrameType.METADATA_PUSH)) {
    len += md.length;
    if (hasMetadataSection(f.type)) len += 3;
  }
  if (f.type !== FrameType.REQUEST_N && f.type !== FrameType.CANCEL && f.type !== FrameType.METADATA_PUSH &&
    f.type !== FrameType.LEASE && f.type !== FrameType.RESUME && f.type !== FrameType.RESUME_OK) {
    len += f.data.length;
  }
  return len;
}

/**
 * Encodes a frame. The M flag is derived from `metadata` (set when non-null) for the
 * frame types that carry metadata; other flags are taken as given.
 */
export function encodeFrame(f: Frame): Uint8Array {
  const type = f.type;
  let flags = f.flags & 0x3ff;
  const md = f.metadata;
  if (hasMetadataSection(type) || type === FrameType.LEASE || type === FrameType.METADATA_PUSH) {
    flags = md !== null ? flags | Flags.METADATA : flags & ~Flags.METADATA;
  }
  if (type === FrameType.METADATA_PUSH) flags |= Flags.METADATA;
  const out = new Uint8Array(encodedLength({ ...f, flags }));
  if (out.length > MAX_FRAME) throw new RangeError(`frame of ${out.length} bytes exceeds the 16 MiB maximum`);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, u31(f.streamId, 'stream id'));
  dv.setUint16(4, ((type & 0x3f) << 10) | flags);
  let o = HEADER;
  const metaSection = (): void => {
    if (md === null) return;
    if (md.length > MAX_FRAME) throw new RangeError('metadata too large');
    out[o] = md.length >>> 16; out[o + 1] = (md.length >>> 8) & 0xff; out[o + 2] = md.length & 0xff;
    out.set(md, o + 3);
    o += 3 + md.length;
  };
  switch (type) {
    case FrameType.SETUP: {
      dv.setUint32(o, f.version ?? VERSION_1_0); o += 4;
      dv.setUint32(o, u31(f.keepalive, 'keepalive')); o += 4;
      dv.setUint32(o, u31(f.lifetime, 'lifetime')); o += 4;
      if (flags & Flags.RESUME) {
        const t = f.token ?? EMPTY;
        dv.setUint16(o, t.length); out.set(t, o + 2); o += 2 + t.length;
      }
      for (const m of [f.metadataMime ?? '', f.dataMime ?? '']) {
        if (m.length > 255) throw new RangeError('MIME type longer than 255 bytes');
        out[o] = m.length; out.set(asciiBytes(m), o + 1); o += 1 + m.length;
      }
      metaSection();
      out.set(f.data, o);
      break;
    }
    case FrameType.LEASE:
      dv.setUint32(o, u31(f.keepalive, 'lease ttl')); dv.setUint32(o + 4, u31(f.n, 'lease count'));
      if (md !== null) out.set(md, o + 8);
      break;
    case FrameType.KEEPALIVE:
      putU63(dv, o, f.position ?? 0);
      out.set(f.data, o + 8);
      break;
    case FrameType.REQUEST_RESPONSE:
    case FrameType.REQUEST_FNF:
    case FrameType.PAYLOAD:
      metaSection();
      out.set(f.data, o);
      break;
    case FrameType.REQUEST_STREAM:
    case FrameType.REQUEST_CHANNEL:
      dv.setUint32(o, u31(f.n, 'request n')); o += 4;
      metaSection();
      out.set(f.data, o);
      break;
    case FrameType.REQUEST_N:
      dv.setUint32(o, u31(f.n, 'request n'));
      break;
    case FrameType.CANCEL:
      break;
    case FrameType.ERROR:
      dv.setUint32(o, (f.code ?? 0) >>> 0);
      out.set(f.data, o + 4);
      break;
    case FrameType.METADATA_PUSH:
      out.set(md ?? EMPTY, o);
      break;
    case FrameType.RESUME: {
      dv.setUint32(o, f.version ?? VERSION_1_0); o += 4;
      const t = f.token ?? EMPTY;
      dv.setUint16(o, t.length); out.set(t, o + 2); o += 2 + t.length;
      putU63(dv, o, f.position ?? 0); putU63(dv, o + 8, f.position2 ?? 0);
      break;
    }
    case FrameType.RESUME_OK:
      putU63(dv, o, f.position ?? 0);
      break;
    case FrameType.EXT:
      dv.setUint32(o, u31(f.extType, 'extended type')); o += 4;
      metaSection();
      out.set(f.data, o);
      break;
    default:
      throw new RangeError(`cannot encode frame type ${type}`);
  }
  return out;
}

/**
 * Decodes one frame. Every length is checked against the bytes that are there; the
 * returned arrays alias `b`. Values that are well-formed but illegal (a REQUEST_N of 0)
 * are left for the receiver to judge. Throws FrameError.
 */
export function decodeFrame(b: Uint8Array): Frame {
  if (b.length < HEADER) throw new FrameError(`frame of ${b.length} bytes is shorter than its header`, 0, false);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const streamId = dv.getUint32(0) & MAX_N;
  const word = dv.getUint16(4);
  const type = word >>> 10;
  const flags = word & 0x3ff;
  const fail = (why: string): never => {
    throw new FrameError(`malformed frame type 0x${type.toString(16)} on stream ${streamId}: ${why}`, streamId, (flags & Flags.IGNORE) !== 0);
  };
  const end = b.length;
  let o = HEADER;
  const need = (k: number): void => { if (end - o < k) fail('truncated'); };
  const f: Frame = { streamId, type, flags, metadata: null, data: EMPTY };
  const metaSection = (): void => {
    if (!(flags & Flags.METADATA)) return;
    need(3);
    const len = (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
    o += 3;
    if (end - o < len) fail('metadata length runs past the end of the frame');
    f.metadata = b.subarray(o, o + len);
    o += len;
  };
  switch (type) {
    case FrameType.SETUP: {
      need(12);
      f.version = dv.getUint32(o);
      f.keepalive = dv.getInt32(o + 4);
      f.lifetime = dv.getInt32(o + 8);
      o += 12;
      if (flags & Flags.RESUME) {
        need(2);
        const tl = dv.getUint16(o); o += 2;
        need(tl);
        f.token = b.subarray(o, o + tl); o += tl;
      }
      need(1);
      let ml = b[o]!; o += 1; need(ml);
      f.metadataMime = asciiString(b.subarray(o, o + ml)); o += ml;
      need(1);
      ml = b[o]!; o += 1; need(ml);
      f.dataMime = asciiString(b.subarray(o, o + ml)); o += ml;
      metaSection();
      break;
    }
    case FrameType.LEASE:
      need(8);
      f.keepalive = dv.getInt32(o); f.n = dv.getInt32(o + 4); o += 8;
      if (flags & Flags.METADATA) { f.metadata = b.subarray(o); o = end; }
      break;
    case FrameType.KEEPALIVE:
      need(8);
      f.position = getU63(dv, o); o += 8;
      break;
    case FrameType.REQUEST_RESPONSE:
    case FrameType.REQUEST_FNF:
    case FrameType.PAYLOAD:
      metaSection();
      break;
    case FrameType.REQUEST_STREAM:
    case FrameType.REQUEST_CHANNEL:
      need(4);
      f.n = dv.getInt32(o); o += 4;
      metaSection();
      break;
    case FrameType.REQUEST_N:
      need(4);
      f.n = dv.getInt32(o); o += 4;
      break;
    case FrameType.CANCEL:
      break;
    case FrameType.ERROR:
      need(4);
      f.code = dv.getUint32(o); o += 4;
      break;
    case FrameType.METADATA_PUSH:
      f.metadata = b.subarray(o); o = end;
      break;
    case FrameType.RESUME: {
      need(6);
      f.version = dv.getUint32(o);
      const tl = dv.getUint16(o + 4); o += 6;
      need(tl + 16);
      f.token = b.subarray(o, o + tl); o += tl;
      f.position = getU63(dv, o); f.position2 = getU63(dv, o + 8); o += 16;
      break;
    }
    case FrameType.RESUME_OK:
      need(8);
      f.position = getU63(dv, o); o += 8;
      break;
    case FrameType.EXT:
      need(4);
      f.extType = dv.getInt32(o); o += 4;
      metaSection();
      break;
    default:
      fail('unknown frame type');
  }
  f.data = o < end ? b.subarray(o) : EMPTY;
  return f;
}

/**
 * Splits a REQUEST_* or PAYLOAD frame into fragments of at most `mtu` encoded bytes
 * (metadata first, then data; later fragments are PAYLOAD frames, N set on them, C and
 * the request N only where the rules put them). Frames that fit are returned as is.
 */
export function fragment(f: Frame, mtu: number): Frame[] {
  if (mtu <= 0 || encodedLength(f) <= mtu) return [f];
  const t = f.type;
  if (!((t >= FrameType.REQUEST_RESPONSE && t <= FrameType.REQUEST_CHANNEL) || t === FrameType.PAYLOAD)) return [f];
  if (mtu < 64) throw new RangeError('fragment size must be at least 64 bytes');
  const out: Frame[] = [];
  let md = f.metadata;
  let data = f.data;
  const complete = f.flags & Flags.COMPLETE;
  const next = f.flags & Flags.NEXT;
  let first = true;
  while (first || md !== null || data.length > 0) {
    const fixed = HEADER + (first && (t === FrameType.REQUEST_STREAM || t === FrameType.REQUEST_CHANNEL) ? 4 : 0);
    let room = mtu - fixed;
    let fmd: Uint8Array | null = null;
    if (md !== null) {
      room -= 3;
      const take = Math.min(room, md.length);
      fmd = md.subarray(0, take);
      md = take === md.length ? null : md.subarray(take);
      room -= take;
    }
    let fdata = EMPTY;
    if (md === null && room > 0) {
      const take = Math.min(room, data.length);
      fdata = data.subarray(0, take);
      data = data.subarray(take);
    }
    const last = md === null && data.length === 0;
    const frag: Frame = { streamId: f.streamId, type: first ? t : FrameType.PAYLOAD, flags: 0, metadata: fmd, data: fdata };
    if (first && f.n !== undefined) frag.n = f.n;
    if (!last) frag.flags |= Flags.FOLLOWS;
    if (first) frag.flags |= f.flags & (t === FrameType.PAYLOAD ? Flags.NEXT : 0);
    else frag.flags |= next || t !== FrameType.PAYLOAD ? Flags.NEXT : 0;
    if (last && complete) frag.flags |= Flags.COMPLETE;
    out.push(frag);
    first = false;
  }
  return out;
}

/** Joins byte arrays. */
export function concat(parts: Uint8Array[], total?: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = total ?? 0;
  if (total === undefined) for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
