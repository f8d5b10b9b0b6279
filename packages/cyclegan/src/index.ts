/**
 * @stripes/cyclegan: CycleGAN (Zhu et al., ICCV 2017) on @stripes/nn: the
 * ResNet generator and PatchGAN discriminator, the losses, the image pool
 * and the training step, with the reference code's names and defaults; image
 * conversion, resizing and the training transforms on pixel arrays;
 * metrics; sample grids, HTML pages and the loss plot as values. Host-free:
 * runs in browsers and Node alike; files, codecs, data loading, the
 * training loop and the CLI are `@stripes/cyclegan/node`, the demo's scenes
 * `@stripes/cyclegan/demo`.
 */
export {
  ResnetBlock,
  ResnetGenerator,
  NLayerDiscriminator,
  initWeights,
  minimumImageSize,
  type ResnetGeneratorOptions,
  type NLayerDiscriminatorOptions,
} from './model/networks.ts';
export { generatorSpec, findGenerators, loadGenerator, describeGenerator, dropRunningStats, type GeneratorSpec, type GeneratorWeights } from './model/generatorWeights.ts';
export {
  fromReferenceNetworks,
  toReferenceNetworks,
  discriminatorSpec,
  referenceFileName,
  referenceOptions,
  REFERENCE_NETWORKS,
  type ReferenceNetwork,
  type ReferenceNetworkFile,
  type ReferenceState,
  type CycleGANArchitecture,
  type DiscriminatorSpec,
} from './model/referenceWeights.ts';
export {
  CycleGAN,
  readLosses,
  translateTensor,
  CYCLEGAN_DEFAULTS,
  DIRECTIONS,
  modelOptionsOf,
  modelOptionProblems,
  LOSS_NAMES,
  type CycleGANOptions,
  type ModelCommandOptions,
  type Direction,
  type ResolvedCycleGANOptions,
  type CycleGANLosses,
  type CycleGANVisuals,
  type CycleGANTrainingState,
} from './model/cyclegan.ts';
export { ganLoss, l1, GAN_MODES, type GanMode } from './model/losses.ts';
export { ImagePool, type ImagePoolJson } from './model/imagePool.ts';
export {
  SEGMENT_THRESHOLD,
  STRIPE_MOVEMENT_TARGET,
  MASK_IOU_TARGET,
  luminance,
  stripeMaps,
  stripeScore,
  segmentObject,
  maskIoU,
  evaluateTranslation,
  type TranslationSet,
  type TranslationReport,
} from './metrics.ts';
export type { ImageU8, ImageCHW } from './image/types.ts';
export { toCHW, fromCHW, tensor2im, toChannels, IMAGE_CHANNELS, isImageChannels, type ImageChannels } from './image/convert.ts';
export { resize, type ImageF32, type ResampleFilter } from './image/resize.ts';
export {
  applyTransform,
  getParams,
  validateTransformOptions,
  PREPROCESS_MODES,
  type Preprocess,
  type TransformOptions,
  type TransformParams,
} from './data/transforms.ts';
export { dataRng, epochOrder, planItem, type ItemPlan } from './data/pairing.ts';
export { composeGrid, firstImage, sampleRow, visualsGrid, GRID_COLUMNS, type GridColumn, type GridOptions, type SampleImages } from './report/grid.ts';
export { samplesIndexHtml, testResultsHtml, pathToHref, type SampleEntry, type TestPair, type TestPageOptions } from './report/html.ts';
export { lossPlotSvg, niceTicks, type PlotOptions } from './report/plot.ts';
export type { LossRecord } from './report/lossLog.ts';
export {
  formatProgress,
  formatDuration,
  ProgressWriter,
  type ProgressState,
  type FormatOptions,
  type ProgressStream,
  type ProgressUpdate,
  type ProgressWriterOptions,
} from './report/progress.ts';
