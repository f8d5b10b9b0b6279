/**
 * The web page: translate an image with a checkpoint, and train the mini
 * horse2zebra demo live. Bundled from the packages' dist builds (server.ts).
 */
import { encodeStateDict } from '@stripes/nn';
import { formatDuration, loadGenerator, lossPlotSvg, LOSS_NAMES, type GeneratorWeights, type LossRecord, type ResnetGenerator } from '@stripes/cyclegan';
import { ready } from '@stripes/tensor';
import { generatorsIn, translateImage } from './lib/generator.ts';
import { decodeImage, drawImage } from './lib/image.ts';
import { DemoTrainer, trainLoop } from './lib/trainer.ts';

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page: no #${id}`);
  return e as T;
}

const errorBox = el<HTMLParagraphElement>('error');
function showError(e: unknown): void {
  errorBox.textContent = e instanceof Error ? e.message : String(e);
  errorBox.hidden = false;
}
window.addEventListener('error', (ev) => showError(ev.error ?? ev.message));
window.addEventListener('unhandledrejection', (ev) => showError(ev.reason));

// --- Translate --------------------------------------------------------------

const imageFile = el<HTMLInputElement>('image-file');
const checkpointFile = el<HTMLInputElement>('checkpoint-file');
const generatorChoice = el<HTMLLabelElement>('generator-choice');
const generatorSelect = el<HTMLSelectElement>('generator');
const translateButton = el<HTMLButtonElement>('translate');
const checkpointInfo = el<HTMLParagraphElement>('checkpoint-info');
const translateStatus = el<HTMLParagraphElement>('translate-status');
let generators: GeneratorWeights[] = [];
/** Set once the device is acquired (at the bottom: the handlers above are registered first). */
let gpuReady = false;

const GENERATOR_LABELS: Record<string, string> = { G_A: 'G_A (A → B)', G_B: 'G_B (B → A)', generator: 'generator' };

function describe({ spec, dropped }: GeneratorWeights): string {
  const stats = dropped.length ? `; ${dropped.length} InstanceNorm running statistics left out, as the reference does` : '';
  return `ngf ${spec.ngf}, ${spec.nBlocks} residual blocks, ${spec.inputNc} → ${spec.outputNc} channels${spec.dropout ? ', dropout' : ''}${stats}`;
}

function selectedGenerator(): GeneratorWeights | undefined {
  return generators[generatorSelect.selectedIndex];
}

function updateTranslateButton(): void {
  translateButton.disabled = !gpuReady || !imageFile.files?.length || !selectedGenerator();
}

function showCheckpointInfo(): void {
  const g = selectedGenerator();
  checkpointInfo.textContent = g ? `${describe(g)} (read off the weight shapes)` : '';
}

checkpointFile.addEventListener('change', async () => {
  generators = [];
  generatorSelect.replaceChildren();
  checkpointInfo.textContent = '';
  const file = checkpointFile.files?.[0];
  if (file) {
    try {
      generators = generatorsIn(new Uint8Array(await file.arrayBuffer()), file.name);
    } catch (e) {
      checkpointInfo.textContent = e instanceof Error ? e.message : String(e);
    }
  }
  for (const g of generators) generatorSelect.append(new Option(GENERATOR_LABELS[g.name] ?? g.name));
  generatorChoice.hidden = generators.length < 2;
  showCheckpointInfo();
  updateTranslateButton();
});
generatorSelect.addEventListener('change', showCheckpointInfo);
imageFile.addEventListener('change', updateTranslateButton);

