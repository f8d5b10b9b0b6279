// pad / padBackward kernels against a plain-TS reference, on raw device buffers.
import { describe, expect, it } from 'vitest';
import { pad, padBackward, padOutputSize, rt, type Pad2d, type PadArgs, type PadMode } from '@stripes/kernels';
import { Rng } from '@stripes/tensor';
import { download, upload } from '../helpers/buffers.ts';

/** The input index output index `o` copies, or -1 for the constant (PyTorch's definitions). */
function source(mode: PadMode, o: number, before: number, n: number): number {
  const i = o - before;
  if (mode === 'replicate') return Math.min(Math.max(i, 0), n - 1);
  if (mode === 'constant') return i >= 0 && i < n ? i : -1;
  return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
}

/** Forward, and the backward as a scatter-add (the kernel gathers): two independent formulations. */
function reference(mode: PadMode, args: PadArgs, x: Float32Array, gy: Float32Array, value: number) {
  const { planes, h, w, pad: [left, , top] } = args;
  const [oh, ow] = padOutputSize(args);
  const y = new Float64Array(planes * oh * ow);
  const gx = new Float64Array(planes * h * w);
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const o = (p * oh + oy) * ow + ox;
        const sy = source(mode, oy, top, h);
        const sx = source(mode, ox, left, w);
        if (sy < 0 || sx < 0) {
          y[o] = value;
        } else {
          y[o] = x[(p * h + sy) * w + sx];
          gx[(p * h + sy) * w + sx] += gy[o];
        }
      }
    }
  }
  return { y, gx };
}

describe('pad kernels', () => {
  const rng = new Rng(5);
  // [planes (N*C), H, W, pad]: odd sizes, pads 0-3, asymmetric; reflection pads stay < the size.
  const shapes: Array<[number, number, number, Pad2d]> = [
    [3, 7, 9, [3, 3, 3, 3]],
    [1, 5, 6, [2, 0, 1, 3]],
    [6, 4, 4, [1, 1, 1, 1]],
    [5, 3, 2, [0, 1, 2, 0]],
    [2, 1, 5, [3, 2, 0, 0]],
    [9, 33, 31, [0, 3, 1, 2]],
  ];
  // Plus seeded random shapes and pads (0-3, at least 4 rows and columns so every mode applies).
  for (let k = 0; k < 4; k++) {
    const pads: Pad2d = [rng.int(4), rng.int(4), rng.int(4), rng.int(4)];
    shapes.push([1 + rng.int(9), 4 + rng.int(30), 4 + rng.int(30), pads]);
  }
  const modes: PadMode[] = ['constant', 'reflect', 'replicate'];
  for (const mode of modes) {
    for (const [planes, h, w, p] of shapes) {
      if (mode === 'reflect' && (p[0] >= w || p[1] >= w || p[2] >= h || p[3] >= h)) continue;
      it(`${mode} [${planes}, ${h}, ${w}] pad [${p.join(', ')}]`, async () => {
        const args: PadArgs = { planes, h, w, pad: p };
        const [oh, ow] = padOutputSize(args);
        const x = rng.fillNormal(new Float32Array(planes * h * w));
        const gy = rng.fillNormal(new Float32Array(planes * oh * ow));
        const value = mode === 'constant' ? 0.75 : 0;
        const expected = reference(mode, args, x, gy, value);
        const xb = upload(x);
        const gyb = upload(gy);
        const yb = rt().alloc(gy.byteLength);
        const gxb = rt().alloc(x.byteLength);
        pad(rt(), mode, xb, yb, args, value);
        padBackward(rt(), mode, gyb, gxb, args);
        const [y, gx] = await Promise.all([download(yb, gy.length), download(gxb, x.length)]);
        for (const b of [xb, gyb, yb, gxb]) rt().release(b);
        // A copy is exact; the gradient sums at most (1 + max pad)^2 terms in another order.
        expect(Array.from(y)).toEqual(Array.from(expected.y, Math.fround));
        for (let i = 0; i < gx.length; i++) expect(Math.abs(gx[i] - expected.gx[i]), `gx[${i}]`).toBeLessThan(1e-5);
      });
    }
  }
});
