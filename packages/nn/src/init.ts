/**
 * Parameter initialization, as torch.nn.init. Values are drawn on the CPU from
 * a seeded `Rng` (default: the global one seeded by `manualSeed`) and written
 * into the existing tensors, so the same seed gives the same weights on every
 * adapter. Each function takes one tensor, several, or a module (meaning all
 * of its parameters, in `parameters()` order).
 */
import { fmt, globalRng, Tensor, type Rng } from '@stripes/tensor';
import { assign } from './assign.ts';
import { Module, type AnyModule } from './module.ts';

export type InitTarget = Tensor | Iterable<Tensor> | AnyModule;

export interface InitOptions {
  /** Generator to draw from; defaults to the global one (`manualSeed`). */
  rng?: Rng;
}

/** Nonlinearities known to `calculateGain`, in torch's spelling. */
export type Nonlinearity = 'linear' | 'conv2d' | 'conv_transpose2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky ReLU that follows (0 for ReLU). */
  a?: number;
  /** Preserve the variance of the forward pass ('fan_in', default) or of the backward pass ('fan_out'). */
  mode?: 'fan_in' | 'fan_out';
  nonlinearity?: Nonlinearity;
}

function tensorsOf(target: InitTarget): Tensor[] {
  if (target instanceof Tensor) return [target];
  if (target instanceof Module) return target.parameters();
  return [...target];
}

function fill(target: InitTarget, values: (t: Tensor) => Float32Array): void {
  for (const t of tensorsOf(target)) assign(t, { shape: [...t.shape], data: values(t) });
}

/** torch.nn.init.calculate_gain: the recommended scale for a nonlinearity. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv2d':
    case 'conv_transpose2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
  }
}

/**
 * Fan-in and fan-out as torch computes them: dims 1 and 0 times the
 * receptive field. For a ConvTranspose2d weight (Cin, Cout, kH, kW) that makes
 * fan-in Cout*kH*kW, which is what PyTorch's default init uses too.
 */
export function calculateFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) throw new Error(`init: fan-in and fan-out need at least 2 dimensions, got shape ${fmt(shape)}`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

export function uniform(target: InitTarget, low = 0, high = 1, { rng = globalRng }: InitOptions = {}): void {
  fill(target, (t) => rng.fillUniform(new Float32Array(t.size), low, high));
}

export function normal(target: InitTarget, mean = 0, std = 1, { rng = globalRng }: InitOptions = {}): void {
  fill(target, (t) => rng.fillNormal(new Float32Array(t.size), mean, std));
}

export function constant(target: InitTarget, value: number): void {
  fill(target, (t) => new Float32Array(t.size).fill(value));
}

export function zeros(target: InitTarget): void {
  constant(target, 0);
}

export function ones(target: InitTarget): void {
  constant(target, 1);
}

/** N(0, std) with std = gain * sqrt(2 / (fanIn + fanOut)) (Glorot). */
export function xavierNormal(target: InitTarget, { gain = 1, rng = globalRng }: InitOptions & { gain?: number } = {}): void {
  fill(target, (t) => {
    const { fanIn, fanOut } = calculateFans(t.shape);
    return rng.fillNormal(new Float32Array(t.size), 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
  });
}

/** U(-bound, bound) with bound = gain * sqrt(6 / (fanIn + fanOut)) (Glorot). */
export function xavierUniform(target: InitTarget, { gain = 1, rng = globalRng }: InitOptions & { gain?: number } = {}): void {
  fill(target, (t) => {
    const { fanIn, fanOut } = calculateFans(t.shape);
    const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
    return rng.fillUniform(new Float32Array(t.size), -bound, bound);
  });
}

function kaimingStd(shape: readonly number[], { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' }: KaimingOptions): number {
  const fans = calculateFans(shape);
  return calculateGain(nonlinearity, a) / Math.sqrt(mode === 'fan_in' ? fans.fanIn : fans.fanOut);
}

/** N(0, std) with std = gain / sqrt(fan) (He). */
export function kaimingNormal(target: InitTarget, options: KaimingOptions = {}): void {
  const rng = options.rng ?? globalRng;
  fill(target, (t) => rng.fillNormal(new Float32Array(t.size), 0, kaimingStd(t.shape, options)));
}

/** U(-bound, bound) with bound = sqrt(3) * gain / sqrt(fan) (He). */
export function kaimingUniform(target: InitTarget, options: KaimingOptions = {}): void {
  const rng = options.rng ?? globalRng;
  fill(target, (t) => {
    const bound = Math.sqrt(3) * kaimingStd(t.shape, options);
    return rng.fillUniform(new Float32Array(t.size), -bound, bound);
  });
}
