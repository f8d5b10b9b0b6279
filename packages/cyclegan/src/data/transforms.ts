import type { Rng } from '@stripes/tensor';
import { toCHW, toChannels, type ImageChannels } from '../image/convert.ts';
import { resize } from '../image/resize.ts';
import type { ImageCHW, ImageU8 } from '../image/types.ts';

/** The reference's `--preprocess` modes (the CLI's choices too). */
export const PREPROCESS_MODES = ['resize_and_crop', 'crop', 'scale_width', 'scale_width_and_crop', 'none'] as const;
export type Preprocess = (typeof PREPROCESS_MODES)[number];

export interface TransformOptions {
  preprocess: Preprocess;
  loadSize: number;
  cropSize: number;
  noFlip: boolean;
  /** Channels fed to the model: 1 converts to gray as the reference's Grayscale(1), 3 to RGB. */
  channels: ImageChannels;
}

/**
 * The random choices for one image. The crop offsets are kept as uniform
 * draws in [0, 1) and turned into pixels once the image's size is known
 * (`floor(u * (range + 1))`, which is what `Rng.int` would have drawn), so
 * they can be drawn in a fixed order before any file is decoded.
 */
export interface TransformParams {
  cropX: number;
  cropY: number;
  flip: boolean;
}

/** Rejects options that would fail on every image. */
export function validateTransformOptions(opts: TransformOptions): void {
  const { preprocess, loadSize, cropSize } = opts;
  if (!PREPROCESS_MODES.includes(preprocess)) {
    throw new Error(`unknown preprocess mode '${preprocess}' (expected one of ${PREPROCESS_MODES.join(', ')})`);
  }
  for (const [name, v] of [['loadSize', loadSize], ['cropSize', cropSize]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  }
  if ((preprocess === 'resize_and_crop' || preprocess === 'scale_width_and_crop') && loadSize < cropSize) {
    throw new Error(`preprocess '${preprocess}': loadSize ${loadSize} is smaller than cropSize ${cropSize}`);
  }
}

/**
 * Draws one image's parameters: crop top, crop left (the order of
 * torchvision's RandomCrop), then flip (RandomHorizontalFlip: flip when
 * u < 0.5). Always exactly three draws, whatever the mode, so the stream
 * stays aligned across option changes that do not use them.
 */
export function getParams(rng: Rng): TransformParams {
  const cropY = rng.random();
  const cropX = rng.random();
  const flip = rng.random() < 0.5;
  return { cropX, cropY, flip };
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The reference's __scale_width: width to `target`, height keeping aspect but never below `cropSize`. */
function scaleWidth(img: ImageU8, target: number, cropSize: number): ImageU8 {
  const { width: ow, height: oh } = img;
  if (ow === target && oh >= cropSize) return img;
  const h = Math.trunc(Math.max((target * oh) / ow, cropSize));
  return resize(img, target, h, 'bicubic');
}

/** The reference's __make_power_2 with base 4: each side to the nearest multiple of 4. */
function makeMultipleOf4(img: ImageU8): ImageU8 {
  const { width: ow, height: oh } = img;
  const w = roundHalfEven(ow / 4) * 4;
  const h = roundHalfEven(oh / 4) * 4;
  if (w === 0 || h === 0) throw new Error(`image ${ow}x${oh} is too small to round to a multiple of 4`);
  if (w === ow && h === oh) return img;
  return resize(img, w, h, 'bicubic');
}

/** torchvision's RandomCrop placed by `params`; an image smaller than the crop is an error there too. */
function randomCrop(img: ImageU8, size: number, params: TransformParams): ImageU8 {
  const { width, height, channels, data } = img;
  if (width < size || height < size) throw new Error(`image ${width}x${height} is smaller than cropSize ${size}`);
  if (width === size && height === size) return img;
  const top = Math.floor(params.cropY * (height - size + 1));
  const left = Math.floor(params.cropX * (width - size + 1));
  const out = new Uint8Array(size * size * channels);
  for (let y = 0; y < size; y++) {
    const from = ((top + y) * width + left) * channels;
    out.set(data.subarray(from, from + size * channels), y * size * channels);
  }
  return { width: size, height: size, channels, data: out };
}

function flipHorizontal(img: ImageU8): ImageU8 {
  const { width, height, channels, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * channels;
      const d = (y * width + (width - 1 - x)) * channels;
      for (let c = 0; c < channels; c++) out[d + c] = data[s + c];
    }
  }
  return { ...img, data: out };
}

/**
 * The reference's get_transform, applied with drawn parameters: channel
 * conversion, the preprocess mode's resize and crop, the flip, then scaling
 * to [-1, 1]. Resizing is on 8-bit samples as PIL does it, so values match
 * the reference's tensors.
 */
export function applyTransform(img: ImageU8, opts: TransformOptions, params: TransformParams): ImageCHW {
  const { preprocess, loadSize, cropSize } = opts;
  let out = toChannels(img, opts.channels);
  if (preprocess === 'resize_and_crop') out = resize(out, loadSize, loadSize, 'bicubic');
  else if (preprocess === 'scale_width' || preprocess === 'scale_width_and_crop') out = scaleWidth(out, loadSize, cropSize);
  if (preprocess === 'resize_and_crop' || preprocess === 'crop' || preprocess === 'scale_width_and_crop') {
    out = randomCrop(out, cropSize, params);
  }
  if (preprocess === 'none') out = makeMultipleOf4(out);
  if (!opts.noFlip && params.flip) out = flipHorizontal(out);
  return toCHW(out);
}
