import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromCHW, resize, tensor2im, toCHW, toChannels, type ImageU8, type ResampleFilter } from '@stripes/cyclegan';
import { ImageDecodeError, decodeImage, encodePng, probeImage, readImage, writePng } from '@stripes/cyclegan/node';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const fixture = (name: string) => new URL(name, FIXTURES).pathname;

interface ResizeCase {
  width: number;
  height: number;
  channels: 1 | 3;
  outWidth: number;
  outHeight: number;
  filter: ResampleFilter;
  src: number[];
  out: number[];
}
const PIL = JSON.parse(readFileSync(fixture('pil-expected.json'), 'utf8')) as {
  jpeg: Record<string, number[]>;
  resize: ResizeCase[];
  resizeFloat: { width: number; height: number; outWidth: number; outHeight: number; src: number[]; out: number[] };
  luma: { rgb: number[]; gray: number[] };
};

// The pattern make_fixtures.py writes into the PNG fixtures (5x3 pixels).
const W = 5;
const H = 3;
const sample = (x: number, y: number, c: number) => (x * 40 + y * 70 + c * 90 + 13) % 256;
const sample16 = (x: number, y: number, c: number) => (x * 9001 + y * 3001 + c * 12345 + 77) % 65536;
const to8 = (v: number) => Math.floor((v * 255) / 65535 + 0.5);

function pattern(channels: number, f: (x: number, y: number, c: number) => number): number[] {
  const out: number[] = [];
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < channels; c++) out.push(f(x, y, c));
  return out;
}

const tmp = mkdtempSync(join(tmpdir(), 'stripes-image-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function expectDecodeError(fn: () => unknown, path: string, reason: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ImageDecodeError);
  const err = caught as ImageDecodeError;
  expect(err.path).toBe(path);
  expect(err.message).toContain(path);
  expect(err.reason).toMatch(reason);
}

describe('PNG decoding', () => {
  const palette = Array.from({ length: 8 }, (_, i) => [i * 30, 255 - i * 30, (i * 70) % 256]);
  const cases: [string, number, number[]][] = [
    ['gray8.png', 1, pattern(1, sample)],
    ['gray4.png', 1, pattern(1, (x, y) => ((x + y) % 16) * 17)],
    ['gray16.png', 1, pattern(1, (x, y, c) => to8(sample16(x, y, c)))],
    ['gray-alpha.png', 2, pattern(2, sample)],
    ['rgb8.png', 3, pattern(3, sample)],
    ['rgb16.png', 3, pattern(3, (x, y, c) => to8(sample16(x, y, c)))],
    ['rgba8.png', 4, pattern(4, sample)],
    // The tRNS key matches pixel (0, 0); its gray value must survive.
    ['gray-trns.png', 1, pattern(1, sample)],
    ['palette.png', 3, pattern(3, (x, y, c) => palette[(x + y) % 8][c])],
    ['palette-trns.png', 4, pattern(4, (x, y, c) => (c < 3 ? palette[(x + y) % 8][c] : [0, 128][(x + y) % 8] ?? 255))],
  ];
  it.each(cases)('%s decodes to %i channels with the written samples', (name, channels, expected) => {
    const img = readImage(fixture(name));
    expect([img.width, img.height, img.channels]).toEqual([W, H, channels]);
    expect(Array.from(img.data)).toEqual(expected);
    expect(probeImage(fixture(name))).toEqual({ format: 'png', width: W, height: H, channels });
  });
});

describe('JPEG decoding', () => {
  const diff = (name: string) => {
    const img = readImage(fixture(name));
    const expected = PIL.jpeg[name];
    let max = 0;
    let sum = 0;
    for (let i = 0; i < expected.length; i++) {
      const d = Math.abs(img.data[i] - expected[i]);
      max = Math.max(max, d);
      sum += d;
    }
    return { img, max, mean: sum / expected.length };
  };

  it.each([
    ['color.jpg', 3],
    ['gray.jpg', 1],
    ['progressive.jpg', 3],
  ] as const)('%s decodes to %i channels within 2 levels of Pillow', (name, channels) => {
    const { img, max } = diff(name);
    expect([img.width, img.height, img.channels]).toEqual([16, 8, channels]);
    expect(probeImage(fixture(name))).toEqual({ format: 'jpeg', width: 16, height: 8, channels });
    // Different IDCT rounding only.
    expect(max).toBeLessThanOrEqual(2);
  });

  it('4:2:0 chroma is upsampled by replication, not libjpeg\'s triangle filter', () => {
    // The fixture's chroma changes steeply from pixel to pixel, the worst case for that difference.
    const { img, max, mean } = diff('subsampled.jpg');
    expect(img.channels).toBe(3);
    expect(max).toBeLessThanOrEqual(16);
    expect(mean).toBeLessThan(6);
  });
});

describe('PNG encoding', () => {
  it.each([1, 2, 3, 4] as const)('round-trips %i channels exactly', (channels) => {
    const data = new Uint8Array(7 * 4 * channels).map((_, i) => (i * 37 + 11) % 256);
    const img: ImageU8 = { width: 7, height: 4, channels, data };
    const back = decodeImage(encodePng(img), 'mem.png');
    expect(back).toEqual(img);
    const path = join(tmp, `rt${channels}.png`);
    writePng(path, img);
    expect(readImage(path)).toEqual(img);
  });

  it('rejects data of the wrong length', () => {
    expect(() => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) })).toThrow(/12 bytes, got 11/);
  });
});

