// The three conv kernels against plain f64 loops, on awkward shapes and with
// every tile configuration (the adapter's own and the other one), with the
// weight gradient's bias sums and the in-place accumulating forms; reflect
// padding bitwise against the pad kernel then an unpadded convolution, and
// its input gradient against the f64 gradient of padding then convolution.
import { describe, expect, it } from 'vitest';
import {
  conv2dForward, conv2dInputGrad, conv2dWeightGrad, convOutSize, convTiles, namedConvTiles, pad, reflectPaddedGeometry, rt,
  type ConvGeometry, type ConvTiles, type Runtime,
} from '@stripes/kernels';
import { Rng } from '@stripes/tensor';
import { download, upload } from '../helpers/buffers.ts';
import { expectClose } from '../helpers/golden.ts';

type Case = [N: number, C: number, K: number, H: number, W: number, k: number, s: number | [number, number], p: number | [number, number]];
const cases: Case[] = [
  [1, 3, 5, 7, 9, 1, 1, 0],
  [3, 5, 6, 11, 10, 3, 2, 1],
  [1, 6, 9, 13, 13, 4, 2, 1],
  [1, 3, 4, 15, 17, 7, 1, 3],
  [3, 4, 3, 9, 11, 7, 1, 2],
  [1, 5, 3, 8, 8, 4, 1, 2],
  [3, 6, 10, 7, 7, 3, 2, 0],
  [1, 9, 7, 12, 9, 3, 1, 1],
  [1, 1, 1, 5, 5, 3, 2, 3],
  [3, 5, 6, 9, 9, 1, 2, 0],
  [1, 7, 5, 10, 13, 3, [1, 2], [0, 2]],
  [1, 2, 3, 13, 11, 5, 3, 1],
  [1, 17, 12, 6, 5, 3, 1, 1],
  // Enough rows (N * Ho) that the weight gradient splits its reduction.
  [3, 2, 3, 40, 12, 3, 1, 1],
  [1, 3, 2, 64, 20, 4, 2, 1],
  [1, 12, 20, 48, 40, 3, 1, 1],
  [3, 16, 24, 40, 40, 4, 2, 1],
  // CycleGAN's small layers on the software tiles: a ResNet block's 8x8
  // (8-pixel blocks), a PatchGAN tail's 3x3 (4-pixel blocks, several channel
  // blocks per workgroup), RGB in wide rows (4 channels x 16 pixels) and in
  // short ones (4 x 8), each in every pass.
  [1, 24, 20, 10, 10, 3, 1, 0],
  [1, 40, 36, 4, 4, 4, 1, 1],
  [1, 3, 6, 22, 22, 7, 1, 0],
  [1, 2, 3, 12, 12, 4, 2, 1],
];

function geometry([N, C, K, H, W, k, s, p]: Case): ConvGeometry {
  const [sH, sW] = typeof s === 'number' ? [s, s] : s;
  const [pH, pW] = typeof p === 'number' ? [p, p] : p;
  return { N, C, H, W, K, kH: k, kW: k, sH, sW, pH, pW, Ho: convOutSize(H, k, sH, pH), Wo: convOutSize(W, k, sW, pW) };
}

/** Calls f with the x, w and y indices of every in-bounds term of the convolution. */
function eachTerm(g: ConvGeometry, f: (xi: number, wi: number, yi: number) => void): void {
  for (let n = 0; n < g.N; n++)
    for (let k = 0; k < g.K; k++)
      for (let oh = 0; oh < g.Ho; oh++)
        for (let ow = 0; ow < g.Wo; ow++)
          for (let c = 0; c < g.C; c++)
            for (let kh = 0; kh < g.kH; kh++) {
              const ih = oh * g.sH - g.pH + kh;
              if (ih < 0 || ih >= g.H) continue;
              for (let kw = 0; kw < g.kW; kw++) {
                const iw = ow * g.sW - g.pW + kw;
                if (iw < 0 || iw >= g.W) continue;
                f(((n * g.C + c) * g.H + ih) * g.W + iw, ((k * g.C + c) * g.kH + kh) * g.kW + kw, ((n * g.K + k) * g.Ho + oh) * g.Wo + ow);
              }
            }
}

function random(n: number, rng: Rng): Float32Array {
  return rng.fillNormal(new Float32Array(n));
}

// Both classes of adapter's configuration run here, whichever adapter this is.
const configs: Array<[string, ConvTiles]> = [
  ['software tiles', convTiles({ architecture: 'software', description: 'llvmpipe', name: 'llvmpipe' })],
  ['gpu tiles', convTiles({ architecture: 'ampere', description: 'NVIDIA', name: 'NVIDIA' })],
];

