/**
 * Sample grids: each row shows one training sample as
 * realA | fakeB | recA | realB | fakeA | recB, rows stacked, with a
 * separator between tiles and rows.
 */
import type { Tensor } from '@stripes/tensor';
import { tensor2im } from '../image/convert.ts';
import type { ImageU8 } from '../image/types.ts';

export const GRID_COLUMNS = ['realA', 'fakeB', 'recA', 'realB', 'fakeA', 'recB'] as const;
export type GridColumn = (typeof GRID_COLUMNS)[number];
export type SampleImages = Record<GridColumn, ImageU8>;

export interface GridOptions {
  /** Pixels between tiles and between rows. */
  separator?: number;
  /** Separator and padding colour. */
  fill?: readonly [number, number, number];
}

/** The tiles of one sample in grid column order. */
export function sampleRow(images: SampleImages): ImageU8[] {
  return GRID_COLUMNS.map((c) => images[c]);
}

/**
 * Lays rows of tiles out as one RGB image. Every cell is as large as the
 * largest tile; smaller tiles are centred. Gray tiles are spread to RGB and
 * alpha is dropped (samples are opaque).
 */
export function composeGrid(rows: readonly (readonly ImageU8[])[], opts: GridOptions = {}): ImageU8 {
  const sep = opts.separator ?? 2;
  const fill = opts.fill ?? [255, 255, 255];
  if (rows.length === 0) throw new Error('composeGrid: no rows');
  const cols = rows[0].length;
  if (cols === 0) throw new Error('composeGrid: rows have no tiles');
  rows.forEach((r, i) => {
    if (r.length !== cols) throw new Error(`composeGrid: row ${i} has ${r.length} tiles, row 0 has ${cols}`);
  });
  if (!Number.isInteger(sep) || sep < 0) throw new Error(`composeGrid: separator must be a non-negative integer, got ${sep}`);
  const tiles = rows.flat();
  const cellW = Math.max(...tiles.map((t) => t.width));
  const cellH = Math.max(...tiles.map((t) => t.height));
  const width = cols * cellW + (cols - 1) * sep;
  const height = rows.length * cellH + (rows.length - 1) * sep;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(fill, 3 * i);
  rows.forEach((row, r) => {
    row.forEach((tile, c) => {
      const ox = c * (cellW + sep) + Math.floor((cellW - tile.width) / 2);
      const oy = r * (cellH + sep) + Math.floor((cellH - tile.height) / 2);
      const ch = tile.channels;
      const color = ch >= 3;
      for (let y = 0; y < tile.height; y++) {
        for (let x = 0; x < tile.width; x++) {
          const s = (y * tile.width + x) * ch;
          const d = ((oy + y) * width + ox + x) * 3;
          data[d] = tile.data[s];
          data[d + 1] = tile.data[color ? s + 1 : s];
          data[d + 2] = tile.data[color ? s + 2 : s];
        }
      }
    });
  });
  return { width, height, channels: 3, data };
}

/** The first image of a batch tensor [N, C, H, W], as the reference's visualizer saves it (tensor2im). */
export async function firstImage(t: Tensor): Promise<ImageU8> {
  const [, channels, height, width] = t.shape;
  const data = await t.data();
  return tensor2im({ channels, height, width, data: data.subarray(0, channels * height * width) });
}

/** One training step's visuals read back as a one-row sample grid, in GRID_COLUMNS' order. */
export async function visualsGrid(visuals: Readonly<Record<GridColumn, Tensor>>): Promise<ImageU8> {
  const tiles = await Promise.all(GRID_COLUMNS.map((c) => firstImage(visuals[c])));
  return composeGrid([sampleRow(Object.fromEntries(GRID_COLUMNS.map((c, i) => [c, tiles[i]])) as SampleImages)]);
}