describe('decode errors name the file and the reason', () => {
  const png = readFileSync(fixture('rgb8.png'));
  const jpg = readFileSync(fixture('color.jpg'));
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty.png', new Uint8Array(0), /empty file/],
    ['text.png', new TextEncoder().encode('not an image at all'), /unknown image format/],
    ['cut.png', png.subarray(0, png.length - 20), /truncated PNG/],
    ['header-only.png', png.subarray(0, 20), /truncated PNG/],
    ['cut.jpg', jpg.subarray(0, jpg.length - 10), /truncated JPEG: no end-of-image/],
    ['head.jpg', jpg.subarray(0, 30), /truncated JPEG/],
  ];
  it.each(cases)('%s', (name, bytes, reason) => {
    const path = join(tmp, name);
    writeFileSync(path, bytes);
    expectDecodeError(() => readImage(path), path, reason);
  });

  it('a damaged chunk fails its checksum', () => {
    const bad = Buffer.from(png);
    // Inside IDAT's compressed data (IHDR ends at byte 33).
    bad[45] ^= 0xff;
    expectDecodeError(() => decodeImage(bad, 'bad.png'), 'bad.png', /corrupt PNG/);
  });

  it('a missing file', () => {
    const path = join(tmp, 'nope.png');
    expectDecodeError(() => readImage(path), path, /cannot read file/);
    expectDecodeError(() => probeImage(path), path, /cannot read file/);
  });

  it('an oversized header is refused before decoding', () => {
    const big = Buffer.from(png);
    big.writeUInt32BE(20000, 16);
    big.writeUInt32BE(20000, 20);
    expectDecodeError(() => decodeImage(big, 'big.png'), 'big.png', /too large/);
  });
});

