// packChannelsLast: the convolutions' channels-last operand, exact against an index-by-index copy.
import { describe, expect, it } from 'vitest';
import { packChannelsLast, rt } from '@stripes/kernels';
import { Rng } from '@stripes/tensor';

describe('packChannelsLast', () => {
  it.each([
    [1, 3, 5, 4],
    [2, 3, 7, 8],
    [3, 8, 4, 8],
    [2, 17, 33, 32],
  ])('[A %i, B %i, D %i] -> [A, D, bPad %i]: values moved exactly, padding channels zero', async (A, B, D, bPad) => {
    const rng = new Rng(A * 100 + B);
    const src = Float32Array.from({ length: A * B * D }, () => rng.normal());
    const buf = rt().alloc(src.byteLength);
    rt().write(buf, src);
    // A used buffer from the pool: the padding must be written, not assumed zero.
    const stale = rt().alloc(A * D * bPad * 4);
    rt().write(stale, new Float32Array(A * D * bPad).fill(7));
    rt().release(stale);
    const out = packChannelsLast(rt(), buf, A, B, D, bPad, false);
    const got = new Float32Array(await rt().read(out, 0, A * D * bPad * 4));
    const want = new Float32Array(A * D * bPad);
    for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) want[(a * D + d) * bPad + b] = src[(a * B + b) * D + d];
    expect(got).toEqual(want);
    rt().release(out);
    rt().release(buf);
  });

  it('refuses a padded width that is not whole vec4s or narrower than B', () => {
    const buf = rt().alloc(64);
    expect(() => packChannelsLast(rt(), buf, 1, 3, 4, 6, false)).toThrow(/^packChannelsLast: bPad 6 must be a multiple of 4 and at least B = 3$/);
    expect(() => packChannelsLast(rt(), buf, 1, 5, 2, 4, false)).toThrow(/^packChannelsLast: bPad 4 must be a multiple of 4 and at least B = 5$/);
    rt().release(buf);
  });
});
