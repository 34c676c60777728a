// Interop: our client against an rsocket-js 1.0 server over a real WebSocket (Node `ws`),
// every interaction, routing in composite metadata, demand checked at the server.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import WebSocket from 'ws';
import { connect, ErrorCode, RSocketError, type Client, type ConnectOptions } from '../src/index.js';
import { startInteropServer, type InteropServer } from './interop-server.js';
import { assertNoLeaks, sleep, text } from './helpers.js';

let server: InteropServer;
const clients: Client[] = [];
before(async () => { server = await startInteropServer(); });
after(async () => { await server.close(); });
afterEach(async () => { for (const c of clients.splice(0)) await c.close(); });

async function client(opts: ConnectOptions = {}): Promise<Client> {
  const c = await connect(server.url, { WebSocket, keepAlive: 500, lifetime: 2000, ...opts });
  clients.push(c);
  return c;
}

test('interop: classic WebSocket transport is used in Node with the ws option', async () => {
  const c = await client();
  assert.equal(c.stats().transport, 'websocket');
  await assertNoLeaks(c, { processTimers: false });
});

test('interop: request-response echo, error, never + abort', async () => {
  const c = await client();
  assert.equal((await c.requestResponse({ data: 'hello' }, { route: 'echo' })).text(), 'hello');
  const big = 'x'.repeat(100_000);
  assert.equal((await c.requestResponse({ data: big }, { route: 'echo' })).text(), big);
  await assert.rejects(c.requestResponse({ data: 'it broke' }, { route: 'error' }),
    (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.APPLICATION_ERROR && e.message === 'it broke');
  await assert.rejects(c.requestResponse({}, { route: 'no.such.route' }), /unknown route/);
  const cancelsBefore = server.stats.cancels;
  const ac = new AbortController();
  const p = c.requestResponse({}, { route: 'never', signal: ac.signal });
  await sleep(20);
  ac.abort();
  await assert.rejects(p, (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CANCELED);
  await sleep(20);
  assert.equal(server.stats.cancels, cancelsBefore + 1, 'the server saw the CANCEL');
  await assertNoLeaks(c, { processTimers: false });
});

// rsocket-js 1.0's server keeps a lifetime timer per connection after it closes: a short
// lifetime lets the test process exit quickly.

test('interop: fire-and-forget counted per connection', async () => {
  const c = await client();
  for (let i = 0; i < 5; i++) await c.fireAndForget({ data: String(i) }, { route: 'fnf' });
  await sleep(10);
  assert.equal((await c.requestResponse({}, { route: 'fnf.count' })).text(), '5');
  await assertNoLeaks(c, { processTimers: false });
});

// rsocket-js 1.0.0-alpha.3 cannot receive METADATA_PUSH: deserializeMetadataPushFrame reads an
// undefined `length` and the server drops the connection. Covered against the Go server.
test('interop: metadata push (rsocket-js cannot decode it)', { skip: 'rsocket-js 1.0.0-alpha.3 bug: its METADATA_PUSH decoder throws' }, async () => {
  const c = await client();
  await c.metadataPush(text('hello'));
  assert.equal((await c.requestResponse({ data: 'after push' }, { route: 'echo' })).text(), 'after push');
});

test('interop: request-stream count completes; the server never held more credit than the window', async () => {
  const c = await client();
  const got: string[] = [];
  server.stats.maxCredit.count = 0;
  for await (const p of c.requestStream({ data: '100' }, { route: 'count', prefetch: 8 })) got.push(p.text());
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => String(i)));
  assert.ok(server.stats.maxCredit.count! <= 8, `server held ${server.stats.maxCredit.count} credit`);
  await assertNoLeaks(c, { processTimers: false });
});

test('interop: a slow consumer keeps the producer at its pace (unbounded count, break cancels)', async () => {
  const c = await client();
  server.stats.maxCredit.count = 0;
  const emittedBefore = server.stats.emitted.count ?? 0;
  const cancelsBefore = server.stats.cancels;
  let n = 0;
  const s = c.requestStream({ data: '' }, { route: 'count', prefetch: 4 });
  for await (const p of s) {
    assert.equal(p.text(), String(n));
    const st = c.stats().perStream[0]!;
    assert.ok(st.requested - st.consumed <= 4, `credit not consumed: ${JSON.stringify(st)}`);
    if (++n === 20) break;
    await sleep(5);
  }
  await sleep(30);
  const emitted = (server.stats.emitted.count ?? 0) - emittedBefore;
  assert.ok(emitted <= 20 + 4, `server produced ${emitted} for 20 consumed`);
  assert.ok(server.stats.maxCredit.count! <= 4);
  assert.equal(server.stats.cancels, cancelsBefore + 1, 'break sent CANCEL');
  await assertNoLeaks(c, { processTimers: false });
});

