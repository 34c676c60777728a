import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { connect, type Client, type ConnectOptions } from './client.js';
import { ErrorCode, RSocketError } from './errors.js';
import { decodeFrame, encodeFrame, Flags, FrameType, MAX_N, type Frame } from './frames.js';
import { decodeComposite, decodeRoutes, decodeAuth, MIME_ROUTING, MIME_AUTH } from './metadata.js';
import { memoryTransport, type MemoryPeer } from './transport-memory.js';
import type { PayloadInit } from './stream.js';
import { assertNoLeaks, fromHex, sleep, str, text } from '../test/helpers.js';

const E = new Uint8Array(0);

const opened: Client[] = [];
// A failed test must not leave its client (and keepalive timer) to the next one.
afterEach(async () => { for (const c of opened.splice(0)) await c.close(); });

async function open(opts: ConnectOptions = {}): Promise<{ client: Client; peer: MemoryPeer; setup: Frame }> {
  const { factory, peer } = memoryTransport();
  const client = await connect('memory://test', { transport: factory, ...opts });
  opened.push(client);
  const setup = await peer.recv();
  return { client, peer, setup };
}

/** Receives the next frame and checks the given fields. */
async function expectFrame(peer: MemoryPeer, want: Partial<Frame> & { type: number }): Promise<Frame> {
  const f = await peer.recv();
  assert.equal(FrameType[keyOf(f.type)], FrameType[keyOf(want.type)], `frame type: got ${keyOf(f.type)}, want ${keyOf(want.type)}`);
  for (const [k, v] of Object.entries(want)) {
    const got = (f as unknown as Record<string, unknown>)[k];
    if (v instanceof Uint8Array) assert.deepEqual(got, v, k);
    else assert.equal(got, v, k);
  }
  return f;
}
function keyOf(t: number): keyof typeof FrameType {
  return (Object.keys(FrameType) as (keyof typeof FrameType)[]).find((k) => FrameType[k] === t)!;
}
/** Lets the event loop run, then checks that the client sent nothing more. */
async function expectQuiet(peer: MemoryPeer): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  if (peer.pending) assert.fail(`unexpected frame: ${JSON.stringify(await peer.recv(), (_k, v) => (v instanceof Uint8Array ? str(v) : v))}`);
}
const payload = (id: number, data: string, flags: number = Flags.NEXT): Frame => ({ streamId: id, type: FrameType.PAYLOAD, flags, metadata: null, data: text(data) });
const complete = (id: number): Frame => ({ streamId: id, type: FrameType.PAYLOAD, flags: Flags.COMPLETE, metadata: null, data: E });
const requestN = (id: number, n: number): Frame => ({ streamId: id, type: FrameType.REQUEST_N, flags: 0, metadata: null, data: E, n });
const error = (id: number, code: number, msg: string): Frame => ({ streamId: id, type: FrameType.ERROR, flags: 0, metadata: null, data: text(msg), code });

test('SETUP carries version, keepalive, lifetime, MIME types and setup payload', async () => {
  const { client, setup } = await open({ keepAlive: 1000, lifetime: 5000, dataMimeType: 'text/plain', setup: { data: 'hello', route: 'setup.route' } });
  assert.equal(setup.type, FrameType.SETUP);
  assert.equal(setup.streamId, 0);
  assert.equal(setup.version, 0x10000);
  assert.equal(setup.keepalive, 1000);
  assert.equal(setup.lifetime, 5000);
  assert.equal(setup.metadataMime, 'message/x.rsocket.composite-metadata.v0');
  assert.equal(setup.dataMime, 'text/plain');
  assert.equal(str(setup.data), 'hello');
  assert.deepEqual(decodeRoutes(decodeComposite(setup.metadata!)[0]!.content), ['setup.route']);
  assert.equal(setup.flags & (Flags.RESUME | Flags.LEASE), 0);
  await assertNoLeaks(client);
});

