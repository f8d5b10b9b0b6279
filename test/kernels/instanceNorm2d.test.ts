// instanceNorm2d / instanceNorm2dBackward kernels against an f64 reference, on raw device buffers.
import { describe, expect, it } from 'vitest';
import { instanceNorm2d, instanceNorm2dBackward, normThreads, rt, type InstanceNorm2dArgs } from '@stripes/kernels';
import { Rng } from '@stripes/tensor';
import { download, upload } from '../helpers/buffers.ts';

/** Worst |a - e| relative to max |e| (at least `floor`). */
function relErr(actual: Float32Array, expected: Float64Array, floor = 1): number {
  let diff = 0;
  let scale = floor;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

interface Case extends InstanceNorm2dArgs {
  x: Float32Array;
  gy: Float32Array;
  w: Float32Array | null;
  b: Float32Array | null;
}

/** Forward and backward in f64, straight from the definitions. */
function reference({ planes, channels, size, eps, slope, x, gy, w, b }: Case) {
  const y = new Float64Array(x.length);
  const gx = new Float64Array(x.length);
  const stats = new Float64Array(planes * 2);
  const sums = new Float64Array(planes * 2);
  for (let p = 0; p < planes; p++) {
    const wc = w ? w[p % channels] : 1;
    const bc = b ? b[p % channels] : 0;
    const xs = Array.from(x.subarray(p * size, (p + 1) * size));
    const mean = xs.reduce((s, v) => s + v, 0) / size;
    const variance = xs.reduce((s, v) => s + (v - mean) ** 2, 0) / size;
    const rstd = 1 / Math.sqrt(variance + eps);
    stats.set([mean, rstd], p * 2);
    const xh = xs.map((v) => (v - mean) * rstd);
    const gz = xh.map((v, i) => {
      const z = v * wc + bc;
      y[p * size + i] = z > 0 ? z : z * slope;
      return gy[p * size + i] * (z > 0 ? 1 : slope);
    });
    const sumG = gz.reduce((s, v) => s + v, 0);
    const sumGX = gz.reduce((s, v, i) => s + v * xh[i], 0);
    sums[p] = sumGX;
    sums[planes + p] = sumG;
    for (let i = 0; i < size; i++) gx[p * size + i] = rstd * (gz[i] * wc - (wc * sumG) / size - (xh[i] * wc * sumGX) / size);
  }
  return { y, gx, stats, sums };
}

describe('instanceNorm2d kernels', () => {
  const rng = new Rng(11);
  const rand = (n: number, scale = 1, offset = 0) => rng.fillNormal(new Float32Array(n), offset, scale);
  // [N, C, H, W, affine, slope, input offset]: odd sizes, batch 1 and 3, C not a multiple of 4,
  // planes smaller and larger than the workgroup, an input far from zero.
  const cases: Array<[number, number, number, number, boolean, number, number]> = [
    [1, 3, 7, 9, false, 1, 0],
    [3, 5, 5, 5, true, 1, 0],
    [3, 6, 1, 2, true, 0, 0],
    [1, 7, 33, 17, false, 0, 0],
    [3, 2, 19, 23, true, 0.2, 0],
    [1, 3, 64, 65, true, 0.2, 30],
    [2, 1, 3, 3, false, 0.2, -4],
  ];
  // Plus seeded random shapes and options.
  for (let k = 0; k < 4; k++) {
    const slope = [1, 0, 0.2][rng.int(3)];
    cases.push([rng.int(2) ? 3 : 1, 1 + rng.int(7), 1 + rng.int(40), 2 + rng.int(40), rng.int(2) === 1, slope, rng.int(3) - 1]);
  }
  // Each case with a CPU adapter's workgroup (8 threads) and a GPU's (32-256 by plane size).
  const gpu = { architecture: '', name: 'a GPU', description: '' };
  for (const [n, c, h, w, affine, slope, offset] of cases) {
    it.each([8, normThreads(gpu, h * w)] as const)(`[${n}, ${c}, ${h}, ${w}] affine ${affine} slope ${slope} offset ${offset}, %i threads`, async (threads) => {
      const args: InstanceNorm2dArgs = { planes: n * c, channels: c, size: h * w, eps: 1e-5, slope, threads };
      const t: Case = {
        ...args,
        x: rand(n * c * h * w, 2, offset),
        gy: rand(n * c * h * w),
        w: affine ? rand(c, 0.5, 1) : null,
        b: affine ? rand(c, 0.5) : null,
      };
      const expected = reference(t);
      const x = upload(t.x);
      const gy = upload(t.gy);
      const wb = t.w ? upload(t.w) : null;
      const bb = t.b ? upload(t.b) : null;
      const y = rt().alloc(t.x.byteLength);
      const gx = rt().alloc(t.x.byteLength);
      const stats = rt().alloc(args.planes * 8);
      const sums = rt().alloc(args.planes * 8);
      instanceNorm2d(rt(), x, wb, bb, y, stats, args);
      instanceNorm2dBackward(rt(), x, gy, stats, wb, bb, gx, sums, args);
      const [ya, sa, gxa, suma] = await Promise.all([
        download(y, t.x.length),
        download(stats, args.planes * 2),
        download(gx, t.x.length),
        download(sums, args.planes * 2),
      ]);
      for (const buf of [x, gy, wb, bb, y, gx, stats, sums]) if (buf) rt().release(buf);
      // f32 sums over a plane: error grows like sqrt(size) * u; the offset case also loses
      // |mean| / std digits in x - mean.
      expect(relErr(ya, expected.y), 'y').toBeLessThan(1e-5);
      expect(relErr(sa, expected.stats, 0), 'stats').toBeLessThan(1e-5);
      expect(relErr(gxa, expected.gx), 'gx').toBeLessThan(1e-4);
      expect(relErr(suma, expected.sums), 'sums').toBeLessThan(1e-4);
    });
  }
});