describe.each(configs)('conv kernels, %s', (_, t) => {
  it.each(cases.map((c) => [JSON.stringify(c), c] as const))('%s', async (_name, c) => {
    const g = geometry(c);
    const rng = new Rng(11);
    const nx = g.N * g.C * g.H * g.W;
    const nw = g.K * g.C * g.kH * g.kW;
    const ny = g.N * g.K * g.Ho * g.Wo;
    const x = random(nx, rng);
    const w = random(nw, rng);
    const b = random(g.K, rng);
    const gy = random(ny, rng);

    const y = new Float64Array(ny);
    const gx = new Float64Array(nx);
    const gw = new Float64Array(nw);
    eachTerm(g, (xi, wi, yi) => {
      y[yi] += x[xi] * w[wi];
      gx[xi] += w[wi] * gy[yi];
      gw[wi] += gy[yi] * x[xi];
    });
    for (let i = 0; i < ny; i++) y[i] += b[Math.floor(i / (g.Ho * g.Wo)) % g.K];
    // A case whose reference sums are all zero would pass whatever the kernels did.
    expect(gx.some((v) => v !== 0) && gw.some((v) => v !== 0)).toBe(true);

    const bufs = [x, w, b, gy].map(upload);
    const [xb, wb, bb, gyb] = bufs;
    const out = [ny, nx, nx, nw].map((n) => rt().alloc(n * 4));
    conv2dForward(rt(), xb, wb, bb, out[0], g, t);
    conv2dInputGrad(rt(), gyb, wb, null, out[1], g, t);
    // With a bias the input-gradient kernel is conv_transpose2d's forward: same sums plus bias[c].
    const biasC = random(g.C, rng);
    const bc = upload(biasC);
    conv2dInputGrad(rt(), gyb, wb, bc, out[2], g, t);
    conv2dWeightGrad(rt(), xb, gyb, out[3], g, t);
    const [ry, rgx, rgxb, rgw] = await Promise.all([download(out[0], ny), download(out[1], nx), download(out[2], nx), download(out[3], nw)]);
    const gxb = Float32Array.from(gx, (v, i) => v + biasC[Math.floor(i / (g.H * g.W)) % g.C]);
    const f32 = (a: Float64Array) => Float32Array.from(a);
    expectClose(ry, f32(y), { rtol: 2e-5 }, 'forward', [g.N, g.K, g.Ho, g.Wo]);
    expectClose(rgx, f32(gx), { rtol: 2e-5 }, 'input grad', [g.N, g.C, g.H, g.W]);
    expectClose(rgxb, gxb, { rtol: 2e-5 }, 'input grad + bias', [g.N, g.C, g.H, g.W]);
    expectClose(rgw, f32(gw), { rtol: 2e-5 }, 'weight grad', [g.K, g.C, g.kH, g.kW]);

    // The weight gradient's bias items: gy's sum per channel (conv2d's bias
    // gradient) or the x operand's (conv_transpose2d's), and gw, gb and gx
    // added in place into what their buffers hold (an accumulated gradient).
    const channelSums = (a: Float32Array, channels: number, plane: number) => {
      const sums = new Float64Array(channels);
      a.forEach((v, i) => (sums[Math.floor(i / plane) % channels] += v));
      return sums;
    };
    const [heldW, heldB, heldX] = [random(nw, rng), random(g.K, rng), random(nx, rng)];
    const [wAcc, bAcc, xAcc] = [heldW, heldB, heldX].map(upload);
    const [gwPlain, gbOfX] = [nw, g.C].map((n) => rt().alloc(n * 4));
    conv2dWeightGrad(rt(), xb, gyb, wAcc, g, t, 'zeros', { accumulate: true, bias: { buffer: bAcc, of: 'gy', accumulate: true } });
    conv2dWeightGrad(rt(), xb, gyb, gwPlain, g, t, 'zeros', { bias: { buffer: gbOfX, of: 'x' } });
    conv2dInputGrad(rt(), gyb, wb, null, xAcc, g, t, 'zeros', { accumulate: true });
    const plus = (held: Float32Array, add: Float64Array) => Float32Array.from(add, (v, i) => v + held[i]);
    expectClose(await download(wAcc, nw), plus(heldW, gw), { rtol: 2e-5 }, 'weight grad accumulated', [g.K, g.C, g.kH, g.kW]);
    expectClose(await download(bAcc, g.K), plus(heldB, channelSums(gy, g.K, g.Ho * g.Wo)), { rtol: 2e-5 }, 'bias grad of gy accumulated', [g.K]);
    expectClose(await download(gwPlain, nw), f32(gw), { rtol: 2e-5 }, 'weight grad beside the bias of x', [g.K, g.C, g.kH, g.kW]);
    expectClose(await download(gbOfX, g.C), f32(channelSums(x, g.C, g.H * g.W)), { rtol: 2e-5 }, 'bias grad of x', [g.C]);
    expectClose(await download(xAcc, nx), plus(heldX, gx), { rtol: 2e-5 }, 'input grad accumulated', [g.N, g.C, g.H, g.W]);
    for (const buf of [...bufs, ...out, bc, wAcc, bAcc, xAcc, gwPlain, gbOfX]) rt().release(buf);
  });
});

