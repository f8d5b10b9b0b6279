/**
 * Tensors larger than one storage binding (lavapipe: 128 MiB, a 2048x1536
 * image's 64-channel features are 805 MB). The ops such an image meets in a
 * generator's forward pass work on ranges that fit: elementwise maps a range
 * of elements at a time, instance norm and padding whole planes at a time,
 * convolutions a band of rows at a time. Here the binding limit is lowered
 * to a few KiB so small tensors take those paths, and every result must be
 * bitwise the one of a single dispatch.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ResnetGenerator } from '@stripes/cyclegan';
import {
  add, conv2d, convTranspose2d, instanceNorm2d, memory, noGrad, pad, randn, reflectionPad2d, relu, rt, tanh, tidy, type Tensor,
} from '@stripes/tensor';
import { Rng } from '@stripes/tensor';

const deviceLimit = () => rt().limits.maxStorageBufferBindingSize;
afterEach(() => {
  rt().maxBindingBytes = deviceLimit();
});

/** That an op works in chunks shows at a limit too small for even one chunk: it names what does not fit. */
function refusedAt(limit: number, fn: () => Tensor, message: RegExp): void {
  rt().maxBindingBytes = limit;
  try {
    expect(() => tidy(fn)).toThrow(message);
  } finally {
    rt().maxBindingBytes = deviceLimit();
  }
}

/** fn's result read back with the device's binding limit, then with `limit` bytes. */
async function both(limit: number, fn: () => Tensor): Promise<[Float32Array, Float32Array]> {
  const run = async (bytes: number) => {
    rt().maxBindingBytes = bytes;
    const y = tidy(fn);
    const data = await y.data();
    y.dispose();
    return data;
  };
  const whole = await run(deviceLimit());
  const chunked = await run(limit);
  return [whole, chunked];
}

const rng = new Rng(7);
const input = (shape: number[]) => randn(shape, { rng });

describe('ops on tensors larger than one binding', () => {
  test('a dispatch that would bind too much is a clear error naming the kernel', () => {
    const x = input([4, 64]);
    rt().maxBindingBytes = 512;
    // The broadcasting path of a binary op does not work in chunks.
    expect(() => tidy(() => add(x, input([64])))).toThrow(/kernel binary: binding 1 covers 1024 bytes, and the device binds at most 512 per buffer/);
    rt().maxBindingBytes = deviceLimit();
    x.dispose();
  });

  test('elementwise maps and same-shape arithmetic, a range of elements at a time', async () => {
    const x = input([3, 5, 17, 19]);
    const y = input([3, 5, 17, 19]);
    for (const fn of [() => relu(x), () => tanh(x), () => add(x, y)]) {
      const [whole, chunked] = await both(2048, fn);
      expect(chunked).toEqual(whole);
      refusedAt(128, fn, /a binding of 128 bytes holds no aligned range/);
    }
    x.dispose();
    y.dispose();
  });

  test('instance norm (with its fused ReLU) keeps whole-plane statistics', async () => {
    const x = input([2, 7, 13, 11]);
    for (const activation of ['none', 'relu'] as const) {
      const [whole, chunked] = await both(1024, () => instanceNorm2d(x, { activation }));
      expect(chunked).toEqual(whole);
    }
    refusedAt(256, () => instanceNorm2d(x), /instanceNorm2d: one plane of 143 elements is larger than one storage binding \(256 bytes\)/);
    x.dispose();
  });

  test('reflection, replicate and constant padding, whole planes at a time', async () => {
    const x = input([2, 6, 13, 11]);
    const [whole, chunked] = await both(2048, () => reflectionPad2d(x, 3));
    expect(chunked).toEqual(whole);
    const [w2, c2] = await both(2048, () => pad(x, [1, 2, 0, 3], 'replicate'));
    expect(c2).toEqual(w2);
    refusedAt(512, () => reflectionPad2d(x, 3), /pad: one plane of 323 elements is larger than one storage binding/);
    x.dispose();
  });

  // Limits small enough for several bands, large enough for the packed weights and one band.
  test('conv2d, a band of output rows at a time: 7x7 no padding, 3x3 stride 1 and 2, 4x4 stride 2 pad 1', async () => {
    for (const [shape, wShape, stride, padding, limit] of [
      [[1, 3, 40, 36], [5, 3, 7, 7], 1, 0, 6144],
      [[2, 6, 15, 13], [8, 6, 3, 3], 1, 1, 2048],
      [[1, 6, 17, 14], [9, 6, 3, 3], 2, 1, 4096],
      [[1, 5, 16, 16], [4, 5, 4, 4], 2, 1, 2048],
    ] as const) {
      const x = input([...shape]);
      const w = input([...wShape]);
      const b = input([wShape[0]]);
      const [whole, chunked] = await both(limit, () => conv2d(x, w, b, { stride, padding }));
      expect(chunked, `${shape} * ${wShape}`).toEqual(whole);
      refusedAt(256, () => conv2d(x, w, b, { stride, padding }), /conv2d: even 1 row\(s\) of its input or output are larger than one storage binding/);
      for (const t of [x, w, b]) t.dispose();
    }
  });

  test("conv_transpose2d (the generator's upsampling: k3 s2 p1 output_padding 1), a band of output rows at a time", async () => {
    for (const [shape, wShape, stride, padding, outputPadding, limit] of [
      [[1, 8, 7, 6], [8, 4, 3, 3], 2, 1, 1, 1536],
      [[2, 4, 9, 5], [4, 6, 3, 3], 1, 1, 0, 1200],
      [[1, 3, 6, 7], [3, 5, 4, 4], 3, 0, 2, 2048],
    ] as const) {
      const x = input([...shape]);
      const w = input([...wShape]);
      const b = input([wShape[1]]);
      const [whole, chunked] = await both(limit, () => convTranspose2d(x, w, b, { stride, padding, outputPadding }));
      expect(chunked, `${shape} * ${wShape}`).toEqual(whole);
      refusedAt(128, () => convTranspose2d(x, w, b, { stride, padding, outputPadding }), /conv2dInputGrad: even \d row\(s\) of its input or output are larger/);
      for (const t of [x, w, b]) t.dispose();
    }
  });

  test("a generator's forward pass without a graph is bitwise the same, and frees its intermediates as it goes", async () => {
    const g = new ResnetGenerator({ inputNc: 3, outputNc: 3, ngf: 2, nBlocks: 2 });
    const x = input([1, 3, 36, 40]);
    const before = memory().liveBuffers;
    const [whole, chunked] = await both(8192, () => noGrad(() => g.call(x)));
    expect(chunked).toEqual(whole);
    expect(memory().liveBuffers).toBe(before);
    // Without a graph only the output outlives the call: each layer's input is freed once read.
    const y = noGrad(() => g.call(x));
    expect(memory().liveBuffers - before).toBe(1);
    y.dispose();
    g.dispose();
    x.dispose();
  });
});
