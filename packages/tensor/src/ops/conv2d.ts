/**
 * 2-D convolution (cross-correlation, as torch.nn.functional.conv2d) over
 * NCHW inputs and OIHW weights with stride and zero or reflect padding. The three
 * kernels it uses (forward, input gradient, weight gradient) are shared with
 * conv_transpose2d, which swaps the roles of the first two.
 */
import { conv2dForward, conv2dInputGrad, conv2dWeightGrad, convOutSize, repackStaleChannelsLast, rt, type ConvGeometry, type ConvPaddingMode } from '@stripes/kernels';
import { gradIfNeeded, isGradEnabled, record } from '../autograd.ts';
import { fmt, pair } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { sum } from './reduce.ts';

export type { ConvPaddingMode };

/** Stride and padding: the options conv2d shares with convTranspose2d. */
export interface Conv2dOptions {
  /** Step between output pixels: one number for both axes, or [sH, sW]. Default 1. */
  stride?: number | readonly [number, number];
  /** Pixels added on each side: one number for both axes, or [pH, pW]. Default 0. */
  padding?: number | readonly [number, number];
}

/** conv2d's options: stride, padding, and what the padding holds. */
export interface Conv2dPaddingModeOptions extends Conv2dOptions {
  /**
   * What the padding holds: 'zeros' (default), or 'reflect' (the input
   * mirrored about its edges, as PyTorch's padding_mode='reflect'; padding
   * must be smaller than the input's H and W). The same values as
   * reflectionPad2d then an unpadded conv2d, without the padded copy.
   */
  paddingMode?: ConvPaddingMode;
}

/**
 * @internal Checks a conv op's operands: ranks, the input's channels against
 * the weight's axis `wInAxis` (laid out as `wLayout`), and the bias length.
 */
export function checkOperands(op: string, x: Tensor, w: Tensor, b: Tensor | null | undefined, wLayout: string, wInAxis: number, biasLen: number): void {
  x.assertAlive(op);
  w.assertAlive(op);
  b?.assertAlive(op);
  if (x.rank !== 4) throw new Error(`${op}: input must be 4-D [N, C, H, W], got ${fmt(x.shape)}`);
  if (w.rank !== 4) throw new Error(`${op}: weight must be 4-D ${wLayout}, got ${fmt(w.shape)}`);
  if (x.shape[1] !== w.shape[wInAxis]) {
    throw new Error(`${op}: input ${fmt(x.shape)} has ${x.shape[1]} channels but weight ${fmt(w.shape)} ${wLayout} expects ${w.shape[wInAxis]}`);
  }
  if (b && (b.rank !== 1 || b.shape[0] !== biasLen)) {
    throw new Error(`${op}: bias must have shape [${biasLen}] for weight ${fmt(w.shape)}, got ${fmt(b.shape)}`);
  }
}

/** Whether a backward will ask for `t`'s gradient: it requires one and a graph is being recorded. */
const gradWillFlow = (t: Tensor | undefined): boolean => t !== undefined && t.requiresGrad && isGradEnabled();

/**
 * @internal y [N, K, Ho, Wo] = conv(x, w) + b for the geometry `g`; no
 * graph. When x's gradient will be needed (`gradOf` requires grad and a
 * graph is recorded), w is packed for the input gradient in the same pass.
 */
export function convForward(x: Tensor, w: Tensor, b: Tensor | null, g: ConvGeometry, paddingMode: ConvPaddingMode = 'zeros', gradOf?: Tensor): Tensor {
  const y = Tensor.empty([g.N, g.K, g.Ho, g.Wo]);
  conv2dForward(rt(), x.buffer, w.buffer, b?.buffer ?? null, y.buffer, g, undefined, paddingMode, { packInputGradWeights: gradWillFlow(gradOf) });
  return y;
}

/**
 * @internal gx [N, C, H, W] of the convolution `g` from gy, plus b [C], or
 * added in place to `into` (see BackwardFn); no graph. As conv_transpose2d's
 * forward, `gradOf` is its input: when that one's gradient will be needed,
 * w is packed for it (conv2dForward's layout) in the same pass.
 */
export function convInputGrad(
  gy: Tensor, w: Tensor, b: Tensor | null, g: ConvGeometry, paddingMode: ConvPaddingMode = 'zeros', into: Tensor | null = null, gradOf?: Tensor,
): Tensor {
  const gx = into ?? Tensor.empty([g.N, g.C, g.H, g.W]);
  conv2dInputGrad(rt(), gy.buffer, w.buffer, b?.buffer ?? null, gx.buffer, g, undefined, paddingMode, { accumulate: into !== null, packForwardWeights: gradWillFlow(gradOf) });
  return gx;
}

