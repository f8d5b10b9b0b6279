/** Pixels in and out of the browser: file bytes decoded by the browser, and ImageU8 drawn onto a canvas. */
import type { ImageU8 } from '@stripes/cyclegan';

/**
 * Decodes an image file with the browser's own decoders (PNG, JPEG, WebP...)
 * to straight RGBA bytes. Colour-space conversion and premultiplication are
 * turned off so the bytes are the file's, as the CLI's decoders read them.
 */
export async function decodeImage(blob: Blob): Promise<ImageU8> {
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('decodeImage: no 2D canvas context');
    ctx.drawImage(bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    return { width: bitmap.width, height: bitmap.height, channels: 4, data: new Uint8Array(data.buffer) };
  } finally {
    bitmap.close();
  }
}

/** Draws an image (gray, gray + alpha, RGB or RGBA) onto a canvas of its own size. */
export function drawImage(canvas: HTMLCanvasElement, img: ImageU8): void {
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('drawImage: no 2D canvas context');
  const out = ctx.createImageData(img.width, img.height);
  const ch = img.channels;
  for (let p = 0; p < img.width * img.height; p++) {
    const s = p * ch;
    const gray = ch <= 2;
    out.data[4 * p] = img.data[s];
    out.data[4 * p + 1] = img.data[gray ? s : s + 1];
    out.data[4 * p + 2] = img.data[gray ? s : s + 2];
    out.data[4 * p + 3] = ch === 2 || ch === 4 ? img.data[s + ch - 1] : 255;
  }
  ctx.putImageData(out, 0, 0);
}
