// reduce kernel on raw device buffers: sums bitwise equal to an f32 replay of the documented order, means close to f64, max exact.
import { describe, expect, it } from 'vitest';
import { reduce, rt, type ReduceOp } from '@stripes/kernels';
import { Rng } from '@stripes/tensor';
import { download, upload } from '../helpers/buffers.ts';

const f32 = Math.fround;

/** For each output (row-major over the kept axes), the input offsets of its reduced elements in row-major order over `axes`. */
function groups(shape: readonly number[], axes: readonly number[]): number[][] {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const offsets = (dims: readonly number[]): number[] => {
    let out = [0];
    for (const d of dims) out = out.flatMap((off) => Array.from({ length: shape[d] }, (_, i) => off + i * strides[d]));
    return out;
  };
  const reduced = offsets(axes);
  return offsets(kept).map((base) => reduced.map((r) => base + r));
}

/**
 * The kernel's order in f32: fewer than 256 elements combine left to right;
 * otherwise lane v (of 256) combines elements v, v+256, ... from 0, then a
 * pairwise tree combines lane v with v+128, v+64, ... down to lane 0.
 */
function replaySum(x: Float32Array, offsets: readonly number[]): number {
  if (offsets.length < 256) return offsets.reduce((acc, off) => f32(acc + x[off]), 0);
  const lanes = Array.from({ length: 256 }, (_, v) => {
    let acc = 0;
    for (let r = v; r < offsets.length; r += 256) acc = f32(acc + x[offsets[r]]);
    return acc;
  });
  for (let width = 128; width >= 1; width >>= 1) {
    for (let v = 0; v < width; v++) lanes[v] = f32(lanes[v] + lanes[v + width]);
  }
  return lanes[0];
}

async function run(
  op: ReduceOp, x: Float32Array, shape: number[], axes: number[], outputs: number, scale = 1, groupLanes?: number, into?: Float32Array,
): Promise<Float32Array> {
  const xb = upload(x);
  const yb = upload(into ?? new Float32Array(outputs));
  reduce(rt(), op, xb, shape, axes, yb, scale, { groupLanes, accumulate: into !== undefined });
  const y = await download(yb, outputs);
  rt().release(xb);
  rt().release(yb);
  return y;
}

describe('reduce kernel', () => {
  const rng = new Rng(13);
  const cases: Array<[number[], number[]]> = [
    [[1, 8, 48, 48], [0, 2, 3]], // bias gradient: 2304 per output, flat
    [[1, 32, 12, 12], [0, 2, 3]], // 144 per output: one invocation each
    [[2, 16, 24, 24], [0, 2, 3]], // a batch's bias gradient: reduced axes collapse to two
    [[2, 16, 24, 24], [1]], // kept axes do not collapse: the general layout
    [[8, 1176], [0]], // split-K partial sums over a leading axis
    [[2, 3, 4, 5, 6], [0, 2, 4]],
    [[2, 3, 4], [0, 1, 2]],
    [[1, 1, 1], [1]],
    [[7, 255], [1]], [[5, 256], [1]], [[3, 257], [1]], [[4096], [0]], [[100000], [0]],
    [[300, 1, 2], [0, 1]], [[1, 7, 1, 300], [3]], [[3, 300, 5], [1]],
  ];
  for (const [shape, axes] of cases) {
    it(`sum, mean and max of [${shape.join(', ')}] over [${axes.join(', ')}]`, async () => {
      // Magnitudes 2^-10..2^10 so that the order of the adds shows in the low bits.
      const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * 2 ** (rng.int(21) - 10));
      const offsets = groups(shape, axes);
      const count = offsets[0].length;

      // The CPU adapters' 8 invocations per long reduction, the GPUs' 64, and 256 (one lane each) all replay one order.
      for (const groupLanes of [8, 64, 256]) {
        const sum = await run('sum', x, shape, axes, offsets.length, 1, groupLanes);
        expect(Array.from(sum), `${groupLanes} invocations per output`).toEqual(offsets.map((g) => replaySum(x, g)));
      }

      const mean = await run('sum', x, shape, axes, offsets.length, 1 / count);
      expect(Array.from(mean)).toEqual(offsets.map((g) => f32(replaySum(x, g) * f32(1 / count))));
      const exactMean = Float64Array.from(offsets, (g) => g.reduce((acc, off) => acc + x[off], 0) / count);
      const magnitude = Float64Array.from(offsets, (g) => g.reduce((acc, off) => acc + Math.abs(x[off]), 0) / count);
      mean.forEach((m, o) => expect(Math.abs(m - exactMean[o])).toBeLessThanOrEqual(1e-5 * magnitude[o]));

      const max = await run('max', x, shape, axes, offsets.length);
      expect(Array.from(max)).toEqual(offsets.map((g) => Math.max(...g.map((off) => x[off]))));

      // accumulate: what y held plus the result, exactly as adding the result afterwards (a gradient accumulated in place).
      const held = Float32Array.from(offsets, () => rng.normal());
      const accumulated = await run('sum', x, shape, axes, offsets.length, 1, undefined, held);
      expect(Array.from(accumulated)).toEqual(offsets.map((g, o) => f32(held[o] + replaySum(x, g))));
    });
  }

  it('max of all -Infinity is -Infinity, and -Infinity loses to any finite value', async () => {
    for (const count of [5, 300]) {
      const x = new Float32Array(2 * count).fill(-Infinity);
      x[count + count - 1] = -3;
      expect(Array.from(await run('max', x, [2, count], [1], 2))).toEqual([-Infinity, -3]);
    }
  });
});