test('requestResponse: route and auth in composite metadata, odd stream ids, response resolves', async () => {
  const { client, peer } = await open();
  const p = client.requestResponse({ data: 'ping' }, { route: 'echo', auth: { bearer: 'tok' } });
  const f = await expectFrame(peer, { type: FrameType.REQUEST_RESPONSE, streamId: 1, data: text('ping') });
  const entries = decodeComposite(f.metadata!);
  assert.equal(entries[0]!.mime, MIME_ROUTING);
  assert.deepEqual(decodeRoutes(entries[0]!.content), ['echo']);
  assert.equal(entries[1]!.mime, MIME_AUTH);
  assert.equal(str(decodeAuth(entries[1]!.content).payload), 'tok');
  peer.send({ ...payload(1, 'pong', Flags.NEXT | Flags.COMPLETE), metadata: text('m') });
  const r = await p;
  assert.equal(r.text(), 'pong');
  assert.equal(str(r.metadata), 'm');
  const p2 = client.requestResponse({ data: 'x' });
  await expectFrame(peer, { type: FrameType.REQUEST_RESPONSE, streamId: 3, metadata: null });
  peer.send(complete(3)); // a bare COMPLETE is an empty response
  const r2 = await p2;
  assert.equal(r2.data.length, 0);
  assert.equal(r2.metadata, null);
  await assertNoLeaks(client);
});

test('requestResponse: ERROR becomes RSocketError with code, name, message, stream id', async () => {
  const { client, peer } = await open();
  const p = client.requestResponse({ data: 'boom' }, { route: 'error' });
  await expectFrame(peer, { type: FrameType.REQUEST_RESPONSE, streamId: 1 });
  peer.send(error(1, ErrorCode.APPLICATION_ERROR, 'boom'));
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RSocketError);
    assert.equal(e.code, ErrorCode.APPLICATION_ERROR);
    assert.equal(e.name, 'APPLICATION_ERROR');
    assert.equal(e.message, 'boom');
    assert.equal(e.streamId, 1);
    return true;
  });
  await assertNoLeaks(client);
});

