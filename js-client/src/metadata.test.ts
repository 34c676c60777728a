import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  decodeAuth, decodeComposite, decodeRoutes, encodeAuth, encodeComposite, encodeRoutes, wellKnownId, wellKnownMime,
  MIME_ROUTING, MIME_AUTH, decodeMimeTypes, encodeMimeTypes,
} from './metadata.js';
import { fromHex, repoRoot, str, text, toHex } from '../test/helpers.js';

const goldenPath = join(repoRoot(), 'protocol/metadata/testdata/golden.json');

test('digest vectors: composite{routing "/echo"}', () => {
  const hex = 'fe000006052f6563686f';
  assert.equal(toHex(encodeComposite([{ mime: MIME_ROUTING, content: encodeRoutes('/echo') }])), hex);
  const [e] = decodeComposite(fromHex(hex));
  assert.equal(e!.mime, MIME_ROUTING);
  assert.equal(e!.id, 0x7e);
  assert.deepEqual(decodeRoutes(e!.content), ['/echo']);
});

test('digest vectors: custom MIME uses length-1', () => {
  const hex = '136170706c69636174696f6e2f782e637573746f6d00000176';
  assert.equal(toHex(encodeComposite([{ mime: 'application/x.custom', content: text('v') }])), hex);
  const [e] = decodeComposite(fromHex(hex));
  assert.equal(e!.mime, 'application/x.custom');
  assert.equal(e!.id, undefined);
  assert.equal(str(e!.content), 'v');
});

test('digest vectors: auth simple and bearer', () => {
  assert.equal(toHex(encodeAuth({ username: 'user', password: 'pass' })), '80000475736572' + '70617373');
  assert.equal(toHex(encodeComposite([{ mime: MIME_AUTH, content: encodeAuth({ username: 'user', password: 'pass' }) }])), 'fc00000b8000047573657270617373');
  assert.equal(toHex(encodeAuth({ bearer: 'tok' })), '81746f6b');
  assert.deepEqual(decodeAuth(fromHex('81746f6b')), { type: 1, payload: text('tok') });
  const custom = encodeAuth({ type: 'x-custom', payload: text('p') });
  assert.deepEqual(decodeAuth(custom), { type: 'x-custom', payload: text('p') });
});

test('well-known table both ways; unknown ids are kept', () => {
  assert.equal(wellKnownMime(0x05), 'application/json');
  assert.equal(wellKnownMime(0x2a), 'application/x-flatbuffers');
  assert.equal(wellKnownMime(0x7f), 'message/x.rsocket.composite-metadata.v0');
  assert.equal(wellKnownMime(0x50), undefined);
  assert.equal(wellKnownId('text/plain'), 0x21);
  assert.equal(wellKnownId('nope/nope'), -1);
  const [e] = decodeComposite(fromHex('d000000161'));
  assert.equal(e!.id, 0x50);
  assert.equal(toHex(encodeComposite([e!])), 'd000000161');
});

test('entry order and repeats are preserved; overruns throw', () => {
  const entries = [
    { mime: MIME_ROUTING, content: encodeRoutes('a', 'b') },
    { mime: 'application/x.custom', content: text('1') },
    { mime: MIME_ROUTING, content: encodeRoutes('c') },
  ];
  const back = decodeComposite(encodeComposite(entries));
  assert.deepEqual(back.map((e) => e.mime), entries.map((e) => e.mime));
  assert.deepEqual(decodeRoutes(back[0]!.content), ['a', 'b']);
  assert.throws(() => decodeComposite(fromHex('fe0000ff05')), RangeError);
  assert.throws(() => decodeComposite(fromHex('13616263')), RangeError);
  assert.throws(() => decodeRoutes(fromHex('05616263')), RangeError);
  assert.throws(() => encodeRoutes(''), RangeError);
});

interface GoldenMime { mime: string | null; id: number | null }
interface GoldenEntry extends GoldenMime {
  content: string;
  routes?: string[];
  auth?: { type: string; id: number | null; payload: string; username?: string; password?: string; token?: string };
  mimeType?: GoldenMime;
  accept?: GoldenMime[];
}
interface MetaGolden { name: string; hex: string; decodeOnly?: boolean; entries: GoldenEntry[] }

const sameMime = (got: { mime: string; id?: number }, want: GoldenMime, name: string): void => {
  assert.equal(got.mime, want.mime ?? '', name);
  assert.equal(got.id, want.id ?? undefined, name);
};

test('composite metadata golden vectors shared with Go', (t) => {
  if (!existsSync(goldenPath)) { t.skip(`${goldenPath} not generated yet`); return; }
  const vectors = JSON.parse(readFileSync(goldenPath, 'utf8')) as MetaGolden[];
  assert.ok(vectors.length > 0);
  for (const v of vectors) {
    const entries = decodeComposite(fromHex(v.hex));
    assert.equal(entries.length, v.entries.length, v.name);
    v.entries.forEach((w, i) => {
      const e = entries[i]!;
      sameMime(e, w, v.name);
      assert.equal(toHex(e.content), w.content, v.name);
      if (w.routes) {
        assert.deepEqual(decodeRoutes(e.content), w.routes, v.name);
        assert.equal(toHex(encodeRoutes(...w.routes)), w.content, v.name);
      }
      if (w.auth) {
        const a = decodeAuth(e.content);
        assert.equal(a.type, w.auth.id ?? w.auth.type, v.name);
        assert.equal(toHex(a.payload), w.auth.payload, v.name);
        const init = w.auth.username !== undefined ? { username: w.auth.username, password: w.auth.password! }
          : w.auth.token !== undefined ? { bearer: w.auth.token } : { type: w.auth.id ?? w.auth.type, payload: fromHex(w.auth.payload) };
        assert.equal(toHex(encodeAuth(init)), w.content, v.name);
      }
      if (w.mimeType) {
        const [m] = decodeMimeTypes(e.content);
        sameMime(m!, w.mimeType, v.name);
        assert.equal(toHex(encodeMimeTypes(w.mimeType.mime!)), w.content, v.name);
      }
      if (w.accept) {
        const ms = decodeMimeTypes(e.content);
        w.accept.forEach((a, j) => sameMime(ms[j]!, a, v.name));
        assert.equal(toHex(encodeMimeTypes(...w.accept.map((a) => a.mime!))), w.content, v.name);
      }
    });
    if (!v.decodeOnly) assert.equal(toHex(encodeComposite(entries)), v.hex, `${v.name}: encode`);
  }
});
