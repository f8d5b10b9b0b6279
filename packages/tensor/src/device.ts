/**
 * The GPU under the tensors: acquiring it, keeping the CPU from running too
 * far ahead of it, and its memory. The runtime itself is @stripes/kernels'.
 */
import { init, rt, type DeviceInfo, type DeviceOptions, type MemoryStats } from '@stripes/kernels';

export { init, rt, NoAdapterError, type DeviceInfo, type DeviceOptions, type MemoryStats } from '@stripes/kernels';

/**
 * Acquires the GPU device; await once before using tensors (idempotent).
 * Resolves to the adapter's description. `{ device }` on the first call runs
 * on a device you already have; see `init` in @stripes/kernels.
 */
export async function ready(options?: DeviceOptions): Promise<DeviceInfo> {
  return (await init(options)).info;
}

/**
 * Keeps the CPU at most `depth` calls ahead of the GPU. Ops only queue GPU
 * work, and a training loop that never reads a value back (`item()`,
 * `data()`) would queue it without bound; await this once per step.
 */
export async function throttle(depth = 2): Promise<void> {
  await rt().throttle(depth);
}

/** Live and pooled GPU buffers, for leak checks. */
export function memory(): MemoryStats {
  return rt().memory();
}
