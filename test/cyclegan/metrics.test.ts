import { describe, expect, it } from 'vitest';
import { Rng } from '@stripes/tensor';
import {
  MASK_IOU_TARGET,
  SEGMENT_THRESHOLD,
  STRIPE_MOVEMENT_TARGET,
  evaluateTranslation,
  maskIoU,
  segmentObject,
  stripeMaps,
  stripeScore,
  type ImageU8,
} from '@stripes/cyclegan';
import { drawScene, imageSeed, renderEntry, renderScene, type RenderedScene } from '@stripes/cyclegan/demo';

const SEED = 11;
const SIZE = 32;
const N = 40;

// testA scenes with plain coats, the same scenes with zebra coats (the
// oracle), and unrelated zebra scenes as testB, all at the demo's size.
const testA: RenderedScene[] = [];
const oracle: RenderedScene[] = [];
const testB: RenderedScene[] = [];
for (let i = 0; i < N; i++) {
  const params = drawScene(new Rng(imageSeed(SEED, 'testA', i)), SIZE);
  testA.push(renderScene(params, 'plain'));
  oracle.push(renderScene(params, 'zebra'));
  testB.push(renderEntry(SEED, SIZE, 'testB', i));
}

function evaluate(fakeB: ImageU8[]): ReturnType<typeof evaluateTranslation> {
  return evaluateTranslation({
    realA: testA.map((s) => s.image),
    fakeB,
    masksA: testA.map((s) => s.mask),
    backgroundsA: testA.map((s) => s.background),
    realB: testB.map((s) => s.image),
    masksB: testB.map((s) => s.mask),
  });
}

/** Copies `img`, setting every selected pixel to gray `value(i)`. */
function paint(img: ImageU8, select: (i: number) => boolean, value: (i: number) => number): ImageU8 {
  const data = img.data.slice();
  for (let i = 0; i < img.width * img.height; i++) {
    if (!select(i)) continue;
    const v = value(i);
    data.fill(v, 3 * i, 3 * i + 3);
  }
  return { ...img, data };
}

/** Adds N(0, sigma) to every channel of the selected pixels. */
function addNoise(img: ImageU8, select: (i: number) => boolean, sigma: number, rng: Rng): ImageU8 {
  const data = img.data.slice();
  for (let i = 0; i < img.width * img.height; i++) {
    if (!select(i)) continue;
    for (let c = 0; c < 3; c++) data[3 * i + c] = Math.max(0, Math.min(255, Math.round(data[3 * i + c] + sigma * rng.normal())));
  }
  return { ...img, data };
}

function meanInMask(values: Float64Array, mask: Uint8Array): number {
  let s = 0;
  let n = 0;
  mask.forEach((m, i) => {
    if (m) {
      s += values[i];
      n++;
    }
  });
  return s / n;
}