describe.each(configs)('reflect-padded conv kernels, %s', (_, t) => {
  // Each case padded by reflection: padding below H and W (the cases' own stride and padding).
  const reflectCases = cases.filter(([, , , H, W, , , p]) => (typeof p === 'number' ? [p, p] : p).every((d, i) => d > 0 && d < [H, W][i]));
  const run = (c: Case, bindingBytes: number) => async () => {
    const g = geometry(c);
    const padded = reflectPaddedGeometry(g);
    const rng = new Rng(5);
    const nx = g.N * g.C * g.H * g.W;
    const nw = g.K * g.C * g.kH * g.kW;
    const ny = g.N * g.K * g.Ho * g.Wo;
    const [xb, wb, bb, gyb] = [random(nx, rng), random(nw, rng), random(g.K, rng), random(ny, rng)].map(upload);
    const xPadded = rt().alloc(g.N * g.C * padded.H * padded.W * 4);
    pad(rt(), 'reflect', xb, xPadded, { planes: g.N * g.C, h: g.H, w: g.W, pad: [g.pW, g.pW, g.pH, g.pH] });
    const out = [ny, ny, nw, nw].map((n) => rt().alloc(n * 4));
    const limit = rt().maxBindingBytes;
    rt().maxBindingBytes = bindingBytes;
    try {
      conv2dForward(rt(), xb, wb, bb, out[0], g, t, 'reflect');
      conv2dForward(rt(), xPadded, wb, bb, out[1], padded, t);
    } finally {
      rt().maxBindingBytes = limit;
    }
    conv2dWeightGrad(rt(), xb, gyb, out[2], g, t, 'reflect');
    conv2dWeightGrad(rt(), xPadded, gyb, out[3], padded, t);
    const [y, yWant, gw, gwWant] = await Promise.all(out.map((buf, i) => download(buf, [ny, ny, nw, nw][i])));
    expect(y).toEqual(yWant);
    expect(gw).toEqual(gwWant);
    for (const buf of [xb, wb, bb, gyb, xPadded, ...out]) rt().release(buf);
  };
  it.each(reflectCases.map((c) => [JSON.stringify(c), c] as const))('%s: forward and weight gradient', (_name, c) => run(c, rt().maxBindingBytes)());
  // Larger than one binding, the forward pads a copy and runs in bands of the padded input.
  it('[1, 5, 6, 13, 11, 3, 1, 1] in 2 KiB bindings: the forward', run([1, 5, 6, 13, 11, 3, 1, 1], 2048));
});

