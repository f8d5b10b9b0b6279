/**
 * The Node.js host: WebGPU through Dawn (npm `webgpu`). Reached only through
 * the `#gpu` import's `node` condition, so browser bundles never see it.
 */
import { create, globals } from 'webgpu';
import { debugOptionsFromEnv, type DebugOptions } from '../debug.ts';

// Dawn crashes in mapAsync if the object returned by create() is collected,
// so it lives in module scope for the life of the process.
let gpu: GPU | null = null;

export const HOST = 'Node.js (Dawn)';

export function hostGpu(): GPU {
  if (gpu) return gpu;
  // GPUBufferUsage and friends, for user code written against the browser's globals.
  Object.assign(globalThis, globals);
  // Mesa warns when XDG_RUNTIME_DIR is unset; any writable folder silences it.
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  gpu = create([]);
  return gpu;
}

export const NO_ADAPTER_HINT =
  "On Debian without a GPU, install Mesa's lavapipe (software Vulkan) from bookworm-backports:\n" +
  "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list\n" +
  '  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers\n' +
  'With a GPU, install its Vulkan driver.';

/** The debug switches the environment asks for (STRIPES_PRINT_WGSL, STRIPES_CONV_TILES; see debug.ts). */
export function hostDebugOptions(): DebugOptions {
  return debugOptionsFromEnv(process.env);
}