describe('channel conversion', () => {
  it('RGB to gray matches Pillow convert("L")', () => {
    const rgb: ImageU8 = { width: 40, height: 1, channels: 3, data: Uint8Array.from(PIL.luma.rgb) };
    const gray = toChannels(rgb, 1);
    expect(gray.channels).toBe(1);
    expect(Array.from(gray.data)).toEqual(PIL.luma.gray);
  });

  it('gray is replicated, alpha is dropped, not composited', () => {
    const ga: ImageU8 = { width: 2, height: 1, channels: 2, data: Uint8Array.from([10, 0, 200, 255]) };
    expect(Array.from(toChannels(ga, 3).data)).toEqual([10, 10, 10, 200, 200, 200]);
    expect(Array.from(toChannels(ga, 1).data)).toEqual([10, 200]);
    const rgba: ImageU8 = { width: 2, height: 1, channels: 4, data: Uint8Array.from([1, 2, 3, 0, 250, 251, 252, 9]) };
    expect(Array.from(toChannels(rgba, 3).data)).toEqual([1, 2, 3, 250, 251, 252]);
    // Pure white and black keep their value through the luma weights.
    const bw: ImageU8 = { width: 2, height: 1, channels: 3, data: Uint8Array.from([255, 255, 255, 0, 0, 0]) };
    expect(Array.from(toChannels(bw, 1).data)).toEqual([255, 0]);
  });

  it('gray -> RGB -> gray is the identity', () => {
    const gray: ImageU8 = { width: 256, height: 1, channels: 1, data: Uint8Array.from({ length: 256 }, (_, i) => i) };
    expect(toChannels(toChannels(gray, 3), 1)).toEqual(gray);
  });

  it('toCHW is planar, in [-1, 1], bit-equal to ToTensor + Normalize(0.5, 0.5)', () => {
    const img: ImageU8 = { width: 2, height: 1, channels: 3, data: Uint8Array.from([0, 128, 255, 64, 32, 16]) };
    const chw = toCHW(img);
    expect([chw.channels, chw.height, chw.width]).toEqual([3, 1, 2]);
    const f = (v: number) => Math.fround(Math.fround(Math.fround(v / 255) - 0.5) / 0.5);
    expect(Array.from(chw.data)).toEqual([f(0), f(64), f(128), f(32), f(255), f(16)]);
    expect(chw.data[0]).toBe(-1);
    expect(chw.data[4]).toBe(1);
  });

  it('fromCHW inverts toCHW for every byte and clamps', () => {
    const all: ImageU8 = { width: 256, height: 1, channels: 1, data: Uint8Array.from({ length: 256 }, (_, i) => i) };
    expect(fromCHW(toCHW(all))).toEqual(all);
    const wild = fromCHW({ channels: 1, height: 1, width: 5, data: Float32Array.from([-3, 2, Number.NaN, 0, 0.5]) });
    expect(Array.from(wild.data)).toEqual([0, 255, 0, 128, 191]);
  });

  it("tensor2im truncates (y + 1) / 2 * 255 in float32 as the reference's does", () => {
    const all: ImageU8 = { width: 256, height: 1, channels: 1, data: Uint8Array.from({ length: 256 }, (_, i) => i) };
    // numpy 1.24: ((x + 1) / 2.0 * 255.0).astype(np.uint8) of torchvision's normalized bytes gives 1..63 one lower.
    expect(Array.from(tensor2im(toCHW(all)).data)).toEqual(Array.from(all.data, (v) => (v >= 1 && v <= 63 ? v - 1 : v)));
    const wild = tensor2im({ channels: 1, height: 1, width: 6, data: Float32Array.from([-3, 2, Number.NaN, 0, 0.5, 0.999]) });
    expect(Array.from(wild.data)).toEqual([0, 255, 0, 127, 191, 254]);
    const rgb = tensor2im({ channels: 3, height: 1, width: 2, data: Float32Array.from([-1, 1, 0, 0.2, 0.6, -0.6]) });
    expect(Array.from(rgb.data)).toEqual([0, 127, 204, 255, 153, 50]); // numpy, the same values
  });
});

