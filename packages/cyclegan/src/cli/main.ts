/**
 * `stripes-cyclegan train | test | translate | convert | import | export`,
 * with the reference code's option names (see `--help`).
 */
import { ready } from '@stripes/tensor';
import { runTest, translatePath } from '../inference.ts';
import { convertWeights, exportReferenceRun, importReferenceRun } from '../interop.ts';
import { checkpointPath, train, TrainingDivergedError } from '../train.ts';
import { COMMANDS, helpText, isHelpRequest, OptionsError, parseCommandLine, type Command } from './options.ts';
import { trainReport } from './trainReport.ts';

const USAGE = `usage: stripes-cyclegan <command> [options]

commands:
  train       train a CycleGAN on <dataroot>/trainA and trainB
  test        translate every image of <dataroot>/testA and testB both ways; writes images, an HTML page and metrics.json
  translate   translate one image or a folder: translate --model <checkpoint | generator .pth/.safetensors> [--direction AtoB] <in> <out>
  convert     a state dict from .pth to .safetensors or back: convert <in> <out>
  import      a reference (PyTorch) run's <epoch>_net_{G_A,G_B,D_A,D_B}.pth as a checkpoint train --continue_train resumes
  export      a checkpoint's networks as the reference's <epoch>_net_{G_A,G_B,D_A,D_B}.pth

'stripes-cyclegan <command> --help' lists a command's options and their defaults.`;

/** Exit status of a run stopped by non-finite losses or weights. */
export const EXIT_DIVERGED = 3;

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
  let given: ReadonlySet<string>;
  try {
    ({ options, given } = parseCommandLine(cmd, rest));
  } catch (e) {
    if (e instanceof OptionsError) {
      // The message already names the command.
      console.error(`${e.message}\n(see 'stripes-cyclegan ${cmd} --help')`);
      return 2;
    }
    throw e;
  }
  // Files only: no device needed.
  if (options.command === 'convert') {
    convertWeights(options.input, options.output);
    return 0;
  }
  if (options.command === 'export') {
    // The parsed options are the config: its fields are the option table's.
    exportReferenceRun(options);
    return 0;
  }
  const info = await ready();
  console.log(`WebGPU adapter: ${info.name}`);

  if (options.command === 'train') {
    // The parsed options are the config; `given` tells a resumed run what the command line set.
    const config = { ...options, given };
    const report = trainReport(`${config.checkpointsDir}/${config.name}`, config.name);
    const t0 = performance.now();
    let result;
    try {
      result = await train(config, report.hooks);
    } catch (e) {
      report.done();
      if (!(e instanceof TrainingDivergedError)) throw e;
      console.error(`stripes-cyclegan train: ${e.message}`);
      return EXIT_DIVERGED;
    }
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
    const result = await runTest(options);
    console.log(`images and page: ${result.htmlPath}\nmetrics: ${result.metricsPath}\n${JSON.stringify(result.metrics, null, 2)}`);
    return 0;
  }
  if (options.command === 'import') {
    await importReferenceRun(options);
    return 0;
  }
  await translatePath(options.model, options.direction, options.input, options.output, { strict: options.strict, loadSize: options.loadSize });
  return 0;
}