describe('stripe movement and shape preservation', () => {
  it('scores the identity map at 0% movement and IoU 1', () => {
    const r = evaluate(testA.map((s) => s.image));
    expect(r.stripeMovement).toBe(0);
    expect(r.maskIoU).toBe(1);
    expect(r.passed).toBe(false);
    // The domains are far apart: zebra coats score over 10x plain ones.
    expect(r.stripeScore.testB).toBeGreaterThan(10 * r.stripeScore.testA);
  });

  it('scores a pixel-aligned zebra oracle at >= 90% movement and IoU >= 0.9', () => {
    const r = evaluate(oracle.map((s) => s.image));
    expect(r.stripeMovement).toBeGreaterThanOrEqual(0.9);
    expect(r.stripeMovement).toBeLessThan(1.15);
    // Exact renders differ from their background everywhere on the animal and nowhere else.
    expect(r.maskIoU).toBe(1);
    expect(r.passed).toBe(true);
  });

  it('does not count stripe-coloured noise inside the mask as stripes', () => {
    const rng = new Rng(3);
    const noisy = testA.map((s) => paint(s.image, (i) => s.mask[i] === 1, () => (rng.random() < 0.5 ? 20 : 235)));
    const r = evaluate(noisy);
    expect(r.stripeMovement).toBeLessThan(0.25);
    expect(r.stripeMovement).toBeLessThan(STRIPE_MOVEMENT_TARGET);
    expect(r.passed).toBe(false);
    // What rejects it is the coherence term: the noise has more high-pass
    // energy than real zebra coats, so a plain high-pass measure would pass it.
    const hpNoise = noisy.map((img, k) => meanInMask(stripeMaps(img, testA[k].mask).highpass, testA[k].mask));
    const hpZebra = testB.map((s) => meanInMask(stripeMaps(s.image, s.mask).highpass, s.mask));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(hpNoise)).toBeGreaterThan(mean(hpZebra));
  });

  it('gives a checkerboard (the transposed-conv artifact) no stripe credit', () => {
    const checker = testA.map((s) => paint(s.image, (i) => s.mask[i] === 1, (i) => ((i % SIZE) + Math.floor(i / SIZE)) % 2 === 0 ? 20 : 235));
    expect(evaluate(checker).stripeMovement).toBeLessThan(0.05);
  });

  it('moves in proportion to stripe contrast', () => {
    const half = oracle.map((s, k) => ({ ...s.image, data: s.image.data.map((v, j) => Math.round((v + testA[k].image.data[j]) / 2)) }));
    const full = evaluate(oracle.map((s) => s.image)).stripeMovement;
    const r = evaluate(half).stripeMovement;
    expect(r).toBeGreaterThan(0.35 * full);
    expect(r).toBeLessThan(0.65 * full);
  });

  it('lowers IoU when the background outside the mask is noisy', () => {
    const rng = new Rng(5);
    const outside = (s: RenderedScene) => (i: number) => s.mask[i] === 0;
    const slight = evaluate(oracle.map((s) => addNoise(s.image, outside(s), 4, rng)));
    const heavy = evaluate(oracle.map((s) => addNoise(s.image, outside(s), 40, rng)));
    // Small drift stays under the threshold; strong noise is segmented as object.
    expect(slight.maskIoU).toBe(1);
    expect(heavy.maskIoU).toBeLessThan(0.5);
    expect(heavy.passed).toBe(false);
    // The stripe score only looks inside the mask.
    expect(heavy.stripeMovement).toBeCloseTo(slight.stripeMovement, 10);
  });

  it('reports per-image scores and the targets', () => {
    const r = evaluate(oracle.map((s) => s.image));
    expect(r.perImage).toHaveLength(N);
    expect(r.perImage[0].stripeScore).toBeCloseTo(stripeScore(oracle[0].image, testA[0].mask), 12);
    expect(r.targets).toEqual({ stripeMovement: STRIPE_MOVEMENT_TARGET, maskIoU: MASK_IOU_TARGET });
    expect(r.threshold).toBe(SEGMENT_THRESHOLD);
    expect(STRIPE_MOVEMENT_TARGET).toBe(0.6);
    expect(MASK_IOU_TARGET).toBe(0.5);
  });

  it('rejects mismatched inputs', () => {
    expect(() => evaluateTranslation({ realA: [testA[0].image], fakeB: [], masksA: [testA[0].mask], backgroundsA: [testA[0].background], realB: [testB[0].image], masksB: [testB[0].mask] })).toThrow(/fakeB/);
    const small: ImageU8 = { width: 16, height: 16, channels: 3, data: new Uint8Array(16 * 16 * 3) };
    expect(() => evaluateTranslation({ realA: [testA[0].image], fakeB: [small], masksA: [testA[0].mask], backgroundsA: [testA[0].background], realB: [testB[0].image], masksB: [testB[0].mask] })).toThrow(/16x16/);
  });
});

describe('stripeScore', () => {
  it('is 0 for an empty mask and for a flat coat', () => {
    const s = testA[0];
    expect(stripeScore(s.image, new Uint8Array(SIZE * SIZE))).toBe(0);
    expect(stripeScore(paint(s.image, (i) => s.mask[i] === 1, () => 128), s.mask)).toBe(0);
  });

  it('ignores everything outside the mask', () => {
    const s = oracle[1];
    const other = paint(s.image, (i) => s.mask[i] === 0, (i) => (i * 37) % 256);
    expect(stripeScore(other, s.mask)).toBe(stripeScore(s.image, s.mask));
  });

  it('scores straight stripes at the dataset period far above a plain coat', () => {
    const s = testA[2];
    const stripes = paint(s.image, (i) => s.mask[i] === 1, (i) => ((i % SIZE) % 4 < 2 ? 20 : 235));
    expect(stripeScore(stripes, s.mask)).toBeGreaterThan(20 * stripeScore(s.image, s.mask));
  });

  it('rejects a mask of the wrong size', () => {
    expect(() => stripeScore(testA[0].image, new Uint8Array(10))).toThrow(/mask has 10 pixels/);
  });
});

describe('segmentObject and maskIoU', () => {
  it('recovers an exact render mask from its background', () => {
    for (const s of [...testA.slice(0, 5), ...oracle.slice(0, 5)]) {
      expect(maskIoU(segmentObject(s.image, s.background), s.mask)).toBe(1);
    }
  });

  it('thresholds the Euclidean RGB distance', () => {
    const bg: ImageU8 = { width: 3, height: 1, channels: 3, data: new Uint8Array([100, 100, 100, 100, 100, 100, 100, 100, 100]) };
    // Distances 0, sqrt(3 * 23^2) = 39.8 and sqrt(3 * 24^2) = 41.6.
    const img: ImageU8 = { width: 3, height: 1, channels: 3, data: new Uint8Array([100, 100, 100, 123, 123, 123, 124, 124, 124]) };
    expect([...segmentObject(img, bg)]).toEqual([0, 0, 1]);
    expect([...segmentObject(img, bg, 10)]).toEqual([0, 1, 1]);
  });

  it('computes intersection over union', () => {
    expect(maskIoU(new Uint8Array([1, 1, 0, 0]), new Uint8Array([0, 1, 1, 0]))).toBeCloseTo(1 / 3, 12);
    expect(maskIoU(new Uint8Array([1, 0]), new Uint8Array([0, 1]))).toBe(0);
    expect(maskIoU(new Uint8Array(4), new Uint8Array(4))).toBe(1);
    expect(() => maskIoU(new Uint8Array(4), new Uint8Array(5))).toThrow(/4 and 5/);
  });
});