test('requestResponse: abort sends CANCEL and rejects CANCELED; an aborted signal sends nothing', async () => {
  const { client, peer } = await open();
  const ac = new AbortController();
  const p = client.requestResponse({ data: '' }, { route: 'never', signal: ac.signal });
  await expectFrame(peer, { type: FrameType.REQUEST_RESPONSE, streamId: 1 });
  assert.equal(client.stats().listeners, 1);
  ac.abort();
  await assert.rejects(p, (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CANCELED && e.name === 'CANCELED');
  await expectFrame(peer, { type: FrameType.CANCEL, streamId: 1 });
  peer.send(payload(1, 'late', Flags.NEXT | Flags.COMPLETE)); // a late answer is ignored
  await assert.rejects(client.requestResponse({}, { signal: ac.signal }), (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CANCELED);
  await expectQuiet(peer);
  await assertNoLeaks(client);
});

test('requestStream: prefetch window on the wire; REQUEST_N only after next() takes half the window', async () => {
  const { client, peer } = await open();
  const s = client.requestStream({ data: '10' }, { route: 'count', prefetch: 4 });
  await expectFrame(peer, { type: FrameType.REQUEST_STREAM, streamId: 1, n: 4 });
  for (let i = 0; i < 4; i++) peer.send(payload(1, String(i)));
  await expectQuiet(peer); // arrival never triggers REQUEST_N
  assert.equal(client.stats().perStream[0]!.buffered, 4);
  const it = s[Symbol.asyncIterator]();
  assert.equal((await it.next()).value?.text(), '0');
  await expectQuiet(peer);
  assert.equal((await it.next()).value?.text(), '1');
  await expectFrame(peer, { type: FrameType.REQUEST_N, streamId: 1, n: 2 });
  const st = client.stats().perStream[0]!;
  assert.deepEqual([st.requested, st.received, st.consumed, st.buffered, st.outstanding, st.window], [6, 4, 2, 2, 2, 4]);
  assert.equal((await it.next()).value?.text(), '2');
  assert.equal((await it.next()).value?.text(), '3');
  await expectFrame(peer, { type: FrameType.REQUEST_N, streamId: 1, n: 2 });
  peer.send(payload(4 - 3, '4'));
  peer.send({ ...payload(1, '5'), flags: Flags.NEXT | Flags.COMPLETE });
  assert.equal((await it.next()).value?.text(), '4');
  assert.equal((await it.next()).value?.text(), '5');
  assert.equal((await it.next()).done, true);
  await expectQuiet(peer); // no CANCEL after completion
  await assertNoLeaks(client);
});

test('requestStream: for-await break sends CANCEL once; nothing left', async () => {
  const { client, peer } = await open();
  const s = client.requestStream({ data: '' }, { route: 'count', prefetch: 8 });
  await expectFrame(peer, { type: FrameType.REQUEST_STREAM, streamId: 1, n: 8 });
  for (let i = 0; i < 3; i++) peer.send(payload(1, String(i)));
  const seen: string[] = [];
  for await (const p of s) {
    seen.push(p.text());
    if (seen.length === 2) break;
  }
  assert.deepEqual(seen, ['0', '1']);
  await expectFrame(peer, { type: FrameType.CANCEL, streamId: 1 });
  s.cancel(); // safe to run twice
  peer.send(payload(1, 'late')); // frames for a cancelled stream are dropped
  await expectQuiet(peer);
  await assertNoLeaks(client);
});

test('requestStream: throw() and return() cancel too', async () => {
  const { client, peer } = await open();
  const s1 = client.requestStream({}, { prefetch: 2 });
  await expectFrame(peer, { type: FrameType.REQUEST_STREAM, streamId: 1, n: 2 });
  await assert.rejects(s1[Symbol.asyncIterator]().throw!(new Error('consumer failed')), /consumer failed/);
  await expectFrame(peer, { type: FrameType.CANCEL, streamId: 1 });
  const s2 = client.requestStream({}, { prefetch: 2 });
  await expectFrame(peer, { type: FrameType.REQUEST_STREAM, streamId: 3, n: 2 });
  peer.send(payload(3, 'x'));
  await assert.rejects((async () => { for await (const _ of s2) throw new Error('in loop'); })(), /in loop/);
  await expectFrame(peer, { type: FrameType.REQUEST_N, streamId: 3, n: 1 }); // taking 'x' topped the window up
  await expectFrame(peer, { type: FrameType.CANCEL, streamId: 3 });
  await assertNoLeaks(client);
});

test('requestStream: signal abort sends CANCEL and the loop throws CANCELED', async () => {
  const { client, peer } = await open();
  const ac = new AbortController();
  const s = client.requestStream({}, { route: 'ticks', signal: ac.signal, prefetch: 4 });
  await expectFrame(peer, { type: FrameType.REQUEST_STREAM, streamId: 1 });
  peer.send(payload(1, 'a'));
  const seen: string[] = [];
  await assert.rejects((async () => {
    for await (const p of s) {
      seen.push(p.text());
      ac.abort(new DOMException('stop', 'AbortError'));
    }
  })(), (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CANCELED && (e.cause as Error).name === 'AbortError');
  assert.deepEqual(seen, ['a']);
  await expectFrame(peer, { type: FrameType.CANCEL, streamId: 1 });
  await expectQuiet(peer);
  await assertNoLeaks(client);
});

test('requestStream: abort while next() waits rejects it; already-aborted sends nothing', async () => {
  const { client, peer } = await open();
  const ac = new AbortController();
  const s = client.requestStream({}, { signal: ac.signal });
  await expectFrame(peer, { type: FrameType.REQUEST_STREAM, streamId: 1, n: 32 });
  const pending = s[Symbol.asyncIterator]().next();
  ac.abort();
  await assert.rejects(pending, (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CANCELED);
  await expectFrame(peer, { type: FrameType.CANCEL, streamId: 1 });
  const s2 = client.requestStream({}, { signal: ac.signal });
  await assert.rejects(s2[Symbol.asyncIterator]().next(), (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CANCELED);
  await expectQuiet(peer);
  await assertNoLeaks(client);
});

test('requestStream manual: the first request(n) sends REQUEST_STREAM(n), later ones REQUEST_N', async () => {
  const { client, peer } = await open();
  const s = client.requestStream({ data: '5' }, { route: 'count', request: 'manual' });
  await expectQuiet(peer);
  assert.equal(s.id, 0);
  s.request(3);
  await expectFrame(peer, { type: FrameType.REQUEST_STREAM, streamId: 1, n: 3 });
  const it = s[Symbol.asyncIterator]();
  for (let i = 0; i < 3; i++) peer.send(payload(1, String(i)));
  for (let i = 0; i < 3; i++) assert.equal((await it.next()).value?.text(), String(i));
  await expectQuiet(peer); // manual: taking elements grants nothing
  s.request(2);
  await expectFrame(peer, { type: FrameType.REQUEST_N, streamId: 1, n: 2 });
  assert.throws(() => s.request(0), RangeError);
  assert.throws(() => s.request(1.5), RangeError);
  s.request(Infinity);
  await expectFrame(peer, { type: FrameType.REQUEST_N, streamId: 1, n: MAX_N });
  s.request(10); // unbounded already: nothing more on the wire
  await expectQuiet(peer);
  peer.send(complete(1));
  assert.equal((await it.next()).done, true);
  await assertNoLeaks(client);
});

test('over-delivery: a PAYLOAD beyond granted credit cancels the stream and fails the loop with INVALID', async () => {
  const { client, peer } = await open();
  const s = client.requestStream({}, { request: 'manual' });
  s.request(2);
  await expectFrame(peer, { type: FrameType.REQUEST_STREAM, streamId: 1, n: 2 });
  peer.send(payload(1, 'a'));
  peer.send(payload(1, 'b'));
  peer.send(payload(1, 'c')); // not granted
  await expectFrame(peer, { type: FrameType.CANCEL, streamId: 1 });
  assert.equal(client.stats().streams, 0);
  const seen: string[] = [];
  await assert.rejects((async () => { for await (const p of s) seen.push(p.text()); })(),
    (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.INVALID && /more elements than requested/.test(e.message));
  assert.deepEqual(seen, ['a', 'b']); // granted elements are still delivered; the extra one never is
  await expectQuiet(peer);
  await assertNoLeaks(client);
});

test('the buffer never holds more than was granted, even when the consumer never reads', async () => {
  const { client, peer } = await open();
  const s = client.requestStream({}, { prefetch: 3 });
  await expectFrame(peer, { type: FrameType.REQUEST_STREAM, streamId: 1, n: 3 });
  for (let i = 0; i < 3; i++) peer.send(payload(1, String(i)));
  assert.equal(client.stats().perStream[0]!.buffered, 3);
  peer.send(payload(1, 'x'));
  await expectFrame(peer, { type: FrameType.CANCEL, streamId: 1 });
  s.cancel();
  await assertNoLeaks(client);
});

test('prefetch Infinity is unbounded: initial N = 2^31-1 and no REQUEST_N ever', async () => {
  const { client, peer } = await open();
  const s = client.requestStream({}, { prefetch: Infinity });
  await expectFrame(peer, { type: FrameType.REQUEST_STREAM, streamId: 1, n: MAX_N });
  for (let i = 0; i < 100; i++) peer.send(payload(1, String(i)));
  peer.send(complete(1));
  let n = 0;
  for await (const _ of s) n++;
  assert.equal(n, 100);
  await expectQuiet(peer);
  await assertNoLeaks(client);
});

test('ERROR mid-stream: elements received before it are delivered, then the error', async () => {
  const { client, peer } = await open();
  const s = client.requestStream({}, { prefetch: 4 });
  await expectFrame(peer, { type: FrameType.REQUEST_STREAM, streamId: 1 });
  peer.send(payload(1, 'a'));
  peer.send(error(1, 0x301, 'app specific'));
  const seen: string[] = [];
  await assert.rejects((async () => { for await (const p of s) seen.push(p.text()); })(),
    (e: unknown) => e instanceof RSocketError && e.code === 0x301 && e.name === '0x00000301' && e.message === 'app specific');
  assert.deepEqual(seen, ['a']);
  await expectQuiet(peer);
  await assertNoLeaks(client);
});

test('requestChannel: the source is pulled only as the server grants credit; its end sends COMPLETE', async () => {
  const { client, peer } = await open();
  let pulled = 0;
  let returned = false;
  async function* source(): AsyncGenerator<PayloadInit> {
    try {
      for (let i = 1; i <= 3; i++) { pulled++; yield { data: `out${i}` }; }
    } finally { returned = true; }
  }
  const s = client.requestChannel(source(), { data: 'first' }, { route: 'channel.echo', prefetch: 2 });
  await expectFrame(peer, { type: FrameType.REQUEST_CHANNEL, streamId: 1, n: 2, data: text('first') });
  await expectQuiet(peer);
  assert.equal(pulled, 0);
  peer.send(requestN(1, 2));
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 1, flags: Flags.NEXT, data: text('out1') });
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 1, flags: Flags.NEXT, data: text('out2') });
  await expectQuiet(peer);
  assert.equal(pulled, 2);
  assert.equal(client.stats().perStream[0]!.sendCredit, 0);
  peer.send(requestN(1, 5));
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 1, data: text('out3') });
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 1, flags: Flags.COMPLETE });
  assert.ok(returned);
  peer.send(payload(1, 'in1'));
  peer.send({ ...payload(1, 'in2'), flags: Flags.NEXT | Flags.COMPLETE });
  const seen: string[] = [];
  for await (const p of s) seen.push(p.text());
  assert.deepEqual(seen, ['in1', 'in2']);
  await expectQuiet(peer);
  await assertNoLeaks(client);
});

