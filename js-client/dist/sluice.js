// @sluicehq/client — RSocket 1.0 over WebSocket. Built from js-client/src; do not edit.

// src/errors.ts
var ErrorCode = {
  /** The SETUP was malformed, had a bad version, or the first frame was not SETUP. Stream 0. */
  INVALID_SETUP: 1,
  /** The server does not support the SETUP's parameters. Stream 0. */
  UNSUPPORTED_SETUP: 2,
  /** The server refused the SETUP; the reason is in the message. Stream 0. */
  REJECTED_SETUP: 3,
  /** The server refused a RESUME. Stream 0. */
  REJECTED_RESUME: 4,
  /** The connection failed and is being closed (also: transport lost, keepalive timeout). Stream 0. */
  CONNECTION_ERROR: 257,
  /** The connection is closing after its streams finish (also: `client.close()`). Stream 0. */
  CONNECTION_CLOSE: 258,
  /** The responder's application failed the request. */
  APPLICATION_ERROR: 513,
  /** The responder did not process the request at all (safe to retry). */
  REJECTED: 514,
  /** The stream was cancelled (by the responder, by `signal`, or locally). */
  CANCELED: 515,
  /** The request, or the peer's behaviour on the stream, was invalid (e.g. over-delivery). */
  INVALID: 516
};
function errorCodeName(code) {
  for (const k in ErrorCode) if (ErrorCode[k] === code) return k;
  return "0x" + (code >>> 0).toString(16).toUpperCase().padStart(8, "0");
}
var RSocketError = class _RSocketError extends Error {
  /** The RSocket error code (see `ErrorCode`); application codes are 0x301..0xFFFFFFFE. */
  code;
  /** The stream the error belongs to; 0 for the connection. */
  streamId;
  constructor(code, message, options) {
    super(message, options?.cause !== void 0 ? { cause: options.cause } : void 0);
    this.code = code >>> 0;
    this.streamId = options?.streamId ?? 0;
    this.name = errorCodeName(this.code);
  }
  /**
   * Turns anything thrown into an RSocketError: an RSocketError is returned as is, an
   * `AbortError` (or `TimeoutError`) becomes CANCELED, anything else APPLICATION_ERROR.
   */
  static from(reason, streamId) {
    if (reason instanceof _RSocketError) return reason;
    const opts = { cause: reason, streamId: streamId ?? 0 };
    if (isAbort(reason)) {
      const msg = reason instanceof Error && reason.message ? reason.message : "aborted";
      return new _RSocketError(ErrorCode.CANCELED, msg, opts);
    }
    if (reason instanceof Error) return new _RSocketError(ErrorCode.APPLICATION_ERROR, reason.message, opts);
    return new _RSocketError(ErrorCode.APPLICATION_ERROR, String(reason), opts);
  }
};
function isAbort(e) {
  return typeof e === "object" && e !== null && "name" in e && (e.name === "AbortError" || e.name === "TimeoutError");
}

