import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fill, GpuError, rt, Runtime } from '@stripes/kernels';

// Dawn needs the object create() returns to stay referenced.
const gpus: unknown[] = [];

/** A second device of our own, so losing it leaves the shared runtime alone. */
async function privateRuntime(): Promise<Runtime> {
  const require = createRequire(new URL('../../packages/kernels/package.json', import.meta.url));
  const { create } = await import(pathToFileURL(require.resolve('webgpu')).href);
  const gpu = create([]);
  const adapter = await gpu.requestAdapter();
  const device: GPUDevice = await adapter.requestDevice();
  gpus.push(gpu);
  return new Runtime(device, { name: 'private', vendor: '', architecture: '', description: '', backend: '' });
}

describe('device errors', () => {
  it('device loss surfaces as an error on the next call, and a pending read rejects instead of hanging', async () => {
    const r = await privateRuntime();
    const a = r.alloc(64);
    fill(r, a, 16, 1);
    r.device.destroy();
    await r.device.lost;
    expect(() => r.alloc(64)).toThrow(/device lost/);
    expect(() => fill(r, a, 16, 2)).toThrow(GpuError);
    await expect(r.read(a, 0, 64)).rejects.toThrow(/device lost/);
    await expect(r.throttle()).rejects.toThrow(/device lost/);
  });

  it('waits queued by throttle and settle end (resolve or name the loss) when the device is lost under them', async () => {
    const r = await privateRuntime();
    const a = r.alloc(1 << 20);
    for (let i = 0; i < 200; i++) fill(r, a, 1 << 18, i);
    await r.throttle(1);
    for (let i = 0; i < 200; i++) fill(r, a, 1 << 18, i);
    const queued = r.throttle(1);
    const settled = r.settle();
    r.device.destroy();
    for (const wait of [queued, settled]) {
      const outcome = await wait.then(() => 'finished', (e: Error) => e.message);
      expect(outcome).toMatch(/^finished$|device lost/);
    }
  });

  it('an allocation over the device limit is an error naming what was asked', () => {
    const max = rt().limits.maxBufferSize;
    expect(() => rt().alloc(max + 1024, 'huge tensor')).toThrow(/huge tensor of \d+ bytes.*at most \d+ bytes per buffer/);
  });

  it('a buffer larger than one binding is allocated; binding it whole is an error naming the kernel', () => {
    const r = rt();
    const bytes = r.limits.maxStorageBufferBindingSize + 1024;
    const big = r.alloc(bytes, 'big tensor');
    expect(big.bytes).toBe(bytes);
    expect(() => fill(r, big, bytes / 4, 1)).toThrow(/kernel fill: binding 1 covers \d+ bytes, and the device binds at most \d+ per buffer/);
    r.release(big);
  });
});
