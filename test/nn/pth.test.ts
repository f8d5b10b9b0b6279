import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Conv2d, InstanceNorm2d, readPth, Sequential, writePth, type PthTensor } from '@stripes/nn';
import { writtenSample } from '../golden/pth_written.ts';

const dir = resolve(import.meta.dirname, '../golden/fixtures/pth');

/**
 * The zip's local file records, read independently of the package's reader
 * (PKWARE APPNOTE 4.3.7): name, compression method and the data's bytes.
 */
function zipRecords(file: Uint8Array): Map<string, { method: number; data: Uint8Array }> {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const records = new Map<string, { method: number; data: Uint8Array }>();
  for (let at = 0; view.getUint32(at, true) === 0x04034b50; ) {
    const method = view.getUint16(at + 8, true);
    const size = view.getUint32(at + 18, true);
    const nameLength = view.getUint16(at + 26, true);
    const extraLength = view.getUint16(at + 28, true);
    const name = new TextDecoder().decode(file.subarray(at + 30, at + 30 + nameLength));
    const start = at + 30 + nameLength + extraLength;
    records.set(name, { method, data: file.subarray(start, start + size) });
    at = start + size;
  }
  return records;
}

interface ExpectedTensor {
  key: string;
  shape: number[];
  dtype: string;
  sha256: string;
  /** null where the values hold inf or nan. */
  sum: number | null;
  bits?: number[];
}
interface ExpectedFile {
  container: 'zip' | 'legacy';
  wrapper: string | null;
  dropped: string[];
  tensors: ExpectedTensor[];
}
/** What PyTorch 1.13 read from each fixture (test/golden/pth_fixtures.py). */
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, unknown> & {
  written: { type: string; tensors: ExpectedTensor[] };
};
const fixtures = Object.keys(expected).filter((name) => name.endsWith('.pth'));

