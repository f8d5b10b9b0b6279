/**
 * Procedural "mini horse2zebra" scenes: one four-legged animal standing on a
 * smooth landscape, rendered with either a plain coat (domain A) or a zebra
 * coat (domain B). A scene's shape, pose, background and both coats' colours
 * are drawn together (`drawScene`), and `renderScene(params, coat)` paints
 * that same scene with either coat, so tests can build pixel-aligned oracles.
 *
 * Learnability choices (the demo trains on 2 CPU cores in minutes):
 * - Backgrounds are smooth vertical gradients (sky over ground, meeting at
 *   a gently curved horizon that blends over a haze band of 10% of the
 *   image) with no texture and no hard edge, so a small generator can
 *   reproduce them almost exactly and the only thing it has to change is
 *   the coat. (With a one-pixel horizon, every row a translation moved it
 *   by counted against shape preservation.)
 * - Legs and tail are thick for their size (radius 0.16-0.2 and 0.12-0.14
 *   body units: about 3 and 2 px at 32 px): thinner parts were all outline,
 *   and a few minutes of training blur an outline by a pixel.
 * - Sky and ground colours are saturated while coats are browns/greys or
 *   black/white, and every scene is redrawn until each object pixel differs
 *   from the background by at least MIN_SEPARATION in both coats: the object
 *   mask is then recoverable from "differs from the known background".
 * - Object edges are hard (a pixel is object iff at least half its
 *   sub-samples are inside the shape) so the mask is exactly the set of
 *   pixels whose colour is not background; the coat itself is supersampled
 *   so stripes a few pixels wide are anti-aliased.
 */
import type { Rng } from '@stripes/tensor';
import type { ImageU8 } from '../image/types.ts';

export type Coat = 'plain' | 'zebra';
export type RGB = [number, number, number];

/**
 * Minimum Euclidean RGB distance (8-bit units) between every object pixel
 * and the background behind it, in both coats. 1.5x the default
 * segmentation threshold of `metrics.ts` (40), so exact renders segment
 * exactly and a translation has some slack on the object side.
 */
export const MIN_SEPARATION = 60;

/** Width of the hazy sky-to-ground blend at the horizon, as a fraction of the image side. */
const HORIZON_HAZE = 0.1;
/** Sub-samples per pixel side: 4x4 per pixel. */
const SUPERSAMPLE = 4;
/** Redraws allowed before giving up on a seed; palettes make a redraw rare. */
const MAX_SCENE_TRIES = 200;

export interface BackgroundParams {
  skyTop: RGB;
  skyHorizon: RGB;
  groundFar: RGB;
  groundNear: RGB;
  /** Horizon height as a fraction of the image height. */
  horizon: number;
  /** Horizon slope (fraction of height per image width) and a gentle hill. */
  tilt: number;
  hillAmplitude: number;
  hillPhase: number;
}

/** Body-frame geometry: the body is an ellipse of half-length 1 centred at the origin, head towards +x, y down. */
export interface PoseParams {
  /** Pixel position of the body centre and pixels per body unit. */
  cx: number;
  cy: number;
  scale: number;
  /** Facing left instead of right. */
  flip: boolean;
  bodyHeight: number;
  neckAngle: number;
  neckLength: number;
  headAngle: number;
  headLength: number;
  legLength: number;
  legRadius: number;
  /** Stride: front and hind legs swing by +-stride radians. */
  stride: number;
  tailAngle: number;
  tailLength: number;
}

export interface PlainCoatParams {
  base: RGB;
  /** Top-lit shading strength: the back is lighter, the belly darker. */
  shade: number;
  /** Legs and head are this much darker (a multiplicative factor below 1). */
  extremityTone: number;
}

export interface ZebraCoatParams {
  white: RGB;
  black: RGB;
  /** Stripe period in body units. */
  period: number;
  /** Fraction of each period that is black. */
  duty: number;
  phase: number;
  /** Bends body stripes: u = x + curvature * y^2 + wobble * sin(...). */
  curvature: number;
  wobble: number;
  wobbleFrequency: number;
  wobblePhase: number;
  /** Rotates body stripes away from vertical (radians). */
  tilt: number;
  shade: number;
}

export interface SceneParams {
  size: number;
  background: BackgroundParams;
  pose: PoseParams;
  plain: PlainCoatParams;
  zebra: ZebraCoatParams;
}

export interface RenderedScene {
  image: ImageU8;
  /** 1 for object pixels, 0 elsewhere; row-major, size*size. */
  mask: Uint8Array;
  /** The same scene without the animal. */
  background: ImageU8;
}

