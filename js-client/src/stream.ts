// The credit iterator (the inbound half of request-stream and request-channel) and the
// credit-gated outbound pump (channel sends, responder streams).
//
// Credit follows consumption: REQUEST_N is sent when the consumer *takes* an element
// (next()), never when a frame arrives, and the local buffer never holds more elements
// than were granted. Every way out — completion, error, break/return(), throw(), abort,
// cancel(), connection loss — runs one cleanup (#finish), which is safe to run twice.

import { ErrorCode, RSocketError } from './errors.js';
import { EMPTY, Flags, FrameType, MAX_N, type Frame } from './frames.js';

/** A received element. `data` and `metadata` may alias the received message. */
export interface Payload {
  readonly data: Uint8Array;
  /** null when the frame had no metadata; an empty array when it had empty metadata. */
  readonly metadata: Uint8Array | null;
  /** `data` decoded as UTF-8. */
  text(): string;
}

/** An element to send. A string is sent as UTF-8. */
export interface PayloadInit {
  data?: Uint8Array | string;
  metadata?: Uint8Array | null;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

export class ReceivedPayload implements Payload {
  readonly data: Uint8Array;
  readonly metadata: Uint8Array | null;
  constructor(data: Uint8Array, metadata: Uint8Array | null) {
    this.data = data;
    this.metadata = metadata;
  }
  text(): string {
    return utf8d.decode(this.data);
  }
}

export function toBytes(d: Uint8Array | string | undefined): Uint8Array {
  if (d === undefined) return EMPTY;
  return typeof d === 'string' ? utf8.encode(d) : d;
}

/** Per-stream numbers, as `client.stats().perStream` reports them. */
export interface StreamStats {
  id: number;
  kind: 'requestResponse' | 'requestStream' | 'requestChannel' | 'responder';
  /** Credit granted to the peer so far (initial N + every REQUEST_N); 2^31-1 once unbounded. */
  requested: number;
  /** Elements received. */
  received: number;
  /** Elements the application has taken. */
  consumed: number;
  /** Received and not yet taken (never more than granted). */
  buffered: number;
  /** Credit the peer still holds: requested - received. */
  outstanding: number;
  /** The prefetch window, or 0 for manual demand. */
  window: number;
  /** Outbound elements sent (channels and responders). */
  sent: number;
  /** Outbound credit the peer has granted us and we have not used. */
  sendCredit: number;
}

/** What a stream needs from its connection. */
export interface StreamLink {
  /** Sends a frame on the wire, in order. */
  send(f: Frame): void;
  /** Resolves when the transport can take more data frames. */
  drain(): Promise<void>;
  /** Forgets the stream id (removes the stream from the connection's table). */
  release(id: number): void;
  /** Hooks an AbortSignal; returns the idempotent unhook. */
  hook(signal: AbortSignal | undefined, onAbort: (reason: unknown) => void): () => void;
}

function validN(n: number): number {
  if (n === Infinity) return MAX_N;
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`request(n) needs a positive integer, got ${n}`);
  return Math.min(n, MAX_N);
}

/** Options of a Stream's inbound half. */
export interface StreamInit {
  kind: StreamStats['kind'];
  /** Prefetch window (credit kept outstanding), 0 = manual. */
  window: number;
  signal?: AbortSignal | undefined;
  /** Sends the request frame with initial N and returns the new stream id. */
  start?: (n: number, self: Stream) => number;
  /** For streams that already exist on the wire (responder channel). */
  id?: number;
  /** The outbound source (channels, after the first element). */
  source?: AsyncIterable<PayloadInit> | undefined;
  /** The peer's outbound half is already complete. */
  inboundComplete?: boolean;
}

/**
 * The inbound half of a request-stream or request-channel: an AsyncIterable of received
 * elements with element credit. Iterate it once. `break`, `return()`, `throw()`, the
 * request's `signal` and `cancel()` all cancel the stream on the wire.
 */
export class Stream implements AsyncIterable<Payload> {
  readonly #link: StreamLink;
  readonly #kind: StreamStats['kind'];
  readonly #window: number;
  readonly #refill: number;
  #start: ((n: number, self: Stream) => number) | undefined;
  #id = 0;
  #buf: Payload[] = [];
  #head = 0;
  #requested = 0;
  #received = 0;
  #taken = 0;
  #unbounded = false;
  /** undefined while inbound is live; null after completion; the error otherwise. */
  #inEnd: RSocketError | null | undefined = undefined;
  #outbound: Outbound | undefined;
  #open = false;
  #closed = false;
  #waiter: { resolve: (r: IteratorResult<Payload>) => void; reject: (e: unknown) => void } | undefined;
  #unhook: () => void = () => {};
  #iterator: AsyncIterator<Payload> | undefined;

