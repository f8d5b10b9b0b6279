import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CycleGAN, toReferenceNetworks } from '@stripes/cyclegan';
import { generateMiniZebra, readImage, readTrainingCheckpoint, readWeightsFile } from '@stripes/cyclegan/node';
import { decodeSafetensors, readPth, writePth, type TensorEntry } from '@stripes/nn';

// The binary as installed: it runs the compiled dist/, in a plain Node process (no tsx).
const pkg = join(__dirname, '../../packages/cyclegan');
const bin = join(pkg, 'bin/stripes-cyclegan.mjs');
let root: string;
let dataroot: string;

beforeAll(() => {
  if (!existsSync(join(pkg, 'dist/cli/main.js'))) throw new Error('packages/cyclegan/dist is missing: run `pnpm run build` first (npm test does)');
  root = mkdtempSync(join(tmpdir(), 'stripes-cli-'));
  dataroot = join(root, 'data');
  generateMiniZebra({ outDir: dataroot, seed: 2, size: 16, counts: { trainA: 3, trainB: 3, testA: 2, testB: 2 } });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tiny = (name: string) => [
  '--dataroot', dataroot, '--name', name, '--checkpoints_dir', join(root, 'ckpt'),
  '--ngf', '4', '--ndf', '4', '--netG', 'resnet_6blocks', '--netD', 'n_layers', '--n_layers_D', '2',
  '--load_size', '16', '--crop_size', '16', '--pool_size', '2', '--seed', '5',
];

function run(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
}

describe('stripes-cyclegan', () => {
  test('100 steps with no readback in between (print_freq past the run) finish: the CPU waits for the GPU', () => {
    // Without train's per-step throttle() nothing let Dawn retire work, memory grew
    // every step and lavapipe segfaulted before step 100, at every image size.
    const data = join(root, 'data50');
    generateMiniZebra({ outDir: data, seed: 3, size: 16, counts: { trainA: 50, trainB: 50, testA: 1, testB: 1 } });
    const r = run(['train', ...tiny('quiet').map((a) => (a === dataroot ? data : a)), '--n_epochs', '2', '--n_epochs_decay', '0', '--print_freq', '1000', '--display_freq', '1000']);
    expect(r.status, `${r.signal ?? ''} ${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/finished at epoch 3, iteration 100/);
  });

  test('train -> test -> translate on a few tiny images', () => {
    const trained = run(['train', ...tiny('e2e'), '--n_epochs', '1', '--n_epochs_decay', '1', '--print_freq', '2', '--display_freq', '3', '--save_epoch_freq', '1']);
    expect(trained.status, trained.stderr).toBe(0);
    expect(trained.stdout).toMatch(/finished/);
    const exp = join(root, 'ckpt', 'e2e');
    for (const f of ['latest.ckpt.safetensors', '1.ckpt.safetensors', 'loss_log.jsonl', 'loss_plot.svg', 'web/index.html']) expect(existsSync(join(exp, f)), f).toBe(true);
    expect(readdirSync(join(exp, 'web', 'images')).length).toBeGreaterThan(0);
    const lossLines = readFileSync(join(exp, 'loss_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lossLines.length).toBe(3);
    expect(Object.keys(lossLines[0].losses).sort()).toEqual(['D_A', 'D_B', 'G_A', 'G_B', 'cycle_A', 'cycle_B', 'idt_A', 'idt_B']);

    const tested = run(['test', '--dataroot', dataroot, '--name', 'e2e', '--checkpoints_dir', join(root, 'ckpt'), '--results_dir', join(root, 'results'), '--load_size', '16', '--crop_size', '16', '--ngf', '4', '--netG', 'resnet_6blocks']);
    expect(tested.status, tested.stderr).toBe(0);
    const out = join(root, 'results', 'e2e', 'test_latest');
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.images).toEqual({ testA: 2, testB: 2 });
    expect(metrics.cycleL1.A).toBeGreaterThan(0);
    expect(typeof metrics.maskIoU).toBe('number');
    expect(readdirSync(join(out, 'images')).length).toBe(12); // real, fake, rec for 4 images
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toMatch(/stripe movement/);

    // Any size: 18x14 is not a multiple of 4 and comes back at 18x14.
    const input = join(dataroot, 'testA', readdirSync(join(dataroot, 'testA'))[0]);
    const translated = run(['translate', '--model', join(exp, 'latest.ckpt.safetensors'), '--direction', 'AtoB', input, join(root, 'one.png')]);
    expect(translated.status, translated.stderr).toBe(0);
    expect(existsSync(join(root, 'one.png'))).toBe(true);
  });

  test('bad options are all reported before any work starts', () => {
    const r = run(['train', '--dataroot', dataroot, '--lr', '-1', '--netG', 'unet_256', '--crop_sise', '8']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/lr/);
    expect(r.stderr).toMatch(/netG/);
    expect(r.stderr).toMatch(/crop_sise.*crop_size/s);
    expect(r.stdout).not.toMatch(/WebGPU adapter/);
  });

  test('an options error names the command once', () => {
    const r = run(['train', '--dataroot', dataroot, '--lr', '-1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("stripes-cyclegan train: --lr must be greater than 0, got -1\n(see 'stripes-cyclegan train --help')\n");
  });

  test('a missing data folder is a clear error before training', () => {
    const r = run(['train', ...tiny('missing').map((a) => (a === dataroot ? join(root, 'nowhere') : a))]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/nowhere/);
  });

  test('a diverging run stops with an error naming the iteration and loss, exit status 3, and writes no checkpoint', () => {
    const r = run(['train', ...tiny('nan'), '--lr', '1e30', '--n_epochs', '1', '--n_epochs_decay', '0', '--print_freq', '1', '--save_latest_freq', '100']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/training diverged at iteration 2 \(epoch 1\): loss .*; no checkpoint was written\. Try a lower --lr\./);
    expect(existsSync(join(root, 'ckpt', 'nan', 'latest.ckpt.safetensors'))).toBe(false);
  });

  test('--continue_train: architecture must match, the schedule can be extended, a new run does not replace an old one', () => {
    const first = run(['train', ...tiny('resume'), '--n_epochs', '1', '--n_epochs_decay', '0', '--print_freq', '1000', '--display_freq', '1000']);
    expect(first.status, first.stderr).toBe(0);
    const arch = run(['train', ...tiny('resume'), '--continue_train', '--ngf', '8']);
    expect(arch.status).toBe(1);
    expect(arch.stderr).toMatch(/--ngf 8: the checkpoint was trained with --ngf 4/);
    // Only the schedule is given: everything else comes from the checkpoint.
    const more = run(['train', '--dataroot', dataroot, '--name', 'resume', '--checkpoints_dir', join(root, 'ckpt'), '--load_size', '16', '--crop_size', '16',
      '--continue_train', '--n_epochs', '2', '--print_freq', '1000', '--display_freq', '1000']);
    expect(more.status, more.stderr).toBe(0);
    expect(more.stdout).toMatch(/options from the checkpoint: .*ngf 4, ndf 4, netG resnet_6blocks, n_layers_D 2/);
    expect(more.stdout).toMatch(/options from the command line: n_epochs 2/);
    expect(more.stdout).toMatch(/finished at epoch 3, iteration 6/);
    expect(readFileSync(join(root, 'ckpt', 'resume', 'train_opt.txt'), 'utf8')).toMatch(/^ +n_epochs: 2$/m);
    const again = run(['train', ...tiny('resume'), '--n_epochs', '1', '--n_epochs_decay', '0']);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/holds a previous run .*--continue_train.*--overwrite/);
    expect(readTrainingCheckpoint(join(root, 'ckpt', 'resume', 'latest.ckpt.safetensors')).json.totalIters).toBe(6);
  });

  test('translate a folder: distinct outputs, an undecodable file skipped, the true count', () => {
    const input = join(root, 'mixed');
    mkdirSync(join(input, 'sub'), { recursive: true });
    const src = join(dataroot, 'testA', readdirSync(join(dataroot, 'testA'))[0]);
    for (const f of ['a.png', 'sub/a.png']) copyFileSync(src, join(input, f));
    writeFileSync(join(input, 'junk.png'), 'junk');
    const r = run(['translate', '--model', join(root, 'ckpt', 'resume', 'latest.ckpt.safetensors'), input, join(root, 'mixed-out')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/skipping unusable image .*junk\.png: unknown image format/);
    expect(r.stdout).toMatch(/translate: wrote 2 image\(s\) to .*; skipped 1 that could not be decoded/);
    expect(existsSync(join(root, 'mixed-out', 'sub', 'a.png'))).toBe(true);
    const strict = run(['translate', '--strict', '--model', join(root, 'ckpt', 'resume', 'latest.ckpt.safetensors'), input, join(root, 'mixed-out2')]);
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/junk\.png: unknown image format/);
  });

  test('SIGINT saves latest; --continue_train then reaches the weights of an uninterrupted run', async () => {
    const args = (name: string) => [...tiny(name), '--n_epochs', '4', '--n_epochs_decay', '4', '--save_latest_freq', '1', '--print_freq', '1000', '--display_freq', '1000'];
    const straight = run(['train', ...args('straight')]);
    expect(straight.status, straight.stderr).toBe(0);

    const ckpt = join(root, 'ckpt', 'interrupted', 'latest.ckpt.safetensors');
    const child = spawn(process.execPath, [bin, 'train', ...args('interrupted')], { cwd: root, stdio: 'pipe' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Interrupt once a few iterations have been checkpointed.
    while (!existsSync(ckpt) || readTrainingCheckpoint(ckpt).json.totalIters < 3) {
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const stopped = readTrainingCheckpoint(ckpt).json.totalIters;
    expect(stopped).toBeGreaterThanOrEqual(3);
    expect(stopped).toBeLessThan(24);

    const resumed = run(['train', ...args('interrupted'), '--continue_train']);
    expect(resumed.status, resumed.stderr).toBe(0);
    const a = readTrainingCheckpoint(join(root, 'ckpt', 'straight', 'latest.ckpt.safetensors'));
    const b = readTrainingCheckpoint(ckpt);
    expect(b.json.totalIters).toBe(a.json.totalIters);
    for (const [k, v] of Object.entries(a.tensors)) {
      if (k.startsWith('net_')) expect(b.tensors[k].data, k).toEqual(v.data);
    }
  });

  const pthDir = join(__dirname, '../golden/fixtures/pth');

  test("translate with the reference's .pth: says which generator it used, and writes tensor2im's bytes", () => {
    const out = join(root, 'pth-out.png');
    const r = run(['translate', '--model', join(pthDir, 'generator_ngf8_2018_legacy.pth'), '--direction', 'BtoA', join(pthDir, 'parity_input.png'), out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/the single generator of a pth \(legacy\) file, 3 -> 3 channels, ngf 8, 9 blocks, no dropout: it maps the way it was trained, so --direction does not apply; left out its 69 InstanceNorm running statistics/);
    // What the reference's tensor2im made of PyTorch's output (test/golden/pth_parity.py).
    const want = decodeSafetensors(readFileSync(join(pthDir, 'parity.safetensors'))).tensors.get('legacy.png.tensor2im')!;
    const got = readImage(out);
    expect([got.height, got.width, got.channels]).toEqual(want.shape);
    let offByOne = 0;
    for (let i = 0; i < want.data.length; i++) {
      const d = Math.abs(got.data[i] - want.data[i]);
      expect(d, `value ${i}`).toBeLessThanOrEqual(1);
      offByOne += d;
    }
    expect(offByOne).toBeLessThanOrEqual(want.data.length * 0.001);
  });

  test('convert .pth -> .safetensors -> .pth: the same tensors both ways', () => {
    const source = join(pthDir, 'generator_ngf8_2018_legacy.pth');
    const st = join(root, 'g.safetensors');
    const back = join(root, 'g.pth');
    const there = run(['convert', source, st]);
    expect(there.status, there.stderr).toBe(0);
    expect(there.stdout).toMatch(/read 94 tensors from .*, a pth \(legacy\) file, and wrote them to .*g\.safetensors as safetensors; left out 23 int64 num_batches_tracked/);
    expect(there.stdout).not.toMatch(/WebGPU adapter/);
    expect(run(['convert', st, back]).status).toBe(0);
    const original = readWeightsFile(source).tensors;
    for (const file of [st, back]) {
      const got = readWeightsFile(file).tensors;
      expect(Object.keys(got).sort(), file).toEqual(Object.keys(original).sort());
      for (const [k, t] of Object.entries(original)) {
        expect(got[k].shape, k).toEqual(t.shape);
        expect(got[k].data, k).toEqual(t.data);
      }
    }
    const bad = run(['convert', source, join(root, 'g.onnx')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/g\.onnx: the output's extension sets its format: \.safetensors, or \.pth/);
  });

  test("import a reference run's four files, go on training with --continue_train, export it back", async () => {
    // A reference run as its train.py leaves it: <epoch>_net_*.pth, weights only; G_A with 2018-style InstanceNorm statistics.
    const ref = join(root, 'refrun');
    mkdirSync(ref);
    const model = new CycleGAN({ ngf: 4, ndf: 4, nBlocks: 6, nLayersD: 2, seed: 9 });
    const state = Object.fromEntries(
      await Promise.all(Object.entries(model.stateTensors()).filter(([k]) => k.startsWith('net_')).map(async ([k, t]) => [k, { shape: [...t.shape], data: await t.data() }] as const)),
    ) as Record<string, TensorEntry>;
    model.dispose();
    const nets = toReferenceNetworks(state, { inputNc: 3, outputNc: 3, ngf: 4, ndf: 4, nBlocks: 6, nLayersD: 2, dropout: false });
    nets.G_A.set('model.2.running_mean', { shape: [4], data: new Float32Array(4) });
    nets.G_A.set('model.2.running_var', { shape: [4], data: new Float32Array(4).fill(1) });
    for (const [net, dict] of Object.entries(nets)) writeFileSync(join(ref, `5_net_${net}.pth`), writePth(dict));
    copyFileSync(join(ref, '5_net_G_A.pth'), join(ref, 'latest_net_G_A.pth'));

    const ckpt = join(root, 'ckpt');
    const partial = run(['import', '--reference_dir', ref, '--checkpoints_dir', ckpt]);
    expect(partial.status).toBe(1);
    expect(partial.stderr).toMatch(/refrun has no latest_net_G_B\.pth, latest_net_D_A\.pth, latest_net_D_B\.pth .*; it holds --epoch 5, latest/);

    const imported = run(['import', '--reference_dir', ref, '--epoch', '5', '--checkpoints_dir', ckpt, '--n_epochs', '6', '--n_epochs_decay', '1']);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/--ngf 4 --ndf 4 --netG resnet_6blocks --netD n_layers --n_layers_D 2 --no_dropout; left out 2 InstanceNorm running statistics/);
    expect(imported.stdout).toMatch(/wrote .*refrun\/5\.ckpt\.safetensors: the run starts at epoch 6 .*Adam and the image pools start fresh/);
    const start = readTrainingCheckpoint(join(ckpt, 'refrun', '5.ckpt.safetensors'));
    for (const [k, t] of Object.entries(state)) expect(start.tensors[k].data, k).toEqual(t.data);
    expect(run(['import', '--reference_dir', ref, '--epoch', '5', '--checkpoints_dir', ckpt]).stderr).toMatch(/5\.ckpt\.safetensors exists: give --overwrite/);

    // Epochs 6 and 7 of one image each: two iterations, architecture and schedule from the checkpoint.
    const trained = run(['train', '--dataroot', dataroot, '--name', 'refrun', '--checkpoints_dir', ckpt, '--continue_train', '--epoch', '5',
      '--load_size', '16', '--crop_size', '16', '--max_dataset_size', '1', '--print_freq', '1', '--display_freq', '1000']);
    expect(trained.status, trained.stderr).toBe(0);
    expect(trained.stdout).toMatch(/resuming from .*5\.ckpt\.safetensors: epoch 6, 0 iterations done/);
    expect(trained.stdout).toMatch(/finished at epoch 8, iteration 2/);
    const latest = readTrainingCheckpoint(join(ckpt, 'refrun', 'latest.ckpt.safetensors'));
    expect(latest.tensors['net_G_A.model.1.weight'].data).not.toEqual(state['net_G_A.model.1.weight'].data);

    const out = join(root, 'exported');
    const exportedRun = run(['export', '--name', 'refrun', '--checkpoints_dir', ckpt, '--output_dir', out]);
    expect(exportedRun.status, exportedRun.stderr).toBe(0);
    expect(exportedRun.stdout).toMatch(/wrote latest_net_G_A\.pth, latest_net_G_B\.pth, latest_net_D_A\.pth, latest_net_D_B\.pth/);
    for (const net of ['G_A', 'G_B', 'D_A', 'D_B']) {
      const back = readPth(new Uint8Array(readFileSync(join(out, `latest_net_${net}.pth`)))).tensors;
      const own = Object.keys(latest.tensors).filter((k) => k.startsWith(`net_${net}.`));
      expect(back.size, net).toBe(own.length);
      for (const k of own) expect(back.get(k.slice(`net_${net}.`.length))!.data, k).toEqual(latest.tensors[k].data);
    }
    expect(run(['export', '--name', 'refrun', '--checkpoints_dir', ckpt, '--output_dir', out]).stderr).toMatch(/already in .*exported: give --overwrite/);
  });
});