const enum Part {
  None = 0,
  Body,
  Neck,
  Head,
  Leg,
  Tail,
}

/** Which part a body-frame point falls in, with the coordinates the coat is painted in. */
interface Hit {
  part: Part;
  /** Body: x; head: along its long axis; limbs and neck: distance from the attached end. */
  u: number;
  /** Body: y; head and limbs: signed distance across the axis. */
  v: number;
}

/** A segment a -> b with a radius tapering from r0 at a to r1 at b. */
interface Capsule {
  ax: number;
  ay: number;
  ux: number;
  uy: number;
  len: number;
  r0: number;
  r1: number;
}

interface Anatomy {
  bodyHeight: number;
  head: { cx: number; cy: number; cos: number; sin: number; a: number; b: number };
  neck: Capsule;
  legs: Capsule[];
  tail: Capsule;
  bounds: { x0: number; x1: number; y0: number; y1: number };
}

type Shape = Omit<PoseParams, 'cx' | 'cy' | 'scale' | 'flip'>;

function capsule(ax: number, ay: number, bx: number, by: number, r0: number, r1: number): Capsule {
  const len = Math.hypot(bx - ax, by - ay);
  return { ax, ay, ux: (bx - ax) / len, uy: (by - ay) / len, len, r0, r1 };
}

/** The parts' placement in body units, computed once per scene so hit tests only do arithmetic. */
function anatomy(shape: Shape): Anatomy {
  const h = shape.bodyHeight;
  const neckBaseX = 0.7;
  const neckBaseY = -0.3 * h;
  const neckEndX = neckBaseX + shape.neckLength * Math.cos(shape.neckAngle);
  const neckEndY = neckBaseY - shape.neckLength * Math.sin(shape.neckAngle);
  const neck = capsule(neckBaseX, neckBaseY, neckEndX, neckEndY, 0.24, 0.18);
  // Head: an ellipse hanging off the neck's end, pointing forward-down.
  const cos = Math.cos(shape.headAngle);
  const sin = -Math.sin(shape.headAngle);
  const head = { cx: neckEndX + 0.5 * shape.headLength * cos, cy: neckEndY + 0.5 * shape.headLength * sin, cos, sin, a: 0.55 * shape.headLength + 0.12, b: 0.17 };
  // Legs: pairs under the shoulders and hips, swinging by +-stride.
  const hipY = 0.55 * h;
  const legs = (
    [
      [0.62, shape.stride],
      [0.45, -0.6 * shape.stride],
      [-0.5, 0.8 * shape.stride],
      [-0.68, -shape.stride],
    ] as const
  ).map(([x, swing]) => capsule(x, hipY, x + shape.legLength * Math.sin(swing), hipY + shape.legLength * Math.cos(swing), shape.legRadius, shape.legRadius));
  const tailX = -0.95;
  const tailY = -0.2 * h;
  const tail = capsule(tailX, tailY, tailX - shape.tailLength * Math.cos(shape.tailAngle), tailY + shape.tailLength * Math.sin(shape.tailAngle), 0.14, 0.12);

  const hx = Math.hypot(head.a * cos, head.b * sin);
  const hy = Math.hypot(head.a * sin, head.b * cos);
  const bounds = { x0: Math.min(-1, head.cx - hx), x1: Math.max(1, head.cx + hx), y0: Math.min(-h, head.cy - hy), y1: Math.max(h, head.cy + hy) };
  for (const c of [neck, ...legs, tail]) {
    const r = Math.max(c.r0, c.r1);
    const bx = c.ax + c.ux * c.len;
    const by = c.ay + c.uy * c.len;
    bounds.x0 = Math.min(bounds.x0, c.ax - r, bx - r);
    bounds.x1 = Math.max(bounds.x1, c.ax + r, bx + r);
    bounds.y0 = Math.min(bounds.y0, c.ay - r, by - r);
    bounds.y1 = Math.max(bounds.y1, c.ay + r, by + r);
  }
  return { bodyHeight: h, head, neck, legs, tail, bounds };
}

function inCapsule(c: Capsule, x: number, y: number, out: Hit, part: Part): boolean {
  const px = x - c.ax;
  const py = y - c.ay;
  const t = Math.min(c.len, Math.max(0, px * c.ux + py * c.uy));
  const r = c.r0 + ((c.r1 - c.r0) * t) / c.len;
  const qx = px - t * c.ux;
  const qy = py - t * c.uy;
  if (qx * qx + qy * qy > r * r) return false;
  out.part = part;
  out.u = t;
  out.v = -px * c.uy + py * c.ux;
  return true;
}

