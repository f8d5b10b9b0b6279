import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rt } from '@stripes/kernels';

const root = resolve(import.meta.dirname, '../..');

describe('the device host', () => {
  it('init({ device }) runs on a device the user made, and refuses a second one', () => {
    const out = execFileSync(
      resolve(root, 'node_modules/.bin/tsx'),
      ['--conditions=@stripes/source', resolve(import.meta.dirname, 'fixtures/own-device.ts')],
      { cwd: root, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } },
    );
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(r.sameDevice).toBe(true);
    expect(r.values).toEqual([2, 4, 6]);
    expect(r.again).toBe(true);
    expect(r.otherDevice).toMatch(/already has a device; pass `device`\/`gpu` on the first init\(\) call/);
    expect(r.gpuAfterStart).toMatch(/already has a device/);
    expect(r.both).toMatch(/either `device` or `gpu`, not both/);
    // Dawn exposes GPUDevice.adapterInfo, so a user's device reports its adapter (and gets its tile configuration).
    expect(r.info).toEqual(rt().info);
  });
});
