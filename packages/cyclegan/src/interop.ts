/**
 * Weights between stripes and the reference PyTorch code, on files:
 * `convert` (a state dict from `.pth` to `.safetensors` or back), `import`
 * (a reference training run's four `<epoch>_net_*.pth` files to a checkpoint
 * that `train --continue_train` resumes) and `export` (a checkpoint to the
 * four files the reference's test.py and train.py load).
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { encodeSafetensors, writePth } from '@stripes/nn';
import { dataRng } from './data/pairing.ts';
import { readWeightsFile, realPath } from './inference.ts';
import { CycleGAN, MODEL_OPTIONS, modelOptionProblems, modelOptionsOf, type ResolvedCycleGANOptions } from './model/cyclegan.ts';
import {
  fromReferenceNetworks, REFERENCE_NETWORKS, referenceFileName, referenceOptions, toReferenceNetworks, type ReferenceNetwork, type ReferenceNetworkFile,
} from './model/referenceWeights.ts';
import { describeProblems, withDefaults, type OptionInput, type OptionSpec, type OptionValues } from './optionSpec.ts';
import { writeFileAtomic } from './report/atomicWrite.ts';
import { CHECKPOINT_OPTIONS, checkpointPath, EXPERIMENT_OPTIONS, readTrainingCheckpoint, saveTrainingCheckpoint } from './train.ts';

type Log = (line: string) => void;

/** Output formats by file extension. */
const OUTPUT_FORMATS: Record<string, 'safetensors' | 'pth'> = { '.safetensors': 'safetensors', '.pth': 'pth', '.pt': 'pth' };

/**
 * `convert`: the state dict of `input` (safetensors, or a `.pth` in either
 * container) written to `output` in the format its extension names:
 * `.safetensors`, or `.pth` / `.pt` (the zip format `torch.load(...,
 * weights_only=True)` reads). Every float tensor is kept, as f32;
 * `num_batches_tracked` counters are left out (the reader drops int64).
 */
export function convertWeights(input: string, output: string, log: Log = console.log): { format: 'safetensors' | 'pth'; tensors: number } {
  const format = OUTPUT_FORMATS[extname(output).toLowerCase()];
  if (!format) throw new Error(`convert: ${output}: the output's extension sets its format: .safetensors, or .pth / .pt (PyTorch's zip format)`);
  if (existsSync(output) && realPath(output) === realPath(input)) throw new Error(`convert: the output is the input (${input}): choose another file`);
  const { tensors, format: from, dropped, wrapper } = readWeightsFile(input);
  writeFileAtomic(output, format === 'pth' ? writePth(tensors) : encodeSafetensors(tensors));
  const count = Object.keys(tensors).length;
  const notes = [
    ...(wrapper ? [`the state dict under '${wrapper}'`] : []),
    ...(dropped.length ? [`left out ${dropped.length} int64 num_batches_tracked counter(s)`] : []),
  ];
  log(`convert: read ${count} tensors from ${input}, a ${from} file, and wrote them to ${output} as ${format}${notes.length ? `; ${notes.join('; ')}` : ''}`);
  if ('net_G_A.model.1.weight' in tensors) {
    log("convert: this is a stripes-cyclegan training checkpoint (networks, Adam state, pooled images in one file); 'stripes-cyclegan export' writes the four files the reference loads");
  }
  return { format, tensors: count };
}

/** The options of import and export beyond the experiment's and the model's. */
export const INTEROP_OPTIONS = {
  reference_dir: {
    type: 'string', commands: ['import'], required: true, metavar: 'dir',
    help: "a reference run's folder (its checkpoints/<name>) holding <epoch>_net_G_A.pth, _G_B, _D_A and _D_B",
  },
  output_dir: {
    type: 'string', commands: ['export'], commandDefault: { export: null }, metavar: 'dir',
    help: 'where the .pth files go [default: <checkpoints_dir>/<name>, where the reference looks for them]',
  },
} as const satisfies Record<string, OptionSpec>;