test('requestChannel: the server CANCELs our outbound half; the source is returned; inbound goes on', async () => {
  const { client, peer } = await open();
  let returned = false;
  async function* source(): AsyncGenerator<PayloadInit> {
    try { for (let i = 0; ; i++) yield { data: String(i) }; } finally { returned = true; }
  }
  const s = client.requestChannel(source(), { data: 'first' }, { prefetch: 4 });
  await expectFrame(peer, { type: FrameType.REQUEST_CHANNEL, streamId: 1 });
  peer.send(requestN(1, 1));
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 1, data: text('0') });
  peer.send({ streamId: 1, type: FrameType.CANCEL, flags: 0, metadata: null, data: E });
  await sleep(5);
  assert.ok(returned);
  peer.send(requestN(1, 10)); // credit after cancel sends nothing
  peer.send({ ...payload(1, 'last'), flags: Flags.NEXT | Flags.COMPLETE });
  const seen: string[] = [];
  for await (const p of s) seen.push(p.text());
  assert.deepEqual(seen, ['last']);
  await expectQuiet(peer);
  await assertNoLeaks(client);
});

test('requestChannel: break cancels and returns the source; a failing source sends ERROR', async () => {
  const { client, peer } = await open();
  let returned = false;
  async function* source(): AsyncGenerator<PayloadInit> {
    try { yield { data: 'x' }; yield { data: 'y' }; } finally { returned = true; }
  }
  const s = client.requestChannel(source(), { data: 'first' }, { prefetch: 4 });
  await expectFrame(peer, { type: FrameType.REQUEST_CHANNEL, streamId: 1 });
  peer.send(requestN(1, 1));
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 1, data: text('x') });
  peer.send(payload(1, 'in'));
  for await (const _ of s) break;
  await expectFrame(peer, { type: FrameType.CANCEL, streamId: 1 });
  await sleep(1);
  assert.ok(returned, 'source.return() called on cancel');

  async function* failing(): AsyncGenerator<PayloadInit> { yield { data: 'ok' }; throw new Error('source broke'); }
  const s2 = client.requestChannel(failing(), { data: 'first' }, { prefetch: 4 });
  await expectFrame(peer, { type: FrameType.REQUEST_CHANNEL, streamId: 3 });
  peer.send(requestN(3, 5));
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 3, data: text('ok') });
  await expectFrame(peer, { type: FrameType.ERROR, streamId: 3, code: ErrorCode.APPLICATION_ERROR, data: text('source broke') });
  await assert.rejects((async () => { for await (const _ of s2); })(), /source broke/);
  await expectQuiet(peer);
  await assertNoLeaks(client);
});

