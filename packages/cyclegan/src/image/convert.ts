import type { ImageCHW, ImageU8 } from './types.ts';

/**
 * The channel counts images are converted to, so the only ones a model can be
 * fed or write: gray (1) and RGB (3). The CLI's --input_nc / --output_nc,
 * train, test and translate all check against this one list.
 */
export const IMAGE_CHANNELS = [1, 3] as const;
export type ImageChannels = (typeof IMAGE_CHANNELS)[number];

export function isImageChannels(n: number): n is ImageChannels {
  return (IMAGE_CHANNELS as readonly number[]).includes(n);
}

/**
 * Converts to gray (1) or RGB (3) as PIL's `convert('L')` / `convert('RGB')`:
 * alpha is dropped, not composited; gray is replicated; RGB to gray uses
 * PIL's fixed-point ITU-R 601-2 luma, (19595 R + 38470 G + 7471 B + 2^15) >> 16.
 * Returns the input itself when it already has the requested channels.
 */
export function toChannels(img: ImageU8, channels: ImageChannels): ImageU8 {
  if (img.channels === channels) return img;
  const { width, height, channels: cin, data: src } = img;
  const n = width * height;
  const data = new Uint8Array(n * channels);
  const isGray = cin <= 2;
  for (let p = 0; p < n; p++) {
    const s = p * cin;
    if (channels === 1) {
      // Gray + alpha keeps its gray; RGB(A) goes through luma.
      data[p] = isGray ? src[s] : (src[s] * 19595 + src[s + 1] * 38470 + src[s + 2] * 7471 + 0x8000) >>> 16;
    } else if (isGray) {
      data[p * 3] = data[p * 3 + 1] = data[p * 3 + 2] = src[s];
    } else {
      data[p * 3] = src[s];
      data[p * 3 + 1] = src[s + 1];
      data[p * 3 + 2] = src[s + 2];
    }
  }
  return { width, height, channels, data };
}

/**
 * byte -> float as torchvision's ToTensor then Normalize(0.5, 0.5), each step
 * rounded to f32 like the tensors it goes through, so values match bit for bit.
 */
const U8_TO_UNIT = (() => {
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.fround(Math.fround(Math.fround(v / 255) - 0.5) / 0.5);
  return lut;
})();

/** Interleaved bytes to planar CHW in [-1, 1]. */
export function toCHW(img: ImageU8): ImageCHW {
  const { width, height, channels, data: src } = img;
  const plane = width * height;
  const data = new Float32Array(plane * channels);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < channels; c++) data[c * plane + p] = U8_TO_UNIT[src[p * channels + c]];
  }
  return { channels, height, width, data };
}

/** Planar CHW to interleaved bytes, each value mapped by `byte` (clamped to [-1, 1] first; NaN to -1). */
function toBytes(chw: ImageCHW, fn: string, byte: (x: number) => number): ImageU8 {
  const { width, height, channels, data: src } = chw;
  if (channels < 1 || channels > 4) throw new Error(`${fn}: expected 1 to 4 channels, got ${channels}`);
  const plane = width * height;
  if (src.length !== plane * channels) {
    throw new Error(`${fn}: ${channels}x${height}x${width} needs ${plane * channels} values, got ${src.length}`);
  }
  const data = new Uint8Array(plane * channels);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < channels; c++) {
      const x = src[c * plane + p];
      // NaN clamps to -1 so a diverged model writes black, not garbage.
      data[p * channels + c] = byte(x > 1 ? 1 : x >= -1 ? x : -1);
    }
  }
  return { width, height, channels: channels as ImageU8['channels'], data };
}

/** Planar CHW in [-1, 1] to interleaved bytes: clamp, (x + 1) * 127.5, round to nearest; `toCHW`'s exact inverse. */
export function fromCHW(chw: ImageCHW): ImageU8 {
  return toBytes(chw, 'fromCHW', (x) => Math.round((x + 1) * 127.5));
}

/**
 * A network's output in [-1, 1] to bytes as the reference's `tensor2im`
 * (util/util.py) writes its result images: (x + 1) / 2 * 255 in float32, cast
 * to uint8, which truncates. Every image a model produced goes through this,
 * so our files compare pixel for pixel with the reference's. Unlike `fromCHW`
 * it is lossy on the way back: 63 of the 256 byte values of an input come
 * back one lower, as in the reference's saved real images.
 */
export function tensor2im(chw: ImageCHW): ImageU8 {
  return toBytes(chw, 'tensor2im', (x) => Math.trunc(Math.fround(Math.fround(Math.fround(x + 1) / 2) * 255)));
}