/** Writes which part contains body-frame point (x, y) into `out`; parts tested first are drawn on top. */
function hitTest(body: Anatomy, x: number, y: number, out: Hit): Part {
  out.part = Part.None;
  const b = body.bounds;
  if (x < b.x0 || x > b.x1 || y < b.y0 || y > b.y1) return Part.None;
  const hd = body.head;
  const hu = (x - hd.cx) * hd.cos + (y - hd.cy) * hd.sin;
  const hv = -(x - hd.cx) * hd.sin + (y - hd.cy) * hd.cos;
  if ((hu / hd.a) ** 2 + (hv / hd.b) ** 2 <= 1) {
    out.part = Part.Head;
    out.u = hu;
    out.v = hv;
    return Part.Head;
  }
  if (inCapsule(body.neck, x, y, out, Part.Neck)) return Part.Neck;
  if (x * x + (y / body.bodyHeight) ** 2 <= 1) {
    out.part = Part.Body;
    out.u = x;
    out.v = y;
    return Part.Body;
  }
  for (const leg of body.legs) if (inCapsule(leg, x, y, out, Part.Leg)) return Part.Leg;
  if (inCapsule(body.tail, x, y, out, Part.Tail)) return Part.Tail;
  return Part.None;
}

function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.random();
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

function jitter(rng: Rng, c: RGB, amount: number): RGB {
  return [c[0] + uniform(rng, -amount, amount), c[1] + uniform(rng, -amount, amount), c[2] + uniform(rng, -amount, amount)];
}

/**
 * [top, horizon] pairs: deep blue, clear day, teal. Skies stay saturated
 * down to the horizon: a dusk gradient passes through greys, and a pale
 * horizon is too close to a zebra's white.
 */
const SKIES: readonly [RGB, RGB][] = [
  [[45, 90, 200], [110, 160, 235]],
  [[70, 125, 215], [135, 185, 240]],
  [[50, 140, 190], [120, 195, 220]],
];
/** [far, near] pairs: grass, lush grass, dry olive savanna, sand. (Red earth is left out: it matches brown coats.) */
const GROUNDS: readonly [RGB, RGB][] = [
  [[100, 170, 50], [65, 140, 30]],
  [[70, 160, 50], [40, 125, 30]],
  [[165, 160, 70], [135, 130, 45]],
  [[220, 175, 100], [200, 150, 80]],
];
/** Chestnut, bay, dark brown, light brown, grey, dark grey. */
const PLAIN_COATS: readonly RGB[] = [
  [150, 80, 40],
  [120, 65, 35],
  [85, 55, 35],
  [165, 115, 75],
  [140, 140, 140],
  [90, 90, 95],
];

function drawBackground(rng: Rng): BackgroundParams {
  const [skyTop, skyHorizon] = pick(rng, SKIES);
  const [groundFar, groundNear] = pick(rng, GROUNDS);
  return {
    skyTop: jitter(rng, skyTop, 12),
    skyHorizon: jitter(rng, skyHorizon, 10),
    groundFar: jitter(rng, groundFar, 12),
    groundNear: jitter(rng, groundNear, 12),
    horizon: uniform(rng, 0.35, 0.6),
    tilt: uniform(rng, -0.08, 0.08),
    hillAmplitude: uniform(rng, 0, 0.05),
    hillPhase: uniform(rng, 0, 2 * Math.PI),
  };
}

function drawShape(rng: Rng): Shape {
  return {
    bodyHeight: uniform(rng, 0.45, 0.6),
    neckAngle: uniform(rng, 0.75, 1.3),
    neckLength: uniform(rng, 0.6, 0.9),
    headAngle: uniform(rng, -1.1, -0.35),
    headLength: uniform(rng, 0.35, 0.5),
    legLength: uniform(rng, 0.85, 1.25),
    legRadius: uniform(rng, 0.16, 0.2),
    stride: uniform(rng, 0, 0.35),
    tailAngle: uniform(rng, 0.6, 1.3),
    tailLength: uniform(rng, 0.5, 0.85),
  };
}

function drawPlain(rng: Rng): PlainCoatParams {
  return { base: jitter(rng, pick(rng, PLAIN_COATS), 12), shade: uniform(rng, 0.08, 0.2), extremityTone: uniform(rng, 0.8, 0.95) };
}

