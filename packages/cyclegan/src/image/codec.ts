import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { ImageU8 } from './types.ts';

/** Larger images are refused rather than decoded: a dataset of photos never needs more, and it bounds memory. */
export const MAX_MEGAPIXELS = 100;
/** jpeg-js's own cap on what one decode may allocate. */
const MAX_JPEG_MEMORY_MB = 1024;

/** A file that could not be decoded; `reason` says why without the path, for logs that name the path apart. */
export class ImageDecodeError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'ImageDecodeError';
  }
}

export type ImageFormat = 'png' | 'jpeg';

/** What a file's header says, read without decoding its pixels. */
export interface ImageInfo {
  format: ImageFormat;
  width: number;
  height: number;
  /** The channels `decodeImage` will return. */
  channels: 1 | 2 | 3 | 4;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function sniff(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

function u16be(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

function u32be(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

interface PngChunk {
  type: string;
  /** Offset of the chunk's length field. */
  start: number;
  /** Offset just past its CRC. */
  end: number;
}

interface PngLayout {
  width: number;
  height: number;
  colorType: number;
  chunks: PngChunk[];
  /** Whether the walk reached IEND; false means the bytes ran out first. */
  complete: boolean;
}

/**
 * Walks a PNG's chunk list. Returns a reason string when the structure is
 * broken; a layout with `complete: false` when the bytes end early (a prefix
 * read by `probeImage`, or a truncated file).
 */
function walkPng(bytes: Uint8Array): PngLayout | string {
  let pos = 8;
  const chunks: PngChunk[] = [];
  let width = 0;
  let height = 0;
  let colorType = -1;
  while (pos + 8 <= bytes.length) {
    const length = u32be(bytes, pos);
    const type = String.fromCharCode(bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]);
    if (!/^[A-Za-z]{4}$/.test(type)) return `corrupt PNG: invalid chunk type at byte ${pos + 4}`;
    if (chunks.length === 0) {
      if (type !== 'IHDR') return 'corrupt PNG: first chunk is not IHDR';
      if (pos + 8 + 13 > bytes.length) break;
      width = u32be(bytes, pos + 8);
      height = u32be(bytes, pos + 12);
      colorType = bytes[pos + 17];
    }
    const end = pos + 12 + length;
    chunks.push({ type, start: pos, end });
    if (type === 'IEND') return { width, height, colorType, chunks, complete: true };
    pos = end;
  }
  if (chunks.length === 0) return { width: 0, height: 0, colorType: -1, chunks, complete: false };
  return { width, height, colorType, chunks, complete: false };
}

function pngChannels(colorType: number, chunks: PngChunk[]): 1 | 2 | 3 | 4 | null {
  switch (colorType) {
    case 0:
      return 1;
    case 2:
      return 3;
    case 3:
      // A palette with a tRNS chunk carries per-entry alpha.
      return chunks.some((c) => c.type === 'tRNS') ? 4 : 3;
    case 4:
      return 2;
    case 6:
      return 4;
    default:
      return null;
  }
}

function checkSize(width: number, height: number): string | null {
  if (width <= 0 || height <= 0) return `invalid size ${width}x${height}`;
  if (width * height > MAX_MEGAPIXELS * 1e6) {
    return `image too large: ${width}x${height} exceeds ${MAX_MEGAPIXELS} megapixels`;
  }
  return null;
}

function decodePng(bytes: Uint8Array, path: string): ImageU8 {
  const layout = walkPng(bytes);
  if (typeof layout === 'string') throw new ImageDecodeError(path, layout);
  if (!layout.complete) throw new ImageDecodeError(path, 'truncated PNG: the file ends before the IEND chunk');
  const channels = pngChannels(layout.colorType, layout.chunks);
  if (channels === null) throw new ImageDecodeError(path, `corrupt PNG: unknown color type ${layout.colorType}`);
  const sizeError = checkSize(layout.width, layout.height);
  if (sizeError) throw new ImageDecodeError(path, sizeError);

  // pngjs blanks every pixel that matches a gray or RGB tRNS key color (color
  // and alpha both), while PIL keeps the color and only masks it; the mask is
  // dropped on the way to the model anyway, so decode without that chunk.
  let input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (layout.colorType === 0 || layout.colorType === 2) {
    const keep = layout.chunks.filter((c) => c.type !== 'tRNS');
    if (keep.length !== layout.chunks.length) {
      input = Buffer.concat([input.subarray(0, 8), ...keep.map((c) => input.subarray(c.start, c.end))]);
    }
  }

  let rgba: Buffer;
  try {
    // Always RGBA, 8 bits per sample: palettes expanded, 16-bit samples
    // rescaled as round(v * 255 / 65535).
    rgba = PNG.sync.read(input).data;
  } catch (e) {
    throw new ImageDecodeError(path, `corrupt PNG: ${(e as Error).message}`);
  }
  const { width, height } = layout;
  const n = width * height;
  const data = new Uint8Array(n * channels);
  for (let p = 0; p < n; p++) {
    const s = p * 4;
    const d = p * channels;
    if (channels === 1) {
      data[d] = rgba[s];
    } else if (channels === 2) {
      data[d] = rgba[s];
      data[d + 1] = rgba[s + 3];
    } else {
      for (let c = 0; c < channels; c++) data[d + c] = rgba[s + c];
    }
  }
  return { width, height, channels, data };
}

interface JpegHeader {
  width: number;
  height: number;
  components: number;
  /** Offset of the first start-of-scan marker. */
  scanStart: number;
}

/**
 * Walks JPEG marker segments up to the first scan. Returns a reason string
 * for a broken structure and null when the bytes end before the first scan.
 */
function walkJpeg(bytes: Uint8Array): JpegHeader | string | null {
  let pos = 2;
  let frame: Omit<JpegHeader, 'scanStart'> | null = null;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) return `corrupt JPEG: expected a marker at byte ${pos}`;
    const marker = bytes[pos + 1];
    if (marker === 0xff) {
      // Fill byte before a marker.
      pos += 1;
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    if (marker === 0xd9) return 'corrupt JPEG: end of image before any scan';
    const length = u16be(bytes, pos + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (pos + 10 > bytes.length) return null;
      frame = { height: u16be(bytes, pos + 5), width: u16be(bytes, pos + 7), components: bytes[pos + 9] };
    }
    if (marker === 0xda) {
      if (!frame) return 'corrupt JPEG: scan before frame header';
      return { ...frame, scanStart: pos };
    }
    pos += 2 + length;
  }
  return null;
}

function hasEndOfImage(bytes: Uint8Array, from: number): boolean {
  // Entropy-coded data stuffs every 0xFF with 0x00, so FF D9 after the first
  // scan can only be the end-of-image marker.
  for (let i = bytes.length - 2; i >= from; i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  }
  return false;
}

function decodeJpeg(bytes: Uint8Array, path: string): ImageU8 {
  const header = walkJpeg(bytes);
  if (typeof header === 'string') throw new ImageDecodeError(path, header);
  if (header === null) throw new ImageDecodeError(path, 'truncated JPEG: the file ends before the first scan');
  if (!hasEndOfImage(bytes, header.scanStart)) {
    throw new ImageDecodeError(path, 'truncated JPEG: no end-of-image marker');
  }
  const sizeError = checkSize(header.width, header.height);
  if (sizeError) throw new ImageDecodeError(path, sizeError);
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxResolutionInMP: MAX_MEGAPIXELS,
      maxMemoryUsageInMB: MAX_JPEG_MEMORY_MB,
    });
  } catch (e) {
    throw new ImageDecodeError(path, `corrupt JPEG: ${(e as Error).message}`);
  }
  const { width, height, data: rgb } = decoded;
  if (header.components !== 1) return { width, height, channels: 3, data: rgb };
  // jpeg-js always returns RGB; a one-component JPEG has R = G = B.
  const gray = new Uint8Array(width * height);
  for (let p = 0; p < gray.length; p++) gray[p] = rgb[p * 3];
  return { width, height, channels: 1, data: gray };
}

