import { describe, expect, expectTypeOf, it } from 'vitest';
import { OptionsError, helpText, isHelpRequest, parseArgs, parseCommandLine, type Command } from '@stripes/cyclegan/node';

/** The problems `parseArgs` reports, or [] when it parses. */
function problems(command: Command, argv: string[]): string[] {
  try {
    parseArgs(command, argv);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(OptionsError);
    return (e as OptionsError).problems;
  }
}

describe('parseArgs defaults', () => {
  it('train: the reference CycleGAN defaults', () => {
    const o = parseArgs('train', ['--dataroot', 'datasets/horse2zebra']);
    expect(o).toMatchObject({
      command: 'train',
      dataroot: 'datasets/horse2zebra',
      name: 'experiment_name',
      checkpointsDir: './checkpoints',
      ngf: 64,
      ndf: 64,
      netG: 'resnet_9blocks',
      netD: 'basic',
      nLayersD: 3,
      norm: 'instance',
      initType: 'normal',
      initGain: 0.02,
      noDropout: true,
      ganMode: 'lsgan',
      lambdaA: 10,
      lambdaB: 10,
      lambdaIdentity: 0.5,
      poolSize: 50,
      lr: 0.0002,
      beta1: 0.5,
      lrPolicy: 'linear',
      nEpochs: 100,
      nEpochsDecay: 100,
      epochCount: 1,
      batchSize: 1,
      loadSize: 286,
      cropSize: 256,
      preprocess: 'resize_and_crop',
      noFlip: false,
      serialBatches: false,
      maxDatasetSize: Infinity,
      inputNc: 3,
      outputNc: 3,
      direction: 'AtoB',
      seed: 0,
      saveEpochFreq: 5,
      saveLatestFreq: 5000,
      displayFreq: 400,
      printFreq: 100,
      continueTrain: false,
      epoch: 'latest',
      strict: false,
      phase: 'train',
    });
    expect(o).not.toHaveProperty('resultsDir');
    expectTypeOf(o.netG).toEqualTypeOf<'resnet_9blocks' | 'resnet_6blocks'>();
    expectTypeOf(o.lambdaA).toEqualTypeOf<number>();
    expectTypeOf(o.noFlip).toEqualTypeOf<boolean>();
  });

  it('test: its own defaults (load_size = crop_size, phase test, every image)', () => {
    const o = parseArgs('test', ['--dataroot', 'd']);
    expect(o).toMatchObject({ command: 'test', resultsDir: './results', loadSize: 256, cropSize: 256, phase: 'test', numTest: Infinity, epoch: 'latest' });
    // Training-only options are not accepted by test.
    expect(o).not.toHaveProperty('lr');
    expect(problems('test', ['--dataroot', 'd', '--lr', '0.1'])).toEqual(['--lr is not a test option (it belongs to train and import)']);
  });

  it('translate: a checkpoint, a direction and two paths', () => {
    const o = parseArgs('translate', ['--model', 'ckpt/latest.safetensors', 'horse.jpg', 'zebra.png']);
    expect(o).toEqual({ command: 'translate', model: 'ckpt/latest.safetensors', direction: 'AtoB', strict: false, input: 'horse.jpg', output: 'zebra.png' });
    expect(parseArgs('translate', ['--model', 'm', '--strict', 'a', 'b']).strict).toBe(true);
    expectTypeOf(o.input).toEqualTypeOf<string>();
    expect(parseArgs('translate', ['in.png', '--direction=BtoA', 'out.png', '--model=m']).direction).toBe('BtoA');
    expect(parseArgs('translate', ['--model', 'm', '--', '--odd-name.png', 'out.png']).input).toBe('--odd-name.png');
    // No default size: absent unless given.
    expect(parseArgs('translate', ['--model', 'm', '--load_size', '256', 'a', 'b']).loadSize).toBe(256);
    expectTypeOf(o.loadSize).toEqualTypeOf<number | undefined>();
  });

  it('convert, import, export: paths, the reference run, and options absent unless given', () => {
    expect(parseArgs('convert', ['a.pth', 'b.safetensors'])).toEqual({ command: 'convert', input: 'a.pth', output: 'b.safetensors' });
    const imported = parseArgs('import', ['--reference_dir', 'checkpoints/horse2zebra', '--lr', '0.0001']);
    expect(imported).toEqual({
      command: 'import', referenceDir: 'checkpoints/horse2zebra', checkpointsDir: './checkpoints', epoch: 'latest', overwrite: false,
      ganMode: 'lsgan', lambdaA: 10, lambdaB: 10, lambdaIdentity: 0.5, poolSize: 50, lr: 0.0001, beta1: 0.5, nEpochs: 100, nEpochsDecay: 100, seed: 0,
    });
    expectTypeOf(imported.name).toEqualTypeOf<string | undefined>();
    expect(parseArgs('import', ['--reference_dir', 'r', '--name', 'n', '--epoch_count', '7'])).toMatchObject({ name: 'n', epochCount: 7 });
    expect(parseArgs('export', ['--name', 'n'])).toEqual({ command: 'export', name: 'n', checkpointsDir: './checkpoints', epoch: 'latest', overwrite: false });
    expect(problems('import', ['--ngf', '8'])).toEqual(['--ngf is not an import option (it belongs to train and test)', 'missing required option --reference_dir']);
    expect(problems('convert', ['only.pth'])).toEqual(['expected 2 arguments (<input> <output>), got 1']);
  });
});