function drawZebra(rng: Rng, size: number, scale: number): ZebraCoatParams {
  const w = uniform(rng, 225, 245);
  const k = uniform(rng, 15, 40);
  // Stripe period fixed relative to the image (10-15% of its side: 3.2-4.8 px
  // at 32 px), so stripes stay resolvable whatever the animal's size.
  const periodPx = size * uniform(rng, 0.1, 0.15);
  return {
    white: [w, w, w - uniform(rng, 0, 10)],
    black: [k, k, k],
    period: periodPx / scale,
    duty: uniform(rng, 0.4, 0.55),
    phase: rng.random(),
    curvature: uniform(rng, -0.35, 0.35),
    wobble: uniform(rng, 0, 0.06),
    wobbleFrequency: uniform(rng, 2, 5),
    wobblePhase: uniform(rng, 0, 2 * Math.PI),
    tilt: uniform(rng, -0.35, 0.35),
    shade: uniform(rng, 0.03, 0.1),
  };
}

function horizonAt(bg: BackgroundParams, size: number, px: number): number {
  const t = px / size - 0.5;
  return size * (bg.horizon + bg.tilt * t + bg.hillAmplitude * Math.sin(2 * Math.PI * t + bg.hillPhase));
}

function mix(a: RGB, b: RGB, t: number, out: RGB): void {
  out[0] = a[0] + (b[0] - a[0]) * t;
  out[1] = a[1] + (b[1] - a[1]) * t;
  out[2] = a[2] + (b[2] - a[2]) * t;
}

function backgroundAt(bg: BackgroundParams, size: number, px: number, py: number, out: RGB): void {
  const hz = horizonAt(bg, size, px);
  const sky: RGB = [0, 0, 0];
  mix(bg.skyTop, bg.skyHorizon, Math.min(1, Math.max(0, py) / hz), sky);
  mix(bg.groundFar, bg.groundNear, Math.min(1, Math.max(0, py - hz) / Math.max(1e-6, size - hz)), out);
  const t = Math.min(1, Math.max(0, (py - hz) / (HORIZON_HAZE * size) + 0.5));
  const s = t * t * (3 - 2 * t);
  mix(sky, out, s, out);
}

function coatAt(params: SceneParams, coat: Coat, hit: Hit, out: RGB): void {
  const h = params.pose.bodyHeight;
  if (coat === 'plain') {
    const p = params.plain;
    let tone = hit.part === Part.Body ? 1 - (p.shade * hit.v) / h : 1;
    if (hit.part === Part.Leg || hit.part === Part.Head || hit.part === Part.Tail) tone *= p.extremityTone;
    out[0] = p.base[0] * tone;
    out[1] = p.base[1] * tone;
    out[2] = p.base[2] * tone;
    return;
  }
  const z = params.zebra;
  // Stripe coordinate per part: bands across the body (bent and tilted),
  // rings around legs, neck and tail, finer bands across the head.
  let u: number;
  let period = z.period;
  switch (hit.part) {
    case Part.Body: {
      const x = hit.u * Math.cos(z.tilt) + hit.v * Math.sin(z.tilt);
      u = x + z.curvature * hit.v * hit.v + z.wobble * Math.sin(z.wobbleFrequency * hit.v + z.wobblePhase);
      break;
    }
    case Part.Head:
      u = hit.u;
      period *= 0.75;
      break;
    default:
      u = hit.u;
      period *= 0.8;
  }
  const f = u / period + z.phase;
  const black = f - Math.floor(f) < z.duty;
  const tone = hit.part === Part.Body ? 1 - (z.shade * hit.v) / h : 1;
  const c = black ? z.black : z.white;
  out[0] = c[0] * tone;
  out[1] = c[1] * tone;
  out[2] = c[2] * tone;
}

