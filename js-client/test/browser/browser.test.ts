// Headless Chromium against the RSocket server (the Go server by default; see harness.ts):
// every interaction on both WebSocketStream and the classic WebSocket, demand on the wire,
// abort, errors, and no console errors.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { jsRoot } from '../helpers.js';
import {
  bundlePage, launch, PAGE_HTML, readBundle, startRSocketServer, startStatic, type BrowserHandle, type RSocketServerHandle,
  type StaticServer,
} from './harness.js';

const transports = ['websocketstream', 'websocket'] as const;
const cases = ['transport', 'requestResponse', 'abort', 'fireAndForget', 'metadataPush', 'requestStream', 'breakCancels',
  'requestChannel', 'slowConsumer'];

let rs: RSocketServerHandle;
let web: StaticServer;
let browser: BrowserHandle;

before(async () => {
  const page = await bundlePage(join(jsRoot(), 'test/browser/page.ts'));
  web = await startStatic({
    '/': ['text/html; charset=utf-8', PAGE_HTML('/page.js')],
    '/page.js': ['text/javascript; charset=utf-8', page],
    '/sluice.js': ['text/javascript; charset=utf-8', readBundle()],
  });
  rs = await startRSocketServer(web.origin);
  browser = await launch(`${web.origin}/`);
});

after(async () => {
  await browser?.close();
  await rs?.close();
  await web?.close();
});

test('the page runs in Chromium with WebSocketStream available', async (t) => {
  const info = await browser.page.evaluate(() => ({ ua: navigator.userAgent, wss: 'WebSocketStream' in globalThis }));
  t.diagnostic(`server: ${rs.kind} ${rs.url}; ${info.ua}`);
  assert.ok(info.wss, 'this Chromium has no WebSocketStream');
});

for (const transport of transports) {
  for (const name of cases) {
    test(`${transport}: ${name}`, async (t) => {
      if (rs.kind === 'node' && name === 'metadataPush') { t.skip('rsocket-js 1.0.0-alpha.3 cannot decode METADATA_PUSH'); return; }
      const r = await browser.page.evaluate(
        ([n, url, tr]) => (window as unknown as { sluiceCases: Record<string, (u: string, t: string) => Promise<unknown>> }).sluiceCases[n]!(url, tr),
        [name, rs.url, transport] as const,
      ) as { transport?: string };
      assert.equal(r.transport, transport, 'the forced transport was used');
      t.diagnostic(JSON.stringify(r));
    });
  }
}

test('the Go server serves the committed bundle at /js/sluice.js', async (t) => {
  if (rs.kind !== 'go') { t.skip('running against the rsocket-js stand-in'); return; }
  const res = await fetch(`${rs.httpBase}/js/sluice.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /javascript/);
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(readBundle()), 'the Go binary embeds a different dist/sluice.js');
});

test('no console errors in the page', () => {
  assert.deepEqual(browser.errors, []);
});
