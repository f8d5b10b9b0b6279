/**
 * @stripes/cyclegan/node: CycleGAN on files, for Node.js: PNG/JPEG codecs,
 * the unaligned dataset and its worker-thread loader, the training loop with
 * checkpoints and reports on disk, the `test` and `translate` commands,
 * weights to and from the reference PyTorch code (`convert`, `import`,
 * `export`), the mini horse2zebra dataset written to disk, and the
 * `stripes-cyclegan` CLI.
 * The host-free model, transforms and report pieces are `@stripes/cyclegan`.
 */
export { readImage, writePng, decodeImage, encodePng, probeImage, ImageDecodeError, MAX_MEGAPIXELS, type ImageFormat, type ImageInfo } from './image/codec.ts';
export { listImages, UnalignedDataset, type UnalignedDatasetOptions, type DatasetItem, type LoadFailure } from './data/dataset.ts';
export { DataLoader, type DataLoaderOptions, type DataLoaderState, type Batch } from './data/loader.ts';
export {
  train,
  checkpointPath,
  saveTrainingCheckpoint,
  readTrainingCheckpoint,
  CHECKPOINT_SUFFIX,
  TRAIN_OPTIONS_FILE,
  TrainingDivergedError,
  resolveRunOptions,
  checkImageSizes,
  checkTrainingSizes,
  trainOptionProblems,
  ARCHITECTURE_OPTIONS,
  SCHEDULE_OPTIONS,
  type ResolvedRun,
  type TrainConfig,
  type TrainCommandOptions,
  type TrainProgramOptions,
  type TrainHooks,
  type TrainResult,
  type IterationInfo,
  type TrainCheckpointJson,
} from './train.ts';
export {
  runTest,
  translatePath,
  loadModel,
  loadGeneratorFile,
  readWeightsFile,
  outputStems,
  type LoadedGenerator,
  type TestConfig,
  type TestMetrics,
  type TestResult,
  type TranslateOptions as TranslatePathOptions,
} from './inference.ts';
export {
  convertWeights,
  importReferenceRun,
  exportReferenceRun,
  type ImportConfig,
  type ImportCommandOptions,
  type ImportResult,
  type ExportConfig,
} from './interop.ts';
export { validateCheckpoint, networkShapes, CheckpointFormatError, CHECKPOINT_FORMAT, CHECKPOINT_LIMITS, type ValidateOptions } from './model/checkpointFormat.ts';
export {
  generateMiniZebra,
  loadMiniZebraSplit,
  readMiniZebraManifest,
  readMask,
  MANIFEST_FILE,
  type MiniZebraOptions,
  type MiniZebraManifest,
  type MiniZebraResult,
  type MiniZebraSplit,
} from './demo/dataset.ts';
export { appendLossRecord, readLossLog, trimLossLog, writeLossPlot, LOSS_LOG_FILE, LOSS_PLOT_FILE } from './report/lossLog.ts';
// Also in the root entry (it is host-free); here beside trainReport, which draws one on a stream.
export { ProgressWriter, type ProgressStream } from './report/progress.ts';
export { trainReport, type TrainReport } from './cli/trainReport.ts';
export { main, EXIT_DIVERGED } from './cli/main.ts';
export {
  parseArgs,
  parseCommandLine,
  helpText,
  isHelpRequest,
  OptionsError,
  COMMANDS,
  type Command,
  type OptionName,
  type OptionsFor,
  type ParsedOptions,
  type TrainOptions,
  type TestOptions,
  type TranslateOptions,
  type ConvertOptions,
  type ImportOptions,
  type ExportOptions,
} from './cli/options.ts';
