/** Compiled pipelines per kernel specialization, their bind group layouts, and cached bind groups. */
import type { Kernel } from '../kernel.ts';
import type { DeviceHealth } from './health.ts';
import type { BufferPool, DeviceBuffer } from './pool.ts';

const SHADER_STAGE_COMPUTE = 0x4;

/** Bind groups cached per buffer combination; cleared past this many (a training loop reuses few). */
const MAX_CACHED_BIND_GROUPS = 16384;

interface Pipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  layoutKey: string;
}

export class PipelineCache {
  private pipelines = new Map<string, Pipeline>();
  private layouts = new Map<string, GPUBindGroupLayout>();
  private bindGroups = new Map<string, GPUBindGroup>();

  constructor(
    private readonly device: GPUDevice,
    private readonly health: DeviceHealth,
    private readonly pool: BufferPool,
    /** Sees each pipeline's complete WGSL as it is compiled (the `printWgsl` debug switch). */
    private readonly compiling: (kernel: string, key: string, code: string) => void,
  ) {}

  /** Binding 0 (params) takes a dynamic offset, so a bind group depends only on the buffers and can be cached. */
  private layoutFor(bindings: Kernel['bindingOrder']): { layout: GPUBindGroupLayout; layoutKey: string } {
    const layoutKey = bindings.map((b) => b.access).join(',');
    let layout = this.layouts.get(layoutKey);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        entries: [
          { binding: 0, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'read-only-storage', hasDynamicOffset: true } },
          ...bindings.map(({ access }, i) => ({
            binding: i + 1,
            visibility: SHADER_STAGE_COMPUTE,
            buffer: { type: access === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
          })),
        ],
      });
      this.layouts.set(layoutKey, layout);
    }
    return { layout, layoutKey };
  }

  pipeline<S extends object>(kernel: Kernel<S>, spec: S): Pipeline {
    const key = `${kernel.name}:${JSON.stringify(spec)}`;
    let p = this.pipelines.get(key);
    if (p) return p;
    const code = kernel.wgsl(spec);
    this.compiling(kernel.name, key, code);
    const { layout, layoutKey } = this.layoutFor(kernel.bindingOrder);
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: key });
    const pipeline = this.device.createComputePipeline({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
      label: key,
    });
    this.health.watchScope(`kernel ${key} failed to compile`, module);
    p = { pipeline, layout, layoutKey };
    this.pipelines.set(key, p);
    return p;
  }

  /** The bind group of `buffers` for `p`, binding 0 being `params` (one slot of the parameter ring); `bytesOf` gives each buffer's bound size. */
  bindGroup(p: Pipeline, params: GPUBufferBinding, buffers: readonly DeviceBuffer[], bytesOf: (b: DeviceBuffer) => number): GPUBindGroup {
    const key = `${p.layoutKey}|${buffers.map((b) => `${this.pool.id(b.buffer)}${b.offset === undefined ? '' : `@${b.offset}+${b.bytes}`}`).join(',')}`;
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= MAX_CACHED_BIND_GROUPS) this.bindGroups.clear();
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: params }];
      buffers.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b.buffer, offset: b.offset ?? 0, size: bytesOf(b) } }));
      group = this.device.createBindGroup({ layout: p.layout, entries });
      this.bindGroups.set(key, group);
    }
    return group;
  }

  /** Forgets the cached bind groups (their buffers may be destroyed). */
  clearBindGroups(): void {
    this.bindGroups.clear();
  }
}
