// npm run bench:browser — elements/s in headless Chromium for 64 B and 1 KiB streams:
// @sluicehq/client (both transports) vs rsocket-js 1.0's browser client vs a raw WebSocket
// onmessage counter, against the Go server (or SLUICE_SERVER=node). Not part of npm test.
//   BENCH_N (elements per run, default 200000), BENCH_WINDOW (prefetch, 256), BENCH_ROUNDS (3)
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = mkdtempSync(join(root, '.test-build-bench-'));
try {
  await build({
    entryPoints: [join(root, 'test/browser/harness.ts')], bundle: true, platform: 'node', format: 'esm',
    packages: 'external', outfile: join(out, 'harness.mjs'), logLevel: 'error',
  });
  process.env.SLUICE_JS_ROOT = root;
  const h = await import(pathToFileURL(join(out, 'harness.mjs')).href);
  const page = await h.bundlePage(join(root, 'test/browser/bench/page.ts'), { minify: true, inject: [join(root, 'test/browser/bench/buffer-shim.ts')] });
  const web = await h.startStatic({
    '/': ['text/html; charset=utf-8', h.PAGE_HTML('/bench.js')],
    '/bench.js': ['text/javascript; charset=utf-8', page],
    '/sluice.js': ['text/javascript; charset=utf-8', h.readBundle()],
  });
  const rs = await h.startRSocketServer(web.origin);
  const browser = await h.launch(`${web.origin}/`);
  try {
    const n = Number(process.env.BENCH_N ?? 200_000);
    const win = Number(process.env.BENCH_WINDOW ?? 256);
    const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
    console.log(`server: ${rs.kind} ${rs.url}; n=${n} (rsocket-js: ${Math.min(n, 50_000)}) prefetch=${win} rounds=${rounds}`);
    const res = await browser.page.evaluate(([u, a, b, c]) => window.bench(u, a, b, c), [rs.url, n, win, rounds]);
    for (const [size, byClient] of Object.entries(res)) {
      const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const raw = med(byClient['raw onmessage']);
      const rjs = med(byClient['rsocket-js']);
      for (const [name, xs] of Object.entries(byClient)) {
        const m = med(xs);
        console.log(`${size.padStart(6)}  ${name.padEnd(24)} median ${String(m).padStart(8)} el/s  (${(m / raw * 100).toFixed(0)}% of raw, ${(m / rjs).toFixed(2)}x rsocket-js)  runs: ${xs.join(', ')}`);
      }
    }
    if (browser.errors.length) console.log('page errors:', browser.errors);
  } finally {
    await browser.close();
    await rs.close();
    await web.close();
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
