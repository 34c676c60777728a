import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeFrame, encodeFrame, FrameError, fragment, FrameType, Flags, MAX_N, type Frame } from './frames.js';
import { fromHex, repoRoot, toHex } from '../test/helpers.js';

interface GoldenFrame {
  streamId: number; type: number; flags: number; metadata: string | null; data: string;
  n?: number; code?: number; version?: number; keepalive?: number; lifetime?: number; token?: string | null;
  metadataMime?: string; dataMime?: string; position?: number; position2?: number; extType?: number;
}
interface Golden { name: string; hex: string; frame: GoldenFrame }

const goldenPath = join(repoRoot(), 'protocol/testdata/golden.json');

// The digest's section 18 table: used only when the Go side's golden.json is missing.
const digestVectors: Golden[] = [
  { name: 'request-response-data', hex: '0000000110006869', frame: { streamId: 1, type: 4, flags: 0, metadata: null, data: '6869' } },
  { name: 'request-n', hex: '00000001200000000005', frame: { streamId: 1, type: 8, flags: 0, metadata: null, data: '', n: 5 } },
  { name: 'cancel', hex: '000000072400', frame: { streamId: 7, type: 9, flags: 0, metadata: null, data: '' } },
  { name: 'payload-next', hex: '00000001282068656c6c6f', frame: { streamId: 1, type: 10, flags: 0x20, metadata: null, data: '68656c6c6f' } },
];

function loadGolden(): Golden[] {
  if (!existsSync(goldenPath)) return digestVectors;
  return JSON.parse(readFileSync(goldenPath, 'utf8')) as Golden[];
}

function fromGolden(g: GoldenFrame): Frame {
  const f: Frame = {
    streamId: g.streamId, type: g.type, flags: g.flags,
    metadata: g.metadata === null ? null : fromHex(g.metadata), data: fromHex(g.data),
  };
  if (g.n !== undefined) f.n = g.n;
  if (g.code !== undefined) f.code = g.code;
  if (g.version !== undefined) f.version = g.version;
  if (g.keepalive !== undefined) f.keepalive = g.keepalive;
  if (g.lifetime !== undefined) f.lifetime = g.lifetime;
  if (g.token !== undefined && g.token !== null) f.token = fromHex(g.token);
  if (g.metadataMime !== undefined) f.metadataMime = g.metadataMime;
  if (g.dataMime !== undefined) f.dataMime = g.dataMime;
  if (g.position !== undefined) f.position = g.position;
  if (g.position2 !== undefined) f.position2 = g.position2;
  if (g.extType !== undefined) f.extType = g.extType;
  return f;
}

test('golden vectors shared with Go exist', () => {
  assert.ok(existsSync(goldenPath), `${goldenPath} is missing (the Go protocol tests generate it)`);
});

for (const g of loadGolden()) {
  test(`golden ${g.name}: decode`, () => {
    const f = decodeFrame(fromHex(g.hex));
    const want = g.frame;
    assert.equal(f.streamId, want.streamId);
    assert.equal(f.type, want.type);
    assert.equal(f.flags, want.flags);
    assert.equal(f.metadata === null ? null : toHex(f.metadata), want.metadata);
    assert.equal(toHex(f.data), want.data);
    for (const k of ['n', 'code', 'version', 'keepalive', 'lifetime', 'metadataMime', 'dataMime', 'position', 'position2', 'extType'] as const) {
      if (want[k] !== undefined) assert.equal(f[k], want[k], k);
    }
    if (want.token) assert.equal(toHex(f.token!), want.token);
    else assert.equal(f.token, undefined);
  });
  test(`golden ${g.name}: encode`, () => {
    assert.equal(toHex(encodeFrame(fromGolden(g.frame))), g.hex);
  });
}

test('truncated frames and overrunning lengths are FrameErrors; I flag makes them ignorable', () => {
  for (const hex of ['', '0000000110', '000000012000', '0000000119000000000100ffff', '00000001290000ffff6d']) {
    assert.throws(() => decodeFrame(fromHex(hex)), FrameError, hex);
  }
  // Unknown type 0x30 without and with I.
  assert.throws(() => decodeFrame(fromHex('00000001c000')), (e: unknown) => e instanceof FrameError && !e.ignorable);
  assert.throws(() => decodeFrame(fromHex('00000001c200')), (e: unknown) => e instanceof FrameError && e.ignorable);
});

