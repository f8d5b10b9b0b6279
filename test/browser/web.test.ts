/**
 * The web page in headless Chromium (WebGPU on SwiftShader), bundled from the
 * packages' dist builds as a user's app would be: the same numbers as Node
 * for a conv + instance norm forward and backward, the same pixels as the
 * CLI's `translate`, and a few live training steps of the demo. Sizes are
 * tiny: SwiftShader runs our kernels 5-7x slower than Dawn on lavapipe.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { CycleGAN, type ImageU8 } from '@stripes/cyclegan';
import { DEFAULT_SIZE } from '@stripes/cyclegan/demo';
import { readImage, saveTrainingCheckpoint, writePng } from '@stripes/cyclegan/node';
import { encodeStateDict } from '@stripes/nn';
import { Rng } from '@stripes/tensor';
import { convNormCheck } from '../../examples/web/lib/checks.ts';
import { buildWeb, serveWeb, type WebServer } from '../../examples/web/server.ts';
import { launchChromium, type LaunchedChromium } from './chromium.ts';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'packages/cyclegan/bin/stripes-cyclegan.mjs');

let dir: string;
let server: WebServer | undefined;
let chromium: LaunchedChromium | undefined;
/** The CLI's translations, started in beforeAll so they run while the bundle builds. */
let cliOutputs: Promise<Record<'AtoB' | 'BtoA', ImageU8>>;
const files = { image: '', stateDict: '', checkpoint: '' };
/** Page errors and console errors seen by any page: the page must run without them. */
const pageErrors: string[] = [];

/** A 22x17 image (not a multiple of 4: the translation pads and crops) with smooth and noisy parts. */
function testImage(): ImageU8 {
  const width = 22;
  const height = 17;
  const rng = new Rng(5);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = 3 * (y * width + x);
      data[p] = Math.round((255 * x) / (width - 1));
      data[p + 1] = Math.round(127.5 + 127.5 * Math.sin(x * 0.9 + y * 0.4));
      data[p + 2] = rng.int(256);
    }
  }
  return { width, height, channels: 3, data };
}

/**
 * A tiny CycleGAN (ngf 4, 2 blocks) saved twice: G_A's state dict, and the
 * training checkpoint the CLI reads (`--model`). A larger init gain than the
 * reference's 0.02 spreads the outputs over the pixel range, so the pixel
 * comparison is not of near-constant images.
 */
async function writeModelFiles(): Promise<void> {
  const model = new CycleGAN({ ngf: 4, ndf: 4, nBlocks: 2, initGain: 0.15, seed: 11, poolSize: 0 });
  try {
    files.stateDict = join(dir, 'G_A.safetensors');
    writeFileSync(files.stateDict, await encodeStateDict(model.netG_A));
    files.checkpoint = join(dir, 'latest.ckpt.safetensors');
    // An untrained model's position: translate reads only the model options and weights.
    const loader = { epoch: 0, position: 0, epochRng: null, rng: new Rng(0).getState() };
    await saveTrainingCheckpoint(files.checkpoint, model, { epoch: 1, epochIter: 0, totalIters: 0, loader });
  } finally {
    model.dispose();
  }
}

async function cliTranslate(direction: 'AtoB' | 'BtoA'): Promise<ImageU8> {
  const out = join(dir, `cli_${direction}.png`);
  await promisify(execFile)(process.execPath, [cli, 'translate', '--model', files.checkpoint, '--direction', direction, files.image, out], {
    cwd: root,
    timeout: 120_000,
  });
  return readImage(out);
}

async function openPage(path: string, beforeLoad?: (page: Page) => Promise<unknown>): Promise<Page> {
  const page = await chromium!.browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${path}: ${e instanceof Error ? e.message : String(e)}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`${path}: console: ${m.text()}`);
  });
  await beforeLoad?.(page);
  await page.goto(new URL(path, server!.url).href);
  return page;
}

/** The main page, once it has its device. */
async function openMainPage(): Promise<Page> {
  const page = await openPage('index.html');
  await page.waitForFunction(() => document.getElementById('device')?.textContent?.startsWith('WebGPU adapter:'), { timeout: 30_000 });
  return page;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stripes-web-'));
  files.image = join(dir, 'input.png');
  writePng(files.image, testImage());
  await writeModelFiles();
  cliOutputs = Promise.all([cliTranslate('AtoB'), cliTranslate('BtoA')]).then(([AtoB, BtoA]) => ({ AtoB, BtoA }));
  // Handled when awaited in the test; this keeps a failure from surfacing as an unhandled rejection first.
  cliOutputs.catch(() => {});
  await buildWeb(join(dir, 'bundle'));
  server = await serveWeb(join(dir, 'bundle'), 0);
  chromium = await launchChromium();
});

