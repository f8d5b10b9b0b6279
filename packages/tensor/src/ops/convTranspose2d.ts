/**
 * 2-D transposed convolution, as torch.nn.functional.conv_transpose2d: the
 * adjoint of conv2d. Seen as the conv2d that maps its output back to its
 * input, its forward is that conv's input gradient, its input gradient is
 * that conv's forward, and its weight gradient is that conv's weight gradient
 * with input and output gradient swapped: the same three kernels.
 */
import type { ConvGeometry } from '@stripes/kernels';
import { gradIfNeeded, record } from '../autograd.ts';
import { fmt, pair } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { checkOperands, convForward, convInputGrad, convParamGrads, type Conv2dOptions } from './conv2d.ts';

export interface ConvTranspose2dOptions extends Conv2dOptions {
  /** Extra rows/columns on the bottom/right of the output (< stride). Default 0. */
  outputPadding?: number | readonly [number, number];
}

/**
 * convTranspose2d(x [N, Cin, H, W], w [Cin, Cout, kH, kW], b [Cout]?) ->
 * [N, Cout, Ho, Wo] with Ho = (H - 1) sH - 2 pH + kH + outputPadding (likewise Wo).
 */
export function convTranspose2d(x: Tensor, w: Tensor, b?: Tensor | null, options: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  checkOperands(op, x, w, b, '[in, out, kH, kW]', 0, w.shape[1]);
  const [sH, sW] = pair(op, 'stride', options.stride ?? 1, 1);
  const [pH, pW] = pair(op, 'padding', options.padding ?? 0, 0);
  const [oH, oW] = pair(op, 'outputPadding', options.outputPadding ?? 0, 0);
  if (oH >= sH || oW >= sW) {
    throw new Error(`${op}: outputPadding [${oH}, ${oW}] must be smaller than stride [${sH}, ${sW}]`);
  }
  const [N, Cin, H, W] = x.shape;
  const [, Cout, kH, kW] = w.shape;
  const Ho = (H - 1) * sH - 2 * pH + kH + oH;
  const Wo = (W - 1) * sW - 2 * pW + kW + oW;
  if (Ho < 1 || Wo < 1 || N < 1 || H < 1 || W < 1 || Cin < 1 || Cout < 1) {
    throw new Error(
      `${op}: input ${fmt(x.shape)} with weight ${fmt(w.shape)}, stride [${sH}, ${sW}], padding [${pH}, ${pW}], outputPadding [${oH}, ${oW}] gives an empty output ${fmt([N, Cout, Ho, Wo])}`,
    );
  }
  // The conv2d that maps [N, Cout, Ho, Wo] back to [N, Cin, H, W] with weight [Cin, Cout, kH, kW].
  const g: ConvGeometry = { N, C: Cout, H: Ho, W: Wo, K: Cin, Ho: H, Wo: W, kH, kW, sH, sW, pH, pW };
  const y = convInputGrad(x, w, b ?? null, g, 'zeros', null, x);
  const inputs = b ? [x, w, b] : [x, w];
  // Its weight gradient is the conv's with x and gy swapped, so its bias (the sum of gy) is that pass's x operand.
  record(op, y, inputs, [x, w], (gy, [xs, ws], into) => [
    gradIfNeeded(x, () => convForward(gy, ws, null, g)),
    ...convParamGrads(gy, xs, g, 'zeros', { w, b, biasOf: 'x' }, { w: into[1], b: into[2] ?? null }),
  ]);
  return y;
}