/** The option groups import reads: its part of the command line. */
const IMPORT_COMMAND_OPTIONS = { ...INTEROP_OPTIONS, ...EXPERIMENT_OPTIONS, ...CHECKPOINT_OPTIONS, ...MODEL_OPTIONS } as const satisfies Record<string, OptionSpec>;

/**
 * `stripes-cyclegan import`'s options as parsed: the reference run
 * (`referenceDir`, `epoch`: 'latest' or an epoch number, which the
 * checkpoint's label repeats), where the checkpoint goes
 * (<checkpointsDir>/<name>; `name` defaults to the reference folder's name),
 * `overwrite`, and the training options of the run to come (the reference
 * keeps none with its weights; `epochCount` defaults to the epoch after
 * `epoch`, 1 for 'latest').
 */
export type ImportCommandOptions = OptionValues<typeof IMPORT_COMMAND_OPTIONS, 'import'>;

/** What `importReferenceRun` takes: the command line's options (only `referenceDir` is required) and a log. */
export type ImportConfig = OptionInput<typeof IMPORT_COMMAND_OPTIONS, 'import'> & { log?: Log };

export interface ImportResult {
  path: string;
  options: ResolvedCycleGANOptions;
}

/** Epochs whose G_A file a reference run folder holds, for messages. */
function savedEpochs(dir: string): string[] {
  try {
    return readdirSync(dir).filter((n) => n.endsWith('_net_G_A.pth')).map((n) => n.slice(0, -'_net_G_A.pth'.length)).sort();
  } catch {
    return [];
  }
}

/**
 * `import`: reads `<referenceDir>/<epoch>_net_{G_A,G_B,D_A,D_B}.pth`, infers
 * the architecture from their shapes (every tensor checked), and writes a
 * training checkpoint at epoch `epochCount`, iteration 0, that `train
 * --continue_train --epoch <epoch>` resumes. The reference saves no
 * optimizer state or image pool: Adam's moments and the pools start empty.
 */
export async function importReferenceRun(input: ImportConfig): Promise<ImportResult> {
  const { log = console.log } = input;
  const config = withDefaults(IMPORT_COMMAND_OPTIONS, 'import', input);
  const { referenceDir, epoch } = config;
  // A reference run's folder is named after its experiment (checkpoints/<name>).
  const name = config.name ?? basename(resolve(referenceDir));
  const paths = Object.fromEntries(REFERENCE_NETWORKS.map((n) => [n, join(referenceDir, referenceFileName(epoch, n))])) as Record<ReferenceNetwork, string>;
  const missing = REFERENCE_NETWORKS.filter((n) => !existsSync(paths[n])).map((n) => referenceFileName(epoch, n));
  if (missing.length) {
    const epochs = savedEpochs(referenceDir);
    throw new Error(
      `import: ${referenceDir} has no ${missing.join(', ')} (a reference run saves <epoch>_net_G_A.pth, _G_B, _D_A and _D_B); ` +
        (epochs.length ? `it holds --epoch ${epochs.join(', ')}` : existsSync(referenceDir) ? 'it holds none' : 'the folder does not exist'),
    );
  }
  const decoded = REFERENCE_NETWORKS.map((n) => readWeightsFile(paths[n]));
  const files = Object.fromEntries(REFERENCE_NETWORKS.map((n, i) => [n, { source: paths[n], tensors: decoded[i].tensors }])) as Record<ReferenceNetwork, ReferenceNetworkFile>;
  let state;
  try {
    state = fromReferenceNetworks(files);
  } catch (e) {
    throw new Error(`import: ${referenceDir} (--epoch ${epoch}): ${(e as Error).message}`);
  }
  const { architecture } = state;
  const options: ResolvedCycleGANOptions = {
    ...modelOptionsOf(config), ...architecture,
    epochCount: config.epochCount ?? (/^\d+$/.test(epoch) ? Number(epoch) + 1 : 1),
  };
  const last = options.nEpochs + options.nEpochsDecay;
  if (options.epochCount > last) {
    throw new Error(`import: the run would start at epoch ${options.epochCount}, past the schedule's last epoch ${last} (n_epochs ${options.nEpochs} + n_epochs_decay ${options.nEpochsDecay}): give --epoch_count or a longer schedule`);
  }
  const problems = modelOptionProblems(options);
  if (problems.length > 0) throw new Error(`import: the networks map ${options.inputNc} to ${options.outputNc} channels: ${describeProblems(problems)}`);
  const path = checkpointPath({ checkpointsDir: config.checkpointsDir, name }, epoch);
  if (existsSync(path) && !config.overwrite) throw new Error(`import: ${path} exists: give --overwrite to replace it, or another --name`);

  mkdirSync(dirname(path), { recursive: true });
  const model = new CycleGAN(options);
  try {
    model.loadState(state.tensors);
    const loader = { epoch: 0, position: 0, epochRng: null, rng: dataRng(options.seed).getState() };
    await saveTrainingCheckpoint(path, model, { epoch: options.epochCount, epochIter: 0, totalIters: 0, loader });
  } finally {
    model.dispose();
  }
  // The reader leaves out the int64 counters, fromReferenceNetworks the running means and variances.
  const dropped = REFERENCE_NETWORKS.reduce((n, net, i) => n + state.dropped[net].length + decoded[i].dropped.length, 0);
  log(`import: ${referenceDir} --epoch ${epoch}: ${referenceOptions(architecture)}${dropped ? `; left out ${dropped} InstanceNorm running statistics, as the reference does` : ''}`);
  log(
    `import: wrote ${path}: the run starts at epoch ${options.epochCount} (lr ${options.lr}, n_epochs ${options.nEpochs}, n_epochs_decay ${options.nEpochsDecay}). ` +
      'The reference saves no optimizer state or image pool: Adam and the image pools start fresh. ' +
      `Resume with: stripes-cyclegan train --dataroot <data> --name ${name} --checkpoints_dir ${config.checkpointsDir} --continue_train${epoch === 'latest' ? '' : ` --epoch ${epoch}`}`,
  );
  return { path, options };
}

