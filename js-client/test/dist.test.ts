// dist/ is committed (the Go server embeds it): it must exist, match a fresh build, stay
// small, and hold nothing Node-only.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { jsRoot } from './helpers.js';

const root = jsRoot();

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  }).sort();
}

function targets(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (v && typeof v === 'object') return Object.values(v).flatMap(targets);
  return [];
}

test('every exports target in package.json exists', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: unknown; main: string; types: string };
  const all = [...targets(pkg.exports), pkg.main, pkg.types];
  assert.ok(all.length >= 3);
  for (const t of all) assert.ok(existsSync(join(root, t)), `${t} is missing: run npm run build`);
});

test('dist/ equals a fresh build (not stale)', () => {
  const tmp = mkdtempSync(join(root, '.test-build-dist-'));
  try {
    execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), tmp], { stdio: 'pipe' });
    const fresh = files(tmp).map((f) => relative(tmp, f));
    const committed = files(join(root, 'dist')).map((f) => relative(join(root, 'dist'), f));
    assert.deepEqual(committed, fresh, 'dist/ has different files than a fresh build: run npm run build');
    for (const f of fresh) {
      assert.ok(readFileSync(join(tmp, f)).equals(readFileSync(join(root, 'dist', f))), `dist/${f} is stale: run npm run build`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('bundle: min+gzip within 12 KB, self-contained, no Node-only globals', () => {
  const min = readFileSync(join(root, 'dist/sluice.min.js'));
  const gz = gzipSync(min, { level: 9 }).length;
  assert.ok(gz <= 12 * 1024, `min+gzip is ${gz} bytes`);
  const src = readFileSync(join(root, 'dist/sluice.js'), 'utf8');
  assert.doesNotMatch(src, /^\s*import\s/m, 'the bundle imports nothing');
  assert.doesNotMatch(src, /\b(process\.|Buffer\b|require\(|global\.|__dirname)/, 'no Node-only globals');
});

test('embed.go embeds the bundle the server serves', () => {
  const go = readFileSync(join(root, 'embed.go'), 'utf8');
  assert.match(go, /^package jsclient$/m);
  assert.match(go, /\/\/go:embed dist\/sluice\.js\nvar Bundle \[\]byte/);
});
