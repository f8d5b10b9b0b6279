/**
 * `stripes-cyclegan train | test | translate`, with the reference code's
 * option names (see `--help`).
 */
import { ready } from '@stripes/tensor';
import { runTest, translatePath } from '../inference.ts';
import { checkpointPath, train, type TrainConfig } from '../train.ts';
import { COMMANDS, helpText, isHelpRequest, OptionsError, parseArgs, type Command, type TrainOptions } from './options.ts';
import { trainReport } from './trainReport.ts';

const USAGE = `usage: stripes-cyclegan <command> [options]

commands:
  train       train a CycleGAN on <dataroot>/trainA and trainB
  test        translate every image of <dataroot>/testA and testB both ways; writes images, an HTML page and metrics.json
  translate   translate one image or a folder with a checkpoint: translate --model <ckpt> [--direction AtoB] <in> <out>

'stripes-cyclegan <command> --help' lists a command's options and their defaults.`;

export function trainConfig(o: TrainOptions): TrainConfig {
  return {
    dataroot: o.dataroot, name: o.name, checkpointsDir: o.checkpointsDir,
    inputNc: o.inputNc, outputNc: o.outputNc, ngf: o.ngf, ndf: o.ndf,
    nBlocks: o.netG === 'resnet_6blocks' ? 6 : 9,
    nLayersD: o.netD === 'basic' ? 3 : o.nLayersD,
    dropout: !o.noDropout, initGain: o.initGain, ganMode: o.ganMode,
    lambdaA: o.lambdaA, lambdaB: o.lambdaB, lambdaIdentity: o.lambdaIdentity, poolSize: o.poolSize,
    lr: o.lr, beta1: o.beta1, nEpochs: o.nEpochs, nEpochsDecay: o.nEpochsDecay, epochCount: o.epochCount, seed: o.seed,
    batchSize: o.batchSize, loadSize: o.loadSize, cropSize: o.cropSize, preprocess: o.preprocess, noFlip: o.noFlip,
    serialBatches: o.serialBatches, maxDatasetSize: Number.isFinite(o.maxDatasetSize) ? o.maxDatasetSize : undefined,
    direction: o.direction, strict: o.strict,
    saveLatestFreq: o.saveLatestFreq, saveEpochFreq: o.saveEpochFreq, displayFreq: o.displayFreq, printFreq: o.printFreq,
    continueTrain: o.continueTrain, epoch: o.epoch,
  };
}

/** Runs a command line; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    console.error(`stripes-cyclegan: unknown command '${command}'\n\n${USAGE}`);
    return 2;
  }
  const cmd = command as Command;
  if (isHelpRequest(rest)) {
    console.log(helpText(cmd));
    return 0;
  }
  let options;
  try {
    options = parseArgs(cmd, rest);
  } catch (e) {
    if (e instanceof OptionsError) {
      console.error(`stripes-cyclegan ${cmd}: ${e.message}\n(see 'stripes-cyclegan ${cmd} --help')`);
      return 2;
    }
    throw e;
  }
  const info = await ready();
  console.log(`WebGPU adapter: ${info.name}`);

  if (options.command === 'train') {
    const config = trainConfig(options);
    const report = trainReport(`${config.checkpointsDir}/${config.name}`, config.name);
    const t0 = performance.now();
    const result = await train(config, report.hooks);
    report.done();
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `${result.interrupted ? 'interrupted' : 'finished'} at epoch ${result.epoch}, iteration ${result.totalIters} (${seconds.toFixed(1)} s)\n` +
        `checkpoint: ${checkpointPath(config, 'latest')}\nloss log: ${report.lossLogPath}\nloss plot: ${report.lossPlotPath}\nsamples: ${report.samplesIndexPath}`,
    );
    result.model.dispose();
    return result.interrupted ? 130 : 0;
  }
  if (options.command === 'test') {
    const result = await runTest({
      dataroot: options.dataroot, name: options.name, checkpointsDir: options.checkpointsDir, resultsDir: options.resultsDir,
      epoch: options.epoch, phase: options.phase, loadSize: options.loadSize, cropSize: options.cropSize,
      preprocess: options.preprocess, numTest: options.numTest, strict: options.strict,
    });
    console.log(`images and page: ${result.htmlPath}\nmetrics: ${result.metricsPath}\n${JSON.stringify(result.metrics, null, 2)}`);
    return 0;
  }
  await translatePath(options.model, options.direction, options.input, options.output);
  return 0;
}