test('interop: blob elements carry their sequence number; manual request(n)', async () => {
  const c = await client();
  const s = c.requestStream({ data: '10 1024' }, { route: 'blob', request: 'manual' });
  s.request(3);
  let i = 0;
  for await (const p of s) {
    assert.equal(p.data.length, 1024);
    assert.equal(new DataView(p.data.buffer, p.data.byteOffset).getBigUint64(0), BigInt(i));
    i++;
    if (i % 3 === 0) s.request(3);
  }
  assert.equal(i, 10);
  await assertNoLeaks(c, { processTimers: false });
});

test('interop: ticks with signal abort', async () => {
  const c = await client();
  const ac = new AbortController();
  let n = 0;
  await assert.rejects((async () => {
    for await (const p of c.requestStream({}, { route: 'ticks', signal: ac.signal, prefetch: 2 })) {
      const [seq, nanos] = p.text().split(' ');
      assert.equal(Number(seq), n);
      assert.ok(BigInt(nanos!) > 0n);
      if (++n === 5) ac.abort();
    }
  })(), (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CANCELED);
  assert.equal(n, 5);
  await assertNoLeaks(c, { processTimers: false });
});

test('interop: request-channel echo, sending only with the server credit', async () => {
  const c = await client();
  let pulled = 0;
  async function* source() {
    for (let i = 1; i <= 50; i++) { pulled++; yield { data: `m${i}` }; }
  }
  const got: string[] = [];
  for await (const p of c.requestChannel(source(), { data: 'm0' }, { route: 'channel.echo', prefetch: 4 })) got.push(p.text());
  assert.deepEqual(got, Array.from({ length: 51 }, (_, i) => `m${i}`));
  assert.equal(pulled, 50);
  await assertNoLeaks(c, { processTimers: false });
});

test('interop: request-channel break cancels and returns the source', async () => {
  const c = await client();
  let returned = false;
  async function* source() {
    try { for (let i = 1; ; i++) { yield { data: `m${i}` }; await sleep(1); } } finally { returned = true; }
  }
  let n = 0;
  for await (const _ of c.requestChannel(source(), { data: 'm0' }, { route: 'channel.echo', prefetch: 2 })) if (++n === 10) break;
  await sleep(20);
  assert.ok(returned);
  await assertNoLeaks(c, { processTimers: false });
});

test('interop: the server requests from the client (responder handlers)', async () => {
  const c = await client({ handlers: { requestResponse: (p) => ({ data: `client says ${p.text()}` }) } });
  assert.equal((await c.requestResponse({ data: 'hi' }, { route: 'reverse.echo' })).text(), 'client says hi');
  await assertNoLeaks(c, { processTimers: false });
});

test('interop: outbound fragmentation is reassembled by rsocket-js', async () => {
  const c = await client({ fragmentSize: 1024 });
  const big = 'y'.repeat(10_000);
  assert.equal((await c.requestResponse({ data: big }, { route: 'echo' })).text(), big);
  await assertNoLeaks(c, { processTimers: false });
});

test('interop: server going away fails open streams with CONNECTION_ERROR or CONNECTION_CLOSE', async () => {
  const local = await startInteropServer();
  const c = await connect(local.url, { WebSocket, keepAlive: 500, lifetime: 2000 });
  const s = c.requestStream({ data: '' }, { route: 'ticks', prefetch: 1 });
  const it = s[Symbol.asyncIterator]();
  await it.next();
  await local.close();
  await assert.rejects(async () => { for (;;) if ((await it.next()).done) break; },
    (e: unknown) => e instanceof RSocketError && (e.code === ErrorCode.CONNECTION_ERROR || e.code === ErrorCode.CONNECTION_CLOSE));
  await assertNoLeaks(c, { processTimers: false });
});
