/// <reference types="@webgpu/types" preserve="true" />
export { acquireDevice, isSoftwareAdapter, NoAdapterError, type DeviceInfo, type AcquiredDevice, type DeviceOptions } from './device.ts';
export { init, rt, Runtime, type InitOptions, GpuError, KernelProfiler, sizeClass, type DeviceBuffer, type BoundRange, type MemoryStats } from './runtime.ts';
export {
  defineKernel, grid1d, gridFor, MAX_PARAM_WORDS, MAX_WORKGROUPS_PER_DIM, WGSL_FLAT_WORKGROUP, wgslElementwiseMain,
  type BindingBuffers, type BindingDecl, type BindingDecls, type Kernel, type KernelDecl, type ParamDecls, type ParamScalar, type ParamType,
  type ParamValues, type StorageAccess, type StorageElement,
} from './kernel.ts';
export { debugOptionsFromEnv, type DebugOptions } from './debug.ts';
export { contiguousStrides, collapse, padDims, MAX_DIMS, WGSL_STRIDED_OFFSET } from './ops/layout.ts';
export { fill, fillKernel } from './ops/fill.ts';
export { unary, unaryKernel, UNARY_OPS, WGSL_POW_SIGNED, type UnaryOp } from './ops/unary.ts';
export { unaryBackward, unaryBackwardKernel, UNARY_BACKWARD_OPS, type UnaryBackwardOp } from './ops/unaryBackward.ts';
export { binary, binaryKernel, broadcastStrides, BINARY_OPS, type BinaryOp } from './ops/binary.ts';
export { stridedCopy, stridedCopyKernel, type StridedView } from './ops/stridedCopy.ts';
export { reduce, reduceGroupLanes, reduceKernel, type ReduceOp, type ReduceOptions } from './ops/reduce.ts';
export { matmul, matmulKernel, type MatmulArgs } from './ops/matmul.ts';
export {
  convTiles, CONV_TILE_CONFIGS, convOutSize, copyBandRows, bandRows, defaultConvTiles, namedConvTiles,
  reflectPadArgs, reflectPaddedGeometry, type ConvGeometry, type ConvPaddingMode, type ConvTiles, type ConvTilesName,
} from './ops/convTiles.ts';
export {
  packChannelsLast, packChannelsLastCached, packChannelsLastKernel, packChannelsLastPair, packOperandsPerDispatch, repackStaleChannelsLast, type PackLayout, type PackOperand, type PackReflectPadding,
} from './ops/packChannelsLast.ts';
export { conv2dForward, conv2dForwardKernel } from './ops/conv2dForward.ts';
export { conv2dInputGrad, conv2dInputGradKernel } from './ops/conv2dInputGrad.ts';
export { accumulate, accumulateKernel } from './ops/accumulate.ts';
export { conv2dWeightGradSlices, conv2dWeightGradSlicesKernel, type SlicedSum } from './ops/conv2dWeightGradSlices.ts';
export { conv2dWeightGrad, conv2dWeightGradKernel, conv2dWeightGradWithBiasKernel, type WeightGradBias, type WeightGradOptions } from './ops/conv2dWeightGrad.ts';
export { adam, adamKernel, adamSlots, type AdamOperands, type AdamStepScalars } from './ops/adam.ts';
export { sgd, sgdKernel, type SgdStepScalars } from './ops/sgd.ts';
export { instanceNorm2d, instanceNorm2dKernel, NORM_PARAMS, normParams, normThreads, NORM_WORKGROUP, WGSL_NORM_HELPERS, wgslWorkgroupSum2, type InstanceNorm2dArgs, type NormThreads } from './ops/instanceNorm2d.ts';
export { instanceNorm2dBackward, instanceNorm2dBackwardKernel } from './ops/instanceNorm2dBackward.ts';
export { pad, padKernel, padOutputSize, type PadMode, type Pad2d, type PadArgs } from './ops/pad.ts';
export { padBackward, padBackwardKernel } from './ops/padBackward.ts';
export { loss, lossKernel, LOSS_OPS, type LossOp } from './ops/loss.ts';
export { lossBackward, lossBackwardKernel } from './ops/lossBackward.ts';
