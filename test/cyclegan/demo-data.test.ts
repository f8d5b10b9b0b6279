import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '@stripes/tensor';
import {
  DEFAULT_COUNTS,
  DEFAULT_SIZE,
  MIN_SEPARATION,
  SPLITS,
  drawScene,
  imageName,
  renderAnimal,
  renderEntry,
  renderScene,
  type RenderedScene,
  type Split,
} from '@stripes/cyclegan/demo';
import { MANIFEST_FILE, generateMiniZebra, loadMiniZebraSplit, readImage, readMiniZebraManifest } from '@stripes/cyclegan/node';

const root = mkdtempSync(join(tmpdir(), 'mini-zebra-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SMALL = { trainA: 6, trainB: 5, testA: 3, testB: 4 };

function filesOf(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Bytes of every file under a generated dataset, keyed by relative path. */
function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const sub of [...SPLITS, ...SPLITS.map((s) => `masks/${s}`), ...SPLITS.map((s) => `backgrounds/${s}`)]) {
    for (const f of filesOf(join(dir, sub))) out.set(`${sub}/${f}`, readFileSync(join(dir, sub, f)));
  }
  return out;
}

describe('generateMiniZebra', () => {
  it('writes every split with masks, backgrounds and a manifest', () => {
    const dir = join(root, 'layout');
    const r = generateMiniZebra({ outDir: dir, seed: 3, counts: SMALL });
    expect(r.generated).toBe(true);
    expect(r.manifest).toMatchObject({ seed: 3, size: DEFAULT_SIZE, counts: SMALL });
    for (const split of SPLITS) {
      const names = Array.from({ length: SMALL[split] }, (_, i) => imageName(split, i));
      expect(filesOf(join(dir, split))).toEqual(names);
      expect(filesOf(join(dir, 'masks', split))).toEqual(names);
      expect(filesOf(join(dir, 'backgrounds', split))).toEqual(names);
    }
    const img = readImage(join(dir, 'trainA', imageName('trainA', 0)));
    expect([img.width, img.height, img.channels]).toEqual([DEFAULT_SIZE, DEFAULT_SIZE, 3]);
    const mask = readImage(join(dir, 'masks', 'trainA', imageName('trainA', 0)));
    expect(mask.channels).toBe(1);
    expect(new Set(mask.data)).toEqual(new Set([0, 255]));
    expect(JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8'))).toEqual(r.manifest);
    expect(readMiniZebraManifest(dir)).toEqual(r.manifest);
    expect(readMiniZebraManifest(join(root, 'nowhere'))).toBeNull();
  });

  it('defaults to 48 px and 200/200/50/50 images', () => {
    expect(DEFAULT_SIZE).toBe(48);
    expect(DEFAULT_COUNTS).toEqual({ trainA: 200, trainB: 200, testA: 50, testB: 50 });
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const a = snapshot(generateMiniZebra({ outDir: join(root, 'det-a'), seed: 9, counts: SMALL }).outDir);
    const b = snapshot(generateMiniZebra({ outDir: join(root, 'det-b'), seed: 9, counts: SMALL }).outDir);
    const c = snapshot(generateMiniZebra({ outDir: join(root, 'det-c'), seed: 10, counts: SMALL }).outDir);
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, v] of a) expect(v.equals(b.get(k)!), k).toBe(true);
    const name = `trainA/${imageName('trainA', 0)}`;
    expect(a.get(name)!.equals(c.get(name)!)).toBe(false);
  });

  it('keeps the first images when a split grows', () => {
    const small = generateMiniZebra({ outDir: join(root, 'grow-a'), seed: 4, counts: SMALL }).outDir;
    const big = generateMiniZebra({ outDir: join(root, 'grow-b'), seed: 4, counts: { ...SMALL, trainB: 8 } }).outDir;
    const name = imageName('trainB', 4);
    expect(readFileSync(join(small, 'trainB', name)).equals(readFileSync(join(big, 'trainB', name)))).toBe(true);
  });

  it('skips a complete dataset with the same parameters and regenerates otherwise', () => {
    const dir = join(root, 'idem');
    expect(generateMiniZebra({ outDir: dir, seed: 1, counts: SMALL }).generated).toBe(true);
    const probe = join(dir, 'testB', imageName('testB', 0));
    const before = statSync(probe).mtimeMs;
    expect(generateMiniZebra({ outDir: dir, seed: 1, counts: SMALL }).generated).toBe(false);
    expect(statSync(probe).mtimeMs).toBe(before);

    // A missing file makes the dataset incomplete.
    rmSync(join(dir, 'masks', 'testA', imageName('testA', 1)));
    expect(generateMiniZebra({ outDir: dir, seed: 1, counts: SMALL }).generated).toBe(true);
    expect(filesOf(join(dir, 'masks', 'testA'))).toHaveLength(SMALL.testA);

    // Fewer images: the old extra files go, so a folder loader sees only the new set.
    expect(generateMiniZebra({ outDir: dir, seed: 1, counts: { ...SMALL, trainA: 2 } }).generated).toBe(true);
    expect(filesOf(join(dir, 'trainA'))).toEqual([imageName('trainA', 0), imageName('trainA', 1)]);
    expect(filesOf(join(dir, 'backgrounds', 'trainA'))).toHaveLength(2);
  });

  it('refuses to write over image folders it did not write', () => {
    const dir = join(root, 'foreign');
    mkdirSync(join(dir, 'trainA'), { recursive: true });
    writeFileSync(join(dir, 'trainA', 'mine.jpg'), 'not ours');
    expect(() => generateMiniZebra({ outDir: dir, counts: SMALL })).toThrow(/trainA.*empty folder/);
    expect(readFileSync(join(dir, 'trainA', 'mine.jpg'), 'utf8')).toBe('not ours');
  });

  it('rejects bad parameters', () => {
    expect(() => generateMiniZebra({ outDir: join(root, 'bad'), counts: { testA: 0 } })).toThrow(/counts.testA/);
    expect(() => generateMiniZebra({ outDir: join(root, 'bad'), size: 8 })).toThrow(/size/);
    expect(() => generateMiniZebra({ outDir: join(root, 'bad'), seed: -1 })).toThrow(/seed/);
  });

  it('loads a split back exactly as rendered', () => {
    const dir = generateMiniZebra({ outDir: join(root, 'load'), seed: 6, counts: SMALL }).outDir;
    const split = loadMiniZebraSplit(dir, 'testB');
    expect(split.names).toEqual([0, 1, 2, 3].map((i) => imageName('testB', i)));
    split.names.forEach((_, i) => {
      const scene = renderEntry(6, DEFAULT_SIZE, 'testB', i);
      expect(split.images[i].data).toEqual(scene.image.data);
      expect(split.masks[i]).toEqual(scene.mask);
      expect(split.backgrounds[i].data).toEqual(scene.background.data);
    });
  });
});