describe('parseArgs spellings and values', () => {
  it('accepts reference, kebab-case and camelCase names', () => {
    for (const flag of ['--lambda_A', '--lambda-A', '--lambdaA']) {
      expect(parseArgs('train', ['--dataroot', 'd', flag, '5']).lambdaA).toBe(5);
    }
    for (const flag of ['--n_layers_D', '--n-layers-D', '--nLayersD']) {
      expect(parseArgs('train', ['--dataroot', 'd', '--netD', 'n_layers', flag, '4']).nLayersD).toBe(4);
    }
    expect(parseArgs('train', ['--dataroot', 'd', '--checkpoints-dir', 'c']).checkpointsDir).toBe('c');
    expect(parseArgs('train', ['--dataroot', 'd', '--saveLatestFreq=100']).saveLatestFreq).toBe(100);
  });

  it('reads values after a space or =, flags bare or with =true/false, and the last repeat wins', () => {
    const o = parseArgs('train', ['--dataroot=d', '--no_flip', '--serial_batches=true', '--no_dropout=false', '--lr', '1e-3', '--lr=0.001', '--continue_train=0']);
    expect(o).toMatchObject({ dataroot: 'd', noFlip: true, serialBatches: true, noDropout: false, lr: 0.001, continueTrain: false });
  });

  it('accepts Infinity where the reference defaults to inf', () => {
    expect(parseArgs('train', ['--dataroot', 'd', '--max_dataset_size', '100']).maxDatasetSize).toBe(100);
    expect(parseArgs('train', ['--dataroot', 'd', '--max_dataset_size', 'inf']).maxDatasetSize).toBe(Infinity);
    expect(parseArgs('test', ['--dataroot', 'd', '--num_test', 'Infinity']).numTest).toBe(Infinity);
    expect(problems('train', ['--dataroot', 'd', '--n_epochs', 'inf'])).toEqual(["--n_epochs expects an integer, got 'inf'"]);
  });

  it('rejects numbers that overflow: 1e400 is not a learning rate, 2^64 not an epoch count', () => {
    expect(problems('train', ['--dataroot', 'd', '--lr', '1e400'])).toEqual(['--lr 1e400 is out of range (a finite number)']);
    expect(problems('train', ['--dataroot', 'd', '--lambda_A', '1e309'])).toEqual(['--lambda_A 1e309 is out of range (a finite number)']);
    expect(problems('train', ['--dataroot', 'd', '--n_epochs', '18446744073709551616'])).toEqual([
      '--n_epochs 18446744073709551616 is out of range (integers up to 9007199254740991)',
    ]);
    expect(parseArgs('train', ['--dataroot', 'd', '--lr', '1e30']).lr).toBe(1e30);
  });

  it('tells which options the command line set, for a resumed run', () => {
    const { options, given } = parseCommandLine('train', ['--dataroot', 'd', '--continue_train', '--n-epochs', '5', '--lambdaA=3']);
    expect(options.nEpochs).toBe(5);
    expect([...given].sort()).toEqual(['continueTrain', 'dataroot', 'lambdaA', 'nEpochs']);
    // A resumed run's schedule may come from its checkpoint: the epoch range is checked by train then.
    expect(problems('train', ['--dataroot', 'd', '--continue_train', '--epoch_count', '300'])).toEqual([]);
    expect(parseArgs('train', ['--dataroot', 'd', '--overwrite']).overwrite).toBe(true);
  });
});

