/**
 * One WebGPU device per process, acquired through Dawn's Node bindings.
 */
import { create, globals } from 'webgpu';

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
  adapter: GPUAdapter;
  info: DeviceInfo;
}

// Dawn crashes in mapAsync if the object returned by create() is collected,
// so it lives in module scope for the life of the process.
let gpu: GPU | null = null;
let pending: Promise<AcquiredDevice> | null = null;

/** Thrown when no WebGPU adapter can be found; lists what was tried. */
export class NoAdapterError extends Error {
  constructor(readonly attempts: string[]) {
    super(
      `No WebGPU adapter found. Tried:\n${attempts.map((a) => `  - ${a}`).join('\n')}\n` +
        'On Debian without a GPU, install Mesa\'s lavapipe (software Vulkan) from bookworm-backports:\n' +
        "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list\n" +
        '  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers',
    );
    this.name = 'NoAdapterError';
  }
}

function describe(adapter: GPUAdapter): DeviceInfo {
  const i = adapter.info;
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
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

async function acquire(): Promise<AcquiredDevice> {
  Object.assign(globalThis, globals);
  // Mesa warns when XDG_RUNTIME_DIR is unset; any writable folder silences it.
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  gpu = create([]);
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
      return { device, adapter, info: describe(adapter) };
    } catch (e) {
      attempts.push(`${label}: requestDevice failed: ${(e as Error).message}`);
    }
  }
  throw new NoAdapterError(attempts);
}

/** The process's device, acquired on first call. */
export function acquireDevice(): Promise<AcquiredDevice> {
  pending ??= acquire().catch((e) => {
    pending = null;
    throw e;
  });
  return pending;
}
