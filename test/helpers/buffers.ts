/** Raw device buffers for the kernel tests, which run kernels without tensors. */
import { rt, type DeviceBuffer } from '@stripes/kernels';

/** A new buffer holding `data` (at least 4 bytes: empty bindings are invalid). */
export function upload(data: Float32Array): DeviceBuffer {
  const b = rt().alloc(Math.max(4, data.byteLength));
  rt().write(b, data);
  return b;
}

/** The first `n` floats of `b`. */
export async function download(b: DeviceBuffer, n: number): Promise<Float32Array> {
  return new Float32Array(await rt().read(b, 0, n * 4));
}
