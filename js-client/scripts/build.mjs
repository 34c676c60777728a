// Builds dist/: sluice.js (ESM, what `sluice serve` embeds at /js/sluice.js), sluice.min.js
// (minified; its gzip size is the bundle-size figure), sluice.d.ts + types/ (tsc).
// `node scripts/build.mjs [outDir]`; build(outDir) is also used by the stale-dist test.
import { build as esbuild } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const banner = '// @sluicehq/client — RSocket 1.0 over WebSocket. Built from js-client/src; do not edit.';

export async function build(outDir = join(root, 'dist')) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const common = {
    entryPoints: [join(root, 'src/index.ts')], bundle: true, format: 'esm', target: 'es2022',
    platform: 'neutral', logLevel: 'error', legalComments: 'none', banner: { js: banner },
  };
  await esbuild({ ...common, outfile: join(outDir, 'sluice.js') });
  await esbuild({ ...common, outfile: join(outDir, 'sluice.min.js'), minify: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json'), '--emitDeclarationOnly', '--outDir', join(outDir, 'types')], { stdio: 'inherit' });
  writeFileSync(join(outDir, 'sluice.d.ts'), "export * from './types/index.js';\n");
  const min = readFileSync(join(outDir, 'sluice.min.js'));
  return {
    bytes: readFileSync(join(outDir, 'sluice.js')).length,
    minBytes: min.length,
    gzipBytes: gzipSync(min, { level: 9 }).length,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = await build(process.argv[2] ? resolve(process.argv[2]) : undefined);
  console.log(`dist/sluice.js ${s.bytes} B; minified ${s.minBytes} B; min+gzip ${s.gzipBytes} B (${(s.gzipBytes / 1024).toFixed(1)} KiB)`);
}