describe('parseArgs problems', () => {
  it('suggests the nearest option for a typo', () => {
    expect(problems('train', ['--dataroot', 'd', '--lamda_A', '3'])).toEqual(['unknown option --lamda_A; did you mean --lambda_A?']);
    expect(problems('train', ['--dataroot', 'd', '--lambda_a', '3'])).toEqual(['unknown option --lambda_a; did you mean --lambda_A?']);
    expect(problems('train', ['--dataroot', 'd', '--crop-szie', '3'])).toEqual(['unknown option --crop-szie; did you mean --crop_size?']);
    expect(problems('train', ['--dataroot', 'd', '--nEpoch', '3'])).toEqual(['unknown option --nEpoch; did you mean --n_epochs?']);
    expect(problems('train', ['--dataroot', 'd', '--gpu_ids', '0'])).toEqual(['unknown option --gpu_ids']);
  });

  it('rejects bad numbers, out-of-range values and bad choices', () => {
    expect(problems('train', ['--dataroot', 'd', '--lr', 'fast'])).toEqual(["--lr expects a number, got 'fast'"]);
    expect(problems('train', ['--dataroot', 'd', '--lr', '-0.1'])).toEqual(['--lr must be greater than 0, got -0.1']);
    expect(problems('train', ['--dataroot', 'd', '--lr', '0'])).toEqual(['--lr must be greater than 0, got 0']);
    expect(problems('train', ['--dataroot', 'd', '--batch_size', '2.5'])).toEqual(["--batch_size expects an integer, got '2.5'"]);
    expect(problems('train', ['--dataroot', 'd', '--batch_size', '0'])).toEqual(['--batch_size must be at least 1, got 0']);
    expect(problems('train', ['--dataroot', 'd', '--lambda_B', '-1'])).toEqual(['--lambda_B must be at least 0, got -1']);
    expect(problems('train', ['--dataroot', 'd', '--beta1', '1'])).toEqual(['--beta1 must be at most 0.999999, got 1']);
    expect(problems('train', ['--dataroot', 'd', '--netG', 'resnet_9block'])).toEqual([
      "--netG must be one of resnet_9blocks, resnet_6blocks, got 'resnet_9block'; did you mean resnet_9blocks?",
    ]);
    expect(problems('train', ['--dataroot', 'd', '--norm', 'batch'])).toEqual(["--norm must be one of instance, got 'batch'"]);
    expect(problems('train', ['--dataroot', 'd', '--no_flip=maybe'])).toEqual(["--no_flip takes true or false, got 'maybe'"]);
  });

  it('checks crop_size against load_size only when the preprocess crops after scaling', () => {
    expect(problems('train', ['--dataroot', 'd', '--load_size', '256', '--crop_size', '286'])).toEqual([
      '--crop_size 286 is larger than --load_size 256, but --preprocess resize_and_crop crops after scaling to load_size',
    ]);
    expect(problems('train', ['--dataroot', 'd', '--load_size', '256', '--crop_size', '286', '--preprocess', 'scale_width_and_crop'])).toHaveLength(1);
    expect(problems('train', ['--dataroot', 'd', '--load_size', '256', '--crop_size', '286', '--preprocess', 'crop'])).toEqual([]);
    expect(problems('test', ['--dataroot', 'd', '--crop_size', '300'])).toHaveLength(1);
  });

  it('checks the identity loss channels and the epoch range', () => {
    expect(problems('train', ['--dataroot', 'd', '--input_nc', '1'])).toEqual([
      '--lambda_identity 0.5 needs --input_nc == --output_nc (got 1 and 3); set --lambda_identity 0',
    ]);
    expect(problems('train', ['--dataroot', 'd', '--input_nc', '1', '--lambda_identity', '0'])).toEqual([]);
    expect(problems('train', ['--dataroot', 'd', '--n_epochs', '2', '--n_epochs_decay', '3', '--epoch_count', '6'])).toEqual([
      '--epoch_count 6 is past the last epoch (n_epochs + n_epochs_decay = 5)',
    ]);
  });

  it('accepts only the channel counts images are converted to, reporting others with every other problem', () => {
    expect(problems('train', ['--dataroot', 'd', '--input_nc', '2', '--output_nc', '4', '--lr', '0'])).toEqual([
      '--input_nc must be one of 1, 3, got 2',
      '--output_nc must be one of 1, 3, got 4',
      '--lr must be greater than 0, got 0',
    ]);
    expect(problems('test', ['--dataroot', 'd', '--output_nc', '2'])).toEqual(['--output_nc must be one of 1, 3, got 2']);
    expect(problems('train', ['--dataroot', 'd', '--input_nc', '1', '--output_nc', '1'])).toEqual([]);
  });

  it('reports missing required options, missing values and stray arguments', () => {
    expect(problems('train', [])).toEqual(['missing required option --dataroot']);
    expect(problems('train', ['--dataroot'])).toEqual(['--dataroot needs a value']);
    expect(problems('train', ['--dataroot', 'd', '--name', '--lr', '0.1'])).toEqual(['--name needs a value']);
    expect(problems('train', ['--dataroot', 'd', 'extra'])).toEqual(["unexpected argument 'extra'"]);
    expect(problems('train', ['--dataroot', 'd', '-x'])).toEqual(['unknown option -x; options start with --']);
    expect(problems('translate', ['in.png'])).toEqual(['missing required option --model', 'expected 2 arguments (<input> <output>), got 1']);
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      parseArgs('train', ['--datarot', 'd', '--lr', '-1', '--netG', 'unet_256', '--results_dir', 'r', '--crop_size', 'big']);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OptionsError);
    const err = error as OptionsError;
    expect(err.command).toBe('train');
    expect(err.problems).toEqual([
      'unknown option --datarot; did you mean --dataroot?',
      '--lr must be greater than 0, got -1',
      "--netG must be one of resnet_9blocks, resnet_6blocks, got 'unet_256'",
      '--results_dir is not a train option (it belongs to test)',
      "--crop_size expects an integer, got 'big'",
      'missing required option --dataroot',
    ]);
    for (const p of err.problems) expect(err.message).toContain(p);
  });
});

