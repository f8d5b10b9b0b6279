import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { listImages } from '@stripes/cyclegan/node';

// The tests run as root, where chmod 000 does not stop readdir: a folder named
// 'locked' fails as an unreadable one does for other users (EACCES).
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const readdirSync = ((path: fs.PathLike, options?: unknown) => {
    if (String(path).endsWith('locked')) throw Object.assign(new Error(`EACCES: permission denied, scandir '${String(path)}'`), { code: 'EACCES' });
    return (real.readdirSync as (p: fs.PathLike, o?: unknown) => unknown)(path, options);
  }) as typeof real.readdirSync;
  return { ...real, readdirSync, default: { ...real, readdirSync } };
});

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(join(tmpdir(), 'stripes-list-'));
  fs.mkdirSync(join(root, 'imgs/locked'), { recursive: true });
  fs.mkdirSync(join(root, 'imgs/sub'), { recursive: true });
  for (const f of ['imgs/a.png', 'imgs/sub/b.jpg', 'imgs/locked/c.png']) fs.writeFileSync(join(root, f), 'x');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('listImages', () => {
  test('skips a subfolder it cannot read, with a warning, as os.walk does', () => {
    const warnings: string[] = [];
    expect(listImages(join(root, 'imgs'), (l) => warnings.push(l))).toEqual([join(root, 'imgs/a.png'), join(root, 'imgs/sub/b.jpg')]);
    expect(warnings).toEqual([`skipping folder ${join(root, 'imgs/locked')}: it cannot be read (EACCES)`]);
  });

  test('the folder itself unreadable is an error naming it', () => {
    expect(() => listImages(join(root, 'imgs/locked'))).toThrow(`image folder ${join(root, 'imgs/locked')} cannot be read (EACCES)`);
  });
});