test('requestChannel: sending waits for the transport to drain (bufferedAmount)', async () => {
  const { client, peer } = await open();
  let pulled = 0;
  async function* source(): AsyncGenerator<PayloadInit> { for (;;) { pulled++; yield { data: 'x' }; } }
  const s = client.requestChannel(source(), {}, { prefetch: 1 });
  await expectFrame(peer, { type: FrameType.REQUEST_CHANNEL, streamId: 1 });
  peer.setBuffered(10 << 20);
  peer.send(requestN(1, 3));
  await expectQuiet(peer);
  assert.equal(pulled, 0);
  peer.setBuffered(0);
  for (let i = 0; i < 3; i++) await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 1 });
  s.cancel();
  await expectFrame(peer, { type: FrameType.CANCEL, streamId: 1 });
  await assertNoLeaks(client);
});

test('fireAndForget and metadataPush: exact frames', async () => {
  const { client, peer } = await open();
  await client.fireAndForget({ data: 'f' }, { route: 'fnf' });
  const f = await expectFrame(peer, { type: FrameType.REQUEST_FNF, streamId: 1, data: text('f') });
  assert.deepEqual(decodeRoutes(decodeComposite(f.metadata!)[0]!.content), ['fnf']);
  await client.metadataPush(text('md'));
  await expectFrame(peer, { type: FrameType.METADATA_PUSH, streamId: 0, flags: Flags.METADATA, metadata: text('md') });
  await expectQuiet(peer);
  await assertNoLeaks(client);
});

