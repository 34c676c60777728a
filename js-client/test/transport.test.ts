// The classic WebSocket transport over a real socket (Node `ws`), against a scripted raw
// peer that misbehaves on purpose.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { connect, decodeFrame, encodeFrame, ErrorCode, FrameType, Flags, RSocketError, type Frame } from '../src/index.js';
import { assertNoLeaks, text } from './helpers.js';

/** A raw WebSocket peer: `script` gets each frame the client sends and a send function. */
async function rawPeer(script: (f: Frame, send: (f: Frame | string) => void) => void) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const received: Frame[] = [];
  wss.on('connection', (ws) => {
    ws.on('message', (data: Buffer) => {
      const f = decodeFrame(new Uint8Array(data));
      received.push(f);
      script(f, (out) => ws.send(typeof out === 'string' ? out : encodeFrame(out)));
    });
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/rsocket`,
    received,
    close: () => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }),
  };
}

test('raw peer over-delivers on a real socket: the client fails the stream with INVALID and sends CANCEL', async () => {
  const peer = await rawPeer((f, send) => {
    if (f.type !== FrameType.REQUEST_STREAM) return;
    for (let i = 0; i <= f.n!; i++) send({ streamId: f.streamId, type: FrameType.PAYLOAD, flags: Flags.NEXT, metadata: null, data: text(String(i)) });
  });
  const c = await connect(peer.url, { WebSocket });
  const got: string[] = [];
  await assert.rejects((async () => {
    for await (const p of c.requestStream({}, { prefetch: 3 })) got.push(p.text());
  })(), (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.INVALID);
  assert.deepEqual(got, ['0', '1', '2']);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(peer.received.map((f) => f.type), [FrameType.SETUP, FrameType.REQUEST_STREAM, FrameType.CANCEL]);
  await assertNoLeaks(c, { processTimers: false });
  await peer.close();
});

test('raw peer sends a text message: the client closes with 1003 and fails with CONNECTION_ERROR', async () => {
  const peer = await rawPeer((f, send) => { if (f.type === FrameType.REQUEST_RESPONSE) send('not a frame'); });
  const c = await connect(peer.url, { WebSocket });
  await assert.rejects(c.requestResponse({ data: 'x' }), (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CONNECTION_ERROR);
  await assertNoLeaks(c, { processTimers: false });
  await peer.close();
});

test('connect to a closed port rejects with CONNECTION_ERROR; abort before open rejects', async () => {
  const peer = await rawPeer(() => {});
  const url = peer.url;
  await peer.close();
  await assert.rejects(connect(url, { WebSocket }), (e: unknown) => e instanceof RSocketError && e.code === ErrorCode.CONNECTION_ERROR);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(connect(url, { WebSocket, signal: ac.signal }), (e: unknown) => e instanceof RSocketError);
  await assert.rejects(connect(url, { transport: 'websocketstream' }), /WebSocketStream is not available/);
});
