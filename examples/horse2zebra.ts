/**
 * Trains CycleGAN on horse2zebra with the paper's settings: 256 px crops of
 * 286 px images, ResNet-9 generators (ngf 64), 70x70 PatchGANs (ndf 64),
 * LSGAN, lambda 10, identity 0.5, a 50-image pool, Adam 2e-4 / (0.5, 0.999),
 * 100 epochs constant then 100 of linear decay, batch 1.
 *
 *   pnpm exec tsx --conditions=@stripes/source examples/horse2zebra.ts [extra CLI options, e.g. --continue_train]
 *
 * (the condition runs the workspace's packages from their TypeScript sources;
 * the installed package's CLI is `stripes-cyclegan train` with these options).
 *
 * The data set is not bundled (about 110 MB): put it at datasets/horse2zebra
 * with trainA, trainB, testA, testB (see the README for where to get it).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '@stripes/cyclegan/node';

const dataroot = join('datasets', 'horse2zebra');
const folders = ['trainA', 'trainB', 'testA', 'testB'];
const missing = folders.filter((f) => !existsSync(join(dataroot, f)));
if (missing.length > 0) {
  console.log(
    `horse2zebra is not at ${dataroot} (missing ${missing.join(', ')}).\n` +
      'Download it as the README says (the reference repo\'s datasets/download_cyclegan_dataset.sh horse2zebra), ' +
      `unpack it to ${dataroot}, and run this again.\n` +
      'Meanwhile, `npm run demo` trains a small CycleGAN on the bundled mini horse2zebra data set.',
  );
  process.exit(1);
}

const paperSettings = [
  '--dataroot', dataroot, '--name', 'horse2zebra_cyclegan',
  '--netG', 'resnet_9blocks', '--ngf', '64', '--ndf', '64', '--n_layers_D', '3',
  '--gan_mode', 'lsgan', '--lambda_A', '10', '--lambda_B', '10', '--lambda_identity', '0.5', '--pool_size', '50',
  '--lr', '0.0002', '--beta1', '0.5', '--n_epochs', '100', '--n_epochs_decay', '100',
  '--batch_size', '1', '--load_size', '286', '--crop_size', '256', '--preprocess', 'resize_and_crop',
];
const code = await main(['train', ...paperSettings, ...process.argv.slice(2)]);
process.exit(code);
