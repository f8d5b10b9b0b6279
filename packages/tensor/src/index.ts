export { Tensor } from './tensor.ts';
export { tidy, keep } from './scope.ts';
export { noGrad, isGradEnabled, type BackwardOptions } from './autograd.ts';
export { Rng, globalRng, manualSeed, type RngState } from './random.ts';
export { broadcastShapes, fmt, pair, sameShape, sizeOf, type Shape } from './shape.ts';
export { tensor, fromArray, zeros, ones, full, zerosLike, onesLike, randn, rand, clone, type NestedArray, type RandomOptions } from './ops/creation.ts';
export { neg, exp, log, sqrt, abs, relu, leakyRelu, tanh, sigmoid, powScalar, affine } from './ops/unary.ts';
export { add, sub, mul, div, pow, maximum, minimum } from './ops/binary.ts';
export { sum, mean, max, sumToShape } from './ops/reduce.ts';
export { broadcastTo } from './ops/broadcastTo.ts';
export { reshape, flatten } from './ops/reshape.ts';
export { permute, transpose } from './ops/permute.ts';
export { slice, concat, stack } from './ops/slice.ts';
export { matmul } from './ops/matmul.ts';
export { init, rt, type MemoryStats } from '@stripes/kernels';

export { NoAdapterError, type DeviceInfo, type DeviceOptions } from '@stripes/kernels';

import { init, rt, type DeviceInfo, type DeviceOptions, type MemoryStats } from '@stripes/kernels';

/**
 * Acquires the GPU device; await once before using tensors (idempotent).
 * Resolves to the adapter's description. `{ device }` on the first call runs
 * on a device you already have; see `init` in @stripes/kernels.
 */
export async function ready(options?: DeviceOptions): Promise<DeviceInfo> {
  return (await init(options)).info;
}

/**
 * Keeps the CPU at most `depth` calls ahead of the GPU. Ops only queue GPU
 * work, and a training loop that never reads a value back (`item()`,
 * `data()`) would queue it without bound; await this once per step.
 */
export async function throttle(depth = 2): Promise<void> {
  await rt().throttle(depth);
}

/** Live and pooled GPU buffers, for leak checks. */
export function memory(): MemoryStats {
  return rt().memory();
}
export { conv2d, type Conv2dOptions } from './ops/conv2d.ts';
export { convTranspose2d, type ConvTranspose2dOptions } from './ops/convTranspose2d.ts';
export { instanceNorm2d, type InstanceNormOptions, type NormActivation } from './ops/instanceNorm2d.ts';
export { pad, reflectionPad2d, type PadMode } from './ops/pad.ts';
export { l1Loss, mseLoss } from './ops/loss.ts';
