/**
 * @stripes/nn: modules and layers with PyTorch's names, shapes and defaults,
 * initialization, Adam/SGD with fused in-place kernels, LR schedules, and
 * safetensors state dicts and checkpoints as bytes. Host-free: runs in
 * browsers and Node alike; files on disk are `@stripes/nn/node`.
 */
export { Module, evaluate, type AnyModule, type StateDictSource, type LoadStateDictOptions, type LoadStateDictResult } from './module.ts';
export { assign } from './assign.ts';
export { Conv2d, ConvTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions, type Size2 } from './layers/conv.ts';
export { InstanceNorm2d, type InstanceNorm2dOptions } from './layers/norm.ts';
export { ReflectionPad2d, ZeroPad2d, type Padding2d } from './layers/padding.ts';
export { ReLU, LeakyReLU, Tanh, Sigmoid, Identity } from './layers/activation.ts';
export { Dropout, type DropoutOptions } from './layers/dropout.ts';
export { Sequential } from './layers/container.ts';
export * as init from './init.ts';
export type { InitTarget, InitOptions, KaimingOptions, Nonlinearity } from './init.ts';
export {
  Optimizer,
  type OptimizerParams,
  type ParamGroup,
  type ParamGroupSpec,
  type ParamState,
  type ParamUpdate,
  type OptimizerState,
  type OptimizerStateJson,
  type OptimizerStateSource,
} from './optim/optimizer.ts';
export { Adam, type AdamOptions } from './optim/adam.ts';
export { SGD, type SgdOptions } from './optim/sgd.ts';
export {
  LRScheduler,
  LambdaLR,
  LinearDecayLR,
  StepLR,
  CosineAnnealingLR,
  type LRRule,
  type HasParamGroups,
  type SchedulerState,
  type LinearDecayOptions,
  type StepLROptions,
  type CosineAnnealingOptions,
} from './schedule.ts';
export { clipGradNorm } from './clipGrad.ts';
export {
  encodeStateDict,
  decodeStateDict,
  encodeCheckpoint,
  decodeCheckpoint,
  countNonFinite,
  NonFiniteTensorError,
  type Checkpoint,
  type LoadedCheckpoint,
  type EncodeCheckpointOptions,
  type Json,
} from './checkpoint.ts';
export {
  encodeSafetensors,
  decodeSafetensors,
  type SafeTensor,
  type TensorEntry,
  type TensorDict,
  type DecodedSafetensors,
} from './safetensors.ts';
export { readPth, type PthStateDict, type PthTensor, type PthContainer, type PthDtype } from './pth/read.ts';
export { writePth } from './pth/write.ts';
export { decodeWeights, type DecodedWeights, type WeightsFormat } from './weights.ts';
