/**
 * @stripes/tensor. Every op file attaches its method forms to
 * `Tensor.prototype` when it loads, and this index loads them all, so a user
 * of the package always has every method.
 */
import './backward.ts'; // attaches backward(), which has no function form
export { Tensor } from './tensor.ts';
export { tidy, keep } from './scope.ts';
export { noGrad, isGradEnabled } from './autograd.ts';
export type { BackwardOptions } from './backward.ts';
export { Rng, globalRng, manualSeed, type RngState } from './random.ts';
export { broadcastShapes, fmt, pair, sameShape, sizeOf, type Shape } from './shape.ts';
export { contiguousStrides } from '@stripes/kernels';
export { ready, throttle, memory, init, rt, NoAdapterError, type DeviceInfo, type DeviceOptions, type MemoryStats } from './device.ts';
export { tensor, fromArray, zeros, ones, full, zerosLike, onesLike, randn, rand, clone, type NestedArray, type RandomOptions } from './ops/creation.ts';
export { copy_ } from './ops/copy.ts';
export { neg, exp, log, sqrt, abs, relu, leakyRelu, tanh, sigmoid, powScalar, affine } from './ops/unary.ts';
export { add, sub, mul, div, pow, maximum, minimum } from './ops/binary.ts';
export { sum, mean, max, sumToShape } from './ops/reduce.ts';
export { broadcastTo } from './ops/broadcastTo.ts';
export { reshape, flatten } from './ops/reshape.ts';
export { permute, transpose } from './ops/permute.ts';
export { slice, concat, stack } from './ops/slice.ts';
export { matmul } from './ops/matmul.ts';
export { conv2d, repackConvWeights, type Conv2dOptions, type Conv2dPaddingModeOptions, type ConvPaddingMode } from './ops/conv2d.ts';
export { convTranspose2d, type ConvTranspose2dOptions } from './ops/convTranspose2d.ts';
export { instanceNorm2d, type InstanceNormOptions, type NormActivation } from './ops/instanceNorm2d.ts';
export { pad, reflectionPad2d, type PadMode } from './ops/pad.ts';
export { l1Loss, mseLoss } from './ops/loss.ts';
export { adam_, type AdamStepScalars } from './ops/adam.ts';
export { sgd_, type SgdStepScalars } from './ops/sgd.ts';
