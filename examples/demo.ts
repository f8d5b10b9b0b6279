/**
 * `npm run demo`: generates the bundled mini horse2zebra data set (plain-coated
 * animals in A, zebra-striped ones in B, on the same kinds of scenes), trains
 * a small CycleGAN on it with the reference objective, then runs `test`:
 * translated images, an HTML page, the loss plot and metrics.json with the
 * stripe score and shape preservation. Sized for a 2-core machine without a
 * GPU (Mesa lavapipe); the same commands scale up with the CLI's options.
 * `npm run demo` is `pnpm exec tsx --conditions=@stripes/source examples/demo.ts`
 * (the condition runs the workspace's packages from their TypeScript sources).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ready } from '@stripes/tensor';
import { generateMiniZebra, runTest, train, trainReport, type TrainConfig } from '@stripes/cyclegan/node';
import { DEFAULT_COUNTS, DEFAULT_SIZE, DEMO_OPTIONS, DEMO_REFERENCE } from '@stripes/cyclegan/demo';

const root = resolve(process.env.STRIPES_DEMO_DIR ?? 'demo-output');
const dataroot = join(root, 'mini_horse2zebra');
const name = 'mini_horse2zebra';
const checkpointsDir = join(root, 'checkpoints');
const SIZE = DEFAULT_SIZE;

/** The reference objective at the demo's settings (DEMO_OPTIONS says why). No crop (the images are already SIZE px); random flips. */
const config: TrainConfig = {
  dataroot, name, checkpointsDir,
  ...DEMO_OPTIONS,
  batchSize: 1, loadSize: SIZE, cropSize: SIZE, preprocess: 'none', noFlip: false, serialBatches: false,
  direction: 'AtoB', strict: false,
  saveLatestFreq: 400, saveEpochFreq: 3, displayFreq: 200, printFreq: 20,
  // Each run of the demo starts over (the demo's own folder).
  continueTrain: false, epoch: 'latest', overwrite: true,
};

const started = performance.now();
const info = await ready();
console.log(`WebGPU adapter: ${info.name}`);
mkdirSync(root, { recursive: true });
const data = generateMiniZebra({ outDir: dataroot, seed: 0, size: SIZE, counts: DEFAULT_COUNTS });
console.log(`${data.generated ? 'generated' : 'reusing'} the mini horse2zebra data set in ${dataroot} (${JSON.stringify(data.manifest.counts)}, ${SIZE} px)`);

const report = trainReport(join(checkpointsDir, name), name);
const trainStart = performance.now();
const result = await train(config, report.hooks);
report.done();
const trainSeconds = (performance.now() - trainStart) / 1000;
result.model.dispose();
if (result.interrupted) {
  console.log('interrupted: latest checkpoint saved; resume with stripes-cyclegan train --continue_train ...');
  process.exit(130);
}

const test = await runTest({
  dataroot, name, checkpointsDir, resultsDir: join(root, 'results'),
  epoch: 'latest', phase: 'test', loadSize: SIZE, cropSize: SIZE, preprocess: 'resize_and_crop', numTest: Infinity,
});
const m = test.metrics;
const percent = (v: number | undefined) => `${((v ?? NaN) * 100).toFixed(1)}%`.padStart(6);
const total = (performance.now() - started) / 1000;
console.log(`
trained ${result.totalIters} iterations in ${trainSeconds.toFixed(0)} s (${(result.totalIters / trainSeconds).toFixed(2)} it/s); demo total ${total.toFixed(0)} s
samples during training: ${report.samplesIndexPath}
loss plot:               ${report.lossPlotPath}
test images and page:    ${test.htmlPath}
metrics:                 ${test.metricsPath}

stripe score  testA ${m.stripeScore?.testA.toFixed(4)}  testB ${m.stripeScore?.testB.toFixed(4)}  G_A(testA) ${m.stripeScore?.fakeB.toFixed(4)}
cycle L1      A ${m.cycleL1.A.toFixed(4)}  B ${m.cycleL1.B.toFixed(4)}

                 this run   the reference implementation, same data and settings (seeds ${DEMO_REFERENCE.seeds.join(', ')})
stripe movement  ${percent(m.stripeMovement)}     ${DEMO_REFERENCE.stripeMovement.map(percent).join(', ')}
mask IoU         ${(m.maskIoU ?? NaN).toFixed(3)}      ${DEMO_REFERENCE.maskIoU.map((v) => v.toFixed(3)).join(', ')}
(${DEMO_REFERENCE.implementation}, ${DEMO_REFERENCE.iterations} iterations at ${DEMO_REFERENCE.imageSize} px)`);
process.exit(0);
