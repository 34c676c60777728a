// Test runner: bundles each *.test.ts with esbuild into a temp dir, then hands the files
// to `node --test`, whose own summary is the last thing printed.
//   node scripts/test.mjs            Node tests: src/*.test.ts and test/*.test.ts
//   node scripts/test.mjs --browser  Chromium tests: test/browser/*.test.ts
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const browser = process.argv.includes('--browser');
const filter = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const dirs = browser ? ['test/browser'] : ['src', 'test'];
let entries = [];
for (const d of dirs) {
  for (const f of readdirSync(join(root, d))) if (f.endsWith('.test.ts')) entries.push(join(root, d, f));
}
if (filter.length) entries = entries.filter((e) => filter.some((f) => e.includes(f)));
// Inside the package so that bare imports (ws, rsocket-*) resolve from node_modules.
const out = mkdtempSync(join(root, '.test-build-'));
await build({
  entryPoints: entries, bundle: true, platform: 'node', format: 'esm', target: 'node20', outdir: out,
  packages: 'external', sourcemap: 'inline', logLevel: 'error', outExtension: { '.js': '.mjs' },
  entryNames: '[dir]/[name]', outbase: root,
});
const files = entries.map((e) => join(out, e.slice(root.length + 1).replace(/\.ts$/, '.mjs')));
const env = { ...process.env, SLUICE_JS_ROOT: root };
const args = ['--enable-source-maps', '--test', '--test-concurrency=1'];
if (process.env.TEST_REPORTER) args.push(`--test-reporter=${process.env.TEST_REPORTER}`);
const child = spawn(process.execPath, [...args, ...files], { stdio: 'inherit', env, cwd: root });
const code = await new Promise((r) => child.on('exit', (c, s) => r(c ?? (s ? 1 : 0))));
rmSync(out, { recursive: true, force: true });
process.exit(code);