test('fragments: inbound reassembly counts one credit per element; outbound splits at fragmentSize', async () => {
  const { client, peer } = await open({ fragmentSize: 64 });
  const s = client.requestStream({ data: 'x'.repeat(200) }, { request: 'manual' });
  s.request(1);
  const first = await expectFrame(peer, { type: FrameType.REQUEST_STREAM, streamId: 1, n: 1, flags: Flags.FOLLOWS });
  let size = first.data.length;
  for (;;) {
    const f = await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 1 });
    size += f.data.length;
    if (!(f.flags & Flags.FOLLOWS)) break;
  }
  assert.equal(size, 200);
  // The golden fragments, replayed as a PAYLOAD for stream 1: md "abcd", data "wxyz".
  peer.send(fromHex('000000012980000000026162').length ? { streamId: 1, type: FrameType.PAYLOAD, flags: Flags.NEXT | Flags.FOLLOWS, metadata: text('ab'), data: E } : E);
  peer.send(fromHex('0000000129a000000263647778'));
  peer.send(fromHex('000000012820797a'));
  peer.send(complete(1));
  const got: string[] = [];
  for await (const p of s) got.push(`${str(p.metadata)}/${p.text()}`);
  assert.deepEqual(got, ['abcd/wxyz']);
  await assertNoLeaks(client);
});

