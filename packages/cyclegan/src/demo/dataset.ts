/**
 * The bundled "mini horse2zebra" dataset on disk: unpaired folders trainA /
 * trainB / testA / testB of procedurally rendered animals (plain coats in A,
 * zebra coats in B, the same scene distribution in both), plus each image's
 * object mask (`masks/<split>/<name>`, 0/255 gray) and clean background
 * (`backgrounds/<split>/<name>`) for the shape-preservation measure.
 *
 * Every image is seeded from (seed, split, index) (./entries.ts), so a
 * dataset is a pure function of its parameters and growing a split keeps its
 * first images. `manifest.json` is written last and records those
 * parameters: a complete dataset with the same parameters is left alone.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImage, writePng } from '../image/codec.ts';
import type { ImageU8 } from '../image/types.ts';
import { DEFAULT_COUNTS, DEFAULT_SIZE, imageName, renderEntry, SPLITS, type Split, type SplitCounts } from './entries.ts';

export const MANIFEST_FILE = 'manifest.json';
const FORMAT = 'stripes-mini-zebra';
/** Bump when rendering changes, so existing folders are regenerated rather than reused. */
const VERSION = 2;

export interface MiniZebraOptions {
  outDir: string;
  seed?: number;
  size?: number;
  counts?: Partial<SplitCounts>;
}

export interface MiniZebraManifest {
  format: typeof FORMAT;
  version: number;
  seed: number;
  size: number;
  counts: SplitCounts;
}

export interface MiniZebraResult {
  outDir: string;
  manifest: MiniZebraManifest;
  /** false when a complete dataset with the same parameters was already there. */
  generated: boolean;
}

export interface MiniZebraSplit {
  names: string[];
  images: ImageU8[];
  /** 1 for object pixels, 0 elsewhere. */
  masks: Uint8Array[];
  backgrounds: ImageU8[];
}

/** The folders this generator owns inside `outDir`. */
const OWNED_DIRS = [...SPLITS, 'masks', 'backgrounds'];

function resolveManifest(opts: MiniZebraOptions): MiniZebraManifest {
  const seed = opts.seed ?? 0;
  const size = opts.size ?? DEFAULT_SIZE;
  const counts = { ...DEFAULT_COUNTS, ...opts.counts };
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`generateMiniZebra: seed must be a u32, got ${seed}`);
  if (!Number.isInteger(size) || size < 16) throw new Error(`generateMiniZebra: size must be an integer >= 16, got ${size}`);
  for (const split of SPLITS) {
    if (!Number.isInteger(counts[split]) || counts[split] < 1) throw new Error(`generateMiniZebra: counts.${split} must be a positive integer, got ${counts[split]}`);
  }
  return { format: FORMAT, version: VERSION, seed, size, counts };
}

/** The manifest of a dataset written by `generateMiniZebra`, or null (absent, unreadable, or someone else's folder). */
export function readMiniZebraManifest(outDir: string): MiniZebraManifest | null {
  const path = join(outDir, MANIFEST_FILE);
  if (!existsSync(path)) return null;
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Partial<MiniZebraManifest> | null;
    return m?.format === FORMAT && typeof m.counts === 'object' && m.counts !== null ? (m as MiniZebraManifest) : null;
  } catch {
    return null;
  }
}

function sameManifest(a: MiniZebraManifest, b: MiniZebraManifest): boolean {
  return a.version === b.version && a.seed === b.seed && a.size === b.size && SPLITS.every((s) => a.counts[s] === b.counts[s]);
}

function expectedFiles(outDir: string, m: MiniZebraManifest): string[] {
  const files: string[] = [];
  for (const split of SPLITS) {
    for (let i = 0; i < m.counts[split]; i++) {
      const name = imageName(split, i);
      files.push(join(outDir, split, name), join(outDir, 'masks', split, name), join(outDir, 'backgrounds', split, name));
    }
  }
  return files;
}

function maskImage(mask: Uint8Array, size: number): ImageU8 {
  return { width: size, height: size, channels: 1, data: mask.map((m) => (m ? 255 : 0)) };
}

/**
 * Writes the dataset under `outDir` unless a complete one with the same
 * parameters is there. Replaces a dataset this function wrote with other
 * parameters; refuses to write over image folders it did not write.
 */
export function generateMiniZebra(opts: MiniZebraOptions): MiniZebraResult {
  const manifest = resolveManifest(opts);
  const { outDir } = opts;
  const existing = readMiniZebraManifest(outDir);
  if (existing && sameManifest(existing, manifest) && expectedFiles(outDir, manifest).every((f) => existsSync(f))) {
    return { outDir, manifest: existing, generated: false };
  }
  if (!existing) {
    const foreign = OWNED_DIRS.filter((d) => existsSync(join(outDir, d)) && readdirSync(join(outDir, d)).length > 0);
    if (foreign.length > 0) {
      throw new Error(`generateMiniZebra: ${outDir} already has ${foreign.join(', ')} without a ${MANIFEST_FILE} from this generator; choose an empty folder`);
    }
  }
  // Drop the manifest first: an interrupted run then reads as incomplete.
  rmSync(join(outDir, MANIFEST_FILE), { force: true });
  for (const d of OWNED_DIRS) rmSync(join(outDir, d), { recursive: true, force: true });
  for (const split of SPLITS) {
    for (const dir of [join(outDir, split), join(outDir, 'masks', split), join(outDir, 'backgrounds', split)]) mkdirSync(dir, { recursive: true });
    for (let i = 0; i < manifest.counts[split]; i++) {
      const scene = renderEntry(manifest.seed, manifest.size, split, i);
      const name = imageName(split, i);
      writePng(join(outDir, split, name), scene.image);
      writePng(join(outDir, 'masks', split, name), maskImage(scene.mask, manifest.size));
      writePng(join(outDir, 'backgrounds', split, name), scene.background);
    }
  }
  const tmp = join(outDir, `${MANIFEST_FILE}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(tmp, join(outDir, MANIFEST_FILE));
  return { outDir, manifest, generated: true };
}

/** Reads a mask PNG written by `generateMiniZebra` (any channel layout; > 127 is object). */
export function readMask(path: string): Uint8Array {
  const img = readImage(path);
  const out = new Uint8Array(img.width * img.height);
  for (let i = 0; i < out.length; i++) out[i] = img.data[i * img.channels] > 127 ? 1 : 0;
  return out;
}

/** Loads one split of a generated dataset with its masks and backgrounds, in file-name order. */
export function loadMiniZebraSplit(root: string, split: Split): MiniZebraSplit {
  const manifest = readMiniZebraManifest(root);
  if (!manifest) throw new Error(`loadMiniZebraSplit: ${root} has no ${MANIFEST_FILE} from generateMiniZebra`);
  const names = Array.from({ length: manifest.counts[split] }, (_, i) => imageName(split, i));
  return {
    names,
    images: names.map((n) => readImage(join(root, split, n))),
    masks: names.map((n) => readMask(join(root, 'masks', split, n))),
    backgrounds: names.map((n) => readImage(join(root, 'backgrounds', split, n))),
  };
}