describe('help', () => {
  it('lists every option of a command with its default and a description', () => {
    const train = helpText('train');
    expect(train).toMatch(/^Usage: stripes-cyclegan train --dataroot <dir>/);
    expect(train).toMatch(/--lambda_A <float> +weight of the cycle loss A -> B -> A \[default: 10\]/);
    expect(train).toMatch(/--netG resnet_9blocks\|resnet_6blocks +generator architecture \[default: resnet_9blocks\]/);
    expect(train).toMatch(/--dataroot <dir> +.*\[required\]/);
    expect(train).toMatch(/--no_dropout +.*\[default: on\]/);
    expect(train).toMatch(/--max_dataset_size <int> +.*\[default: Infinity\]/);
    expect(train).not.toContain('--results_dir');
    const optionLines = train.split('\n').filter((l) => /^ {2}--/.test(l));
    expect(optionLines.length).toBe(Object.keys(parseArgs('train', ['--dataroot', 'd'])).length - 1);

    expect(train).toMatch(/Resuming \(--continue_train\)/);
    expect(train).toMatch(/architecture +--input_nc .*\n.*an error naming both/);
    expect(train).toMatch(/schedule +--n_epochs --n_epochs_decay: given, they replace the checkpoint's/);
    expect(train).toContain('train_opt.txt');
    expect(train).toMatch(/--overwrite +start a new run/);
    expect(helpText('translate')).toMatch(/nothing is\s+written over an input/);
    expect(helpText('test')).toMatch(/--load_size <int> +.*\[default: 256\]/);
    expect(helpText('test')).toContain('--results_dir');
    expect(helpText('translate')).toMatch(/^Usage: stripes-cyclegan translate --model <file> \[options\] <input> <output>/);
  });

  it('convert, import and export: their options, and what the ones without a default do', () => {
    expect(helpText('convert')).toMatch(/^Usage: stripes-cyclegan convert <input> <output>\n\n<input> is a state dict/);
    expect(helpText('convert')).not.toContain('Options:');
    const importHelp = helpText('import');
    expect(importHelp).toMatch(/--reference_dir <dir> +.*\[required\]/);
    expect(importHelp).toMatch(/--name <string> +.*\[default: the reference_dir's name\]$/m);
    expect(importHelp).toMatch(/--epoch_count <int> +the epoch the imported run starts at \[default: the one after --epoch; 1 for latest/);
    expect(importHelp).toMatch(/--lr <float> +initial Adam learning rate \[default: 0.0002\]/);
    expect(importHelp).toMatch(/Adam and the pools start\s+fresh/);
    expect(importHelp).not.toMatch(/--ngf|--dataroot/);
    expect(helpText('export')).toMatch(/--output_dir <dir> +where the .pth files go \[default: <checkpoints_dir>\/<name>, where the reference looks for them\]$/m);
    expect(helpText('translate')).toMatch(/--load_size <int> +scale each image to load_size x load_size first .*\[default: each image keeps its size\]$/m);
  });

  it('recognizes help requests', () => {
    expect(isHelpRequest(['--dataroot', 'd', '--help'])).toBe(true);
    expect(isHelpRequest(['-h'])).toBe(true);
    expect(isHelpRequest(['--model', 'm', '--', '-h', 'out'])).toBe(false);
    expect(isHelpRequest(['--dataroot', 'd'])).toBe(false);
  });
});