test('reassembly beyond maxReassembly fails the stream and cancels it', async () => {
  const { client, peer } = await open({ maxReassembly: 100 });
  const s = client.requestStream({}, { prefetch: 2 });
  await expectFrame(peer, { type: FrameType.REQUEST_STREAM, streamId: 1 });
  for (let i = 0; i < 3; i++) peer.send({ ...payload(1, 'y'.repeat(60)), flags: Flags.NEXT | Flags.FOLLOWS });
  await expectFrame(peer, { type: FrameType.CANCEL, streamId: 1 });
  await assert.rejects((async () => { for await (const _ of s); })(), (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.INVALID);
  await assertNoLeaks(client);
});

test('keepalive: answers R with the same data and no R; sends its own at the interval; lifetime closes', async () => {
  const { client, peer } = await open({ keepAlive: 20, lifetime: 70 });
  peer.send({ streamId: 0, type: FrameType.KEEPALIVE, flags: Flags.RESPOND, metadata: null, data: text('ka'), position: 0 });
  await expectFrame(peer, { type: FrameType.KEEPALIVE, flags: 0, data: text('ka') });
  peer.send({ streamId: 0, type: FrameType.KEEPALIVE, flags: 0, metadata: null, data: text('no echo'), position: 0 });
  await expectFrame(peer, { type: FrameType.KEEPALIVE, flags: Flags.RESPOND, streamId: 0 });
  const pending = client.requestResponse({}, { route: 'never' });
  // Say nothing: after the lifetime the client gives up with CONNECTION_ERROR.
  const why = await client.closed;
  assert.equal(why.code, ErrorCode.CONNECTION_ERROR);
  await assert.rejects(pending, (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CONNECTION_ERROR);
  const frames: Frame[] = [];
  while (peer.pending) frames.push(await peer.recv());
  assert.ok(frames.some((f) => f.type === FrameType.ERROR && f.streamId === 0 && f.code === ErrorCode.CONNECTION_ERROR), 'ERROR[CONNECTION_ERROR] sent');
  assert.ok(peer.closedByClient);
  await assertNoLeaks(client);
});

test('connection loss fails every stream with CONNECTION_ERROR; closed resolves', async () => {
  const { client, peer } = await open();
  const rr = client.requestResponse({}, { route: 'never' });
  const s = client.requestStream({}, {});
  await peer.recv(); await peer.recv();
  peer.close(new Error('socket reset'));
  await assert.rejects(rr, (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CONNECTION_ERROR && /socket reset/.test(e.message));
  await assert.rejects((async () => { for await (const _ of s); })(), (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CONNECTION_ERROR);
  assert.equal((await client.closed).code, ErrorCode.CONNECTION_ERROR);
  await assert.rejects(client.requestResponse({}), (e: unknown) => e instanceof RSocketError);
  await assert.rejects((async () => { for await (const _ of client.requestStream({})); })(), (e: unknown) => e instanceof RSocketError);
  await assertNoLeaks(client);
});

test('SETUP rejected: ERROR on stream 0 fails pending requests with the setup code', async () => {
  const { client, peer } = await open();
  const rr = client.requestResponse({}, { route: 'echo' });
  await peer.recv();
  peer.send(error(0, ErrorCode.UNSUPPORTED_SETUP, 'resume not supported'));
  await assert.rejects(rr, (e: unknown) => e instanceof RSocketError && e.name === 'UNSUPPORTED_SETUP' && e.message === 'resume not supported');
  assert.ok(peer.closedByClient);
  await assertNoLeaks(client);
});

test('client.close(): open streams fail with CONNECTION_CLOSE; the transport closes', async () => {
  const { client, peer } = await open();
  const s = client.requestStream({}, {});
  await peer.recv();
  const loop = (async () => { for await (const _ of s); })();
  await client.close();
  await assert.rejects(loop, (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CONNECTION_CLOSE);
  assert.ok(peer.closedByClient);
  assert.equal((await client.closed).code, ErrorCode.CONNECTION_CLOSE);
  await assertNoLeaks(client);
});

test('unexpected frames are dropped; malformed ones close the connection with CONNECTION_ERROR', async () => {
  const { client, peer } = await open();
  const s = client.requestStream({}, { prefetch: 2 });
  await peer.recv();
  peer.send(payload(99, 'unknown id'));
  peer.send({ streamId: 77, type: FrameType.CANCEL, flags: 0, metadata: null, data: E });
  peer.send(requestN(1, 0));
  peer.send({ ...payload(1, 'neither N nor C'), flags: 0 });
  peer.send({ streamId: 0, type: FrameType.LEASE, flags: 0, metadata: null, data: E, keepalive: 1, n: 1 });
  peer.send(fromHex('00000001c200')); // unknown type with I: ignored
  peer.send(payload(1, 'ok'));
  const it = s[Symbol.asyncIterator]();
  assert.equal((await it.next()).value?.text(), 'ok');
  await expectFrame(peer, { type: FrameType.REQUEST_N, streamId: 1, n: 1 });
  await expectQuiet(peer);
  peer.send(fromHex('00000001290000ffff6d')); // metadata length runs past the end
  await expectFrame(peer, { type: FrameType.ERROR, streamId: 0, code: ErrorCode.CONNECTION_ERROR });
  await assert.rejects(it.next(), (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CONNECTION_ERROR);
  await assertNoLeaks(client);
});

test('responder: requests from the server reach the handlers, streams obey the server credit', async () => {
  let fnf = '';
  let pushed = '';
  let cancelled = false;
  const { client, peer } = await open({
    responderPrefetch: 2,
    handlers: {
      requestResponse: async (p) => ({ data: p.text().toUpperCase() }),
      fireAndForget: (p) => { fnf = p.text(); },
      metadataPush: (md) => { pushed = str(md); },
      async *requestStream(p, ctx) {
        ctx.signal.addEventListener('abort', () => { cancelled = true; });
        for (let i = 0; i < Number(p.text()); i++) yield { data: `s${i}` };
      },
      async *requestChannel(first, inbound) {
        yield { data: `first:${first.text()}` };
        for await (const p of inbound) yield { data: `echo:${p.text()}` };
      },
    },
  });
  const req = (type: number, id: number, data: string, n?: number, flags = 0): Frame => ({ streamId: id, type, flags, metadata: null, data: text(data), ...(n ? { n } : {}) });
  peer.send(req(FrameType.REQUEST_RESPONSE, 2, 'hi'));
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 2, flags: Flags.NEXT | Flags.COMPLETE, data: text('HI') });
  peer.send(req(FrameType.REQUEST_FNF, 4, 'f'));
  peer.send({ streamId: 0, type: FrameType.METADATA_PUSH, flags: Flags.METADATA, metadata: text('pm'), data: E });
  await sleep(1);
  assert.equal(fnf, 'f');
  assert.equal(pushed, 'pm');
  peer.send(req(FrameType.REQUEST_STREAM, 6, '3', 2));
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 6, data: text('s0') });
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 6, data: text('s1') });
  await expectQuiet(peer);
  peer.send(requestN(6, 5));
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 6, data: text('s2') });
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 6, flags: Flags.COMPLETE });
  peer.send(req(FrameType.REQUEST_STREAM, 8, '1000', 1));
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 8, data: text('s0') });
  peer.send({ streamId: 8, type: FrameType.CANCEL, flags: 0, metadata: null, data: E });
  await sleep(1);
  assert.ok(cancelled);
  // Channel: the responder grants its window for the inbound side, sends only with credit.
  peer.send(req(FrameType.REQUEST_CHANNEL, 10, 'a', 1));
  await expectFrame(peer, { type: FrameType.REQUEST_N, streamId: 10, n: 2 });
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 10, data: text('first:a') });
  peer.send(payload(10, 'b'));
  await expectQuiet(peer); // the handler is not pulled without the server's credit, so 'b' waits
  peer.send(requestN(10, 10));
  await expectFrame(peer, { type: FrameType.REQUEST_N, streamId: 10, n: 1 }); // the handler took 'b'
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 10, data: text('echo:b') });
  peer.send(complete(10));
  await expectFrame(peer, { type: FrameType.PAYLOAD, streamId: 10, flags: Flags.COMPLETE });
  await expectQuiet(peer);
  await assertNoLeaks(client);
});

