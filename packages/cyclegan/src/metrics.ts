/**
 * Measures for the mini horse2zebra demo: did a translation put zebra
 * stripes on the animal (stripe score) while keeping its outline and the
 * scenery (shape preservation)?
 *
 * Stripe score of an image inside an object mask M (filter scales are given
 * at 32 px and multiplied by s = min(width, height) / 32):
 *   Y  luminance (0.299 R + 0.587 G + 0.114 B) / 255, in [0, 1];
 *   H  Y minus its Gaussian blur (sigma 2s) restricted to M (normalized
 *      convolution blur(M Y) / blur(M), so background never leaks in): a
 *      high-pass that keeps stripes of period 3-5 px and drops shading;
 *   g  the luminance gradient by central differences, taken only at pixels
 *      whose four neighbours are all in M (the outline is no edge, and a
 *      part one or two pixels wide, where only one derivative exists,
 *      cannot fake an orientation);
 *   J  the structure tensor g g^T averaged by a Gaussian (sigma 2.5s)
 *      restricted to M, with eigenvalues l1 >= l2;
 *   c  its coherence ((l1 - l2) / (l1 + l2))^2 (Jahne's form): near 1 where
 *      the nearby gradients share one axis (bands), near 0 for isotropic
 *      texture or where no gradient was measured;
 *   stripe score = mean over M of |H| * c^2.
 * |H| alone would reward any high-frequency texture: random black/white
 * pixels have a larger |H| (about 0.39) than a zebra coat (0.28). Their
 * gradients point every way, so c^2 is small, and on the demo data they move
 * the score about 6% of the way from plain to zebra coats, while a zebra coat
 * on the same scenes moves it about 100%. A checkerboard has no central
 * difference at all and scores 0. Measured at 32 px: plain coats about
 * 0.003, zebra coats about 0.08 (test/cyclegan/metrics.test.ts).
 *
 * Shape preservation: segment the translated image as the pixels whose RGB
 * differs from the scene's known clean background by a Euclidean distance
 * above SEGMENT_THRESHOLD (8-bit units), and take the IoU of that with the
 * input's object mask. The dataset keeps every object pixel at least 60 away
 * from its background, so an exact render segments exactly, and a generator
 * may drift up to 40 on background pixels (about 23 per channel) before they
 * count against it.
 */
import type { ImageU8 } from './image/types.ts';

/** Euclidean RGB distance (0-255 units) above which a pixel counts as "not background". */
export const SEGMENT_THRESHOLD = 40;
/** The demo's targets: translated testA moves the stripe score this far from testA's mean to testB's... */
export const STRIPE_MOVEMENT_TARGET = 0.6;
/** ...while the segmented object keeps at least this IoU with the input's mask. */
export const MASK_IOU_TARGET = 0.5;

const HIGHPASS_SIGMA = 2;
const TENSOR_SIGMA = 2.5;

function checkMask(fn: string, img: ImageU8, mask: Uint8Array): void {
  if (mask.length !== img.width * img.height) {
    throw new Error(`${fn}: mask has ${mask.length} pixels, image is ${img.width}x${img.height}`);
  }
}

function rgbAt(img: ImageU8, i: number): [number, number, number] {
  const d = img.data;
  const c = img.channels;
  if (c < 3) return [d[i * c], d[i * c], d[i * c]];
  return [d[i * c], d[i * c + 1], d[i * c + 2]];
}

/** Luminance in [0, 1] per pixel (gray images use their gray channel; alpha is ignored). */
export function luminance(img: ImageU8): Float64Array {
  const n = img.width * img.height;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = rgbAt(img, i);
    y[i] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
  }
  return y;
}