// src/frames.ts
var FrameType = {
  RESERVED: 0,
  SETUP: 1,
  LEASE: 2,
  KEEPALIVE: 3,
  REQUEST_RESPONSE: 4,
  REQUEST_FNF: 5,
  REQUEST_STREAM: 6,
  REQUEST_CHANNEL: 7,
  REQUEST_N: 8,
  CANCEL: 9,
  PAYLOAD: 10,
  ERROR: 11,
  METADATA_PUSH: 12,
  RESUME: 13,
  RESUME_OK: 14,
  EXT: 63
};
var Flags = {
  IGNORE: 512,
  METADATA: 256,
  FOLLOWS: 128,
  COMPLETE: 64,
  NEXT: 32,
  /** SETUP R: resume token present. */
  RESUME: 128,
  /** SETUP L: will honour LEASE. */
  LEASE: 64,
  /** KEEPALIVE R: please answer. */
  RESPOND: 128
};
var MAX_N = 2147483647;
var MAX_FRAME = 16777215;
var VERSION_1_0 = 65536;
var HEADER = 6;
var FrameError = class extends Error {
  ignorable;
  streamId;
  constructor(message, streamId, ignorable) {
    super(message);
    this.name = "FrameError";
    this.streamId = streamId;
    this.ignorable = ignorable;
  }
};
var EMPTY = new Uint8Array(0);
function hasMetadataSection(type) {
  return type >= FrameType.REQUEST_RESPONSE && type <= FrameType.REQUEST_CHANNEL || type === FrameType.PAYLOAD || type === FrameType.SETUP || type === FrameType.EXT;
}
function asciiBytes(s) {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) throw new RangeError("MIME type must be US-ASCII");
    b[i] = c;
  }
  return b;
}
function asciiString(b) {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}
function u31(v, what) {
  const x = v ?? 0;
  if (!Number.isInteger(x) || x < 0 || x > MAX_N) throw new RangeError(`${what} out of range: ${x}`);
  return x;
}
function putU63(dv, off, v) {
  dv.setUint32(off, Math.floor(v / 4294967296) & 2147483647);
  dv.setUint32(off + 4, v >>> 0);
}
function getU63(dv, off) {
  return (dv.getUint32(off) & 2147483647) * 4294967296 + dv.getUint32(off + 4);
}
function encodedLength(f) {
  let len = HEADER;
  const md = f.metadata;
  switch (f.type) {
    case FrameType.SETUP:
      len += 12 + 2 + (f.metadataMime?.length ?? 0) + (f.dataMime?.length ?? 0);
      if (f.flags & Flags.RESUME) len += 2 + (f.token?.length ?? 0);
      break;
    case FrameType.LEASE:
      len += 8;
      break;
    case FrameType.KEEPALIVE:
      len += 8;
      break;
    case FrameType.REQUEST_STREAM:
    case FrameType.REQUEST_CHANNEL:
    case FrameType.REQUEST_N:
    case FrameType.ERROR:
    case FrameType.EXT:
      len += 4;
      break;
    case FrameType.RESUME:
      len += 6 + (f.token?.length ?? 0) + 16;
      break;
    case FrameType.RESUME_OK:
      len += 8;
      break;
  }
  if (md !== null && (f.flags & Flags.METADATA || f.type === FrameType.METADATA_PUSH)) {
    len += md.length;
    if (hasMetadataSection(f.type)) len += 3;
  }
  if (f.type !== FrameType.REQUEST_N && f.type !== FrameType.CANCEL && f.type !== FrameType.METADATA_PUSH && f.type !== FrameType.LEASE && f.type !== FrameType.RESUME && f.type !== FrameType.RESUME_OK) {
    len += f.data.length;
  }
  return len;
}
function encodeFrame(f) {
  const type = f.type;
  let flags = f.flags & 1023;
  const md = f.metadata;
  if (hasMetadataSection(type) || type === FrameType.LEASE || type === FrameType.METADATA_PUSH) {
    flags = md !== null ? flags | Flags.METADATA : flags & ~Flags.METADATA;
  }
  if (type === FrameType.METADATA_PUSH) flags |= Flags.METADATA;
  const out = new Uint8Array(encodedLength({ ...f, flags }));
  if (out.length > MAX_FRAME) throw new RangeError(`frame of ${out.length} bytes exceeds the 16 MiB maximum`);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, u31(f.streamId, "stream id"));
  dv.setUint16(4, (type & 63) << 10 | flags);
  let o = HEADER;
  const metaSection = () => {
    if (md === null) return;
    if (md.length > MAX_FRAME) throw new RangeError("metadata too large");
    out[o] = md.length >>> 16;
    out[o + 1] = md.length >>> 8 & 255;
    out[o + 2] = md.length & 255;
    out.set(md, o + 3);
    o += 3 + md.length;
  };
  switch (type) {
    case FrameType.SETUP: {
      dv.setUint32(o, f.version ?? VERSION_1_0);
      o += 4;
      dv.setUint32(o, u31(f.keepalive, "keepalive"));
      o += 4;
      dv.setUint32(o, u31(f.lifetime, "lifetime"));
      o += 4;
      if (flags & Flags.RESUME) {
        const t = f.token ?? EMPTY;
        dv.setUint16(o, t.length);
        out.set(t, o + 2);
        o += 2 + t.length;
      }
      for (const m of [f.metadataMime ?? "", f.dataMime ?? ""]) {
        if (m.length > 255) throw new RangeError("MIME type longer than 255 bytes");
        out[o] = m.length;
        out.set(asciiBytes(m), o + 1);
        o += 1 + m.length;
      }
      metaSection();
      out.set(f.data, o);
      break;
    }
    case FrameType.LEASE:
      dv.setUint32(o, u31(f.keepalive, "lease ttl"));
      dv.setUint32(o + 4, u31(f.n, "lease count"));
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
      dv.setUint32(o, u31(f.n, "request n"));
      o += 4;
      metaSection();
      out.set(f.data, o);
      break;
    case FrameType.REQUEST_N:
      dv.setUint32(o, u31(f.n, "request n"));
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
      dv.setUint32(o, f.version ?? VERSION_1_0);
      o += 4;
      const t = f.token ?? EMPTY;
      dv.setUint16(o, t.length);
      out.set(t, o + 2);
      o += 2 + t.length;
      putU63(dv, o, f.position ?? 0);
      putU63(dv, o + 8, f.position2 ?? 0);
      break;
    }
    case FrameType.RESUME_OK:
      putU63(dv, o, f.position ?? 0);
      break;
    case FrameType.EXT:
      dv.setUint32(o, u31(f.extType, "extended type"));
      o += 4;
      metaSection();
      out.set(f.data, o);
      break;
    default:
      throw new RangeError(`cannot encode frame type ${type}`);
  }
  return out;
}
function decodeFrame(b) {
  if (b.length < HEADER) throw new FrameError(`frame of ${b.length} bytes is shorter than its header`, 0, false);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const streamId = dv.getUint32(0) & MAX_N;
  const word = dv.getUint16(4);
  const type = word >>> 10;
  const flags = word & 1023;
  const fail = (why) => {
    throw new FrameError(`malformed frame type 0x${type.toString(16)} on stream ${streamId}: ${why}`, streamId, (flags & Flags.IGNORE) !== 0);
  };
  const end = b.length;
  let o = HEADER;
  const need = (k) => {
    if (end - o < k) fail("truncated");
  };
  const f = { streamId, type, flags, metadata: null, data: EMPTY };
  const metaSection = () => {
    if (!(flags & Flags.METADATA)) return;
    need(3);
    const len = b[o] << 16 | b[o + 1] << 8 | b[o + 2];
    o += 3;
    if (end - o < len) fail("metadata length runs past the end of the frame");
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
        const tl = dv.getUint16(o);
        o += 2;
        need(tl);
        f.token = b.subarray(o, o + tl);
        o += tl;
      }
      need(1);
      let ml = b[o];
      o += 1;
      need(ml);
      f.metadataMime = asciiString(b.subarray(o, o + ml));
      o += ml;
      need(1);
      ml = b[o];
      o += 1;
      need(ml);
      f.dataMime = asciiString(b.subarray(o, o + ml));
      o += ml;
      metaSection();
      break;
    }
    case FrameType.LEASE:
      need(8);
      f.keepalive = dv.getInt32(o);
      f.n = dv.getInt32(o + 4);
      o += 8;
      if (flags & Flags.METADATA) {
        f.metadata = b.subarray(o);
        o = end;
      }
      break;
    case FrameType.KEEPALIVE:
      need(8);
      f.position = getU63(dv, o);
      o += 8;
      break;
    case FrameType.REQUEST_RESPONSE:
    case FrameType.REQUEST_FNF:
    case FrameType.PAYLOAD:
      metaSection();
      break;
    case FrameType.REQUEST_STREAM:
    case FrameType.REQUEST_CHANNEL:
      need(4);
      f.n = dv.getInt32(o);
      o += 4;
      metaSection();
      break;
    case FrameType.REQUEST_N:
      need(4);
      f.n = dv.getInt32(o);
      o += 4;
      break;
    case FrameType.CANCEL:
      break;
    case FrameType.ERROR:
      need(4);
      f.code = dv.getUint32(o);
      o += 4;
      break;
    case FrameType.METADATA_PUSH:
      f.metadata = b.subarray(o);
      o = end;
      break;
    case FrameType.RESUME: {
      need(6);
      f.version = dv.getUint32(o);
      const tl = dv.getUint16(o + 4);
      o += 6;
      need(tl + 16);
      f.token = b.subarray(o, o + tl);
      o += tl;
      f.position = getU63(dv, o);
      f.position2 = getU63(dv, o + 8);
      o += 16;
      break;
    }
    case FrameType.RESUME_OK:
      need(8);
      f.position = getU63(dv, o);
      o += 8;
      break;
    case FrameType.EXT:
      need(4);
      f.extType = dv.getInt32(o);
      o += 4;
      metaSection();
      break;
    default:
      fail("unknown frame type");
  }
  f.data = o < end ? b.subarray(o) : EMPTY;
  return f;
}
function fragment(f, mtu) {
  if (mtu <= 0 || encodedLength(f) <= mtu) return [f];
  const t = f.type;
  if (!(t >= FrameType.REQUEST_RESPONSE && t <= FrameType.REQUEST_CHANNEL || t === FrameType.PAYLOAD)) return [f];
  if (mtu < 64) throw new RangeError("fragment size must be at least 64 bytes");
  const out = [];
  let md = f.metadata;
  let data = f.data;
  const complete = f.flags & Flags.COMPLETE;
  const next = f.flags & Flags.NEXT;
  let first = true;
  while (first || md !== null || data.length > 0) {
    const fixed = HEADER + (first && (t === FrameType.REQUEST_STREAM || t === FrameType.REQUEST_CHANNEL) ? 4 : 0);
    let room = mtu - fixed;
    let fmd = null;
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
    const frag = { streamId: f.streamId, type: first ? t : FrameType.PAYLOAD, flags: 0, metadata: fmd, data: fdata };
    if (first && f.n !== void 0) frag.n = f.n;
    if (!last) frag.flags |= Flags.FOLLOWS;
    if (first) frag.flags |= f.flags & (t === FrameType.PAYLOAD ? Flags.NEXT : 0);
    else frag.flags |= next || t !== FrameType.PAYLOAD ? Flags.NEXT : 0;
    if (last && complete) frag.flags |= Flags.COMPLETE;
    out.push(frag);
    first = false;
  }
  return out;
}
function concat(parts, total) {
  if (parts.length === 1) return parts[0];
  let n = total ?? 0;
  if (total === void 0) for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// src/metadata.ts
var WELL_KNOWN = [
  "application/avro",
  "application/cbor",
  "application/graphql",
  "application/gzip",
  "application/javascript",
  "application/json",
  "application/octet-stream",
  "application/pdf",
  "application/vnd.apache.thrift.binary",
  "application/vnd.google.protobuf",
  "application/xml",
  "application/zip",
  "audio/aac",
  "audio/mp3",
  "audio/mp4",
  "audio/mpeg3",
  "audio/mpeg",
  "audio/ogg",
  "audio/opus",
  "audio/vorbis",
  "image/bmp",
  "image/gif",
  "image/heic-sequence",
  "image/heic",
  "image/heif-sequence",
  "image/heif",
  "image/jpeg",
  "image/png",
  "image/tiff",
  "multipart/mixed",
  "text/css",
  "text/csv",
  "text/html",
  "text/plain",
  "text/xml",
  "video/H264",
  "video/H265",
  "video/VP8",
  "application/x-hessian",
  "application/x-java-object",
  "application/cloudevents+json",
  "application/x-capnp",
  "application/x-flatbuffers"
];
var WELL_KNOWN_HIGH = {
  122: "message/x.rsocket.mime-type.v0",
  123: "message/x.rsocket.accept-mime-types.v0",
  124: "message/x.rsocket.authentication.v0",
  125: "message/x.rsocket.tracing-zipkin.v0",
  126: "message/x.rsocket.routing.v0",
  127: "message/x.rsocket.composite-metadata.v0"
};
var MIME_COMPOSITE = "message/x.rsocket.composite-metadata.v0";
var MIME_ROUTING = "message/x.rsocket.routing.v0";
var MIME_AUTH = "message/x.rsocket.authentication.v0";
function wellKnownMime(id) {
  return id < WELL_KNOWN.length ? WELL_KNOWN[id] : WELL_KNOWN_HIGH[id];
}
function wellKnownId(mime) {
  const i = WELL_KNOWN.indexOf(mime);
  if (i >= 0) return i;
  for (const k in WELL_KNOWN_HIGH) if (WELL_KNOWN_HIGH[k] === mime) return Number(k);
  return -1;
}
var utf8 = new TextEncoder();
var utf8d = new TextDecoder();
function ascii(s) {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 127) throw new RangeError("MIME type must be US-ASCII");
  return utf8.encode(s);
}
function encodeComposite(entries) {
  const heads = [];
  let total = 0;
  for (const e of entries) {
    const id = e.id ?? wellKnownId(e.mime);
    let head;
    if (id >= 0) head = Uint8Array.of(128 | id);
    else {
      const m = ascii(e.mime);
      if (m.length < 1 || m.length > 128) throw new RangeError("custom MIME type must be 1..128 bytes");
      head = new Uint8Array(1 + m.length);
      head[0] = m.length - 1;
      head.set(m, 1);
    }
    if (e.content.length > 16777215) throw new RangeError("metadata entry too large");
    heads.push(head);
    total += head.length + 3 + e.content.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  entries.forEach((e, i) => {
    const h = heads[i];
    out.set(h, o);
    o += h.length;
    const n = e.content.length;
    out[o] = n >>> 16;
    out[o + 1] = n >>> 8 & 255;
    out[o + 2] = n & 255;
    o += 3;
    out.set(e.content, o);
    o += n;
  });
  return out;
}
function decodeComposite(b) {
  const out = [];
  let o = 0;
  while (o < b.length) {
    const h = b[o++];
    let entry;
    if (h & 128) {
      const id = h & 127;
      entry = { mime: wellKnownMime(id) ?? "", id, content: b };
    } else {
      const len = h + 1;
      if (o + len > b.length) throw new RangeError("composite metadata: MIME runs past the end");
      entry = { mime: utf8d.decode(b.subarray(o, o + len)), content: b };
      o += len;
    }
    if (o + 3 > b.length) throw new RangeError("composite metadata: truncated entry length");
    const n = b[o] << 16 | b[o + 1] << 8 | b[o + 2];
    o += 3;
    if (o + n > b.length) throw new RangeError("composite metadata: entry runs past the end");
    entry.content = b.subarray(o, o + n);
    o += n;
    out.push(entry);
  }
  return out;
}
function encodeRoutes(...tags) {
  const parts = tags.map((t) => utf8.encode(t));
  let n = 0;
  for (const p of parts) {
    if (p.length < 1 || p.length > 255) throw new RangeError("route tag must be 1..255 bytes");
    n += 1 + p.length;
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out[o] = p.length;
    out.set(p, o + 1);
    o += 1 + p.length;
  }
  return out;
}
function decodeRoutes(b) {
  const tags = [];
  let o = 0;
  while (o < b.length) {
    const n = b[o++];
    if (o + n > b.length) throw new RangeError("routing metadata: tag runs past the end");
    tags.push(utf8d.decode(b.subarray(o, o + n)));
    o += n;
  }
  return tags;
}
function encodeAuth(auth) {
  let type;
  let payload;
  if ("bearer" in auth) {
    type = 1;
    payload = utf8.encode(auth.bearer);
  } else if ("username" in auth) {
    const u = utf8.encode(auth.username);
    const p = utf8.encode(auth.password);
    if (u.length > 65535) throw new RangeError("username too long");
    payload = new Uint8Array(2 + u.length + p.length);
    payload[0] = u.length >>> 8;
    payload[1] = u.length & 255;
    payload.set(u, 2);
    payload.set(p, 2 + u.length);
    type = 0;
  } else {
    type = auth.type;
    payload = auth.payload;
  }
  let head;
  if (typeof type === "number") head = Uint8Array.of(128 | type & 127);
  else {
    const t = type === "simple" ? null : type === "bearer" ? null : ascii(type);
    if (t === null) head = Uint8Array.of(type === "simple" ? 128 : 129);
    else {
      if (t.length < 1 || t.length > 128) throw new RangeError("auth type must be 1..128 bytes");
      head = new Uint8Array(1 + t.length);
      head[0] = t.length - 1;
      head.set(t, 1);
    }
  }
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}
function decodeAuth(b) {
  if (b.length < 1) throw new RangeError("authentication metadata is empty");
  const h = b[0];
  if (h & 128) return { type: h & 127, payload: b.subarray(1) };
  const n = h + 1;
  if (1 + n > b.length) throw new RangeError("authentication metadata: type runs past the end");
  return { type: utf8d.decode(b.subarray(1, 1 + n)), payload: b.subarray(1 + n) };
}
function encodeMimeTypes(...mimes) {
  const parts = mimes.map((m) => {
    const id = wellKnownId(m);
    if (id >= 0) return Uint8Array.of(128 | id);
    const s = ascii(m);
    if (s.length < 1 || s.length > 128) throw new RangeError("MIME type must be 1..128 bytes");
    const b = new Uint8Array(1 + s.length);
    b[0] = s.length - 1;
    b.set(s, 1);
    return b;
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
function decodeMimeTypes(b) {
  const out = [];
  let o = 0;
  while (o < b.length) {
    const h = b[o++];
    if (h & 128) {
      out.push({ mime: wellKnownMime(h & 127) ?? "", id: h & 127 });
      continue;
    }
    const n = h + 1;
    if (o + n > b.length) throw new RangeError("MIME type entry runs past the end");
    out.push({ mime: utf8d.decode(b.subarray(o, o + n)) });
    o += n;
  }
  return out;
}

// src/signals.ts
var Hooks = class {
  /** Listeners currently attached. */
  live = 0;
  /**
   * Calls `onAbort(reason)` once when `signal` aborts. Returns the unhook function,
   * which is idempotent. An already-aborted signal calls `onAbort` synchronously.
   */
  hook(signal, onAbort) {
    if (!signal) return noop;
    if (signal.aborted) {
      onAbort(signal.reason);
      return noop;
    }
    let hooked = true;
    const listener = () => {
      unhook();
      onAbort(signal.reason);
    };
    const unhook = () => {
      if (!hooked) return;
      hooked = false;
      this.live--;
      signal.removeEventListener("abort", listener);
    };
    this.live++;
    signal.addEventListener("abort", listener, { once: true });
    return unhook;
  }
};
function noop() {
}

// src/stream.ts
var utf82 = new TextEncoder();
var utf8d2 = new TextDecoder();
var ReceivedPayload = class {
  data;
  metadata;
  constructor(data, metadata) {
    this.data = data;
    this.metadata = metadata;
  }
  text() {
    return utf8d2.decode(this.data);
  }
};
function toBytes(d) {
  if (d === void 0) return EMPTY;
  return typeof d === "string" ? utf82.encode(d) : d;
}
function validN(n) {
  if (n === Infinity) return MAX_N;
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`request(n) needs a positive integer, got ${n}`);
  return Math.min(n, MAX_N);
}
var Stream = class {
  #link;
  #kind;
  #window;
  #refill;
  #start;
  #id = 0;
  #buf = [];
  #head = 0;
  #requested = 0;
  #received = 0;
  #taken = 0;
  #unbounded = false;
  /** undefined while inbound is live; null after completion; the error otherwise. */
  #inEnd = void 0;
  #outbound;
  #open = false;
  #closed = false;
  #waiter;
  #unhook = () => {
  };
  #iterator;
  /** @internal Created by the client; use `client.requestStream()` / `requestChannel()`. */
  constructor(link, init) {
    this.#link = link;
    this.#kind = init.kind;
    this.#window = init.window;
    this.#refill = Math.max(1, Math.ceil(init.window / 2));
    this.#start = init.start;
    if (init.source) this.#outbound = new Outbound(link, init.source, this);
    if (init.id !== void 0) {
      this.#id = init.id;
      this.#open = true;
      if (this.#outbound) this.#outbound.id = init.id;
    }
    if (init.inboundComplete) this.#inEnd = null;
    this.#unhook = link.hook(init.signal, (reason) => {
      this.#finish(new RSocketError(ErrorCode.CANCELED, "aborted", { cause: reason, streamId: this.#id }), true);
    });
    if (this.#closed) return;
    if (this.#start && this.#window > 0) this.request(this.#window);
    else if (this.#id && this.#window > 0 && this.#inEnd === void 0) this.#grant(this.#window);
  }
  /** The stream id; 0 until the request is on the wire (manual demand before request()). */
  get id() {
    return this.#id;
  }
  /**
   * Grants `n` more elements of credit (Infinity or 2^31-1 = unbounded). In manual mode
   * the first call sends the request itself with initial N = n. Ignored after the end.
   */
  request(n) {
    const k = validN(n);
    if (this.#closed || this.#inEnd !== void 0) return;
    const start = this.#start;
    if (start) {
      this.#start = void 0;
      this.#requested = k;
      if (k >= MAX_N) this.#unbounded = true;
      this.#id = start(k, this);
      this.#open = true;
      if (this.#outbound) this.#outbound.id = this.#id;
      return;
    }
    this.#grant(k);
  }
  /** Cancels the stream (CANCEL on the wire while open); iteration ends without error. */
  cancel() {
    this.#finish(null, true);
  }
  [Symbol.asyncIterator]() {
    this.#iterator ??= {
      next: () => this.#next(),
      return: () => {
        this.#finish(null, true);
        return Promise.resolve({ done: true, value: void 0 });
      },
      throw: (e) => {
        this.#finish(null, true);
        return Promise.reject(e);
      }
    };
    return this.#iterator;
  }
  #grant(n) {
    if (this.#unbounded) return;
    if (this.#requested - this.#received + n >= MAX_N) {
      this.#unbounded = true;
      n = Math.min(n, MAX_N);
    }
    this.#requested = Math.min(this.#requested + n, MAX_N);
    if (this.#open) this.#link.send({ streamId: this.#id, type: FrameType.REQUEST_N, flags: 0, metadata: null, data: EMPTY, n });
  }
  #next() {
    if (this.#head < this.#buf.length) {
      const p = this.#buf[this.#head];
      this.#buf[this.#head++] = void 0;
      if (this.#head === this.#buf.length) {
        this.#buf.length = 0;
        this.#head = 0;
      }
      this.#took();
      return Promise.resolve({ done: false, value: p });
    }
    const end = this.#inEnd;
    if (end !== void 0) {
      if (end === null) return Promise.resolve({ done: true, value: void 0 });
      return Promise.reject(end);
    }
    if (this.#waiter) return Promise.reject(new TypeError("next() called again before the previous call settled"));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }
  /** Counts one element taken by the consumer and tops the window up at its mark. */
  #took() {
    this.#taken++;
    if (this.#window > 0 && !this.#unbounded && this.#inEnd === void 0) {
      const held = this.#requested - this.#taken;
      if (this.#window - held >= this.#refill) this.#grant(this.#window - held);
    }
  }
  #endInbound(end) {
    if (this.#inEnd !== void 0) return;
    this.#inEnd = end;
    const w = this.#waiter;
    if (w && this.#head === this.#buf.length) {
      this.#waiter = void 0;
      if (end === null) w.resolve({ done: true, value: void 0 });
      else w.reject(end);
    }
  }
  /** @internal A frame for this stream (fragments already reassembled). */
  frame(f) {
    if (this.#closed) return;
    switch (f.type) {
      case FrameType.PAYLOAD:
      case FrameType.REQUEST_CHANNEL:
        if (f.type !== FrameType.PAYLOAD) return;
        if (f.flags & Flags.NEXT) this.#element(new ReceivedPayload(f.data, f.metadata));
        if (f.flags & Flags.COMPLETE) {
          this.#endInbound(null);
          this.#maybeDone();
        }
        return;
      case FrameType.ERROR: {
        const err = new RSocketError(f.code ?? 0, utf8d2.decode(f.data), { streamId: this.#id });
        this.#open = false;
        this.#endInbound(err);
        this.#finish(err, false, false);
        return;
      }
      case FrameType.REQUEST_N:
        if (f.n !== void 0 && f.n > 0) this.#outbound?.credit(f.n);
        return;
      case FrameType.CANCEL:
        if (this.#kind === "responder") {
          this.#finish(new RSocketError(ErrorCode.CANCELED, "cancelled by the requester", { streamId: this.#id }), false);
          this.#open = false;
        } else if (this.#outbound) {
          this.#outbound.stop();
          this.#maybeDone();
        }
        return;
    }
  }
  #element(p) {
    if (this.#inEnd !== void 0) return;
    if (!this.#unbounded && this.#received >= this.#requested) {
      const err = new RSocketError(
        ErrorCode.INVALID,
        `peer sent more elements than requested (${this.#requested} granted)`,
        { streamId: this.#id }
      );
      this.#endInbound(err);
      this.#finish(err, true, false);
      return;
    }
    this.#received++;
    const w = this.#waiter;
    if (w) {
      this.#waiter = void 0;
      this.#took();
      w.resolve({ done: false, value: p });
    } else this.#buf.push(p);
  }
  /** @internal Attaches the outbound source later (responder channel) with the peer's initial credit. */
  attach(source, credit) {
    if (this.#closed) {
      const it = source[Symbol.asyncIterator]();
      void Promise.resolve(it.return?.()).catch(() => {
      });
      return;
    }
    const out = new Outbound(this.#link, source, this);
    out.id = this.#id;
    this.#outbound = out;
    out.credit(credit);
  }
  /** @internal The outbound half ended (completed, or failed with an ERROR sent). */
  outboundEnded(err) {
    if (err) {
      this.#open = false;
      this.#endInbound(err);
      this.#finish(err, false);
      return;
    }
    this.#maybeDone();
  }
  #maybeDone() {
    if (this.#inEnd !== void 0 && (!this.#outbound || this.#outbound.done)) this.#finish(this.#inEnd, false, false);
  }
  /** @internal The connection is gone. */
  fail(err) {
    this.#open = false;
    this.#endInbound(err);
    this.#finish(err, false, false);
  }
  /**
   * The one cleanup path. `end` is what iteration reports once the buffer is drained
   * (null = done). Sends CANCEL only while the stream is open on the wire and `cancel`
   * is set; drops buffered elements unless `keep`.
   */
  #finish(end, cancel, drop = true) {
    if (this.#closed) return;
    this.#closed = true;
    this.#start = void 0;
    if (cancel && this.#open) {
      this.#link.send({ streamId: this.#id, type: FrameType.CANCEL, flags: 0, metadata: null, data: EMPTY });
    }
    this.#open = false;
    if (this.#id) this.#link.release(this.#id);
    this.#unhook();
    this.#outbound?.stop();
    if (drop) {
      this.#buf.length = 0;
      this.#head = 0;
    }
    this.#endInbound(end);
  }
  /** @internal */
  stats() {
    const out = this.#outbound;
    return {
      id: this.#id,
      kind: this.#kind,
      requested: this.#unbounded ? MAX_N : this.#requested,
      received: this.#received,
      consumed: this.#taken,
      buffered: this.#buf.length - this.#head,
      outstanding: this.#unbounded ? MAX_N : this.#requested - this.#received,
      window: this.#window,
      sent: out?.sent ?? 0,
      sendCredit: out ? out.creditLeft : 0
    };
  }
};
var Outbound = class {
  id = 0;
  sent = 0;
  done = false;
  #link;
  #it;
  #owner;
  #credit = 0;
  #unbounded = false;
  #pumping = false;
  #started = false;
  constructor(link, source, owner) {
    this.#link = link;
    this.#owner = owner;
    this.#it = source[Symbol.asyncIterator]();
  }
  get creditLeft() {
    return this.#unbounded ? MAX_N : this.#credit;
  }
  credit(n) {
    if (this.done) return;
    if (n >= MAX_N || this.#credit + n >= MAX_N) this.#unbounded = true;
    else this.#credit += n;
    void this.#pump();
  }
  stop() {
    if (this.done) return;
    this.done = true;
    const it = this.#it;
    if (it.return) {
      Promise.resolve().then(() => it.return?.()).catch(() => {
      });
    }
  }
  async #pump() {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.done && (this.#unbounded || this.#credit > 0)) {
        await this.#link.drain();
        if (this.done) break;
        this.#started = true;
        const r = await this.#it.next();
        if (this.done) break;
        if (r.done) {
          this.done = true;
          this.#link.send({ streamId: this.id, type: FrameType.PAYLOAD, flags: Flags.COMPLETE, metadata: null, data: EMPTY });
          this.#owner.outboundEnded(null);
          break;
        }
        if (!this.#unbounded) this.#credit--;
        this.sent++;
        const v = r.value;
        this.#link.send({ streamId: this.id, type: FrameType.PAYLOAD, flags: Flags.NEXT, metadata: v.metadata ?? null, data: toBytes(v.data) });
      }
    } catch (e) {
      if (!this.done) {
        this.done = true;
        const err = RSocketError.from(e, this.id);
        this.#link.send({ streamId: this.id, type: FrameType.ERROR, flags: 0, metadata: null, data: utf82.encode(err.message), code: ErrorCode.APPLICATION_ERROR });
        this.#owner.outboundEnded(err);
      }
    } finally {
      this.#pumping = false;
    }
  }
  /** Whether the source was ever pulled. */
  get started() {
    return this.#started;
  }
};

// src/transport.ts
var DEFAULT_HIGH_WATER = 1 << 20;

// src/transport-websocket.ts
var POLL_MS = 4;
function classicWebSocket(Ctor, highWater = DEFAULT_HIGH_WATER) {
  return (url, sink, signal) => new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const ws = new Ctor(url);
    try {
      ws.binaryType = "nodebuffer";
    } catch {
    }
    if (ws.binaryType !== "nodebuffer") ws.binaryType = "arraybuffer";
    let opened = false;
    let ended = false;
    let lastError;
    let pollTimer;
    let waiters = [];
    const onAbort = () => {
      ws.close(1e3, "aborted");
      fail(signal?.reason);
    };
    const fail = (err) => {
      if (opened) return;
      opened = true;
      signal?.removeEventListener("abort", onAbort);
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    signal?.addEventListener("abort", onAbort);
    const wake = () => {
      const w = waiters;
      waiters = [];
      for (const r of w) r();
    };
    const poll = () => {
      pollTimer = void 0;
      if (ended || ws.bufferedAmount <= highWater) {
        wake();
        return;
      }
      pollTimer = setTimeout(poll, POLL_MS);
    };
    const t = {
      kind: "websocket",
      send(data) {
        if (!ended && ws.readyState === 1) ws.send(data);
      },
      get buffered() {
        return ws.bufferedAmount;
      },
      drain() {
        if (ended || ws.bufferedAmount <= highWater) return Promise.resolve();
        return new Promise((r) => {
          waiters.push(r);
          if (pollTimer === void 0) pollTimer = setTimeout(poll, POLL_MS);
        });
      },
      close(code = 1e3, reason = "") {
        if (ended) return;
        try {
          ws.close(code, reason);
        } catch {
          ws.close();
        }
      }
    };
    ws.onopen = () => {
      if (opened) {
        ws.close();
        return;
      }
      opened = true;
      signal?.removeEventListener("abort", onAbort);
      resolve(t);
    };
    ws.onerror = (ev) => {
      const msg = typeof ev === "object" && ev !== null && "message" in ev ? String(ev.message) : "WebSocket error";
      lastError = new Error(msg);
      fail(lastError);
    };
    ws.onmessage = (ev) => {
      const d = ev.data;
      if (d instanceof ArrayBuffer) sink.message(new Uint8Array(d));
      else if (ArrayBuffer.isView(d)) sink.message(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      else ws.close(1003, "text messages are not RSocket frames");
    };
    ws.onclose = (ev) => {
      ended = true;
      if (pollTimer !== void 0) {
        clearTimeout(pollTimer);
        pollTimer = void 0;
      }
      wake();
      ws.onmessage = ws.onopen = ws.onerror = ws.onclose = null;
      if (!opened) {
        fail(lastError ?? new Error(`WebSocket closed before opening (${ev.code})`));
        return;
      }
      const clean = ev.code === 1e3 || ev.code === 1001 || ev.code === 1005;
      sink.closed(clean && !lastError ? void 0 : lastError ?? new Error(`WebSocket closed: ${ev.code} ${ev.reason}`));
    };
  });
}

// src/transport-websocketstream.ts
function webSocketStream(Ctor, highWater = DEFAULT_HIGH_WATER) {
  return async (url, sink, signal) => {
    if (signal?.aborted) throw signal.reason;
    const wss = new Ctor(url, signal ? { signal } : void 0);
    const closed = wss.closed.then((i) => i, (e) => e instanceof Error ? e : new Error(String(e)));
    const { readable, writable } = await wss.opened;
    const reader = readable.getReader();
    const writer = writable.getWriter();
    let buffered = 0;
    let ended = false;
    let waiters = [];
    const wake = () => {
      const w = waiters;
      waiters = [];
      for (const r of w) r();
    };
    let reported = false;
    const end = (err) => {
      ended = true;
      wake();
      if (!reported) {
        reported = true;
        sink.closed(err);
      }
    };
    const t = {
      kind: "websocketstream",
      send(data) {
        if (ended) return;
        const n = data.byteLength;
        buffered += n;
        writer.write(data).then(() => {
          buffered -= n;
          if (buffered <= highWater && waiters.length) wake();
        }, () => {
          buffered -= n;
        });
      },
      get buffered() {
        return buffered;
      },
      drain() {
        if (ended || buffered <= highWater) return Promise.resolve();
        return new Promise((r) => waiters.push(r));
      },
      close(code = 1e3, reason = "") {
        if (ended) return;
        ended = true;
        try {
          wss.close({ closeCode: code, reason });
        } catch {
          wss.close();
        }
      }
    };
    void (async () => {
      try {
        for (; ; ) {
          const { value, done } = await reader.read();
          if (done) break;
          if (typeof value === "string" || value === void 0) {
            t.close(1003, "text messages are not RSocket frames");
            break;
          }
          sink.message(new Uint8Array(value));
        }
      } catch {
      }
      const info = await closed;
      if (info instanceof Error) {
        end(info);
        return;
      }
      const code = info.closeCode ?? 1005;
      end(code === 1e3 || code === 1001 || code === 1005 ? void 0 : new Error(`WebSocket closed: ${code} ${info.reason ?? ""}`));
    })();
    return t;
  };
}

// src/client.ts
var DEFAULT_PREFETCH = 32;
var utf83 = new TextEncoder();
var utf8d3 = new TextDecoder();
function pickTransport(o) {
  const t = o.transport;
  if (typeof t === "function") return t;
  const g = globalThis;
  const wss = o.WebSocketStream ?? g.WebSocketStream;
  const ws = o.WebSocket ?? g.WebSocket;
  const hw = o.highWaterMark;
  if (t === "websocketstream" || t === void 0 && !o.WebSocket && wss) {
    if (!wss) throw new RSocketError(ErrorCode.CONNECTION_ERROR, "WebSocketStream is not available in this runtime");
    return webSocketStream(wss, hw);
  }
  if (!ws) throw new RSocketError(ErrorCode.CONNECTION_ERROR, "no WebSocket: pass the `WebSocket` option (in Node: the ws package)");
  return classicWebSocket(ws, hw);
}
async function connect(url, options = {}) {
  const factory = pickTransport(options);
  const conn = new Connection(options);
  const sink = {
    message: (d) => conn.onMessage(d),
    closed: (e) => conn.onTransportClosed(e)
  };
  let transport;
  try {
    transport = await factory(url, sink, options.signal);
  } catch (e) {
    throw e instanceof RSocketError ? e : new RSocketError(
      ErrorCode.CONNECTION_ERROR,
      `cannot connect to ${url}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e }
    );
  }
  conn.start(transport);
  return conn;
}
var Connection = class {
  #opts;
  #mdMime;
  #hooks = new Hooks();
  #streams = /* @__PURE__ */ new Map();
  #frags = /* @__PURE__ */ new Map();
  #mtu;
  #maxReassembly;
  #transport;
  #nextId = 1;
  #established = false;
  #closedErr;
  #resolveClosed;
  #transportGone;
  #transportClosed;
  closed;
  #keepalive;
  #lastRecv = Date.now();
  #unhookConnect = () => {
  };
  #txFrames = 0;
  #txBytes = 0;
  #rxFrames = 0;
  #rxBytes = 0;
  constructor(opts) {
    this.#opts = opts;
    this.#mdMime = opts.metadataMimeType ?? MIME_COMPOSITE;
    this.#mtu = opts.fragmentSize ?? 0;
    if (this.#mtu !== 0 && this.#mtu < 64) throw new RangeError("fragmentSize must be 0 or at least 64");
    this.#maxReassembly = opts.maxReassembly ?? 16777215;
    this.closed = new Promise((r) => {
      this.#resolveClosed = r;
    });
    this.#transportClosed = new Promise((r) => {
      this.#transportGone = r;
    });
  }
  start(t) {
    this.#transport = t;
    const o = this.#opts;
    const keepAlive = o.keepAlive ?? 2e4;
    const lifetime = o.lifetime ?? 9e4;
    const s = o.setup ?? {};
    const md = s.route !== void 0 || s.auth !== void 0 ? this.#metadata(s.metadata ?? null, { ...s.route !== void 0 && { route: s.route }, ...s.auth && { auth: s.auth } }) : s.metadata ?? null;
    this.send({
      streamId: 0,
      type: FrameType.SETUP,
      flags: 0,
      metadata: md,
      data: toBytes(s.data),
      keepalive: keepAlive,
      lifetime,
      metadataMime: this.#mdMime,
      dataMime: o.dataMimeType ?? "application/octet-stream"
    });
    this.#lastRecv = Date.now();
    this.#keepalive = setInterval(() => this.#tick(lifetime), keepAlive);
    this.#unhookConnect = this.#hooks.hook(o.signal, (reason) => {
      this.#terminate(new RSocketError(ErrorCode.CONNECTION_CLOSE, "aborted", { cause: reason }));
    });
  }
  #tick(lifetime) {
    if (Date.now() - this.#lastRecv > lifetime) {
      this.#protocolError(`nothing received from the server for ${lifetime} ms`);
      return;
    }
    this.send({ streamId: 0, type: FrameType.KEEPALIVE, flags: Flags.RESPOND, metadata: null, data: EMPTY, position: 0 });
  }
  // ---- StreamLink ----
  send(f) {
    const t = this.#transport;
    if (!t || this.#closedErr) return;
    const parts = this.#mtu ? fragment(f, this.#mtu) : [f];
    for (const p of parts) {
      const b = encodeFrame(p);
      this.#txFrames++;
      this.#txBytes += b.length;
      t.send(b);
    }
  }
  drain() {
    return this.#transport && !this.#closedErr ? this.#transport.drain() : Promise.resolve();
  }
  release(id) {
    this.#streams.delete(id);
    this.#frags.delete(id);
  }
  hook(signal, onAbort) {
    return this.#hooks.hook(signal, onAbort);
  }
  // ---- requests ----
  #allocId() {
    for (; ; ) {
      const id = this.#nextId;
      this.#nextId = id + 2 > MAX_N ? 1 : id + 2;
      if (!this.#streams.has(id)) return id;
    }
  }
  #metadata(md, o) {
    if (!o || o.route === void 0 && o.auth === void 0) return md;
    if (this.#mdMime === MIME_COMPOSITE) {
      const entries = [];
      if (o.route !== void 0) entries.push({ mime: MIME_ROUTING, content: encodeRoutes(o.route) });
      if (o.auth) entries.push({ mime: MIME_AUTH, content: encodeAuth(o.auth) });
      const head = encodeComposite(entries);
      return md && md.length ? concat([head, md]) : head;
    }
    if (this.#mdMime === MIME_ROUTING && o.auth === void 0 && o.route !== void 0) return encodeRoutes(o.route);
    throw new TypeError(`route/auth need metadata MIME ${MIME_COMPOSITE} (connection uses ${this.#mdMime})`);
  }
  #aborted(reason, streamId = 0) {
    return new RSocketError(ErrorCode.CANCELED, "aborted", { cause: reason, streamId });
  }
  requestResponse(payload, opts) {
    return new Promise((resolve, reject) => {
      if (this.#closedErr) {
        reject(this.#closedErr);
        return;
      }
      const signal = opts?.signal;
      if (signal?.aborted) {
        reject(this.#aborted(signal.reason));
        return;
      }
      const md = this.#metadata(payload.metadata ?? null, opts);
      const id = this.#allocId();
      let unhook = () => {
      };
      let done = false;
      const end = () => {
        if (done) return false;
        done = true;
        this.release(id);
        unhook();
        return true;
      };
      this.#streams.set(id, {
        frame: (f) => {
          if (f.type === FrameType.PAYLOAD) {
            if (!(f.flags & (Flags.NEXT | Flags.COMPLETE))) return;
            if (!end()) return;
            resolve(f.flags & Flags.NEXT ? new ReceivedPayload(f.data, f.metadata) : new ReceivedPayload(EMPTY, null));
          } else if (f.type === FrameType.ERROR) {
            if (end()) reject(new RSocketError(f.code ?? 0, utf8d3.decode(f.data), { streamId: id }));
          }
        },
        fail: (err) => {
          if (end()) reject(err);
        },
        stats: () => ({ id, kind: "requestResponse", requested: 1, received: 0, consumed: 0, buffered: 0, outstanding: 1, window: 1, sent: 0, sendCredit: 0 })
      });
      unhook = this.#hooks.hook(signal, (reason) => {
        if (!end()) return;
        this.send({ streamId: id, type: FrameType.CANCEL, flags: 0, metadata: null, data: EMPTY });
        reject(this.#aborted(reason, id));
      });
      this.send({ streamId: id, type: FrameType.REQUEST_RESPONSE, flags: 0, metadata: md, data: toBytes(payload.data) });
    });
  }
  requestStream(payload, opts) {
    return this.#requestStreamOrChannel(FrameType.REQUEST_STREAM, void 0, payload, opts);
  }
  requestChannel(source, payload, opts) {
    return this.#requestStreamOrChannel(FrameType.REQUEST_CHANNEL, source, payload, opts);
  }
  #requestStreamOrChannel(type, source, payload, opts) {
    const manual = opts?.request === "manual";
    const window = manual ? 0 : Math.min(opts?.prefetch ?? DEFAULT_PREFETCH, MAX_N);
    if (!manual && !(window >= 1 && Number.isInteger(window))) throw new RangeError(`prefetch must be a positive integer, got ${opts?.prefetch}`);
    const kind = type === FrameType.REQUEST_STREAM ? "requestStream" : "requestChannel";
    if (this.#closedErr) {
      const s = new Stream(this, { kind, window: 0, source });
      s.fail(this.#closedErr);
      return s;
    }
    const md = this.#metadata(payload.metadata ?? null, opts);
    const data = toBytes(payload.data);
    return new Stream(this, {
      kind,
      window,
      signal: opts?.signal,
      source,
      start: (n, self) => {
        if (this.#closedErr) {
          queueMicrotask(() => self.fail(this.#closedErr));
          return 0;
        }
        const id = this.#allocId();
        this.#streams.set(id, self);
        this.send({ streamId: id, type, flags: 0, metadata: md, data, n });
        return id;
      }
    });
  }
  async fireAndForget(payload, opts) {
    if (this.#closedErr) throw this.#closedErr;
    if (opts?.signal?.aborted) throw this.#aborted(opts.signal.reason);
    const md = this.#metadata(payload.metadata ?? null, opts);
    await this.drain();
    if (this.#closedErr) throw this.#closedErr;
    this.send({ streamId: this.#allocId(), type: FrameType.REQUEST_FNF, flags: 0, metadata: md, data: toBytes(payload.data) });
  }
  async metadataPush(metadata) {
    if (this.#closedErr) throw this.#closedErr;
    await this.drain();
    if (this.#closedErr) throw this.#closedErr;
    this.send({ streamId: 0, type: FrameType.METADATA_PUSH, flags: Flags.METADATA, metadata, data: EMPTY });
  }
  stats() {
    const perStream = [];
    for (const e of this.#streams.values()) perStream.push(e.stats());
    return {
      transport: this.#transport?.kind ?? "none",
      closed: this.#closedErr !== void 0,
      streams: this.#streams.size,
      framesSent: this.#txFrames,
      framesReceived: this.#rxFrames,
      bytesSent: this.#txBytes,
      bytesReceived: this.#rxBytes,
      buffered: this.#transport?.buffered ?? 0,
      listeners: this.#hooks.live,
      timers: this.#keepalive !== void 0 ? 1 : 0,
      perStream
    };
  }
  close() {
    this.#terminate(new RSocketError(ErrorCode.CONNECTION_CLOSE, "client closed"));
    return this.#transportClosed;
  }
  // ---- inbound ----
  onTransportClosed(e) {
    this.#transportGone();
    this.#terminate(e ? new RSocketError(ErrorCode.CONNECTION_ERROR, `connection lost: ${e.message}`, { cause: e }) : new RSocketError(ErrorCode.CONNECTION_CLOSE, "connection closed by the server"));
  }
  onMessage(b) {
    if (this.#closedErr) return;
    this.#rxFrames++;
    this.#rxBytes += b.length;
    this.#lastRecv = Date.now();
    let f;
    try {
      f = decodeFrame(b);
    } catch (e) {
      if (e instanceof FrameError && e.ignorable) return;
      this.#protocolError(e instanceof Error ? e.message : String(e));
      return;
    }
    const id = f.streamId;
    if (id === 0) {
      this.#connectionFrame(f);
      return;
    }
    const r = this.#frags.get(id);
    if (r) {
      if (f.type === FrameType.PAYLOAD) {
        this.#continueFragment(id, r, f);
        return;
      }
      if (f.type !== FrameType.CANCEL && f.type !== FrameType.ERROR) return;
      this.#frags.delete(id);
    } else if (f.flags & Flags.FOLLOWS && (f.type === FrameType.PAYLOAD ? !(f.flags & Flags.COMPLETE) && this.#streams.has(id) : f.type >= FrameType.REQUEST_RESPONSE && f.type <= FrameType.REQUEST_CHANNEL && id % 2 === 0 && !this.#streams.has(id))) {
      const md = f.metadata;
      this.#frags.set(id, { type: f.type, flags: f.flags, n: f.n, md: md ? [md] : null, data: [f.data], size: (md?.length ?? 0) + f.data.length });
      return;
    }
    this.#dispatch(f);
  }
  #continueFragment(id, r, f) {
    if (f.metadata) (r.md ??= []).push(f.metadata);
    r.data.push(f.data);
    r.size += (f.metadata?.length ?? 0) + f.data.length;
    if (r.size > this.#maxReassembly) {
      this.#frags.delete(id);
      const err = new RSocketError(ErrorCode.INVALID, `reassembled element exceeds ${this.#maxReassembly} bytes`, { streamId: id });
      const e = this.#streams.get(id);
      if (e) {
        this.send(id % 2 === 1 ? { streamId: id, type: FrameType.CANCEL, flags: 0, metadata: null, data: EMPTY } : { streamId: id, type: FrameType.ERROR, flags: 0, metadata: null, data: utf83.encode(err.message), code: ErrorCode.REJECTED });
        e.fail(err);
        this.release(id);
      }
      return;
    }
    if (f.flags & Flags.FOLLOWS && !(f.flags & Flags.COMPLETE)) return;
    this.#frags.delete(id);
    const flags = r.flags & ~(Flags.FOLLOWS | Flags.METADATA) | f.flags & Flags.COMPLETE | (r.md ? Flags.METADATA : 0);
    const whole = {
      streamId: id,
      type: r.type,
      flags,
      metadata: r.md ? concat(r.md) : null,
      data: concat(r.data),
      ...r.n !== void 0 && { n: r.n }
    };
    this.#dispatch(whole);
  }
  #dispatch(f) {
    const id = f.streamId;
    if (f.type >= FrameType.REQUEST_RESPONSE && f.type <= FrameType.REQUEST_CHANNEL) {
      if (id % 2 === 1 || this.#streams.has(id)) return;
      this.#established = true;
      this.#respond(f);
      return;
    }
    const e = this.#streams.get(id);
    if (!e) return;
    this.#established = true;
    e.frame(f);
  }
  #connectionFrame(f) {
    switch (f.type) {
      case FrameType.KEEPALIVE:
        if (f.flags & Flags.RESPOND) {
          this.send({ streamId: 0, type: FrameType.KEEPALIVE, flags: 0, metadata: null, data: f.data, position: 0 });
        }
        return;
      case FrameType.ERROR: {
        const code = f.code ?? 0;
        const setupCode = code >= ErrorCode.INVALID_SETUP && code <= ErrorCode.REJECTED_RESUME;
        if (setupCode && this.#established) return;
        this.#terminate(new RSocketError(code, utf8d3.decode(f.data)));
        return;
      }
      case FrameType.METADATA_PUSH:
        try {
          this.#opts.handlers?.metadataPush?.(f.metadata ?? EMPTY);
        } catch {
        }
        return;
      case FrameType.LEASE:
        this.#established = true;
        return;
      default:
        return;
    }
  }
  #protocolError(message) {
    const err = new RSocketError(ErrorCode.CONNECTION_ERROR, message);
    this.send({ streamId: 0, type: FrameType.ERROR, flags: 0, metadata: null, data: utf83.encode(message), code: err.code });
    this.#terminate(err);
  }
  #terminate(err) {
    if (this.#closedErr) return;
    this.#closedErr = err;
    if (this.#keepalive !== void 0) {
      clearInterval(this.#keepalive);
      this.#keepalive = void 0;
    }
    this.#unhookConnect();
    const entries = [...this.#streams.values()];
    this.#streams.clear();
    this.#frags.clear();
    for (const e of entries) e.fail(err);
    if (this.#transport) this.#transport.close(1e3, "");
    else this.#transportGone();
    this.#resolveClosed(err);
  }
  // ---- responding to the server ----
  #respond(f) {
    const id = f.streamId;
    const h = this.#opts.handlers;
    const payload = new ReceivedPayload(f.data, f.metadata);
    const ac = new AbortController();
    const ctx = { streamId: id, signal: ac.signal };
    const reject = (code, message) => {
      this.send({ streamId: id, type: FrameType.ERROR, flags: 0, metadata: null, data: utf83.encode(message), code });
    };
    const errorOf = (e) => {
      const err = RSocketError.from(e, id);
      return err.code >= ErrorCode.APPLICATION_ERROR ? err : new RSocketError(ErrorCode.APPLICATION_ERROR, err.message);
    };
    switch (f.type) {
      case FrameType.REQUEST_FNF:
        try {
          h?.fireAndForget?.(payload, ctx);
        } catch {
        }
        return;
      case FrameType.REQUEST_RESPONSE: {
        const handler = h?.requestResponse;
        if (!handler) {
          reject(ErrorCode.REJECTED, "no requestResponse handler");
          return;
        }
        let live = true;
        this.#streams.set(id, {
          frame: (fr) => {
            if (fr.type === FrameType.CANCEL && live) {
              live = false;
              this.release(id);
              ac.abort();
            }
          },
          fail: (err) => {
            live = false;
            ac.abort(err);
          },
          stats: () => ({ id, kind: "responder", requested: 0, received: 1, consumed: 1, buffered: 0, outstanding: 0, window: 0, sent: 0, sendCredit: 1 })
        });
        Promise.resolve().then(() => handler(payload, ctx)).then((res) => {
          if (!live) return;
          live = false;
          this.release(id);
          this.send({ streamId: id, type: FrameType.PAYLOAD, flags: Flags.NEXT | Flags.COMPLETE, metadata: res.metadata ?? null, data: toBytes(res.data) });
        }, (e) => {
          if (!live) return;
          live = false;
          this.release(id);
          const err = errorOf(e);
          reject(err.code, err.message);
        });
        return;
      }
      case FrameType.REQUEST_STREAM: {
        const handler = h?.requestStream;
        if (!handler) {
          reject(ErrorCode.REJECTED, "no requestStream handler");
          return;
        }
        let source;
        try {
          source = handler(payload, ctx);
        } catch (e) {
          const err = errorOf(e);
          reject(err.code, err.message);
          return;
        }
        const rs = new ResponderStream(this, id, source, ac);
        this.#streams.set(id, rs);
        rs.out.credit(f.n ?? 0);
        return;
      }
      case FrameType.REQUEST_CHANNEL: {
        const handler = h?.requestChannel;
        if (!handler) {
          reject(ErrorCode.REJECTED, "no requestChannel handler");
          return;
        }
        const inbound = new Stream(this, {
          kind: "responder",
          window: Math.min(this.#opts.responderPrefetch ?? DEFAULT_PREFETCH, MAX_N),
          id,
          signal: ac.signal,
          inboundComplete: (f.flags & Flags.COMPLETE) !== 0
        });
        this.#streams.set(id, inbound);
        let source;
        try {
          source = handler(payload, inbound, ctx);
        } catch (e) {
          const err = errorOf(e);
          reject(err.code, err.message);
          inbound.fail(err);
          return;
        }
        inbound.attach(source, f.n ?? 0);
        return;
      }
    }
  }
};
var ResponderStream = class {
  out;
  #link;
  #id;
  #ac;
  constructor(link, id, source, ac) {
    this.#link = link;
    this.#id = id;
    this.#ac = ac;
    this.out = new Outbound(link, source, this);
    this.out.id = id;
  }
  frame(f) {
    if (f.type === FrameType.REQUEST_N) {
      if (f.n !== void 0 && f.n > 0) this.out.credit(f.n);
    } else if (f.type === FrameType.CANCEL) {
      this.out.stop();
      this.#link.release(this.#id);
      this.#ac.abort();
    }
  }
  fail(err) {
    this.out.stop();
    this.#ac.abort(err);
  }
  outboundEnded() {
    this.#link.release(this.#id);
  }
  stats() {
    return { id: this.#id, kind: "responder", requested: 0, received: 0, consumed: 0, buffered: 0, outstanding: 0, window: 0, sent: this.out.sent, sendCredit: this.out.creditLeft };
  }
};
export {
  ErrorCode,
  Flags,
  FrameError,
  FrameType,
  MAX_N,
  MIME_AUTH,
  MIME_COMPOSITE,
  MIME_ROUTING,
  RSocketError,
  Stream,
  connect,
  decodeAuth,
  decodeComposite,
  decodeFrame,
  decodeMimeTypes,
  decodeRoutes,
  encodeAuth,
  encodeComposite,
  encodeFrame,
  encodeMimeTypes,
  encodeRoutes,
  errorCodeName,
  fragment,
  wellKnownId,
  wellKnownMime
};
