import { defineKernel, gridFor, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import {
  CONV_GEOMETRY_PARAMS, defaultConvTiles, reflectPaddedGeometry, weightGradTiles, wgslOuterProduct, wgslStoreBlock, type ConvGeometry,
  type ConvPaddingMode, type ConvTiles,
} from './convTiles.ts';
import { packChannelsLastPair } from './packChannelsLast.ts';
import { reduce } from './reduce.ts';
import { conv2dWeightGradSlices } from './conv2dWeightGradSlices.ts';

/**
 * gw = conv2d's weight gradient: for each tap (kh, kw), the GEMM
 * [K, N*Ho*Wo] x [N*Ho*Wo, C] of gy against x shifted by the tap, im2col
 * implicit. An invocation holds one tap and owns `4 kv` output
 * channels x `cb` input channels of one slice of the reduction's rows
 * (split-K: narrow layers have few channel blocks, so row slices are what
 * fills the lanes and cores), and each pixel of the reduction reads kv
 * vec4s of gy and cb/4 vec4s of x: both come channels-last
 * ([N, Ho*Wo, Kpad] and [N, H*W, Cpad]). The tap fixes which output pixels
 * read inside the image, so the loops run over exactly those and read no
 * padding. A second pass adds up the slices' partial sums. Also serves as
 * conv_transpose2d's weight gradient with x and gy swapped.
 *
 * With `bias` ('gy' or 'x'), items after the weight's also sum that operand
 * over its pixels, slice by slice: the bias gradient (conv2d's is gy's sum,
 * conv_transpose2d's is its x operand's), without a reduction dispatch of
 * its own (split passes sum both gradients' slices in one more dispatch,
 * conv2dWeightGradSlices). With `accumulate` (and `accumulateBias`) the
 * results are added to what gw (the bias gradient) holds: a gradient
 * accumulated in place.
 */
type BiasOperand = 'gy' | 'x';

const wgslWeightGrad = ({ wg, cb, kv }: ConvTiles, accumulate: boolean, bias: BiasOperand | null): string => {
  // The bias operand's vec4s per pixel of a bias item: one block of its channels.
  const bv = bias === 'gy' ? kv : cb / 4;
  const biasItem = bias === null ? '' : /* wgsl */ `
fn biasItem(b: u32) {
  if (b >= p.biasItems) { return; }
  let q0 = (b % p.biasBlocks) * ${bv}u;
  let split = b / p.biasBlocks;
  let px0 = split * p.biasPixelsPerSplit;
  let px1 = min(px0 + p.biasPixelsPerSplit, p.biasPixels);
  let stride = ${bias === 'gy' ? 'p.Kq' : 'p.Cq'};
  var acc: array<vec4<f32>, ${bv}>;
  for (var px = px0; px < px1; px++) {
    let at = px * stride + q0;
    ${[...Array(bv)].map((_, v) => `acc[${v}] += ${bias === 'gy' ? 'gyp' : 'xp'}[at + ${v}u];`).join(' ')}
  }
  let res = acc;
  let ch0 = q0 * 4u;
  let accumulate = p.accumulateBias != 0u;
  for (var j = 0u; j < min(${4 * bv}u, p.biasChannels - min(ch0, p.biasChannels)); j++) {
    let o = split * p.biasChannels + ch0 + j;
    let v = res[j / 4u][j % 4u];
    biasOut[o] = select(v, biasOut[o] + v, accumulate);
  }
}`;
  return /* wgsl */ `
${WGSL_FLAT_WORKGROUP}

fn firstInside(pad: u32, k: u32, s: u32) -> u32 {
  // Smallest o with o s + k - pad >= 0.
  return select(0u, (pad - k + s - 1u) / s, pad > k);
}

fn endInside(size: u32, pad: u32, k: u32, s: u32, outSize: u32) -> u32 {
  // One past the largest o < outSize with o s + k - pad < size.
  return min(outSize, select(0u, (size + pad - k + s - 1u) / s, size + pad > k));
}
${biasItem}

@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  // Parameters once into registers: on lavapipe every buffer read is a per-lane loop.
  let H = p.H; let W = p.W; let Ho = p.Ho; let Wo = p.Wo; let sW = p.sW; let Cq = p.Cq; let Kq = p.Kq;
  let taps = p.kH * p.kW;
  // An item is a (tap, row split, channel block) triple, channel blocks
  // fastest: a workgroup spans taps when a tap has fewer items than
  // invocations. Invocations past the last item redo it and store nothing:
  // no divergent exit before the loops (but for the bias items, which follow).
  let item = flatWorkgroup(wid, nwg) * ${wg}u + li;
  ${bias === null ? '' : 'if (item >= p.items) { biasItem(item - p.items); return; }'}
  let last = min(item, p.items - 1u);
  let block = last % p.blocks;
  let split = (last / p.blocks) % p.splits;
  let tap = last / (p.blocks * p.splits);
  let kh = tap / p.kW;
  let kw = tap % p.kW;
  let kq0 = (block % p.kBlocks) * ${kv}u;
  let cq0 = (block / p.kBlocks) * ${cb / 4}u;
  // Output pixels whose tap input lies inside the image.
  let ohLo = firstInside(p.pH, kh, p.sH);
  let ohHi = endInside(H, p.pH, kh, p.sH, Ho);
  let owLo = firstInside(p.pW, kw, sW);
  let owHi = endInside(W, p.pW, kw, sW, Wo);
  let r0 = split * p.rowsPerSplit;
  let r1 = min(r0 + p.rowsPerSplit, p.N * Ho);
  var acc: array<vec4<f32>, ${cb * kv}>;
  var n = r0 / Ho;
  var oh = r0 % Ho;
  for (var r = r0; r < r1; r++) {
    if (oh >= ohLo && oh < ohHi) {
      let ih = oh * p.sH + kh - p.pH;
      let gyRow = (n * Ho + oh) * Wo * Kq + kq0;
      let xRow = (n * H + ih) * W * Cq + cq0;
      for (var ow = owLo; ow < owHi; ow++) {
        let iw = ow * sW + kw - p.pW;
        let g = gyRow + ow * Kq;
        let gv = array<vec4<f32>, ${kv}>(${[...Array(kv)].map((_, v) => `gyp[g + ${v}u]`).join(', ')});
        let xi = xRow + iw * Cq;
        ${wgslOuterProduct(cb, kv, (q) => `xp[xi + ${q}u]`, (i) => `gv[${i >> 2}][${i & 3}]`)}
      }
    }
    // Row counters instead of divisions: lavapipe does vector ones lane by lane.
    oh += 1u;
    if (oh == Ho) { oh = 0u; n += 1u; }
  }
  if (item >= p.items) { return; }
  // acc[c * kv + v][e] is gw[k0 + 4 v + e, c0 + c, kh, kw].
  let ch0 = cq0 * 4u;
  let chN = min(${cb}u, p.C - min(ch0, p.C));
  let k0 = kq0 * 4u;
  let pixN = p.K - min(k0, p.K);
  let pixStep = p.C * taps;
  let chStride = taps;
  let chBase = (split * p.K + k0) * pixStep + ch0 * taps + tap;
  ${wgslStoreBlock(cb, kv, 'partial', false, accumulate)}
}`;
};

const WEIGHT_GRAD_PARAMS = {
  ...CONV_GEOMETRY_PARAMS, rowsPerSplit: 'u32', splits: 'u32', kBlocks: 'u32', blocks: 'u32', items: 'u32', Cq: 'u32', Kq: 'u32',
} as const;
const WEIGHT_GRAD_BINDINGS = { xp: { access: 'read', type: 'vec4<f32>' }, gyp: { access: 'read', type: 'vec4<f32>' }, partial: 'read_write' } as const;

export const conv2dWeightGradKernel = defineKernel({
  name: 'conv2dWeightGrad',
  params: WEIGHT_GRAD_PARAMS,
  bindings: WEIGHT_GRAD_BINDINGS,
  source: ({ accumulate, ...tiles }: ConvTiles & { accumulate: boolean }) => wgslWeightGrad(tiles, accumulate, null),
});

/** The same with the bias gradient's items (its own kernel: one more read_write binding). */
export const conv2dWeightGradWithBiasKernel = defineKernel({
  name: 'conv2dWeightGradWithBias',
  params: {
    ...WEIGHT_GRAD_PARAMS,
    biasItems: 'u32', biasBlocks: 'u32', biasPixels: 'u32', biasPixelsPerSplit: 'u32', biasChannels: 'u32', accumulateBias: 'u32',
  },
  bindings: { ...WEIGHT_GRAD_BINDINGS, biasOut: 'read_write' },
  source: ({ bias, accumulate, ...tiles }: ConvTiles & { accumulate: boolean; bias: BiasOperand }) => wgslWeightGrad(tiles, accumulate, bias),
});

/** The bias gradient a weight-gradient pass also computes: the sum of its gy or x operand over pixels, into `buffer`. */
export interface WeightGradBias {
  buffer: DeviceBuffer;
  of: BiasOperand;
  /** Add to what `buffer` holds instead of overwriting it. */
  accumulate?: boolean;
}

/** What a weight-gradient pass adds to the plain gw: the bias gradient, and accumulation into gw. */
export interface WeightGradOptions {
  bias?: WeightGradBias;
  /** Add to what gw holds instead of overwriting it. */
  accumulate?: boolean;
}

/**
 * Encodes gw [K, C, kH, kW] = sum over n, oh, ow of gy [N, K, Ho, Wo] times the
 * matching x [N, C, H, W] taps, for the convolution `g`, and with
 * `options.bias` the bias gradient. `tiles` defaults to the adapter's
 * configuration. With reflect padding, x is packed reflection-padded and
 * the kernel runs unpadded on the padded geometry: the dispatch of
 * reflection padding followed by an unpadded convolution.
 */
export function conv2dWeightGrad(
  rt: Runtime,
  x: DeviceBuffer,
  gy: DeviceBuffer,
  gw: DeviceBuffer,
  geometry: ConvGeometry,
  adapterTiles: ConvTiles = defaultConvTiles(rt),
  paddingMode: ConvPaddingMode = 'zeros',
  { bias, accumulate = false }: WeightGradOptions = {},
): void {
  // Reflect padding: x packed reflection-padded, and the padded geometry's unpadded convolution.
  const { H, W, pH, pW } = geometry;
  const reflectPadding = paddingMode === 'reflect' ? { h: H, w: W, pH, pW } : undefined;
  if (reflectPadding && bias?.of === 'x') throw new Error('conv2dWeightGrad: the bias of x (a transposed convolution\'s) is not summed over a reflect-padded x');
  const g = reflectPadding ? reflectPaddedGeometry(geometry) : geometry;
  const tiles = weightGradTiles(adapterTiles, g.C, g.K);
  const kPad = Math.ceil(g.K / (4 * tiles.kv)) * 4 * tiles.kv;
  const cPad = Math.ceil(g.C / tiles.cb) * tiles.cb;
  const kBlocks = kPad / (4 * tiles.kv);
  const blocks = kBlocks * (cPad / tiles.cb);
  const taps = g.kH * g.kW;
  const rows = g.N * g.Ho;
  // Slice the N*Ho rows until about minGroups workgroups' worth of
  // invocations exist, keeping a few hundred pixels per slice so the partial
  // sums stay small.
  const wantedItems = Math.ceil((tiles.minGroups * tiles.wg) / taps);
  const rowsPerSplit = Math.max(Math.ceil(rows / Math.ceil(wantedItems / blocks)), Math.ceil(256 / g.Wo));
  const splits = Math.ceil(rows / rowsPerSplit);
  const items = taps * splits * blocks;
  const params = { ...g, rowsPerSplit, splits, kBlocks, blocks, items, Cq: cPad / 4, Kq: kPad / 4 };
  // One slice stores gw itself, several their partial sums (which a second pass adds up).
  const spec = { ...tiles, accumulate: accumulate && splits === 1 };
  const [xp, gyp] = packChannelsLastPair(rt, { src: x, A: g.N, B: g.C, D: H * W, bPad: cPad, reflectPadding }, { src: gy, A: g.N, B: g.K, D: g.Ho * g.Wo, bPad: kPad });
  const partial = splits === 1 ? gw : rt.alloc(splits * g.K * g.C * taps * 4, 'conv2dWeightGrad partials');
  if (!bias) {
    rt.dispatch(conv2dWeightGradKernel, spec, { xp, gyp, partial }, params, gridFor(items, tiles.wg));
    if (splits > 1) {
      reduce(rt, 'sum', partial, [splits, g.K * g.C * taps], [0], gw, 1, { accumulate });
      rt.release(partial);
    }
  } else {
    // gy's bias is summed in the weight's row slices; x's (N H W pixels) in as many slices.
    const biasChannels = bias.of === 'gy' ? g.K : g.C;
    const biasBlocks = bias.of === 'gy' ? kBlocks : cPad / tiles.cb;
    const biasPixels = bias.of === 'gy' ? rows * g.Wo : g.N * H * W;
    const biasPixelsPerSplit = bias.of === 'gy' ? rowsPerSplit * g.Wo : Math.ceil(biasPixels / splits);
    const biasItems = splits * biasBlocks;
    const biasOut = splits === 1 ? bias.buffer : rt.alloc(splits * biasChannels * 4, 'conv2dWeightGrad bias partials');
    const biasParams = { ...params, biasItems, biasBlocks, biasPixels, biasPixelsPerSplit, biasChannels, accumulateBias: bias.accumulate && splits === 1 ? 1 : 0 };
    rt.dispatch(conv2dWeightGradWithBiasKernel, { ...spec, bias: bias.of }, { xp, gyp, partial, biasOut }, biasParams, gridFor(items + biasItems, tiles.wg));
    if (splits > 1) {
      conv2dWeightGradSlices(
        rt, splits, { partial, out: gw, count: g.K * g.C * taps, accumulate }, { partial: biasOut, out: bias.buffer, count: biasChannels, accumulate: bias.accumulate ?? false },
      );
      rt.release(partial);
      rt.release(biasOut);
    }
  }
  rt.release(xp);
  rt.release(gyp);
}
