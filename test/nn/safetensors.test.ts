import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '@stripes/nn';
import { readSafetensors, writeSafetensorsAtomic } from '@stripes/nn/node';

const goldenDir = resolve(import.meta.dirname, '../golden');
const scratch = mkdtempSync(join(tmpdir(), 'stripes-safetensors-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function ramp(n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (i - n / 2) * scale);
}

const sample = {
  'model.10.conv_block.1.weight': { shape: [3, 2, 3, 3], data: ramp(54, 0.37) },
  'model.1.bias': { shape: [3], data: new Float32Array([0.1, -2.5, 1e-20]) },
  scalar: { shape: [], data: new Float32Array([Math.PI]) },
  empty: { shape: [2, 0], data: new Float32Array(0) },
};

/** Builds a file from a hand-written header so each corruption is exactly the one named. */
function rawFile(header: unknown, dataBytes: number, headerLenOverride?: bigint): Uint8Array {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(8 + json.length + dataBytes);
  out.writeBigUInt64LE(headerLenOverride ?? BigInt(json.length), 0);
  json.copy(out, 8);
  return out;
}

describe('safetensors', () => {
  it('round-trips names, shapes, values and metadata', () => {
    const buf = encodeSafetensors(sample, { format: 'pt', step: '7' });
    const { tensors, metadata } = decodeSafetensors(buf);
    expect(metadata).toEqual({ format: 'pt', step: '7' });
    expect([...tensors.keys()].sort()).toEqual(Object.keys(sample).sort());
    for (const [name, { shape, data }] of Object.entries(sample)) {
      const t = tensors.get(name)!;
      expect(t.dtype).toBe('F32');
      expect(t.shape).toEqual(shape);
      expect(t.data).toEqual(data);
    }
    // The same bytes come out whether the input is a Map or a record, in any order.
    const reversed = new Map(Object.entries(sample).reverse());
    expect(encodeSafetensors(reversed, { format: 'pt', step: '7' })).toEqual(buf);
  });

  it('pads the header to 8 bytes and lays tensors out in sorted-name order', () => {
    const buf = encodeSafetensors(sample);
    expect(buf).toBeInstanceOf(Uint8Array);
    const n = Number(new DataView(buf.buffer, buf.byteOffset).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n))) as Record<string, { data_offsets: number[] }>;
    expect('__metadata__' in header).toBe(false);
    const byOffset = Object.keys(header).sort((a, b) => header[a].data_offsets[0] - header[b].data_offsets[0] || header[a].data_offsets[1] - header[b].data_offsets[1]);
    expect(byOffset).toEqual(Object.keys(sample).sort());
  });

  it('loads a file from the independent Python writer', () => {
    const { tensors, metadata } = readSafetensors(join(goldenDir, 'fixtures/independent.safetensors'));
    expect(metadata).toEqual({
      format: 'pt',
      note: 'written by an independent writer \u2713',
      options: '{"stride": 2}',
    });
    expect(JSON.parse(metadata.options)).toEqual({ stride: 2 });
    expect([...tensors.keys()].sort()).toEqual(['a.sin', 'empty', 'model.1.bias', 'model.1.weight', 'scalar']);
    const w = tensors.get('model.1.weight')!;
    expect(w.shape).toEqual([2, 3, 1, 2]);
    expect(w.data).toEqual(Float32Array.from({ length: 12 }, (_, i) => (i - 5) / 8));
    expect(tensors.get('model.1.bias')!.data).toEqual(new Float32Array([0.1, -0.2]));
    expect(tensors.get('scalar')).toEqual({ dtype: 'F32', shape: [], data: new Float32Array([3.5]) });
    expect(tensors.get('empty')).toEqual({ dtype: 'F32', shape: [0, 4], data: new Float32Array(0) });
    const s = tensors.get('a.sin')!;
    expect(s.shape).toEqual([5, 7]);
    for (let i = 0; i < 35; i++) expect(Math.abs(s.data[i] - Math.sin(i))).toBeLessThan(1e-7);
  });

  it('writes files the plain-Python reader accepts', () => {
    const path = join(scratch, 'for-python.safetensors');
    writeSafetensorsAtomic(path, sample, { format: 'pt', note: 'caf\u00e9' });
    const out = execFileSync('python3', [join(goldenDir, 'safetensors_check.py'), path], { encoding: 'utf8' });
    const report = JSON.parse(out) as {
      header_len: number;
      order: string[];
      metadata: Record<string, string>;
      tensors: Record<string, { dtype: string; shape: number[]; sum: number }>;
    };
    expect(report.header_len % 8).toBe(0);
    expect(report.order).toEqual(Object.keys(sample).sort());
    expect(report.metadata).toEqual({ format: 'pt', note: 'caf\u00e9' });
    for (const [name, { shape, data }] of Object.entries(sample)) {
      const got = report.tensors[name];
      expect(got.dtype).toBe('F32');
      expect(got.shape).toEqual(shape);
      expect(got.sum).toBeCloseTo(data.reduce((a, b) => a + b, 0), 4);
    }
  });

  describe('rejects corrupt files with the reason', () => {
    const good = encodeSafetensors(sample, { format: 'pt' });
    const weight = { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] };
    const cases: [string, Uint8Array, RegExp][] = [
      ['shorter than the length prefix', good.subarray(0, 5), /too short/],
      ['truncated data', good.subarray(0, good.length - 4), /truncated/],
      ['header length past the end', rawFile({ w: weight }, 16, 1000n), /header length 1000 runs past the end/],
      ['absurd header length', rawFile({ w: weight }, 16, 1n << 62n), /exceeds/],
      ['bad JSON', rawFile('{"w": {"dtype": "F32",', 16), /not valid JSON/],
      ['a JSON array header', rawFile('[1, 2]', 0), /does not start with a JSON object/],
      ['wrong dtype', rawFile({ w: { ...weight, dtype: 'F16', data_offsets: [0, 8] } }, 8), /tensor 'w' has dtype "F16"; only F32/],
      ['bytes not matching the shape', rawFile({ w: { ...weight, data_offsets: [0, 12] } }, 12), /tensor 'w' shape \[2, 2\] needs 16 bytes/],
      ['offsets with a gap', rawFile({ w: { ...weight, data_offsets: [4, 20] } }, 20), /tensor 'w' .* not contiguous/],
      [
        'overlapping offsets',
        rawFile({ a: weight, b: weight }, 16),
        /tensor '[ab]' data_offsets \[0, 16\] are not contiguous/,
      ],
      ['offsets past the data', rawFile({ w: weight }, 8), /cover 16 data bytes but the file holds 8/],
      ['trailing bytes', rawFile({ w: weight }, 20), /cover 16 data bytes but the file holds 20/],
      ['negative shape', rawFile({ w: { ...weight, shape: [-2, -2] } }, 16), /invalid shape/],
      ['non-string metadata', rawFile({ __metadata__: { step: 3 }, w: weight }, 16), /__metadata__ value 'step' is not a string/],
    ];
    it.each(cases)('%s', (_label, bytes, reason) => {
      expect(() => decodeSafetensors(bytes, 'ckpt/bad.safetensors')).toThrow(reason);
      expect(() => decodeSafetensors(bytes, 'ckpt/bad.safetensors')).toThrow(/^safetensors ckpt\/bad\.safetensors: /);
    });

    it('names the file when reading from disk', () => {
      const path = join(scratch, 'truncated.safetensors');
      writeFileSync(path, good.subarray(0, good.length - 1));
      expect(() => readSafetensors(path)).toThrow(`safetensors ${path}: `);
    });
  });

  it('refuses to encode data that does not match its shape', () => {
    expect(() => encodeSafetensors({ w: { shape: [2, 3], data: new Float32Array(5) } })).toThrow(
      /tensor 'w' shape \[2, 3\] holds 6 values but data has 5/,
    );
  });

  it('an interrupted atomic save leaves the old file loadable and no temp file', () => {
    const dir = mkdtempSync(join(scratch, 'atomic-'));
    const path = join(dir, 'latest.safetensors');
    writeSafetensorsAtomic(path, { w: { shape: [2], data: new Float32Array([1, 2]) } }, { epoch: '1' });
    const before = readFileSync(path);

    let tmpSeen = '';
    expect(() =>
      writeSafetensorsAtomic(path, sample, { epoch: '2' }, {
        beforeRename: (tmp) => {
          tmpSeen = tmp;
          // The new bytes are complete on disk at this point; only the rename is missing.
          expect(readSafetensors(tmp).metadata).toEqual({ epoch: '2' });
          throw new Error('simulated crash');
        },
      }),
    ).toThrow('simulated crash');

    expect(tmpSeen).toBe(`${path}.tmp-${process.pid}`);
    expect(existsSync(tmpSeen)).toBe(false);
    expect(readdirSync(dir)).toEqual(['latest.safetensors']);
    expect(readFileSync(path).equals(before)).toBe(true);
    const { tensors, metadata } = readSafetensors(path);
    expect(metadata).toEqual({ epoch: '1' });
    expect(tensors.get('w')!.data).toEqual(new Float32Array([1, 2]));

    writeSafetensorsAtomic(path, sample, { epoch: '2' });
    expect(readSafetensors(path).metadata).toEqual({ epoch: '2' });
    expect(readdirSync(dir)).toEqual(['latest.safetensors']);
  });
});