test('stream id reserved bit is masked off; u31 quantities with the top bit read negative', () => {
  const f = decodeFrame(fromHex('80000001200080000000'));
  assert.equal(f.streamId, 1);
  assert.ok(f.n! < 0, 'top bit set must not read as huge credit');
});

test('encode rejects out-of-range u31 values', () => {
  assert.throws(() => encodeFrame({ streamId: 1, type: FrameType.REQUEST_N, flags: 0, metadata: null, data: new Uint8Array(), n: MAX_N + 1 }), RangeError);
  assert.throws(() => encodeFrame({ streamId: -1, type: FrameType.CANCEL, flags: 0, metadata: null, data: new Uint8Array() }), RangeError);
});

test('zero-length metadata is not absent metadata', () => {
  const a = encodeFrame({ streamId: 1, type: FrameType.PAYLOAD, flags: Flags.NEXT, metadata: new Uint8Array(0), data: new Uint8Array(0) });
  const b = encodeFrame({ streamId: 1, type: FrameType.PAYLOAD, flags: Flags.NEXT, metadata: null, data: new Uint8Array(0) });
  assert.equal(toHex(a), '000000012920000000');
  assert.equal(toHex(b), '000000012820');
  assert.deepEqual(decodeFrame(a).metadata, new Uint8Array(0));
  assert.equal(decodeFrame(b).metadata, null);
});

function reassemble(parts: Frame[]): Frame {
  const md: Uint8Array[] = [];
  const data: Uint8Array[] = [];
  let hasMd = false;
  for (const p of parts) {
    if (p.metadata) { hasMd = true; md.push(p.metadata); }
    data.push(p.data);
  }
  const join = (a: Uint8Array[]) => Uint8Array.from(a.flatMap((x) => [...x]));
  return { ...parts[0]!, metadata: hasMd ? join(md) : null, data: join(data) };
}

test('fragment: metadata before data, N on follow-ups, C and F only where they belong, every piece within MTU', () => {
  const md = new Uint8Array(150).map((_, i) => i);
  const data = new Uint8Array(300).map((_, i) => 255 - (i % 256));
  for (const type of [FrameType.REQUEST_STREAM, FrameType.REQUEST_CHANNEL, FrameType.PAYLOAD, FrameType.REQUEST_RESPONSE]) {
    const flags = type === FrameType.PAYLOAD ? Flags.NEXT | Flags.COMPLETE : type === FrameType.REQUEST_CHANNEL ? Flags.COMPLETE : 0;
    const f: Frame = { streamId: 3, type, flags, metadata: md, data, ...(type === FrameType.REQUEST_STREAM || type === FrameType.REQUEST_CHANNEL ? { n: 7 } : {}) };
    const parts = fragment(f, 64);
    assert.ok(parts.length > 5);
    parts.forEach((p, i) => {
      const bytes = encodeFrame(p);
      assert.ok(bytes.length <= 64, `fragment ${i} is ${bytes.length} bytes`);
      const last = i === parts.length - 1;
      assert.equal(p.type, i === 0 ? type : FrameType.PAYLOAD);
      assert.equal(!!(p.flags & Flags.FOLLOWS), !last);
      assert.equal(!!(p.flags & Flags.COMPLETE), last && !!(flags & Flags.COMPLETE));
      if (i > 0) assert.ok(p.flags & Flags.NEXT);
      if (i > 0) assert.equal(p.n, undefined);
      assert.deepEqual(decodeFrame(bytes).data, p.data);
    });
    const whole = reassemble(parts);
    assert.deepEqual(whole.metadata, md);
    assert.deepEqual(whole.data, data);
    assert.equal(parts[0]!.n, f.n);
  }
  const small: Frame = { streamId: 1, type: FrameType.PAYLOAD, flags: Flags.NEXT, metadata: null, data: new Uint8Array(10) };
  assert.deepEqual(fragment(small, 64), [small]);
  assert.throws(() => fragment({ ...small, data: new Uint8Array(100) }, 32), RangeError);
});

test('the golden fragments reassemble to REQUEST_STREAM n=3 md "abcd" data "wxyz"', () => {
  const parts = ['000000011980000000030000026162', '0000000129a000000263647778', '000000012820797a'].map((h) => decodeFrame(fromHex(h)));
  const whole = reassemble(parts);
  assert.equal(new TextDecoder().decode(whole.metadata!), 'abcd');
  assert.equal(new TextDecoder().decode(whole.data), 'wxyz');
  assert.equal(whole.n, 3);
});