function clampByte(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** Renders the scene once per coat, sharing the background and the hit tests between coats. */
function paint(params: SceneParams, coats: readonly Coat[]): RenderedScene[] {
  const { size, pose } = params;
  const body = anatomy(pose);
  const n = size * size;
  const background = new Uint8Array(n * 3);
  const mask = new Uint8Array(n);
  const images = coats.map(() => new Uint8Array(n * 3));
  const bgc: RGB = [0, 0, 0];
  const cc: RGB = [0, 0, 0];
  const hit: Hit = { part: Part.None, u: 0, v: 0 };
  const objSum = new Float64Array(3 * coats.length);
  const samples = SUPERSAMPLE * SUPERSAMPLE;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      objSum.fill(0);
      let inside = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const x = px + (sx + 0.5) / SUPERSAMPLE;
          const y = py + (sy + 0.5) / SUPERSAMPLE;
          const bx = (x - pose.cx) / pose.scale;
          if (hitTest(body, pose.flip ? -bx : bx, (y - pose.cy) / pose.scale, hit) === Part.None) continue;
          inside++;
          for (let k = 0; k < coats.length; k++) {
            coatAt(params, coats[k], hit, cc);
            for (let c = 0; c < 3; c++) objSum[3 * k + c] += cc[c];
          }
        }
      }
      const i = py * size + px;
      const isObject = 2 * inside >= samples;
      mask[i] = isObject ? 1 : 0;
      // The background is sampled at the pixel centre only: it has no hard
      // edge left to anti-alias (the horizon is a haze band).
      backgroundAt(params.background, size, px + 0.5, py + 0.5, bgc);
      for (let c = 0; c < 3; c++) background[3 * i + c] = clampByte(bgc[c]);
      for (let k = 0; k < coats.length; k++) {
        for (let c = 0; c < 3; c++) images[k][3 * i + c] = isObject ? clampByte(objSum[3 * k + c] / inside) : background[3 * i + c];
      }
    }
  }
  return images.map((data) => ({
    image: { width: size, height: size, channels: 3, data },
    mask: mask.slice(),
    background: { width: size, height: size, channels: 3, data: background.slice() },
  }));
}

/** Paints the scene with one coat. Pure: the same params give the same pixels. */
export function renderScene(params: SceneParams, coat: Coat): RenderedScene {
  return paint(params, [coat])[0];
}

/** Smallest colour distance between an object pixel and the background behind it. */
function minSeparation(scene: RenderedScene): number {
  let min = Infinity;
  const a = scene.image.data;
  const b = scene.background.data;
  for (let i = 0; i < scene.mask.length; i++) {
    if (!scene.mask[i]) continue;
    min = Math.min(min, Math.hypot(a[3 * i] - b[3 * i], a[3 * i + 1] - b[3 * i + 1], a[3 * i + 2] - b[3 * i + 2]));
  }
  return min;
}

function drawCandidate(rng: Rng, size: number): SceneParams {
  const background = drawBackground(rng);
  const shape = drawShape(rng);
  const { bounds } = anatomy(shape);
  const width = bounds.x1 - bounds.x0;
  const height = bounds.y1 - bounds.y0;
  // The animal spans 65-85% of the image width (never taller than 90%).
  const scale = Math.min(size * uniform(rng, 0.65, 0.85) / width, (0.9 * size) / height);
  const flip = rng.random() < 0.5;
  const margin = 1;
  const left = flip ? -bounds.x1 : bounds.x0;
  const cx = margin - left * scale + rng.random() * Math.max(0, size - 2 * margin - width * scale);
  // Feet stand on the ground: between just below the horizon and the bottom margin.
  const feetMin = Math.max(size * background.horizon + 2, margin + height * scale);
  const feetMax = size - margin;
  const feet = feetMin >= feetMax ? feetMax : uniform(rng, feetMin, feetMax);
  const cy = feet - bounds.y1 * scale;
  const pose: PoseParams = { ...shape, cx, cy, scale, flip };
  return { size, background, pose, plain: drawPlain(rng), zebra: drawZebra(rng, size, scale) };
}

/**
 * Draws a scene: pose, background and both coats' parameters, so either coat
 * can be rendered on the same shape and background. Redraws until both coats
 * keep MIN_SEPARATION from the background and the animal covers some pixels.
 */
export function drawScene(rng: Rng, size: number): SceneParams {
  if (!Number.isInteger(size) || size < 16) throw new Error(`drawScene: size must be an integer >= 16, got ${size}`);
  for (let attempt = 0; attempt < MAX_SCENE_TRIES; attempt++) {
    const params = drawCandidate(rng, size);
    const [plain, zebra] = paint(params, ['plain', 'zebra']);
    if (!plain.mask.includes(1) || Math.min(minSeparation(plain), minSeparation(zebra)) < MIN_SEPARATION) continue;
    return params;
  }
  throw new Error(`drawScene: no scene with enough object/background contrast after ${MAX_SCENE_TRIES} tries`);
}

/** One random animal with the given coat (the coat choice does not change the scene drawn). */
export function renderAnimal(rng: Rng, size: number, coat: Coat): RenderedScene {
  return renderScene(drawScene(rng, size), coat);
}