afterAll(async () => {
  await chromium?.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the web page in Chromium', () => {
  it('computes conv2d + instanceNorm2d forward and backward with the numbers Node computes', async () => {
    const page = await openPage('harness.html');
    const inPage = await page.evaluate(async () => (await globalThis.stripesHarness!).convNormCheck());
    const inNode = await convNormCheck();
    for (const key of ['y', 'dx', 'dw', 'db'] as const) {
      expect(inPage[key].length, key).toBe(inNode[key].length);
      const worst = Math.max(...inNode[key].map((v, i) => Math.abs(v - inPage[key][i]) / Math.max(1, Math.abs(v))));
      expect(worst, `${key}: largest difference (relative above 1)`).toBeLessThanOrEqual(1e-5);
    }
    // The gradients are not trivially zero.
    expect(Math.max(...inNode.dx.map(Math.abs))).toBeGreaterThan(1e-3);
    await page.close();
  });

  it('translates an image with a generator state dict and with a CLI checkpoint to the CLI translate pixels', async () => {
    const page = await openMainPage();
    await (await page.$('input#image-file'))!.uploadFile(files.image);
    const upload = async (path: string) => {
      await page.$eval('#checkpoint-info', (e) => (e.textContent = ''));
      await (await page.$('input#checkpoint-file'))!.uploadFile(path);
      await page.waitForFunction(() => document.getElementById('checkpoint-info')?.textContent !== '');
      return page.$eval('#checkpoint-info', (e) => e.textContent);
    };
    const translate = async (generator: number) => {
      await page.select('#generator', await page.$$eval('#generator option', (os, i) => os[i].value, generator));
      await page.$eval('#translate-status', (e) => (e.textContent = ''));
      await page.waitForSelector('#translate:not([disabled])');
      await page.click('#translate');
      await page.waitForFunction(() => / px with /.test(document.getElementById('translate-status')?.textContent ?? ''), { timeout: 30_000 });
      return page.$eval('#translate-output', (c) => {
        const canvas = c as HTMLCanvasElement;
        return { width: canvas.width, height: canvas.height, rgba: [...canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data] };
      });
    };
    const rgb = (rgba: number[]) => rgba.filter((_, i) => i % 4 !== 3);

    expect(await upload(files.stateDict)).toBe('ngf 4, 2 residual blocks, 3 → 3 channels (read off the weight shapes)');
    const fromStateDict = await translate(0);
    expect(await upload(files.checkpoint)).toContain('ngf 4, 2 residual blocks');
    expect(await page.$$eval('#generator option', (os) => os.map((o) => o.textContent))).toEqual(['G_A (A → B)', 'G_B (B → A)']);
    const fromCheckpoint = { AtoB: await translate(0), BtoA: await translate(1) };
    await page.close();

    const expected = await cliOutputs;
    for (const [name, got, want] of [
      ['state dict, G_A', fromStateDict, expected.AtoB],
      ['checkpoint, G_A', fromCheckpoint.AtoB, expected.AtoB],
      ['checkpoint, G_B', fromCheckpoint.BtoA, expected.BtoA],
    ] as const) {
      expect([got.width, got.height], name).toEqual([want.width, want.height]);
      expect(rgb(got.rgba), name).toEqual([...want.data]);
    }
    // A meaningful comparison: the generator's output covers a range of values.
    expect(new Set(expected.AtoB.data).size).toBeGreaterThan(50);
  });

  it('trains the mini horse2zebra demo for a few steps with finite losses', async () => {
    const page = await openMainPage();
    await page.click('#train-start');
    await page.waitForFunction(() => Number((document.getElementById('train-progress') as HTMLProgressElement).value) >= 3, { timeout: 60_000 });
    await page.click('#train-stop');
    await page.waitForFunction(() => /\nstopped$/.test(document.getElementById('train-status')?.textContent ?? ''), { timeout: 30_000 });
    const status = await page.$eval('#train-status', (e) => e.textContent ?? '');
    const losses = Object.fromEntries([...status.matchAll(/\b(D_A|G_A|cycle_A|idt_A|D_B|G_B|cycle_B|idt_B) (\S+)/g)].map((m) => [m[1], Number(m[2])]));
    expect(Object.keys(losses).sort()).toEqual(['D_A', 'D_B', 'G_A', 'G_B', 'cycle_A', 'cycle_B', 'idt_A', 'idt_B']);
    for (const [name, v] of Object.entries(losses)) expect(Number.isFinite(v), `${name} = ${v}`).toBe(true);
    // The loss plot: a legend entry per loss and the points read so far.
    const plot = await page.$eval('#loss-plot', (e) => ({ texts: Array.from(e.querySelectorAll('svg text'), (t) => t.textContent), marks: e.querySelectorAll('svg circle, svg polyline').length }));
    expect(plot.texts).toEqual(expect.arrayContaining(Object.keys(losses)));
    expect(plot.marks).toBeGreaterThanOrEqual(8);
    // The sample grid of the first step: six tiles of the demo's size, not blank.
    const grid = await page.$eval('#train-grid', (c) => {
      const canvas = c as HTMLCanvasElement;
      return { width: canvas.width, height: canvas.height, values: new Set(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data).size };
    });
    expect(grid.width).toBe(6 * DEFAULT_SIZE + 5 * 2);
    expect(grid.height).toBe(DEFAULT_SIZE);
    expect(grid.values).toBeGreaterThan(20);
    await page.close();
  });

  it('says clearly on the page when the browser has no WebGPU', async () => {
    const page = await openPage('index.html', (p) =>
      p.evaluateOnNewDocument(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined })),
    );
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.$eval('#error', (e) => e.textContent)).toMatch(/No WebGPU adapter found[\s\S]*secure context/);
    expect(await page.$eval('#train-start', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
    await page.close();
  });

  it('ran every page without script errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