/** The option groups export reads: its part of the command line. */
const EXPORT_COMMAND_OPTIONS = { ...INTEROP_OPTIONS, ...EXPERIMENT_OPTIONS, ...CHECKPOINT_OPTIONS } as const satisfies Record<string, OptionSpec>;

/**
 * What `exportReferenceRun` takes: the command line's options (the
 * checkpoint `<checkpointsDir>/<name>/<epoch>.ckpt.safetensors`, whose
 * `epoch` names the files; `outputDir`, by default the experiment folder;
 * `overwrite`), all with the command line's defaults, and a log.
 */
export type ExportConfig = OptionInput<typeof EXPORT_COMMAND_OPTIONS, 'export'> & { log?: Log };

/**
 * `export`: the four networks of `<checkpointsDir>/<name>/<epoch>.ckpt.safetensors`
 * as `<epoch>_net_{G_A,G_B,D_A,D_B}.pth` in PyTorch's zip format, which
 * `torch.load(..., weights_only=True)` and the reference's `load_state_dict`
 * accept. Resolves to the paths written.
 */
export function exportReferenceRun(input: ExportConfig): string[] {
  const { log = console.log } = input;
  const config = withDefaults(EXPORT_COMMAND_OPTIONS, 'export', input);
  const { epoch } = config;
  const source = checkpointPath(config, epoch);
  const { json, tensors } = readTrainingCheckpoint(source, { training: false });
  const outputDir = config.outputDir ?? join(config.checkpointsDir, config.name);
  const nets = toReferenceNetworks(tensors, json.model);
  const paths = REFERENCE_NETWORKS.map((n) => join(outputDir, referenceFileName(epoch, n)));
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length && !config.overwrite) {
    throw new Error(`export: ${existing.map((p) => basename(p)).join(', ')} already in ${outputDir}: give --overwrite to replace them, or another --output_dir`);
  }
  REFERENCE_NETWORKS.forEach((n, i) => writeFileAtomic(paths[i], writePth(nets[n])));
  log(`export: wrote ${paths.map((p) => basename(p)).join(', ')} to ${outputDir} from ${source}`);
  log(`export: the reference loads them (test.py --model cycle_gan, or --model test --model_suffix _A) with ${referenceOptions(json.model)}`);
  return paths;
}
