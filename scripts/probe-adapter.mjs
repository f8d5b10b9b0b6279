// Prints the name of the adapter Dawn finds, or exits 1. Run by setup.mjs.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(new URL('../packages/kernels/package.json', import.meta.url));
const { create, globals } = await import(pathToFileURL(require.resolve('webgpu')).href);
Object.assign(globalThis, globals);
const gpu = create([]);
const adapter = (await gpu.requestAdapter()) ?? (await gpu.requestAdapter({ forceFallbackAdapter: true }));
if (!adapter) process.exit(1);
try {
  await adapter.requestDevice();
} catch {
  process.exit(1);
}
console.log(adapter.info.description || adapter.info.vendor || 'unknown adapter');
process.exit(0);
