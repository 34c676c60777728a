// The browser harness, shared by the Chromium tests and the benchmark:
// - an RSocket server: the Go server (`sluice serve --addr 127.0.0.1:0`, built with
//   `go build` into a temp dir, started and killed by PID), or, with SLUICE_SERVER=node or
//   when there is no Go toolchain / cmd/sluice, the rsocket-js stand-in in this process;
// - a tiny static server on 127.0.0.1 that serves the test page, the page script and the
//   committed bundle (dist/sluice.js). Its origin is passed to the Go server as
//   --allow-origin, so the page connects cross-origin over loopback;
// - headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core with a fresh
//   user-data-dir.
import { build } from 'esbuild';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { jsRoot, repoRoot } from '../helpers.js';
import { startInteropServer } from '../interop-server.js';

export interface RSocketServerHandle {
  kind: 'go' | 'node';
  /** ws://HOST:PORT/rsocket */
  url: string;
  /** http://HOST:PORT (the Go server's own origin), when there is one. */
  httpBase?: string;
  close(): Promise<void>;
}

function haveGo(): boolean {
  if (!existsSync(join(repoRoot(), 'cmd/sluice'))) return false;
  try { execFileSync('go', ['version'], { stdio: 'ignore' }); return true; } catch { return false; }
}

/** Starts the server named by SLUICE_SERVER (go | node), default go when it can be built. */
export async function startRSocketServer(allowOrigin: string): Promise<RSocketServerHandle> {
  const want = process.env.SLUICE_SERVER ?? (haveGo() || process.env.SLUICE_BIN ? 'go' : 'node');
  if (want === 'node') {
    const s = await startInteropServer();
    return { kind: 'node', url: s.url, close: s.close };
  }
  let bin = process.env.SLUICE_BIN;
  let tmp: string | undefined;
  if (!bin) {
    tmp = mkdtempSync(join(tmpdir(), 'sluice-bin-'));
    bin = join(tmp, 'sluice');
    execFileSync('go', ['build', '-o', bin, './cmd/sluice'], { cwd: repoRoot(), stdio: 'inherit' });
  }
  const child: ChildProcess = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--allow-origin', allowOrigin], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error(`sluice serve printed no listening line in 30 s\n${stderr}`)), 30_000);
    rl.once('line', (line) => {
      clearTimeout(timer);
      const m = /^listening (ws:\/\/\S+\/rsocket)$/.exec(line.trim());
      if (m) resolve(m[1]!); else reject(new Error(`unexpected first line from sluice serve: ${line}`));
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`sluice serve exited (${code})\n${stderr}`)); });
  });
  child.stdout!.resume();
  return {
    kind: 'go',
    url,
    httpBase: url.replace(/^ws:/, 'http:').replace(/\/rsocket$/, ''),
    close: async () => {
      if (child.exitCode === null && child.pid !== undefined) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        process.kill(child.pid, 'SIGTERM');
        const t = setTimeout(() => { if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL'); }, 5000);
        await exited;
        clearTimeout(t);
      }
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export interface StaticServer {
  origin: string;
  close(): Promise<void>;
}

/** Serves `files` (path → [content type, body]) on 127.0.0.1. */
export async function startStatic(files: Record<string, [string, string | Buffer]>): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    const f = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!f) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': f[0], 'cache-control': 'no-store' }).end(f[1]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Bundles a page script; `/sluice.js` (and other absolute paths) stay imports. */
export async function bundlePage(entry: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await build({
    entryPoints: [entry], bundle: true, format: 'esm', target: 'es2022', platform: 'browser', write: false,
    external: ['/sluice.js'], logLevel: 'error', ...extra,
  });
  return r.outputFiles![0]!.text;
}

export const bundlePath = (): string => join(jsRoot(), 'dist/sluice.js');
export const readBundle = (): Buffer => readFileSync(bundlePath());

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export interface BrowserHandle {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh profile and opens `url`. */
export async function launch(url: string): Promise<BrowserHandle> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get update && apt-get install -y chromium`);
  const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(() => (window as unknown as { sluiceReady?: boolean }).sluiceReady === true, undefined, { timeout: 30_000 });
  return {
    context, page, errors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export const PAGE_HTML = (script: string): string =>
  `<!doctype html><meta charset="utf-8"><title>sluice browser tests</title><link rel="icon" href="data:,"><script type="module" src="${script}"></script>`;