  /** @internal Created by the client; use `client.requestStream()` / `requestChannel()`. */
  constructor(link: StreamLink, init: StreamInit) {
    this.#link = link;
    this.#kind = init.kind;
    this.#window = init.window;
    this.#refill = Math.max(1, Math.ceil(init.window / 2));
    this.#start = init.start;
    if (init.source) this.#outbound = new Outbound(link, init.source, this);
    if (init.id !== undefined) {
      this.#id = init.id;
      this.#open = true;
      if (this.#outbound) this.#outbound.id = init.id;
    }
    if (init.inboundComplete) this.#inEnd = null;
    this.#unhook = link.hook(init.signal, (reason) => {
      this.#finish(new RSocketError(ErrorCode.CANCELED, 'aborted', { cause: reason, streamId: this.#id }), true);
    });
    if (this.#closed) return;
    if (this.#start && this.#window > 0) this.request(this.#window);
    else if (this.#id && this.#window > 0 && this.#inEnd === undefined) this.#grant(this.#window);
  }

  /** The stream id; 0 until the request is on the wire (manual demand before request()). */
  get id(): number {
    return this.#id;
  }

  /**
   * Grants `n` more elements of credit (Infinity or 2^31-1 = unbounded). In manual mode
   * the first call sends the request itself with initial N = n. Ignored after the end.
   */
  request(n: number): void {
    const k = validN(n);
    if (this.#closed || this.#inEnd !== undefined) return;
    const start = this.#start;
    if (start) {
      this.#start = undefined;
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
  cancel(): void {
    this.#finish(null, true);
  }

  [Symbol.asyncIterator](): AsyncIterator<Payload> {
    this.#iterator ??= {
      next: () => this.#next(),
      return: () => {
        this.#finish(null, true);
        return Promise.resolve({ done: true, value: undefined });
      },
      throw: (e?: unknown) => {
        this.#finish(null, true);
        return Promise.reject(e);
      },
    };
    return this.#iterator;
  }

  #grant(n: number): void {
    if (this.#unbounded) return;
    if (this.#requested - this.#received + n >= MAX_N) {
      this.#unbounded = true;
      n = Math.min(n, MAX_N);
    }
    this.#requested = Math.min(this.#requested + n, MAX_N);
    if (this.#open) this.#link.send({ streamId: this.#id, type: FrameType.REQUEST_N, flags: 0, metadata: null, data: EMPTY, n });
  }

  #next(): Promise<IteratorResult<Payload>> {
    if (this.#head < this.#buf.length) {
      const p = this.#buf[this.#head]!;
      this.#buf[this.#head++] = undefined as unknown as Payload;
      if (this.#head === this.#buf.length) { this.#buf.length = 0; this.#head = 0; }
      this.#took();
      return Promise.resolve({ done: false, value: p });
    }
    const end = this.#inEnd;
    if (end !== undefined) {
      if (end === null) return Promise.resolve({ done: true, value: undefined });
      return Promise.reject(end);
    }
    if (this.#waiter) return Promise.reject(new TypeError('next() called again before the previous call settled'));
    return new Promise((resolve, reject) => { this.#waiter = { resolve, reject }; });
  }

  /** Counts one element taken by the consumer and tops the window up at its mark. */
  #took(): void {
    this.#taken++;
    if (this.#window > 0 && !this.#unbounded && this.#inEnd === undefined) {
      const held = this.#requested - this.#taken;
      if (this.#window - held >= this.#refill) this.#grant(this.#window - held);
    }
  }

  #endInbound(end: RSocketError | null): void {
    if (this.#inEnd !== undefined) return;
    this.#inEnd = end;
    const w = this.#waiter;
    if (w && this.#head === this.#buf.length) {
      this.#waiter = undefined;
      if (end === null) w.resolve({ done: true, value: undefined });
      else w.reject(end);
    }
  }

  /** @internal A frame for this stream (fragments already reassembled). */
  frame(f: Frame): void {
    if (this.#closed) return;
    switch (f.type) {
      case FrameType.PAYLOAD:
      case FrameType.REQUEST_CHANNEL: // never for us; ignored below by flags
        if (f.type !== FrameType.PAYLOAD) return;
        if (f.flags & Flags.NEXT) this.#element(new ReceivedPayload(f.data, f.metadata));
        if (f.flags & Flags.COMPLETE) {
          this.#endInbound(null);
          this.#maybeDone();
        }
        return;
      case FrameType.ERROR: {
        const err = new RSocketError(f.code ?? 0, utf8d.decode(f.data), { streamId: this.#id });
        this.#open = false; // ERROR ends both halves: nothing more goes on the wire
        this.#endInbound(err);
        this.#finish(err, false, false);
        return;
      }
      case FrameType.REQUEST_N:
        if (f.n !== undefined && f.n > 0) this.#outbound?.credit(f.n);
        return;
      case FrameType.CANCEL:
        if (this.#kind === 'responder') {
          this.#finish(new RSocketError(ErrorCode.CANCELED, 'cancelled by the requester', { streamId: this.#id }), false);
          this.#open = false;
        } else if (this.#outbound) {
          // The responder stops only our outbound half [de facto rsocket-java / rsocket-js].
          this.#outbound.stop();
          this.#maybeDone();
        }
        return;
    }
  }

  #element(p: Payload): void {
    if (this.#inEnd !== undefined) return;
    if (!this.#unbounded && this.#received >= this.#requested) {
      const err = new RSocketError(ErrorCode.INVALID,
        `peer sent more elements than requested (${this.#requested} granted)`, { streamId: this.#id });
      this.#endInbound(err);
      this.#finish(err, true, false);
      return;
    }
    this.#received++;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      this.#took();
      w.resolve({ done: false, value: p });
    } else this.#buf.push(p);
  }

  /** @internal Attaches the outbound source later (responder channel) with the peer's initial credit. */
  attach(source: AsyncIterable<PayloadInit>, credit: number): void {
    if (this.#closed) {
      const it = source[Symbol.asyncIterator]();
      void Promise.resolve(it.return?.()).catch(() => {});
      return;
    }
    const out = new Outbound(this.#link, source, this);
    out.id = this.#id;
    this.#outbound = out;
    out.credit(credit);
  }

  /** @internal The outbound half ended (completed, or failed with an ERROR sent). */
  outboundEnded(err: RSocketError | null): void {
    if (err) {
      this.#open = false;
      this.#endInbound(err);
      this.#finish(err, false);
      return;
    }
    this.#maybeDone();
  }

  #maybeDone(): void {
    if (this.#inEnd !== undefined && (!this.#outbound || this.#outbound.done)) this.#finish(this.#inEnd, false, false);
  }

  /** @internal The connection is gone. */
  fail(err: RSocketError): void {
    this.#open = false;
    this.#endInbound(err);
    this.#finish(err, false, false);
  }

  /**
   * The one cleanup path. `end` is what iteration reports once the buffer is drained
   * (null = done). Sends CANCEL only while the stream is open on the wire and `cancel`
   * is set; drops buffered elements unless `keep`.
   */
  #finish(end: RSocketError | null, cancel: boolean, drop = true): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#start = undefined;
    if (cancel && this.#open) {
      this.#link.send({ streamId: this.#id, type: FrameType.CANCEL, flags: 0, metadata: null, data: EMPTY });
    }
    this.#open = false;
    if (this.#id) this.#link.release(this.#id);
    this.#unhook();
    this.#outbound?.stop();
    if (drop) { this.#buf.length = 0; this.#head = 0; }
    this.#endInbound(end);
  }

  /** @internal */
  stats(): StreamStats {
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
      sendCredit: out ? out.creditLeft : 0,
    };
  }
}

/** Who an Outbound reports to. */
export interface OutboundOwner {
  outboundEnded(err: RSocketError | null): void;
}

/**
 * Sends the elements of an AsyncIterable as PAYLOAD frames, pulling one only while the
 * peer has granted credit and the transport has room; PAYLOAD C when the source ends,
 * ERROR (APPLICATION_ERROR) when it throws. stop() calls the source's return().
 */
export class Outbound {
  id = 0;
  sent = 0;
  done = false;
  readonly #link: StreamLink;
  readonly #it: AsyncIterator<PayloadInit>;
  readonly #owner: OutboundOwner;
  #credit = 0;
  #unbounded = false;
  #pumping = false;
  #started = false;

  constructor(link: StreamLink, source: AsyncIterable<PayloadInit>, owner: OutboundOwner) {
    this.#link = link;
    this.#owner = owner;
    this.#it = source[Symbol.asyncIterator]();
  }

  get creditLeft(): number {
    return this.#unbounded ? MAX_N : this.#credit;
  }

  credit(n: number): void {
    if (this.done) return;
    if (n >= MAX_N || this.#credit + n >= MAX_N) this.#unbounded = true;
    else this.#credit += n;
    void this.#pump();
  }

  stop(): void {
    if (this.done) return;
    this.done = true;
    const it = this.#it;
    if (it.return) {
      // A generator that is mid-next() finishes that step first; either way it ends.
      Promise.resolve().then(() => it.return?.()).catch(() => {});
    }
  }

  async #pump(): Promise<void> {
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
        this.#link.send({ streamId: this.id, type: FrameType.ERROR, flags: 0, metadata: null, data: utf8.encode(err.message), code: ErrorCode.APPLICATION_ERROR });
        this.#owner.outboundEnded(err);
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Whether the source was ever pulled. */
  get started(): boolean {
    return this.#started;
  }
}
