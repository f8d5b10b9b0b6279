/**
 * The device runtime: buffer pool, pipeline cache, command batching, the
 * parameter ring and readback. Ops only encode; a submit happens when a batch
 * is full or when data is read back.
 */
import { acquireDevice, type DeviceInfo, type DeviceOptions } from './device.ts';
import type { KernelDef, StorageAccess } from './kernel.ts';

// GPUBufferUsage's values: Node has no such global until Dawn's are installed.
const MAP_READ = 0x01;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const STORAGE = 0x80;
const STORAGE_USAGE = STORAGE | COPY_SRC | COPY_DST;
const SHADER_STAGE_COMPUTE = 0x4;

/** Bytes reserved per dispatch in the parameter ring (the storage-offset alignment). */
const PARAM_SLOT = 256;
/** Parameter blocks per batch; a full ring submits the batch. */
const PARAM_SLOTS = 512;

export interface MemoryStats {
  /** Buffers held by live tensors (or other users) right now. */
  liveBuffers: number;
  liveBytes: number;
  /** Freed buffers kept for reuse. */
  pooledBuffers: number;
  pooledBytes: number;
  /** Copies derived from live buffers (e.g. repacked weights), freed with their source. */
  cachedBuffers: number;
  cachedBytes: number;
}

/**
 * A pooled device buffer; `size` is the size class, `bytes` what was asked
 * for. A view (`Runtime.view`) is a range of one: it binds `bytes` bytes from
 * byte `offset`, and is never released itself.
 */
export interface DeviceBuffer {
  readonly buffer: GPUBuffer;
  readonly size: number;
  readonly bytes: number;
  /** Byte offset of a view into its buffer; absent (0) for a whole buffer. */
  readonly offset?: number;
}

/** A range of a buffer bound from an aligned offset: element `i` of the range is element `delta + i` of `view`. */
export interface BoundRange {
  view: DeviceBuffer;
  delta: number;
}

/** Bind groups cached per buffer combination; cleared past this many (a training loop reuses few). */
const MAX_CACHED_BIND_GROUPS = 16384;

/** Rounds up to a size class: 2^k * {1, 1.25, 1.5, 1.75}, so waste stays under 25%. */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= 256) return Math.ceil(b / 16) * 16;
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuError';
  }
}

export class Runtime {
  readonly device: GPUDevice;
  readonly info: DeviceInfo;
  readonly limits: GPUSupportedLimits;