describe('mini zebra scenes', () => {
  const scenes = (split: Split, n: number): RenderedScene[] => Array.from({ length: n }, (_, i) => renderEntry(2, 32, split, i));
  const A = scenes('trainA', 150);
  const B = scenes('trainB', 150);

  it('masks are exactly the pixels that differ from the background, by at least MIN_SEPARATION', () => {
    for (const s of [...A.slice(0, 30), ...B.slice(0, 30)]) {
      const { image, background, mask } = s;
      let area = 0;
      for (let i = 0; i < mask.length; i++) {
        const d = Math.hypot(image.data[3 * i] - background.data[3 * i], image.data[3 * i + 1] - background.data[3 * i + 1], image.data[3 * i + 2] - background.data[3 * i + 2]);
        if (mask[i]) {
          area++;
          expect(d).toBeGreaterThanOrEqual(MIN_SEPARATION);
        } else {
          expect(d).toBe(0);
        }
      }
      // An animal, not a speck or the whole frame.
      expect(area).toBeGreaterThan(0.08 * mask.length);
      expect(area).toBeLessThan(0.5 * mask.length);
    }
  });

  it('draws the scene independently of the coat', () => {
    const params = drawScene(new Rng(77), 32);
    const plain = renderScene(params, 'plain');
    const zebra = renderScene(params, 'zebra');
    expect(zebra.mask).toEqual(plain.mask);
    expect(zebra.background.data).toEqual(plain.background.data);
    expect(zebra.image.data).not.toEqual(plain.image.data);
    // renderAnimal consumes the generator the same way whichever coat it paints.
    expect(renderAnimal(new Rng(77), 32, 'zebra').mask).toEqual(plain.mask);
  });

  it('gives both domains the same scene distribution', () => {
    const stats = (set: RenderedScene[]) => {
      const bg = [0, 0, 0];
      let bgCount = 0;
      let area = 0;
      let cx = 0;
      for (const s of set) {
        let a = 0;
        let x = 0;
        s.mask.forEach((m, i) => {
          if (m) {
            a++;
            x += i % 32;
          } else {
            for (let c = 0; c < 3; c++) bg[c] += s.image.data[3 * i + c];
            bgCount++;
          }
        });
        area += a;
        cx += x / a;
      }
      return { bg: bg.map((v) => v / bgCount), area: area / set.length, cx: cx / set.length };
    };
    const a = stats(A);
    const b = stats(B);
    for (let c = 0; c < 3; c++) expect(Math.abs(a.bg[c] - b.bg[c])).toBeLessThan(8);
    expect(Math.abs(a.area - b.area) / a.area).toBeLessThan(0.1);
    expect(Math.abs(a.cx - b.cx)).toBeLessThan(1.5);
  });

  it('gives A plain coats and B black-and-white ones', () => {
    const lumaSpread = (s: RenderedScene): number => {
      let lo = 255;
      let hi = 0;
      s.mask.forEach((m, i) => {
        if (!m) return;
        const y = 0.299 * s.image.data[3 * i] + 0.587 * s.image.data[3 * i + 1] + 0.114 * s.image.data[3 * i + 2];
        lo = Math.min(lo, y);
        hi = Math.max(hi, y);
      });
      return hi - lo;
    };
    for (const s of A.slice(0, 30)) expect(lumaSpread(s)).toBeLessThan(80);
    for (const s of B.slice(0, 30)) expect(lumaSpread(s)).toBeGreaterThan(150);
  });

  it('keeps trainA and trainB unpaired', () => {
    expect(A.some((a, i) => a.mask.every((m, j) => m === B[i].mask[j]))).toBe(false);
  });
});
