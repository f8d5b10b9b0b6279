/**
 * Command batching: one command encoder and compute pass collect the work
 * until a submit, and a parameter ring holds every dispatch's parameter block
 * of the batch (written once, at submit).
 */
import { MAX_PARAM_WORDS, type Kernel, type ParamDecls, type ParamValues, type ParamViews } from '../kernel.ts';
import type { KernelProfiler } from './profiler.ts';
import { COPY_DST, STORAGE } from './usage.ts';

/** Bytes reserved per dispatch in the parameter ring: a whole parameter block, and the storage-offset alignment. */
export const PARAM_SLOT = MAX_PARAM_WORDS * 4;
/** Parameter blocks per batch; a full ring submits the batch. */
export const PARAM_SLOTS = 512;

export class CommandBatch {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private paramBuffer: GPUBuffer;
  private paramStaging = new ArrayBuffer(PARAM_SLOT * PARAM_SLOTS);
  /** The staging ring as each parameter type writes it (a kernel's layout picks the view per parameter). */
  private paramViews: ParamViews = [new Uint32Array(this.paramStaging), new Int32Array(this.paramStaging), new Float32Array(this.paramStaging)];
  /** Dispatches in the batch: each takes one slot of the ring. */
  private paramSlots = 0;
  /** Binding 0 of every bind group: one parameter block of the ring, placed by the dispatch's dynamic offset. */
  readonly paramBinding: GPUBufferBinding;
  /**
   * Buffers the unsubmitted batch uses. Reusing a freed buffer for later
   * dispatches is safe (commands run in order), but queue.writeBuffer runs
   * before the unsubmitted commands, so `write` submits first when it targets one.
   */
  readonly used = new Set<GPUBuffer>();

  constructor(private readonly device: GPUDevice) {
    this.paramBuffer = device.createBuffer({
      label: 'stripes.params',
      size: PARAM_SLOT * PARAM_SLOTS,
      usage: STORAGE | COPY_DST,
    });
    this.paramBinding = { buffer: this.paramBuffer, offset: 0, size: PARAM_SLOT };
  }

  /** Packs `kernel`'s parameter block into the next ring slot; returns the slot's byte offset (the dynamic offset of `paramBinding`). */
  addParams<P extends ParamDecls>(kernel: Kernel<never, P>, params: ParamValues<P>): number {
    const offset = this.paramSlots * PARAM_SLOT;
    kernel.writeParams(params, this.paramViews, offset / 4);
    this.paramSlots++;
    return offset;
  }

  /** The pass for the next dispatch: the shared one, or with a profiler one pass per dispatch, so its timestamps measure that dispatch alone. */
  passFor(kernel: string, profiler: KernelProfiler | null): GPUComputePassEncoder {
    if (!profiler) {
      this.pass ??= this.commandEncoder().beginComputePass();
      return this.pass;
    }
    this.endPass();
    this.pass = profiler.beginPass(this.commandEncoder(), kernel);
    return this.pass;
  }

  /** True when the batch is full (ring or `maxDispatches`) and should be submitted. */
  isFull(maxDispatches: number): boolean {
    return this.paramSlots >= Math.min(PARAM_SLOTS, maxDispatches);
  }

  commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submits everything encoded so far, with the profiler's timestamp resolves. */
  submit(profiler: KernelProfiler | null): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.paramSlots > 0) {
      // The whole ring is rewritten per batch; queue order puts this write
      // after the previous batch's commands and before this batch's.
      this.device.queue.writeBuffer(this.paramBuffer, 0, this.paramStaging, 0, this.paramSlots * PARAM_SLOT);
    }
    profiler?.resolve(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    profiler?.submitted();
    this.encoder = null;
    this.paramSlots = 0;
    this.used.clear();
  }
}
