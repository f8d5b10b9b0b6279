/**
 * Acquiring a WebGPU device from the host: `navigator.gpu` in a browser,
 * Dawn in Node.js (the `#gpu` import picks one by export condition), or a
 * device the user already has.
 */
import { HOST, hostGpu, NO_ADAPTER_HINT } from '#gpu';

export interface DeviceInfo {
  /** A human-readable adapter name, e.g. "llvmpipe (LLVM 19.1.7, 256 bits)". */
  name: string;
  vendor: string;
  architecture: string;
  description: string;
  backend: string;
}

export interface AcquiredDevice {
  device: GPUDevice;
  /** null when the user handed in a device (its adapter is not reachable from it). */
  adapter: GPUAdapter | null;
  info: DeviceInfo;
}

/** Where the runtime's device comes from; at most one of `device` and `gpu`. */
export interface DeviceOptions {
  /** Use this device (shared with a renderer or another WebGPU library) instead of requesting one. */
  device?: GPUDevice;
  /** Request the adapter from this `GPU` instead of the host's (`navigator.gpu`, or Dawn in Node). */
  gpu?: GPU;
}

/**
 * A CPU implementation of WebGPU (lavapipe, SwiftShader): kernels tune for
 * SIMD lanes on a few cores there rather than for a GPU's many threads.
 */
export function isSoftwareAdapter(info: Pick<DeviceInfo, 'architecture' | 'description' | 'name'>): boolean {
  return info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.name} ${info.description}`);
}

/** Thrown when no WebGPU adapter can be found; lists what was tried. */
export class NoAdapterError extends Error {
  constructor(readonly attempts: string[]) {
    super(`No WebGPU adapter found (host: ${HOST}). Tried:\n${attempts.map((a) => `  - ${a}`).join('\n')}\n${NO_ADAPTER_HINT}`);
    this.name = 'NoAdapterError';
  }
}

function describe(i: GPUAdapterInfo | undefined): DeviceInfo {
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  if (!i) return { name: 'unknown adapter', vendor: '', architecture: '', description: '', backend: '' };
  // Dawn puts the driver's own name in `description`; keep every field since
  // which one is filled differs between backends.
  const name = text(i.description) || [text(i.vendor), text(i.architecture), text(i.device)].filter(Boolean).join(' ') || 'unknown adapter';
  return {
    name,
    vendor: text(i.vendor),
    architecture: text(i.architecture),
    description: text(i.description),
    backend: text((i as unknown as { backendType?: string }).backendType),
  };
}

/** A device the user made: its adapter's info where the implementation exposes it (`GPUDevice.adapterInfo`). */
function adopt(device: GPUDevice): AcquiredDevice {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return { device, adapter: null, info: describe(info) };
}

async function request(gpu: GPU): Promise<AcquiredDevice> {
  const attempts: string[] = [];
  const options: Array<[string, GPURequestAdapterOptions]> = [
    ['high-performance adapter', { powerPreference: 'high-performance' }],
    ['any adapter', {}],
    ['fallback (software) adapter', { forceFallbackAdapter: true }],
  ];
  for (const [label, opts] of options) {
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await gpu.requestAdapter(opts);
    } catch (e) {
      attempts.push(`${label}: ${(e as Error).message}`);
      continue;
    }
    if (!adapter) {
      attempts.push(`${label}: none`);
      continue;
    }
    // Default limits are lower than adapters offer (lavapipe: 128 MiB per storage binding).
    const l = adapter.limits;
    const wanted: Record<string, number> = {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    };
    const requiredFeatures: GPUFeatureName[] = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
    try {
      const device = await adapter.requestDevice({ requiredLimits: wanted, requiredFeatures });
      return { device, adapter, info: describe(adapter.info) };
    } catch (e) {
      attempts.push(`${label}: requestDevice failed: ${(e as Error).message}`);
    }
  }
  throw new NoAdapterError(attempts);
}

let pending: Promise<AcquiredDevice> | null = null;
let adopted: GPUDevice | null = null;

/**
 * The process's (or page's) device, acquired on the first call; later calls
 * return the same one. Passing a different `device` after that is an error.
 */
export function acquireDevice(options: DeviceOptions = {}): Promise<AcquiredDevice> {
  const { device, gpu } = options;
  if (device && gpu) throw new TypeError('acquireDevice: pass either `device` or `gpu`, not both');
  if (pending) {
    if ((device && device !== adopted) || gpu) {
      return Promise.reject(new Error('acquireDevice: stripes already has a device; pass `device`/`gpu` on the first init() call'));
    }
    return pending;
  }
  if (device) {
    adopted = device;
    pending = Promise.resolve(adopt(device));
    return pending;
  }
  const start = async (): Promise<AcquiredDevice> => {
    const host = gpu ?? hostGpu();
    if (!host) throw new NoAdapterError([`${HOST}: not available`]);
    return request(host);
  };
  pending = start().catch((e) => {
    pending = null;
    throw e;
  });
  return pending;
}