/**
 * @internal The weight's and the bias's gradients of the convolution `g`
 * (x [N, C, H, W], gy [N, K, Ho, Wo]) in one weight-gradient pass, each null
 * when its tensor needs none; the bias's is the sum of the `biasOf` operand
 * over N, H, W. Added in place to `into` (see BackwardFn) where given. No graph.
 */
export function convParamGrads(
  x: Tensor,
  gy: Tensor,
  g: ConvGeometry,
  paddingMode: ConvPaddingMode,
  params: { w: Tensor; b: Tensor | null | undefined; biasOf: 'gy' | 'x' },
  into: { w: Tensor | null; b: Tensor | null },
): [Tensor | null, Tensor | null] {
  const { w, b, biasOf } = params;
  const needB = b?.requiresGrad === true;
  if (!w.requiresGrad) return [null, needB ? sum(biasOf === 'gy' ? gy : x, [0, 2, 3]) : null];
  const gw = into.w ?? Tensor.empty(w.shape);
  const gb = needB ? (into.b ?? Tensor.empty(b.shape)) : null;
  const bias = gb ? { buffer: gb.buffer, of: biasOf, accumulate: into.b !== null } : undefined;
  conv2dWeightGrad(rt(), x.buffer, gy.buffer, gw.buffer, g, undefined, paddingMode, { bias, accumulate: into.w !== null });
  return [gw, gb];
}

/**
 * conv2d(x [N, C, H, W], w [K, C, kH, kW], b [K]?) -> [N, K, Ho, Wo] with
 * Ho = floor((H + 2 pH - kH) / sH) + 1 (likewise Wo).
 */
export function conv2d(x: Tensor, w: Tensor, b?: Tensor | null, options: Conv2dPaddingModeOptions = {}): Tensor {
  const op = 'conv2d';
  checkOperands(op, x, w, b, '[out, in, kH, kW]', 1, w.shape[0]);
  const [sH, sW] = pair(op, 'stride', options.stride ?? 1, 1);
  const [pH, pW] = pair(op, 'padding', options.padding ?? 0, 0);
  const paddingMode = options.paddingMode ?? 'zeros';
  if (paddingMode !== 'zeros' && paddingMode !== 'reflect') throw new Error(`${op}: unknown paddingMode '${String(paddingMode)}'; valid: 'zeros', 'reflect'`);
  const [N, C, H, W] = x.shape;
  if (paddingMode === 'reflect' && (pH >= H || pW >= W)) {
    throw new Error(`${op}: reflect padding [${pH}, ${pW}] must be smaller than the input's H and W, got input ${fmt(x.shape)} with weight ${fmt(w.shape)}`);
  }
  const [K, , kH, kW] = w.shape;
  const Ho = convOutSize(H, kH, sH, pH);
  const Wo = convOutSize(W, kW, sW, pW);
  if (Ho < 1 || Wo < 1 || N < 1 || K < 1 || C < 1) {
    throw new Error(
      `${op}: input ${fmt(x.shape)} with weight ${fmt(w.shape)}, stride [${sH}, ${sW}], padding [${pH}, ${pW}] gives an empty output ${fmt([N, K, Ho, Wo])}`,
    );
  }
  const g: ConvGeometry = { N, C, H, W, K, Ho, Wo, kH, kW, sH, sW, pH, pW };
  const y = convForward(x, w, b ?? null, g, paddingMode, x);
  const inputs = b ? [x, w, b] : [x, w];
  record(op, y, inputs, [x, w], (gy, [xs, ws], into) => [
    gradIfNeeded(x, () => convInputGrad(gy, ws, null, g, paddingMode, into[0])),
    ...convParamGrads(xs, gy, g, paddingMode, { w, b, biasOf: 'gy' }, { w: into[1], b: into[2] ?? null }),
  ]);
  return y;
}

/**
 * Rebuilds the packed copies of conv weights among `params` that conv2d and
 * convTranspose2d cached (each weight's channels-last layouts) and that an
 * in-place update has since made stale, several weights per dispatch. An
 * optimizer calls it after its step: the next forward then finds every
 * weight packed instead of packing each on first use, a dispatch per layer.
 * Tensors with nothing cached are skipped; the values are the same either way.
 */
export function repackConvWeights(params: readonly Tensor[]): void {
  for (const p of params) p.assertAlive('repackConvWeights');
  repackStaleChannelsLast(rt(), params.map((p) => p.buffer));
}