function gaussianKernel(sigma: number): Float64Array {
  const radius = Math.ceil(3 * sigma);
  const k = new Float64Array(2 * radius + 1);
  for (let i = -radius; i <= radius; i++) k[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  return k;
}

/** Separable convolution with zero padding (the mask weights make the padding irrelevant). */
function convolve(src: Float64Array, w: number, h: number, k: Float64Array): Float64Array {
  const r = (k.length - 1) / 2;
  const tmp = new Float64Array(w * h);
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = -r; t <= r; t++) {
        const xx = x + t;
        if (xx >= 0 && xx < w) s += k[t + r] * src[y * w + xx];
      }
      tmp[y * w + x] = s;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = -r; t <= r; t++) {
        const yy = y + t;
        if (yy >= 0 && yy < h) s += k[t + r] * tmp[yy * w + x];
      }
      out[y * w + x] = s;
    }
  }
  return out;
}

/** Gaussian blur of `values` using only pixels inside `mask` (normalized convolution); 0 outside the mask. */
function maskedBlur(values: Float64Array, mask: Uint8Array, w: number, h: number, sigma: number): Float64Array {
  const k = gaussianKernel(sigma);
  const weighted = new Float64Array(w * h);
  const weights = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) {
    if (!mask[i]) continue;
    weighted[i] = values[i];
    weights[i] = 1;
  }
  const num = convolve(weighted, w, h, k);
  const den = convolve(weights, w, h, k);
  const out = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) if (mask[i] && den[i] > 0) out[i] = num[i] / den[i];
  return out;
}

/** Per-pixel terms of the stripe score: the high-pass |H| and the coherence C, 0 outside the mask. */
export function stripeMaps(img: ImageU8, mask: Uint8Array): { highpass: Float64Array; coherence: Float64Array } {
  checkMask('stripeMaps', img, mask);
  const { width: w, height: h } = img;
  const s = Math.min(w, h) / 32;
  const y = luminance(img);
  const blurred = maskedBlur(y, mask, w, h, HIGHPASS_SIGMA * s);
  const highpass = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) if (mask[i]) highpass[i] = Math.abs(y[i] - blurred[i]);

  const gxx = new Float64Array(w * h);
  const gxy = new Float64Array(w * h);
  const gyy = new Float64Array(w * h);
  const inside = (x: number, yy: number): boolean => x >= 0 && x < w && yy >= 0 && yy < h && mask[yy * w + x] === 1;
  for (let py = 0; py < h; py++) {
    for (let px = 0; px < w; px++) {
      const i = py * w + px;
      // Gradients only where both central differences stay inside the mask:
      // in a part one or two pixels wide only the along-part derivative would
      // exist, and one direction alone always looks perfectly coherent.
      if (!(inside(px, py) && inside(px - 1, py) && inside(px + 1, py) && inside(px, py - 1) && inside(px, py + 1))) continue;
      const gx = (y[i + 1] - y[i - 1]) / 2;
      const gy = (y[i + w] - y[i - w]) / 2;
      gxx[i] = gx * gx;
      gxy[i] = gx * gy;
      gyy[i] = gy * gy;
    }
  }
  const jxx = maskedBlur(gxx, mask, w, h, TENSOR_SIGMA * s);
  const jxy = maskedBlur(gxy, mask, w, h, TENSOR_SIGMA * s);
  const jyy = maskedBlur(gyy, mask, w, h, TENSOR_SIGMA * s);
  const coherence = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const trace = jxx[i] + jyy[i];
    // A flat patch has no orientation: call it incoherent rather than divide by ~0.
    if (!mask[i] || trace < 1e-12) continue;
    coherence[i] = ((jxx[i] - jyy[i]) ** 2 + 4 * jxy[i] ** 2) / trace ** 2;
  }
  return { highpass, coherence };
}

/** Mean over the mask of |luminance high-pass| x coherence^2 (see the file comment); 0 for an empty mask. */
export function stripeScore(img: ImageU8, mask: Uint8Array): number {
  const { highpass, coherence } = stripeMaps(img, mask);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    sum += highpass[i] * coherence[i] ** 2;
    count++;
  }
  return count === 0 ? 0 : sum / count;
}