/** Decodes PNG (any color type and bit depth) or baseline/progressive JPEG, chosen by magic bytes. */
export function decodeImage(bytes: Uint8Array, path: string): ImageU8 {
  if (bytes.length === 0) throw new ImageDecodeError(path, 'empty file');
  const format = sniff(bytes);
  if (format === 'png') return decodePng(bytes, path);
  if (format === 'jpeg') return decodeJpeg(bytes, path);
  throw new ImageDecodeError(path, 'unknown image format (not PNG or JPEG)');
}

/** Reads and decodes one image file; read failures are reported as `ImageDecodeError` too. */
export function readImage(path: string): ImageU8 {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new ImageDecodeError(path, `cannot read file: ${(e as Error).message}`);
  }
  return decodeImage(bytes, path);
}

function headerInfo(bytes: Uint8Array, path: string, whole: boolean): ImageInfo | null {
  const format = sniff(bytes);
  if (format === null) {
    throw new ImageDecodeError(path, bytes.length === 0 ? 'empty file' : 'unknown image format (not PNG or JPEG)');
  }
  if (format === 'png') {
    const layout = walkPng(bytes);
    if (typeof layout === 'string') throw new ImageDecodeError(path, layout);
    // tRNS, which decides a palette image's channels, precedes the first IDAT.
    if (!layout.chunks.some((c) => c.type === 'IDAT')) {
      if (whole) throw new ImageDecodeError(path, 'truncated PNG: no image data');
      return null;
    }
    const channels = pngChannels(layout.colorType, layout.chunks);
    if (channels === null) throw new ImageDecodeError(path, `corrupt PNG: unknown color type ${layout.colorType}`);
    return { format, width: layout.width, height: layout.height, channels };
  }
  const header = walkJpeg(bytes);
  if (typeof header === 'string') throw new ImageDecodeError(path, header);
  if (header === null) {
    if (whole) throw new ImageDecodeError(path, 'truncated JPEG: the file ends before the first scan');
    return null;
  }
  return { format, width: header.width, height: header.height, channels: header.components === 1 ? 1 : 3 };
}