describe.each(configs)('reflect-padded input gradient, %s', (_, t) => {
  // N = 2 and channel counts off multiples of 4 throughout. Sizes down to H
  // or W = pad + 1; rows whose tiles overlap (W not a multiple of the
  // block), mirrored rows on every row (pH = H - 1), and pads as wide as an
  // 8-pixel block allows. Some take the two-step path (see the next describe).
  const reflectGradCases: Case[] = [
    [2, 5, 6, 8, 8, 3, 1, 1],
    [1, 32, 32, 8, 8, 3, 1, 1],
    [2, 10, 3, 13, 11, 3, 1, 1],
    [2, 3, 5, 12, 20, 3, 1, 1],
    [2, 5, 3, 2, 9, 3, 1, 1],
    [2, 7, 9, 9, 2, 3, 1, 1],
    [2, 6, 5, 2, 2, 3, 1, 1],
    [2, 6, 7, 5, 5, 3, 1, 1],
    [2, 5, 6, 4, 4, 7, 1, 3],
    [2, 3, 5, 4, 11, 7, 1, 3],
    [2, 6, 3, 10, 5, 7, 1, 3],
    [2, 9, 5, 12, 14, 7, 1, 3],
    [1, 8, 3, 32, 32, 7, 1, 3],
    [2, 5, 4, 9, 10, 5, 1, [1, 2]],
    [2, 5, 4, 6, 9, 3, 1, [2, 0]],
    [2, 4, 5, 6, 16, 5, 1, [5, 3]],
    [2, 5, 4, 6, 7, 1, 1, 1],
    [1, 5, 4, 9, 20, 9, 1, [1, 7]],
    // Stride 2: two steps.
    [2, 5, 6, 11, 10, 3, 2, 1],
  ];
  const run = (c: Case, bindingBytes: number) => async () => {
    const g = geometry(c);
    const rng = new Rng(7);
    const nx = g.N * g.C * g.H * g.W;
    const w = random(g.K * g.C * g.kH * g.kW, rng);
    const gy = random(g.N * g.K * g.Ho * g.Wo, rng);
    const want = reflectInputGradReference(g, w, gy);
    // Also added in place into a held gradient: in the store, or on the two-step path through a temporary.
    const held = random(nx, rng);
    const [wb, gyb, accb] = [w, gy, held].map(upload);
    const gxb = rt().alloc(nx * 4);
    const limit = rt().maxBindingBytes;
    rt().maxBindingBytes = bindingBytes;
    try {
      conv2dInputGrad(rt(), gyb, wb, null, gxb, g, t, 'reflect');
      conv2dInputGrad(rt(), gyb, wb, null, accb, g, t, 'reflect', { accumulate: true });
    } finally {
      rt().maxBindingBytes = limit;
    }
    expectClose(await download(gxb, nx), Float32Array.from(want), { rtol: 1e-5 }, 'reflect input grad', [g.N, g.C, g.H, g.W]);
    expectClose(await download(accb, nx), Float32Array.from(want, (v, i) => v + held[i]), { rtol: 1e-5 }, 'reflect input grad accumulated', [g.N, g.C, g.H, g.W]);
    for (const buf of [wb, gyb, gxb, accb]) rt().release(buf);
  };
  it.each(reflectGradCases.map((c) => [JSON.stringify(c), c] as const))('%s', (_name, c) => run(c, rt().maxBindingBytes)());
  // Larger than one binding: the padded geometry's gradient in bands, then padding's gradient a few planes at a time.
  it('[2, 5, 6, 13, 11, 3, 1, 1] in 2 KiB bindings', run([2, 5, 6, 13, 11, 3, 1, 1], 2048));
});

/** f64 gx of reflection padding then the unpadded convolution `reflectPaddedGeometry(g)`: the padded input's gradient, folded back onto x. */
function reflectInputGradReference(g: ConvGeometry, w: Float32Array, gy: Float32Array): Float64Array {
  const padded = reflectPaddedGeometry(g);
  const gxPadded = new Float64Array(g.N * g.C * padded.H * padded.W);
  eachTerm(padded, (xi, wi, yi) => {
    gxPadded[xi] += w[wi] * gy[yi];
  });
  const source = (i: number, pad: number, n: number) => {
    const a = Math.abs(i - pad);
    return a >= n ? 2 * (n - 1) - a : a;
  };
  const gx = new Float64Array(g.N * g.C * g.H * g.W);
  for (let plane = 0; plane < g.N * g.C; plane++)
    for (let h = 0; h < padded.H; h++)
      for (let v = 0; v < padded.W; v++) {
        gx[(plane * g.H + source(h, g.pH, g.H)) * g.W + source(v, g.pW, g.W)] += gxPadded[(plane * padded.H + h) * padded.W + v];
      }
  return gx;
}

/** The kernel, block (channels x pixels, or weight-gradient channels) and workgroup count of each dispatch `encode` makes. */
function dispatchesOf(encode: () => void): string[] {
  const runtime = rt();
  const original = runtime.dispatch;
  const dispatch = original.bind(runtime);
  const seen: string[] = [];
  runtime.dispatch = ((...args: Parameters<Runtime['dispatch']>) => {
    const [kernel, spec, , , grid] = args;
    const t = spec as ConvTiles;
    const block = kernel.name === 'conv2dWeightGrad' ? `${4 * t.kv}x${t.cb}` : `${t.cb}x${4 * t.pv}`;
    if (kernel.name.startsWith('conv2d')) seen.push(`${kernel.name} ${block} ${grid[0] * grid[1] * grid[2]}`);
    else if (kernel.name === 'padBackward') seen.push(kernel.name);
    dispatch(...args);
  }) as Runtime['dispatch'];
  try {
    encode();
  } finally {
    runtime.dispatch = original;
  }
  return seen;
}