test('responder: no handler means REJECTED; a failing handler sends APPLICATION_ERROR', async () => {
  const { client, peer } = await open({ handlers: { requestResponse: () => { throw new Error('nope'); } } });
  peer.send({ streamId: 2, type: FrameType.REQUEST_STREAM, flags: 0, metadata: null, data: E, n: 1 });
  await expectFrame(peer, { type: FrameType.ERROR, streamId: 2, code: ErrorCode.REJECTED });
  peer.send({ streamId: 4, type: FrameType.REQUEST_RESPONSE, flags: 0, metadata: null, data: E });
  await expectFrame(peer, { type: FrameType.ERROR, streamId: 4, code: ErrorCode.APPLICATION_ERROR, data: text('nope') });
  peer.send({ streamId: 5, type: FrameType.REQUEST_RESPONSE, flags: 0, metadata: null, data: E }); // our parity: ignored
  await expectQuiet(peer);
  await assertNoLeaks(client);
});

test('RSocketError.from: AbortError becomes CANCELED, errors APPLICATION_ERROR, never strings', () => {
  const a = RSocketError.from(new DOMException('x', 'AbortError'));
  assert.equal(a.code, ErrorCode.CANCELED);
  assert.ok(a.cause instanceof DOMException);
  const b = RSocketError.from(new Error('bad'));
  assert.equal(b.code, ErrorCode.APPLICATION_ERROR);
  assert.equal(b.message, 'bad');
  assert.equal(RSocketError.from('str').message, 'str');
  const c = new RSocketError(ErrorCode.REJECTED, 'r', { streamId: 3 });
  assert.equal(RSocketError.from(c), c);
  assert.ok(c instanceof Error);
  assert.equal(c.name, 'REJECTED');
  assert.ok(String(c).startsWith('REJECTED: r'));
});

test('stream ids are odd and step by 2; encode/decode of what the client sends is stable', async () => {
  const { client, peer } = await open();
  for (let i = 0; i < 3; i++) void client.requestResponse({ data: String(i) }).catch(() => {});
  for (const id of [1, 3, 5]) {
    const f = await expectFrame(peer, { type: FrameType.REQUEST_RESPONSE, streamId: id });
    assert.deepEqual(decodeFrame(encodeFrame(f)), f);
  }
  await client.close();
  await assertNoLeaks(client);
});