describe('resize', () => {
  it.each(PIL.resize.map((c) => [`${c.filter} ${c.width}x${c.height}x${c.channels} -> ${c.outWidth}x${c.outHeight}`, c] as const))(
    'matches Pillow exactly: %s',
    (_, c) => {
      const img: ImageU8 = { width: c.width, height: c.height, channels: c.channels, data: Uint8Array.from(c.src) };
      const out = resize(img, c.outWidth, c.outHeight, c.filter);
      expect([out.width, out.height, out.channels]).toEqual([c.outWidth, c.outHeight, c.channels]);
      expect(Array.from(out.data)).toEqual(c.out);
    },
  );

  it('float images match Pillow mode F', () => {
    const c = PIL.resizeFloat;
    const out = resize({ width: c.width, height: c.height, channels: 1, data: Float32Array.from(c.src) }, c.outWidth, c.outHeight, 'bicubic');
    expect(out.data).toBeInstanceOf(Float32Array);
    expect(Array.from(out.data)).toEqual(c.out);
  });

  it('hand-computed cases', () => {
    const row = (values: number[]): ImageU8 => ({ width: values.length, height: 1, channels: 1, data: Uint8Array.from(values) });
    // Bilinear x2: output centers at 0.25, 0.75, 1.25, 1.75; edge taps renormalize.
    expect(Array.from(resize(row([0, 255]), 4, 1, 'bilinear').data)).toEqual([0, 64, 191, 255]);
    // Bicubic /2: the kernel widens to 4 taps each side; weights 0.8671875, 0.8671875,
    // 0.2265625, -0.0703125 over [0, 0, 255, 255] give 255 * 0.15625 / 1.890625 = 21.07.
    expect(Array.from(resize(row([0, 0, 255, 255]), 2, 1, 'bicubic').data)).toEqual([21, 234]);
    // Bicubic overshoot at an edge is clamped to 0..255.
    const up = resize(row([0, 0, 255, 255]), 8, 1, 'bicubic');
    expect(Math.min(...up.data)).toBe(0);
    expect(Math.max(...up.data)).toBe(255);
    // Nearest picks the source under each output center: 4 -> 2 takes 1 and 3.
    expect(Array.from(resize(row([10, 20, 30, 40]), 2, 1, 'nearest').data)).toEqual([20, 40]);
  });

  it.each(['bicubic', 'bilinear', 'nearest'] as const)('%s keeps a constant image constant', (filter) => {
    const img: ImageU8 = { width: 9, height: 7, channels: 3, data: new Uint8Array(9 * 7 * 3).fill(173) };
    for (const [w, h] of [
      [4, 3],
      [20, 15],
      [9, 2],
      [1, 1],
    ]) {
      const out = resize(img, w, h, filter);
      expect(out.data.length).toBe(w * h * 3);
      expect(out.data.every((v) => v === 173)).toBe(true);
    }
  });

  it('the same size is an identity copy', () => {
    const img: ImageU8 = { width: 6, height: 5, channels: 3, data: new Uint8Array(90).map((_, i) => (i * 13) % 256) };
    for (const filter of ['bicubic', 'bilinear', 'nearest'] as const) {
      const out = resize(img, 6, 5, filter);
      expect(out).toEqual(img);
      expect(out.data).not.toBe(img.data);
    }
  });

  it('only resizes along the axis that changes', () => {
    const img: ImageU8 = { width: 5, height: 4, channels: 1, data: new Uint8Array(20).map((_, i) => (i * 29) % 256) };
    const out = resize(img, 5, 2, 'bilinear');
    // Each column is resized on its own, so a column of img gives the same column of out.
    const column = (im: ImageU8, x: number) => Array.from({ length: im.height }, (_, y) => im.data[y * im.width + x]);
    const col2 = resize({ width: 1, height: 4, channels: 1, data: Uint8Array.from(column(img, 2)) }, 1, 2, 'bilinear');
    expect(column(out, 2)).toEqual(Array.from(col2.data));
  });

  it('rejects a non-positive size', () => {
    const img: ImageU8 = { width: 2, height: 2, channels: 1, data: new Uint8Array(4) };
    expect(() => resize(img, 0, 2, 'bicubic')).toThrow(/positive integers/);
  });
});