translateButton.addEventListener('click', async () => {
  const file = imageFile.files?.[0];
  const found = selectedGenerator();
  if (!file || !found) return;
  translateButton.disabled = true;
  translateStatus.textContent = 'translating…';
  let net: ResnetGenerator | null = null;
  try {
    net = loadGenerator(found, checkpointFile.files?.[0]?.name ?? 'checkpoint');
    const image = await decodeImage(file);
    drawImage(el('translate-input'), image);
    const t0 = performance.now();
    const out = await translateImage(net, found.spec, image);
    drawImage(el('translate-output'), out);
    translateStatus.textContent = `${file.name}: ${image.width}×${image.height} px with ${found.name} in ${((performance.now() - t0) / 1000).toFixed(2)} s`;
  } catch (e) {
    translateStatus.textContent = `translation failed: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    net?.dispose();
    updateTranslateButton();
  }
});

// --- Train the demo -----------------------------------------------------------

const startButton = el<HTMLButtonElement>('train-start');
const stopButton = el<HTMLButtonElement>('train-stop');
const saveButton = el<HTMLButtonElement>('train-save');
const progress = el<HTMLProgressElement>('train-progress');
const trainStatus = el<HTMLParagraphElement>('train-status');
const lossPlot = el<HTMLDivElement>('loss-plot');
let trainer: DemoTrainer | null = null;
let stopRequested = false;
const records: LossRecord[] = [];
/** Seconds of training before the current run, so the loss log's clock survives stop/start. */
let trainedSeconds = 0;

startButton.addEventListener('click', async () => {
  trainer ??= new DemoTrainer();
  const t = trainer;
  stopRequested = false;
  startButton.disabled = true;
  stopButton.disabled = false;
  saveButton.disabled = true;
  progress.max = t.totalIterations;
  trainStatus.textContent = `iteration ${t.iteration} / ${t.totalIterations}: compiling kernels and starting…`;
  const started = performance.now();
  const elapsed = () => trainedSeconds + (performance.now() - started) / 1000;
  try {
    await trainLoop(t, {
      shouldStop: () => stopRequested,
      onStep: (step, itPerSec) => {
        progress.value = step.iteration;
        if (step.losses) {
          records.push({ iteration: step.iteration, epoch: step.epoch, time: elapsed(), losses: step.losses });
          // Our own SVG text (names and numbers, escaped by lossPlotSvg).
          lossPlot.innerHTML = lossPlotSvg(records, { width: 640, height: 320, title: 'losses' });
        }
        if (step.grid) drawImage(el('train-grid'), step.grid);
        const last = records[records.length - 1]?.losses ?? {};
        const losses = LOSS_NAMES.filter((k) => k in last).map((k) => `${k} ${last[k].toFixed(3)}`).join('  ');
        trainStatus.textContent =
          `iteration ${step.iteration} / ${t.totalIterations}  epoch ${step.epoch} / ${t.totalEpochs}  lr ${step.lr.toPrecision(3)}  ` +
          `${itPerSec.toFixed(2)} it/s  ETA ${formatDuration((t.totalIterations - step.iteration) / itPerSec)}\n${losses}`;
      },
    });
    if (t.done) trainStatus.textContent += `\nfinished: ${t.totalIterations} iterations in ${formatDuration(elapsed())}`;
    else trainStatus.textContent += '\nstopped';
  } catch (e) {
    showError(e);
  } finally {
    trainedSeconds = elapsed();
    startButton.disabled = t.done;
    stopButton.disabled = true;
    saveButton.disabled = false;
  }
});

stopButton.addEventListener('click', () => {
  stopRequested = true;
  stopButton.disabled = true;
});

saveButton.addEventListener('click', async () => {
  if (!trainer) return;
  // PyTorch's names; the Translate section above (or safetensors.torch.load) reads it back.
  const bytes = await encodeStateDict(trainer.model.netG_A);
  const link = document.createElement('a');
  // encodeSafetensors fills a fresh ArrayBuffer (never a shared one).
  link.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  link.download = `mini_horse2zebra_G_A_${trainer.iteration}.safetensors`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
});

// --- The device -------------------------------------------------------------------

try {
  const info = await ready();
  gpuReady = true;
  el('device').textContent = `WebGPU adapter: ${info.name}`;
  startButton.disabled = false;
  updateTranslateButton();
} catch (e) {
  el('device').textContent = 'No WebGPU: this page cannot run here.';
  showError(e);
}
