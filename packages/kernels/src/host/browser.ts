/**
 * The browser (or any host with `navigator.gpu`: Deno, workers). The `#gpu`
 * import's `default` condition; touches no Node global.
 */
import type { DebugOptions } from '../debug.ts';

export const HOST = 'navigator.gpu';

export function hostGpu(): GPU | null {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return nav?.gpu ?? null;
}

export const NO_ADAPTER_HINT =
  'This browser offers no WebGPU (navigator.gpu), or offered no adapter. WebGPU needs a secure context ' +
  '(https:// or http://127.0.0.1 / localhost) and a browser that enables it (Chrome/Edge 113+, Firefox 141+, Safari 26+; ' +
  'Chromium on Linux may need --enable-unsafe-webgpu).';

/** A page has no environment: its debug switches come from `init({ debug })` only. */
export function hostDebugOptions(): DebugOptions {
  return {};
}
