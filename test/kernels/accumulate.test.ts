// accumulate: dst += src in place, whole and a binding-sized range at a time.
import { describe, expect, it } from 'vitest';
import { accumulate, rt } from '@stripes/kernels';
import { Rng } from '@stripes/tensor';
import { download, upload } from '../helpers/buffers.ts';

describe('accumulate', () => {
  it.each([
    ['one binding', 1000, undefined],
    ['tensors larger than a 1 KiB binding', 1000, 1024],
  ])('dst += src exactly (%s)', async (_, n, bindingBytes) => {
    const rng = new Rng(n);
    const [dst, src] = [0, 1].map(() => rng.fillNormal(new Float32Array(n)));
    const [db, sb] = [dst, src].map(upload);
    const limit = rt().maxBindingBytes;
    rt().maxBindingBytes = bindingBytes ?? limit;
    try {
      accumulate(rt(), db, sb, n);
    } finally {
      rt().maxBindingBytes = limit;
    }
    expect(await download(db, n)).toEqual(Float32Array.from(dst, (v, i) => v + src[i]));
    expect(await download(sb, n)).toEqual(src);
    for (const b of [db, sb]) rt().release(b);
  });
});
