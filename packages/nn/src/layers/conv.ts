/** Conv2d and ConvTranspose2d with PyTorch's arguments, parameter names, shapes and default init. */
import { conv2d, convTranspose2d, fmt, pair, zeros, type ConvPaddingMode, type Rng, type Tensor } from '@stripes/tensor';
import { calculateFans, kaimingUniform, uniform } from '../init.ts';
import { Module } from '../module.ts';

/** One number for both axes, or [height, width]. */
export type Size2 = number | readonly [number, number];

interface ConvOptions {
  /** Default 1. */
  stride?: Size2;
  /** Zeros added on each side; default 0. */
  padding?: Size2;
  /** Learn an additive bias per output channel; default true. */
  bias?: boolean;
  /** Generator for the default init; defaults to the global one (`manualSeed`). */
  rng?: Rng;
}

export interface Conv2dOptions extends ConvOptions {
  /** What the padding holds: 'zeros' (default) or 'reflect' (torch.nn.Conv2d's padding_mode; padding smaller than the input). */
  paddingMode?: ConvPaddingMode;
}

export interface ConvTranspose2dOptions extends ConvOptions {
  /** Extra rows/columns at the bottom/right of the output, < stride; default 0. */
  outputPadding?: Size2;
}

function checkChannels(layer: string, inChannels: number, outChannels: number): void {
  for (const [name, c] of [['inChannels', inChannels], ['outChannels', outChannels]] as const) {
    if (!Number.isInteger(c) || c < 1) throw new Error(`${layer}: ${name} must be a positive integer, got ${c}`);
  }
}

/**
 * PyTorch's default conv init (`_ConvNd.reset_parameters`): weight
 * kaiming_uniform(a = sqrt(5)), i.e. U(+-1/sqrt(fanIn)), and bias U(+-1/sqrt(fanIn)),
 * where fanIn comes from the weight's dims 1.. (so ConvTranspose2d uses Cout*kH*kW).
 */
function resetConvParameters(weight: Tensor, bias: Tensor | null, rng: Rng | undefined): void {
  kaimingUniform(weight, { a: Math.sqrt(5), rng });
  if (bias) {
    const bound = 1 / Math.sqrt(calculateFans(weight.shape).fanIn);
    uniform(bias, -bound, bound, { rng });
  }
}

/** 2-D convolution over NCHW input; weight [outChannels, inChannels, kH, kW], bias [outChannels]. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly paddingMode: ConvPaddingMode;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    options: Conv2dOptions = {},
  ) {
    super();
    checkChannels('Conv2d', inChannels, outChannels);
    this.kernelSize = pair('Conv2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('Conv2d', 'stride', options.stride ?? 1, 1);
    this.padding = pair('Conv2d', 'padding', options.padding ?? 0, 0);
    this.paddingMode = options.paddingMode ?? 'zeros';
    if (this.paddingMode !== 'zeros' && this.paddingMode !== 'reflect') {
      throw new Error(`Conv2d: paddingMode must be 'zeros' or 'reflect', got '${String(this.paddingMode)}'`);
    }
    this.weight = this.registerParameter('weight', zeros([outChannels, inChannels, ...this.kernelSize]));
    this.bias = options.bias ?? true ? this.registerParameter('bias', zeros([outChannels])) : null;
    resetConvParameters(this.weight, this.bias, options.rng);
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, paddingMode: this.paddingMode });
  }

  /**
   * This layer (unpadded, zeros mode) applied to x reflection-padded by
   * `padding` ([pH, pW] on each side), as one reflect-mode convolution:
   * what Sequential runs for a ReflectionPad2d followed by this layer.
   */
  forwardReflectPadded(x: Tensor, padding: readonly [number, number]): Tensor {
    if (this.padding[0] !== 0 || this.padding[1] !== 0 || this.paddingMode !== 'zeros') {
      throw new Error(`Conv2d.forwardReflectPadded: the layer must be unpadded (padding ${fmt(this.padding)}, paddingMode '${this.paddingMode}')`);
    }
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding, paddingMode: 'reflect' });
  }
}

/**
 * Transposed 2-D convolution (the gradient of Conv2d with respect to its
 * input); weight [inChannels, outChannels, kH, kW], bias [outChannels].
 * Output size: (H - 1) * stride - 2 * padding + kernelSize + outputPadding.
 */
export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2,
    options: ConvTranspose2dOptions = {},
  ) {
    super();
    checkChannels('ConvTranspose2d', inChannels, outChannels);
    this.kernelSize = pair('ConvTranspose2d', 'kernelSize', kernelSize, 1);
    this.stride = pair('ConvTranspose2d', 'stride', options.stride ?? 1, 1);
    this.padding = pair('ConvTranspose2d', 'padding', options.padding ?? 0, 0);
    this.outputPadding = pair('ConvTranspose2d', 'outputPadding', options.outputPadding ?? 0, 0);
    if (this.outputPadding.some((o, i) => o >= this.stride[i])) {
      throw new Error(`ConvTranspose2d: outputPadding ${fmt(this.outputPadding)} must be smaller than stride ${fmt(this.stride)}`);
    }
    this.weight = this.registerParameter('weight', zeros([inChannels, outChannels, ...this.kernelSize]));
    this.bias = options.bias ?? true ? this.registerParameter('bias', zeros([outChannels])) : null;
    resetConvParameters(this.weight, this.bias, options.rng);
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, outputPadding: this.outputPadding });
  }
}