/**
 * Reads a file's size and channels from its header, normally from its first
 * 64 KiB, without decoding pixels; used to summarize a dataset up front.
 */
export function probeImage(path: string): ImageInfo {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new ImageDecodeError(path, `cannot read file: ${(e as Error).message}`);
  }
  try {
    const prefix = Buffer.alloc(65536);
    const got = readSync(fd, prefix, 0, prefix.length, 0);
    const info = headerInfo(prefix.subarray(0, got), path, got < prefix.length);
    if (info) return info;
  } finally {
    closeSync(fd);
  }
  // Large metadata segments (EXIF, ICC) pushed the header past the prefix.
  const whole = readFileSync(path);
  const info = headerInfo(whole, path, true);
  if (!info) throw new ImageDecodeError(path, 'truncated image header');
  return info;
}

const PNG_COLOR_TYPE = { 1: 0, 2: 4, 3: 2, 4: 6 } as const;

/** Encodes 8-bit PNG keeping the image's own channels (gray, gray+alpha, RGB, RGBA). */
export function encodePng(img: ImageU8): Buffer {
  const { width, height, channels, data } = img;
  if (data.length !== width * height * channels) {
    throw new Error(`encodePng: ${width}x${height}x${channels} needs ${width * height * channels} bytes, got ${data.length}`);
  }
  const colorType = PNG_COLOR_TYPE[channels];
  // pngjs packs any object carrying width, height and data; an empty PNG
  // avoids allocating a throwaway RGBA buffer.
  const png = new PNG();
  png.width = width;
  png.height = height;
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return PNG.sync.write(png, {
    colorType,
    inputColorType: colorType,
    inputHasAlpha: channels === 2 || channels === 4,
    bitDepth: 8,
  });
}

export function writePng(path: string, img: ImageU8): void {
  writeFileSync(path, encodePng(img));
}