/** 1 where `img` differs from `background` by a Euclidean RGB distance above `threshold` (0-255 units). */
export function segmentObject(img: ImageU8, background: ImageU8, threshold = SEGMENT_THRESHOLD): Uint8Array {
  if (img.width !== background.width || img.height !== background.height) {
    throw new Error(`segmentObject: image is ${img.width}x${img.height}, background ${background.width}x${background.height}`);
  }
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = rgbAt(img, i);
    const [br, bg, bb] = rgbAt(background, i);
    out[i] = Math.hypot(r - br, g - bg, b - bb) > threshold ? 1 : 0;
  }
  return out;
}

/** Intersection over union of two binary masks (nonzero = in); two empty masks agree perfectly (1). */
export function maskIoU(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`maskIoU: masks have ${a.length} and ${b.length} pixels`);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] !== 0;
    const y = b[i] !== 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}

export interface TranslationSet {
  /** testA inputs, their translations, their object masks and clean backgrounds, index-aligned. */
  realA: ImageU8[];
  fakeB: ImageU8[];
  masksA: Uint8Array[];
  backgroundsA: ImageU8[];
  /** testB images and masks: where the stripe score should end up. */
  realB: ImageU8[];
  masksB: Uint8Array[];
  /** Segmentation threshold; SEGMENT_THRESHOLD by default. */
  threshold?: number;
}

export interface TranslationReport {
  /** Mean stripe score of each set (fakeB is scored inside the masks of the testA inputs). */
  stripeScore: { testA: number; testB: number; fakeB: number };
  /** (fakeB - testA) / (testB - testA): 0 = no stripes added, 1 = as striped as real zebras. */
  stripeMovement: number;
  /** Mean over images of IoU(input mask, segmentObject(fakeB, background)). */
  maskIoU: number;
  perImage: { stripeScore: number; maskIoU: number }[];
  threshold: number;
  targets: { stripeMovement: number; maskIoU: number };
  passed: boolean;
}

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Scores a translated testA against testA and testB (see the file comment for the definitions). */
export function evaluateTranslation(set: TranslationSet): TranslationReport {
  const { realA, fakeB, masksA, backgroundsA, realB, masksB } = set;
  const threshold = set.threshold ?? SEGMENT_THRESHOLD;
  const n = realA.length;
  if (n === 0 || realB.length === 0) throw new Error('evaluateTranslation: need at least one testA and one testB image');
  if (fakeB.length !== n || masksA.length !== n || backgroundsA.length !== n) {
    throw new Error(`evaluateTranslation: ${n} realA but ${fakeB.length} fakeB, ${masksA.length} masksA, ${backgroundsA.length} backgroundsA`);
  }
  if (masksB.length !== realB.length) throw new Error(`evaluateTranslation: ${realB.length} realB but ${masksB.length} masksB`);
  for (let i = 0; i < n; i++) {
    if (fakeB[i].width !== realA[i].width || fakeB[i].height !== realA[i].height) {
      throw new Error(`evaluateTranslation: fakeB[${i}] is ${fakeB[i].width}x${fakeB[i].height}, realA[${i}] ${realA[i].width}x${realA[i].height}`);
    }
  }
  const scoreA = mean(realA.map((img, i) => stripeScore(img, masksA[i])));
  const scoreB = mean(realB.map((img, i) => stripeScore(img, masksB[i])));
  const perImage = fakeB.map((img, i) => ({
    stripeScore: stripeScore(img, masksA[i]),
    maskIoU: maskIoU(masksA[i], segmentObject(img, backgroundsA[i], threshold)),
  }));
  const scoreFake = mean(perImage.map((p) => p.stripeScore));
  const stripeMovement = (scoreFake - scoreA) / (scoreB - scoreA);
  const iou = mean(perImage.map((p) => p.maskIoU));
  return {
    stripeScore: { testA: scoreA, testB: scoreB, fakeB: scoreFake },
    stripeMovement,
    maskIoU: iou,
    perImage,
    threshold,
    targets: { stripeMovement: STRIPE_MOVEMENT_TARGET, maskIoU: MASK_IOU_TARGET },
    passed: stripeMovement >= STRIPE_MOVEMENT_TARGET && iou >= MASK_IOU_TARGET,
  };
}