  private pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; layoutKey: string }>();
  private layouts = new Map<string, GPUBindGroupLayout>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private free = new Map<number, GPUBuffer[]>();
  /**
   * Buffers the unsubmitted batch uses. Reusing a freed buffer for later
   * dispatches is safe (commands run in order), but queue.writeBuffer runs
   * before the unsubmitted commands, so `write` submits first when it targets one.
   */
  private usedThisBatch = new Set<GPUBuffer>();
  /** Writes (dispatch outputs, uploads, copies, clears) per buffer, so derived data knows when it is stale. */
  private versions = new WeakMap<GPUBuffer, number>();
  /** Buffers computed from another buffer (e.g. a repacked weight), valid while the source's version holds. */
  private derivedCache = new Map<GPUBuffer, Map<string, { version: number; buffer: DeviceBuffer }>>();
  private stats: MemoryStats = { liveBuffers: 0, liveBytes: 0, pooledBuffers: 0, pooledBytes: 0, cachedBuffers: 0, cachedBytes: 0 };

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private paramBuffer: GPUBuffer;
  private paramStaging = new Uint32Array((PARAM_SLOT * PARAM_SLOTS) / 4);
  private paramSlots = 0;
  private dispatches = 0;

  private lostError: GpuError | null = null;
  /** Errors from error scopes: they name the kernel or allocation at fault. */
  private scopedErrors: GpuError[] = [];
  /** Uncaptured errors, usually consequences of a scoped one; reported after them. */
  private deviceErrors: GpuError[] = [];
  private pendingScopes: Promise<void>[] = [];
  /** Completion of the work submitted before each recent `throttle` call, oldest first. */
  private inFlight: Promise<void>[] = [];
  /** Rejecters of pending GPU waits, called if the device is lost first. */
  private lossWaiters = new Set<(e: GpuError) => void>();
  private profiler: KernelProfiler | null = null;
  /** Dispatches per batch before a submit even if the param ring has room. */
  maxDispatchesPerBatch = PARAM_SLOTS;
  /**
   * The most bytes one storage binding may cover: the device's
   * maxStorageBufferBindingSize. Buffers may be larger (up to maxBufferSize);
   * kernels that meet one work on ranges of it that fit (`bindRange`). Tests
   * lower it to exercise that path with small tensors.
   */
  maxBindingBytes: number;

  constructor(device: GPUDevice, info: DeviceInfo) {
    this.device = device;
    this.info = info;
    this.limits = device.limits;
    this.maxBindingBytes = device.limits.maxStorageBufferBindingSize;
    this.paramBuffer = device.createBuffer({
      label: 'stripes.params',
      size: PARAM_SLOT * PARAM_SLOTS,
      usage: STORAGE | COPY_DST,
    });
    device.lost.then((info) => {
      this.lostError = new GpuError(`WebGPU device lost (${info.reason}): ${info.message || 'no message'}`);
      const waiting = new GpuError(`WebGPU device lost (${info.reason}) while waiting for the GPU: ${info.message || 'no message'}`);
      for (const reject of this.lossWaiters) reject(waiting);
      this.lossWaiters.clear();
    });
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.deviceErrors.push(new GpuError(`WebGPU error: ${ev.error.message}`));
    };
  }

  /** Throws the device-loss or any asynchronously reported error. */
  checkHealthy(): void {
    if (this.lostError) throw this.lostError;
    const e = this.scopedErrors.shift() ?? this.deviceErrors.shift();
    if (e) {
      this.deviceErrors = [];
      throw e;
    }
  }

  // ---------------------------------------------------------------- buffers

  /** A storage buffer of at least `bytes` bytes; contents are undefined. */
  alloc(bytes: number, label = 'tensor'): DeviceBuffer {
    this.checkHealthy();
    // Past the binding limit a size class may round over maxBufferSize while the bytes fit: allocate them exactly then.
    const max = this.limits.maxBufferSize;
    let size = sizeClass(bytes);
    if (size > max && bytes <= max) size = Math.ceil(bytes / 4) * 4;
    if (size > max) {
      throw new GpuError(`cannot allocate ${label} of ${bytes} bytes: the device allows at most ${max} bytes per buffer`);
    }
    let buffer = this.free.get(size)?.pop();
    if (buffer) {
      this.stats.pooledBuffers--;
      this.stats.pooledBytes -= size;
    } else {
      this.device.pushErrorScope('out-of-memory');
      buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
      this.watchScope(`allocating ${label} (${bytes} bytes): out of GPU memory`);
      this.bufferIds.set(buffer, this.nextBufferId++);
    }
    this.stats.liveBuffers++;
    this.stats.liveBytes += size;
    return { buffer, size, bytes };
  }

  /** The bytes a dispatch binds of `b`: a view's range, else the whole buffer (only its requested bytes when its size class is past the binding limit). */
  bindingBytes(b: DeviceBuffer): number {
    if (b.offset !== undefined) return b.bytes;
    return b.size <= this.maxBindingBytes ? b.size : Math.ceil(b.bytes / 4) * 4;
  }

  /** True when all of `b`'s requested bytes fit one binding: kernels can take it whole. */
  fitsWhole(b: DeviceBuffer): boolean {
    return this.fitsBinding(Math.ceil(b.bytes / 4) * 4);
  }

  /** True when `bytes` bytes fit one binding (`maxBindingBytes`). */
  fitsBinding(bytes: number): boolean {
    return bytes <= this.maxBindingBytes;
  }

  /**
   * Elements [start, start + count) of `b` as a bindable range: a view from
   * the aligned offset at or below `start` (the storage-offset alignment), and
   * the `delta` elements to add to an index into it. The whole buffer when
   * that fits. Throws if the range cannot fit one binding.
   */
  bindRange(b: DeviceBuffer, start: number, count: number): BoundRange {
    if (b.offset !== undefined) throw new GpuError('bindRange: takes a buffer, not a view');
    if (start === 0 && this.fitsWhole(b)) return { view: b, delta: 0 };
    const align = this.limits.minStorageBufferOffsetAlignment;
    const byteStart = Math.floor((start * 4) / align) * align;
    const delta = (start * 4 - byteStart) / 4;
    const bytes = (delta + count) * 4;
    if (!this.fitsBinding(bytes)) throw new GpuError(`bindRange: ${count} elements from ${start} need ${bytes} bytes; one binding holds at most ${this.maxBindingBytes}`);
    if (byteStart + bytes > b.size) throw new GpuError(`bindRange: elements [${start}, ${start + count}) run past the buffer (${b.size} bytes)`);
    return { view: { buffer: b.buffer, size: b.size, bytes, offset: byteStart }, delta };
  }

  /**
   * The longest element count, a multiple of `unit`, that a range starting at
   * any element can bind (room is left for the alignment's slack). 0 when not
   * even one unit fits.
   */
  rangeCapacity(unit: number): number {
    const slack = this.limits.minStorageBufferOffsetAlignment / 4;
    return Math.max(0, Math.floor((Math.floor(this.maxBindingBytes / 4) - slack) / unit)) * unit;
  }

  /**
   * Splits `n` elements, indexed alike in every one of `buffers`, into
   * ranges that fit one binding each, starting at aligned offsets (so index
   * `i` of a range is element `start + i` of every view). One range of the
   * buffers themselves when they all fit whole.
   */
  elementRanges(n: number, buffers: readonly DeviceBuffer[]): Array<{ views: DeviceBuffer[]; start: number; count: number }> {
    if (buffers.every((b) => this.fitsWhole(b))) return [{ views: [...buffers], start: 0, count: n }];
    const align = this.limits.minStorageBufferOffsetAlignment / 4;
    const chunk = Math.floor(this.maxBindingBytes / 4 / align) * align;
    if (chunk < 1) throw new GpuError(`elementRanges: a binding of ${this.maxBindingBytes} bytes holds no aligned range`);
    const out: Array<{ views: DeviceBuffer[]; start: number; count: number }> = [];
    for (let start = 0; start < n; start += chunk) {
      const count = Math.min(chunk, n - start);
      out.push({ views: buffers.map((b) => this.bindRange(b, start, count).view), start, count });
    }
    return out;
  }

  /** Returns a buffer to the pool for reuse, with anything derived from it. */
  release(b: DeviceBuffer): void {
    const derived = this.derivedCache.get(b.buffer);
    if (derived) {
      this.derivedCache.delete(b.buffer);
      for (const { buffer } of derived.values()) this.releaseCached(buffer);
    }
    this.stats.liveBuffers--;
    this.stats.liveBytes -= b.size;
    this.toPool(b.size, b.buffer);
  }

  private releaseCached(b: DeviceBuffer): void {
    this.stats.cachedBuffers--;
    this.stats.cachedBytes -= b.size;
    this.toPool(b.size, b.buffer);
  }

  private toPool(size: number, buffer: GPUBuffer): void {
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
    this.stats.pooledBuffers++;
    this.stats.pooledBytes += size;
  }

  /** Destroys every pooled (free) buffer. */
  trimPool(): void {
    this.flush();
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.bindGroups.clear();
    this.stats.pooledBuffers = 0;
    this.stats.pooledBytes = 0;
  }

  memory(): MemoryStats {
    return { ...this.stats };
  }

  private bump(b: GPUBuffer): void {
    this.versions.set(b, (this.versions.get(b) ?? 0) + 1);
  }

  /**
   * A buffer computed from `source` by `build`, cached until `source` is
   * written again (any dispatch that binds it read_write, an upload, a copy
   * or a clear into it). `key` names the derivation. Owned by the cache: do
   * not release it; it is dropped when `source` is released.
   */
  derived(source: DeviceBuffer, key: string, bytes: number, build: (dst: DeviceBuffer) => void): DeviceBuffer {
    const version = this.versions.get(source.buffer) ?? 0;
    let entries = this.derivedCache.get(source.buffer);
    const hit = entries?.get(key);
    if (hit && hit.version === version) return hit.buffer;
    if (hit) this.releaseCached(hit.buffer);
    const buffer = this.alloc(bytes, key);
    this.stats.liveBuffers--;
    this.stats.liveBytes -= buffer.size;
    this.stats.cachedBuffers++;
    this.stats.cachedBytes += buffer.size;
    build(buffer);
    if (!entries) this.derivedCache.set(source.buffer, (entries = new Map()));
    entries.set(key, { version, buffer });
    return buffer;
  }

  /** Uploads `data` into `dst` at byte `offset`, after any encoded work that uses `dst`. */
  write(dst: DeviceBuffer, data: ArrayBufferView, offset = 0): void {
    this.checkHealthy();
    if (this.usedThisBatch.has(dst.buffer)) this.flush();
    this.bump(dst.buffer);
    this.device.queue.writeBuffer(dst.buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  // ---------------------------------------------------------------- kernels

  /** Binding 0 (params) takes a dynamic offset, so a bind group depends only on the buffers and can be cached. */
  private layoutFor(bindings: readonly StorageAccess[]): { layout: GPUBindGroupLayout; layoutKey: string } {
    const layoutKey = bindings.join(',');
    let layout = this.layouts.get(layoutKey);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        entries: [
          { binding: 0, visibility: SHADER_STAGE_COMPUTE, buffer: { type: 'read-only-storage', hasDynamicOffset: true } },
          ...bindings.map((access, i) => ({
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

  private pipeline<S extends object>(kernel: KernelDef<S>, spec: S): { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; layoutKey: string } {
    const key = `${kernel.name}:${JSON.stringify(spec)}`;
    let p = this.pipelines.get(key);
    if (p) return p;
    const code = kernel.source(spec);
    const { layout, layoutKey } = this.layoutFor(kernel.bindings);
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: key });
    const pipeline = this.device.createComputePipeline({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
      label: key,
    });
    this.watchScope(`kernel ${key} failed to compile`, module);
    p = { pipeline, layout, layoutKey };
    this.pipelines.set(key, p);
    return p;
  }

  private bindGroup(layout: GPUBindGroupLayout, layoutKey: string, buffers: readonly DeviceBuffer[]): GPUBindGroup {
    const key = `${layoutKey}|${buffers.map((b) => `${this.bufferIds.get(b.buffer)}${b.offset === undefined ? '' : `@${b.offset}+${b.bytes}`}`).join(',')}`;
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= MAX_CACHED_BIND_GROUPS) this.bindGroups.clear();
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.paramBuffer, offset: 0, size: PARAM_SLOT } }];
      buffers.forEach((b, i) => entries.push({ binding: i + 1, resource: { buffer: b.buffer, offset: b.offset ?? 0, size: this.bindingBytes(b) } }));
      group = this.device.createBindGroup({ layout, entries });
      this.bindGroups.set(key, group);
    }
    return group;
  }

  /** Compiles a kernel specialization now and rejects with the compiler's messages if it is invalid. */
  async compile<S extends object>(kernel: KernelDef<S>, spec: S): Promise<void> {
    this.pipeline(kernel, spec);
    await this.settle();
  }

  private watchScope(what: string, module?: GPUShaderModule): void {
    const scope = this.device.popErrorScope().then(async (err) => {
      if (!err) return;
      let detail = err.message;
      if (module) {
        const info = await module.getCompilationInfo();
        const msgs = info.messages.filter((m) => m.type === 'error').map((m) => `  line ${m.lineNum}:${m.linePos} ${m.message}`);
        if (msgs.length) detail = msgs.join('\n');
      }
      this.scopedErrors.push(new GpuError(`${what}:\n${detail}`));
    });
    this.pendingScopes.push(scope);
  }

  /**
   * Encodes one dispatch. `params` are the u32 words of the kernel's
   * parameter block (floats via f32Bits); `buffers` follow `kernel.bindings`.
   */
  dispatch<S extends object>(
    kernel: KernelDef<S>,
    spec: S,
    buffers: readonly DeviceBuffer[],
    params: ArrayLike<number>,
    workgroups: readonly [number, number, number],
  ): void {
    this.checkHealthy();
    if (buffers.length !== kernel.bindings.length) {
      throw new GpuError(`kernel ${kernel.name}: expected ${kernel.bindings.length} buffers, got ${buffers.length}`);
    }
    if (params.length * 4 > PARAM_SLOT) throw new GpuError(`kernel ${kernel.name}: parameter block over ${PARAM_SLOT} bytes`);
    buffers.forEach((b, i) => {
      const bytes = this.bindingBytes(b);
      if (!this.fitsBinding(bytes)) {
        throw new GpuError(
          `kernel ${kernel.name}: binding ${i + 1} covers ${bytes} bytes, and the device binds at most ${this.maxBindingBytes} per buffer ` +
            '(this kernel does not work on such a tensor in chunks)',
        );
      }
    });
    const { pipeline, layout, layoutKey } = this.pipeline(kernel, spec);
    const slot = this.paramSlots++;
    this.paramStaging.set(params, (slot * PARAM_SLOT) / 4);
    buffers.forEach((b, i) => {
      this.usedThisBatch.add(b.buffer);
      if (kernel.bindings[i] === 'read_write') this.bump(b.buffer);
    });
    let pass: GPUComputePassEncoder;
    if (this.profiler) {
      // One pass per dispatch, so its timestamps measure that dispatch alone.
      this.endPass();
      pass = this.pass = this.profiler.beginPass(this.commandEncoder(), kernel.name);
    } else {
      pass = this.beginPass();
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.bindGroup(layout, layoutKey, buffers), [slot * PARAM_SLOT]);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
    this.dispatches++;
    if (this.profiler) this.endPass();
    if (this.paramSlots >= PARAM_SLOTS || this.dispatches >= this.maxDispatchesPerBatch) this.flush();
  }

  /** Copies bytes between device buffers, in order with the dispatches around it. */
  copy(src: DeviceBuffer, srcOffset: number, dst: DeviceBuffer, dstOffset: number, bytes: number): void {
    this.checkHealthy();
    this.endPass();
    this.usedThisBatch.add(src.buffer).add(dst.buffer);
    this.bump(dst.buffer);
    this.commandEncoder().copyBufferToBuffer(src.buffer, srcOffset, dst.buffer, dstOffset, bytes);
  }

  /** Sets `bytes` bytes of `dst` from `offset` to zero, in order with the dispatches around it. */
  clear(dst: DeviceBuffer, offset = 0, bytes = dst.size - offset): void {
    this.checkHealthy();
    this.endPass();
    this.usedThisBatch.add(dst.buffer);
    this.bump(dst.buffer);
    this.commandEncoder().clearBuffer(dst.buffer, offset, bytes);
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private beginPass(): GPUComputePassEncoder {
    this.pass ??= this.commandEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submits everything encoded so far. */
  flush(): void {
    this.checkHealthy();
    if (!this.encoder) return;
    this.endPass();
    if (this.paramSlots > 0) {
      // The whole ring is rewritten per batch; queue order puts this write
      // after the previous batch's commands and before this batch's.
      this.device.queue.writeBuffer(this.paramBuffer, 0, this.paramStaging.buffer, 0, this.paramSlots * PARAM_SLOT);
    }
    this.profiler?.resolve(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    this.profiler?.submitted();
    this.encoder = null;
    this.paramSlots = 0;
    this.dispatches = 0;
    this.usedThisBatch.clear();
  }

  /**
   * Starts timing every dispatch on the GPU (timestamp queries; each dispatch
   * gets its own pass, so this slows the run down a little). Returns null when
   * the adapter has no timestamp queries.
   */
  startProfiling(): KernelProfiler | null {
    if (!this.device.features.has('timestamp-query')) return null;
    this.flush();
    this.profiler = new KernelProfiler(this.device);
    return this.profiler;
  }

  /** Stops timing; resolves to GPU milliseconds and dispatch counts per kernel name. */
  async stopProfiling(): Promise<Map<string, { ms: number; count: number }>> {
    const p = this.profiler;
    if (!p) return new Map();
    this.flush();
    this.profiler = null;
    return p.results();
  }

  /**
   * Bounds how far the CPU runs ahead of the GPU: submits what is encoded,
   * then waits until the work submitted before the `depth`-th previous call
   * is finished (depth 1: the previous call's).
   * Encoding is much cheaper than executing, so a loop that never reads a
   * value would otherwise queue unboundedly many batches; Dawn can only
   * retire them (and free their staging memory) when a wait lets the event
   * loop turn, and lavapipe crashed after ~100 such CycleGAN steps. Call it
   * once per training step (`train` does); with depth 2 the next step's
   * encoding still overlaps the GPU's work on the previous one.
   */
  async throttle(depth = 2): Promise<void> {
    if (!Number.isInteger(depth) || depth < 1) throw new GpuError(`throttle: depth must be a positive integer, got ${depth}`);
    this.flush();
    const done = this.raceLoss(this.device.queue.onSubmittedWorkDone());
    done.catch(() => {}); // a loss while queued here is rethrown when awaited, not reported as unhandled
    this.inFlight.push(done);
    while (this.inFlight.length > depth) await this.inFlight.shift();
    this.checkHealthy();
  }

  /** Waits for every pending error scope and submitted work; throws the first reported error. */
  async settle(): Promise<void> {
    this.flush();
    await this.raceLoss(this.device.queue.onSubmittedWorkDone());
    const scopes = this.pendingScopes;
    this.pendingScopes = [];
    await Promise.all(scopes);
    this.checkHealthy();
  }

  /**
   * `p`, or a rejection naming the device loss if that comes first. Waiters are
   * kept in a set rather than raced against `device.lost`: every race would leave
   * a reaction on that never-settling promise, one per training step.
   */
  private raceLoss<T>(p: Promise<T>): Promise<T> {
    if (this.lostError) return Promise.reject(this.lostError);
    return new Promise<T>((resolve, reject) => {
      this.lossWaiters.add(reject);
      p.then(
        (v) => {
          this.lossWaiters.delete(reject);
          resolve(v);
        },
        (e) => {
          this.lossWaiters.delete(reject);
          reject(e);
        },
      );
    });
  }

  /** Reads `bytes` bytes of `src` from `offset` back to the CPU. */
  async read(src: DeviceBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    this.checkHealthy();
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({ size: Math.max(4, size), usage: MAP_READ | COPY_DST, label: 'readback' });
    try {
      this.endPass();
      this.commandEncoder().copyBufferToBuffer(src.buffer, offset, staging, 0, size);
      this.flush();
      const scopes = this.pendingScopes;
      this.pendingScopes = [];
      await this.raceLoss(staging.mapAsync(MAP_READ));
      await Promise.all(scopes);
      this.checkHealthy();
      return staging.getMappedRange(0, size).slice(0, bytes);
    } finally {
      staging.destroy();
    }
  }
}

let runtime: Runtime | null = null;
let starting: Promise<Runtime> | null = null;

/**
 * Acquires the device and builds the runtime; idempotent. Pass `{ device }`
 * on the first call to run on a device you already have (one shared with a
 * renderer or another WebGPU library), or `{ gpu }` to request one from a
 * `GPU` other than the host's.
 */
export function init(options: DeviceOptions = {}): Promise<Runtime> {
  if (starting && (options.device || options.gpu)) {
    return acquireDevice(options).then(() => starting as Promise<Runtime>);
  }
  starting ??= acquireDevice(options)
    .then(({ device, info }) => (runtime = new Runtime(device, info)))
    .catch((e: unknown) => {
      starting = null;
      throw e;
    });
  return starting;
}

/** The runtime; throws a clear error before `init()` has resolved. */
export function rt(): Runtime {
  if (!runtime) throw new GpuError('stripes: the GPU runtime is not ready; call `await init()` (or `await ready()` from @stripes/tensor) first');
  return runtime;
}

/** Per-kernel GPU time from timestamp queries written at the start and end of each dispatch's pass. */
export class KernelProfiler {
  private static readonly CAPACITY = 1024;
  private readonly querySet: GPUQuerySet;
  private names: string[] = [];
  private unsubmitted: Array<{ names: string[]; resolved: GPUBuffer; staging: GPUBuffer }> = [];
  private readbacks: Array<Promise<void>> = [];
  private readonly totals = new Map<string, { ms: number; count: number }>();

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: KernelProfiler.CAPACITY * 2 });
  }

  beginPass(encoder: GPUCommandEncoder, kernel: string): GPUComputePassEncoder {
    if (this.names.length === KernelProfiler.CAPACITY) this.resolve(encoder);
    const i = this.names.length;
    this.names.push(kernel);
    return encoder.beginComputePass({ timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
  }

  /** Copies this batch's timestamps out (before the encoder is finished) so the query set can be reused. */
  resolve(encoder: GPUCommandEncoder): void {
    const n = this.names.length;
    if (n === 0) return;
    const bytes = n * 16;
    const resolved = this.device.createBuffer({ size: bytes, usage: 0x0200 /* QUERY_RESOLVE */ | COPY_SRC });
    const staging = this.device.createBuffer({ size: bytes, usage: MAP_READ | COPY_DST });
    encoder.resolveQuerySet(this.querySet, 0, n * 2, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, staging, 0, bytes);
    this.unsubmitted.push({ names: this.names, resolved, staging });
    this.names = [];
  }

  /** Called after the submit that carries the resolves: only then may their buffers be mapped. */
  submitted(): void {
    for (const { names, resolved, staging } of this.unsubmitted) {
      this.readbacks.push(
        staging.mapAsync(MAP_READ).then(() => {
          const t = new BigUint64Array(staging.getMappedRange());
          names.forEach((name, k) => {
            const entry = this.totals.get(name) ?? { ms: 0, count: 0 };
            entry.ms += Number(t[2 * k + 1] - t[2 * k]) / 1e6;
            entry.count++;
            this.totals.set(name, entry);
          });
          staging.destroy();
          resolved.destroy();
        }),
      );
    }
    this.unsubmitted = [];
  }

  async results(): Promise<Map<string, { ms: number; count: number }>> {
    await Promise.all(this.readbacks);
    this.querySet.destroy();
    return this.totals;
  }
}