describe('conv tiles per shape', () => {
  // [case, tiles, forward, input grad, weight grad]: the block and workgroup count each pass dispatches.
  const expected: Array<[Case, string, string, string, string]> = [
    // A ResNet block at the demo's 32 px: 8 rows x 4 channel blocks of 8 x 8, in 2 workgroups of 16.
    [[1, 32, 32, 10, 10, 3, 1, 0], 'cpu', '8x8 2', '8x8 5', '16x8 5'],
    // The PatchGAN's 64 -> 128 on 4x4: rows of 3 pixels take 4-pixel blocks, 48 items fill 3 workgroups (not 16).
    [[1, 64, 128, 4, 4, 4, 1, 1], 'cpu', '8x4 3', '8x4 2', '16x8 64'],
    // RGB out of 8 channels on 38x38: 4 output channels x 16 pixels forward.
    [[1, 8, 3, 38, 38, 7, 1, 0], 'cpu', '4x16 4', '8x8 12', '4x8 13'],
    // On a GPU the rule keeps 8 x 4 blocks; RGB gets 4 x 8.
    [[1, 32, 32, 10, 10, 3, 1, 0], 'gpu', '8x4 1', '8x4 2', '4x8 5'],
    [[1, 8, 3, 38, 38, 7, 1, 0], 'gpu', '4x8 2', '8x4 6', '4x8 4'],
  ];
  it.each(expected.map(([c, tiles, ...passes]) => [`${JSON.stringify(c)} ${tiles}`, c, tiles, passes] as const))('%s', (_, c, name, passes) => {
    const g = geometry(c);
    const t = namedConvTiles(name);
    const [x, w, gy, out] = [g.N * g.C * g.H * g.W, g.K * g.C * g.kH * g.kW, g.N * g.K * g.Ho * g.Wo, g.N * g.C * g.H * g.W + g.K * g.C * g.kH * g.kW].map((n) => rt().alloc(n * 4));
    const seen = dispatchesOf(() => {
      conv2dForward(rt(), x, w, null, out, g, t);
      conv2dInputGrad(rt(), gy, w, null, out, g, t);
      conv2dWeightGrad(rt(), x, gy, out, g, t);
    });
    expect(seen).toEqual([`conv2dForward ${passes[0]}`, `conv2dInputGrad ${passes[1]}`, `conv2dWeightGrad ${passes[2]}`]);
    for (const b of [x, w, gy, out]) rt().release(b);
  });
});

describe('reflect-padded input gradient: one dispatch, or two steps', () => {
  // [case, tiles, the conv and pad-gradient dispatches]
  const expected: Array<[Case, string, string[]]> = [
    // A ResNet block at the demo's 8x8: one dispatch over the 8x8 pixels (the two steps computed 10x10).
    [[1, 32, 32, 8, 8, 3, 1, 1], 'cpu', ['conv2dInputGrad 8x8 2']],
    [[1, 32, 32, 8, 8, 3, 1, 1], 'gpu', ['conv2dInputGrad 8x4 1']],
    // The generator's 7x7 ends.
    [[1, 8, 3, 32, 32, 7, 1, 3], 'cpu', ['conv2dInputGrad 8x8 8']],
    [[1, 8, 3, 32, 32, 7, 1, 3], 'gpu', ['conv2dInputGrad 8x4 4']],
    // Rows of 11 with pad 3: the 8-pixel block's last tile would overlap pixel 3 (a mirrored one), so 4-pixel blocks.
    [[1, 8, 3, 11, 11, 7, 1, 3], 'cpu', ['conv2dInputGrad 8x4 3']],
    // Rows too short for 4-pixel tiles to hold the mirrored pixels, stride 2: the padded geometry's gradient, then padding's.
    [[1, 8, 8, 2, 2, 3, 1, 1], 'cpu', ['conv2dInputGrad 8x4 1', 'padBackward']],
    [[1, 8, 8, 5, 5, 3, 1, 1], 'cpu', ['conv2dInputGrad 8x8 1', 'padBackward']],
    [[1, 8, 8, 11, 10, 3, 2, 1], 'cpu', ['conv2dInputGrad 8x8 2', 'padBackward']],
  ];
  it.each(expected.map(([c, tiles, passes]) => [`${JSON.stringify(c)} ${tiles}`, c, tiles, passes] as const))('%s', (_, c, name, passes) => {
    const g = geometry(c);
    const [w, gy, gx] = [g.K * g.C * g.kH * g.kW, g.N * g.K * g.Ho * g.Wo, g.N * g.C * g.H * g.W].map((n) => rt().alloc(n * 4));
    expect(dispatchesOf(() => conv2dInputGrad(rt(), gy, w, null, gx, g, namedConvTiles(name), 'reflect'))).toEqual(passes);
    for (const b of [w, gy, gx]) rt().release(b);
  });
});