function bytesOf(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function sha256(data: Float32Array): string {
  return createHash('sha256').update(bytesOf(data)).digest('hex');
}

function sum(data: Float32Array): number {
  let s = 0;
  for (const v of data) s += v;
  return s;
}

/** Exact: the f32 bytes hash the same as torch's; bit patterns, where recorded, say where they differ. */
function expectTensor(actual: PthTensor | undefined, want: ExpectedTensor, label: string): void {
  expect(actual, label).toBeDefined();
  expect(actual!.shape, label).toEqual(want.shape);
  expect(actual!.dtype, label).toBe(want.dtype);
  if (want.bits) expect([...new Uint32Array(actual!.data.buffer, actual!.data.byteOffset, actual!.data.length)], label).toEqual(want.bits);
  expect(sha256(actual!.data), label).toBe(want.sha256);
  if (want.sum !== null) expect(sum(actual!.data), label).toBeCloseTo(want.sum, 9);
}

function read(name: string) {
  return readPth(readFileSync(join(dir, name)), name);
}

describe('readPth: files PyTorch wrote', () => {
  it('finds every fixture the generator recorded', () => {
    expect(fixtures.sort()).toEqual([
      'dtypes.pth', 'dtypes_legacy.pth', 'generator_ngf8.pth', 'generator_ngf8_2018_legacy.pth', 'legacy_py2_0.3.pth',
      'parameter.pth', 'views.pth', 'views_legacy.pth', 'wrapped.pth',
    ]);
  });

  for (const name of fixtures) {
    it(`${name}: the keys, order, shapes, dtypes and exact values torch reads`, () => {
      const want = expected[name] as ExpectedFile;
      const got = read(name);
      expect(got.container).toBe(want.container);
      expect(got.wrapper).toBe(want.wrapper);
      expect(got.dropped).toEqual(want.dropped);
      expect([...got.tensors.keys()]).toEqual(want.tensors.map((t) => t.key));
      for (const t of want.tensors) expectTensor(got.tensors.get(t.key), t, `${name} ${t.key}`);
    });
  }

  it('reads the reference generator (ngf 8, 9 blocks) under its 48 names in both containers, the same weights', () => {
    const zip = read('generator_ngf8.pth');
    const legacy = read('generator_ngf8_2018_legacy.pth');
    expect(zip.tensors.size).toBe(48);
    expect([...zip.tensors.keys()].slice(0, 3)).toEqual(['model.1.weight', 'model.1.bias', 'model.4.weight']);
    expect(zip.tensors.get('model.10.conv_block.5.weight')!.shape).toEqual([32, 32, 3, 3]);
    expect(zip.tensors.get('model.19.weight')!.shape).toEqual([32, 16, 3, 3]); // ConvTranspose2d: [in, out, kh, kw]
    expect(zip.tensors.get('model.26.weight')!.shape).toEqual([3, 8, 7, 7]);
    for (const [key, t] of zip.tensors) expect(sha256(legacy.tensors.get(key)!.data), key).toBe(sha256(t.data));
    // The 2018-style file adds InstanceNorm running stats (left for the CycleGAN rules to drop) and int64 counters (dropped here).
    const extra = [...legacy.tensors.keys()].filter((k) => !zip.tensors.has(k));
    expect(extra.length).toBe(46);
    expect(extra.every((k) => /^model\.\d+(\.conv_block\.\d+)?\.running_(mean|var)$/.test(k))).toBe(true);
    expect(legacy.dropped.length).toBe(23);
    expect(legacy.dropped.every((k) => k.endsWith('.num_batches_tracked'))).toBe(true);
  });

  it('copies views out: offsets, strides, transposes, broadcasts and empty slices', () => {
    const { tensors } = read('views.pth');
    const base = (i: number, j: number, k: number): number => (i * 20 + j * 5 + k) * 0.25 - 3;
    expect([...tensors.get('row')!.data]).toEqual([0, 1, 2, 3, 4].map((k) => base(2, 1, k)));
    expect(tensors.get('element')!.shape).toEqual([]);
    expect([...tensors.get('element')!.data]).toEqual([base(1, 2, 3)]);
    expect([...tensors.get('sliced')!.data]).toEqual([1, 2].flatMap((i) => [0, 2].flatMap((j) => [1, 2, 3].map((k) => base(i, j, k)))));
    expect([...tensors.get('expanded')!.data]).toEqual([1.5, -2, 1.5, -2, 1.5, -2]);
    expect(tensors.get('empty')!.shape).toEqual([3, 0, 5]);
    expect([...tensors.get('narrowed')!.data]).toEqual([3, 4, 5, 6].map((k) => Math.fround(k / 7)));
  });

  it("reads a 0.3-era Python 2 file: byte strings, OrderedDict([[k, v]]), _rebuild_tensor, torch.cuda storages, a storage view", () => {
    const { tensors } = read('legacy_py2_0.3.pth');
    expect([...tensors.keys()]).toEqual(['conv.weight', 'conv.bias', 'fc.weight']);
    expect([...tensors.get('conv.bias')!.data]).toEqual([1, 1.5, 2]); // elements 8..10 of the root storage
    expect([...tensors.get('fc.weight')!.data]).toEqual([20, 30, 40]);
  });

  it('unwraps a training checkpoint and says so; the result loads into a Module', () => {
    const got = read('wrapped.pth');
    expect(got.wrapper).toBe('state_dict');
    const net = new Sequential(new Conv2d(2, 3, 3), new InstanceNorm2d(3), new Conv2d(3, 1, 1));
    expect(net.loadStateDict(got.tensors)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    net.dispose();
  });

  it('accepts bytes at any offset of any buffer', () => {
    const file = readFileSync(join(dir, 'views_legacy.pth'));
    const buffer = new ArrayBuffer(file.length + 3);
    const bytes = new Uint8Array(buffer, 3, file.length);
    bytes.set(file);
    expect(readPth(bytes).tensors).toEqual(read('views_legacy.pth').tensors);
  });
});

describe('writePth', () => {
  const sample = writtenSample();

  it('writes the committed written.pth byte for byte', () => {
    expect(writePth(sample)).toEqual(new Uint8Array(readFileSync(join(dir, 'written.pth'))));
  });

  it('writes what torch.load(weights_only=True) read back as an OrderedDict of the same float32 tensors', () => {
    expect(expected.written.type).toBe('OrderedDict');
    expect(expected.written.tensors.map((t) => t.key)).toEqual([...sample.keys()]);
    for (const t of expected.written.tensors) {
      const { shape, data } = sample.get(t.key)!;
      expect(t.shape, t.key).toEqual(shape);
      expect(t.dtype, t.key).toBe('float32');
      expect(t.sha256, t.key).toBe(sha256(data));
    }
  });

  it('reads back through readPth, every bit', () => {
    const got = readPth(writePth(sample));
    expect(got.container).toBe('zip');
    expect([...got.tensors.keys()]).toEqual([...sample.keys()]);
    for (const [key, { shape, data }] of sample) {
      expect(got.tensors.get(key)!.shape, key).toEqual(shape);
      expect(bytesOf(got.tensors.get(key)!.data), key).toEqual(bytesOf(data));
    }
  });

  it("lays records out as torch does: archive/data.pkl, byteorder, data/<i>, version, each 64-byte aligned", () => {
    const file = writePth(sample);
    const entries = zipRecords(file);
    expect([...entries.keys()]).toEqual([
      'archive/data.pkl', 'archive/byteorder', ...[...sample.keys()].map((_, i) => `archive/data/${i}`), 'archive/version',
    ]);
    for (const { method, data } of entries.values()) {
      expect(method).toBe(0);
      expect(data.byteOffset % 64).toBe(0);
    }
    expect(new TextDecoder().decode(entries.get('archive/byteorder')!.data)).toBe('little');
  });

  it('round-trips sizes that need 2- and 4-byte integers, a Record, and an empty state dict', () => {
    const big = { shape: [70_000, 1], data: Float32Array.from({ length: 70_000 }, (_, i) => i) };
    const got = readPth(writePth({ big, small: { shape: [300], data: new Float32Array(300).fill(2) } }));
    expect(got.tensors.get('big')!.data).toEqual(big.data);
    expect(got.tensors.get('small')!.shape).toEqual([300]);
    expect(readPth(writePth(new Map())).tensors.size).toBe(0);
  });

  it('refuses tensors whose shape and data disagree', () => {
    expect(() => writePth({ w: { shape: [2, 2], data: new Float32Array(3) } })).toThrow("writePth: tensor 'w' shape [2, 2] holds 4 values but data has 3");
    expect(() => writePth({ w: { shape: [-1], data: new Float32Array(0) } })).toThrow("writePth: tensor 'w' has invalid shape [-1]");
  });
});
