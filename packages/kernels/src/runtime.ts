/**
 * The device runtime: the facade over the buffer pool (`runtime/pool.ts`),
 * pipeline cache (`runtime/pipelines.ts`), command batching and the parameter
 * ring (`runtime/batch.ts`), device health (`runtime/health.ts`) and the
 * profiler (`runtime/profiler.ts`); binding ranges, dispatch, readback and
 * waits are here. Ops only encode; a submit happens when a batch is full or
 * when data is read back.
 */
import { hostDebugOptions } from '#gpu';
import { checkDebugOptions, printsWgsl, type DebugOptions } from './debug.ts';
import { acquireDevice, type DeviceInfo, type DeviceOptions } from './device.ts';
import type { BindingBuffers, BindingDecls, Kernel, ParamDecls, ParamValues } from './kernel.ts';
import { CommandBatch } from './runtime/batch.ts';
import { DeviceHealth, GpuError } from './runtime/health.ts';
import { PipelineCache } from './runtime/pipelines.ts';
import { BufferPool, type DeviceBuffer, type MemoryStats } from './runtime/pool.ts';
import { KernelProfiler } from './runtime/profiler.ts';
import { COPY_DST, MAP_READ } from './runtime/usage.ts';

export { GpuError } from './runtime/health.ts';
export { sizeClass, type DeviceBuffer, type MemoryStats } from './runtime/pool.ts';
export { KernelProfiler } from './runtime/profiler.ts';

/** A range of a buffer bound from an aligned offset: element `i` of the range is element `delta + i` of `view`. */
export interface BoundRange {
  view: DeviceBuffer;
  delta: number;
}

export class Runtime {
  readonly device: GPUDevice;
  readonly info: DeviceInfo;
  readonly limits: GPUSupportedLimits;

  private readonly health: DeviceHealth;
  private readonly pool: BufferPool;
  private readonly pipelines: PipelineCache;
  private readonly batch: CommandBatch;
  /** Completion of the work submitted before each recent `throttle` call, oldest first. */
  private inFlight: Promise<void>[] = [];
  private profiler: KernelProfiler | null = null;
  private debugOptions: DebugOptions;
  /**
   * Dispatches per batch before a submit even if the param ring has room (at
   * most its PARAM_SLOTS). Submitting every few dozen lets the device start
   * while the rest of a step is still being encoded: on lavapipe a demo
   * training step measured ~10% faster at 16-32 than at 512, the same at
   * 64 px (tfjs-backend-webgpu submits every 15 by default).
   */
  maxDispatchesPerBatch = 32;
  /**
   * The most bytes one storage binding may cover: the device's
   * maxStorageBufferBindingSize. Buffers may be larger (up to maxBufferSize);
   * kernels that meet one work on ranges of it that fit (`bindRange`). Tests
   * lower it to exercise that path with small tensors.
   */
  maxBindingBytes: number;

  constructor(device: GPUDevice, info: DeviceInfo, debug: DebugOptions = {}) {
    this.debugOptions = checkDebugOptions(debug);
    this.device = device;
    this.info = info;
    this.limits = device.limits;
    this.maxBindingBytes = device.limits.maxStorageBufferBindingSize;
    this.batch = new CommandBatch(device);
    this.health = new DeviceHealth(device);
    this.pool = new BufferPool(device, this.health);
    this.pipelines = new PipelineCache(device, this.health, this.pool, (kernel, key, code) => {
      if (printsWgsl(this.debugOptions, kernel)) (this.debugOptions.print ?? console.error)(`// ---- WGSL of kernel ${key}\n${code}`);
    });
  }

  /**
   * The debug switches (`DebugOptions`): printing each pipeline's WGSL as it
   * is compiled (pipelines compiled earlier are cached and not printed
   * again), and a forced conv tile configuration. Setting them checks them.
   */
  get debug(): Readonly<DebugOptions> {
    return this.debugOptions;
  }

  set debug(options: DebugOptions) {
    this.debugOptions = checkDebugOptions(options);
  }

  /** Throws the device-loss or any asynchronously reported error. */
  checkHealthy(): void {
    this.health.check();
  }

  // ---------------------------------------------------------------- buffers

  /** A storage buffer of at least `bytes` bytes; contents are undefined. */
  alloc(bytes: number, label = 'tensor'): DeviceBuffer {
    return this.pool.alloc(bytes, label);
  }

  /** `bindingBytes` as one function for the bind-group cache, not a closure per dispatch. */
  private readonly boundBytes = (b: DeviceBuffer): number => this.bindingBytes(b);

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
    this.pool.release(b);
  }

  /** Destroys every pooled (free) buffer. */
  trimPool(): void {
    this.flush();
    this.pool.trim();
    this.pipelines.clearBindGroups();
  }

  memory(): MemoryStats {
    return this.pool.memory();
  }

  /** Restarts `memory().peakBytes` from the bytes held now (as torch.cuda.reset_peak_memory_stats). */
  resetPeakMemory(): void {
    this.pool.resetPeak();
  }

  /**
   * A buffer computed from `source` by `build`, cached until `source` is
   * written again (any dispatch that binds it read_write, an upload, a copy
   * or a clear into it). `key` names the derivation. Owned by the cache: do
   * not release it; it is dropped when `source` is released.
   */
  derived(source: DeviceBuffer, key: string, bytes: number, build: (dst: DeviceBuffer) => void): DeviceBuffer {
    return this.pool.derived(source, [{ key, bytes }], ([{ dst }]) => build(dst))[0];
  }

  /**
   * Several derivations of `source` at once, as `derived`: `build` gets the
   * ones not cached (their index in `requests` and buffer), to compute them
   * together. `ahead`: rebuilding stale ones before they are asked for
   * (`staleDerived`), which does not count as asking.
   */
  derivedAll(
    source: DeviceBuffer,
    requests: ReadonlyArray<{ key: string; bytes: number }>,
    build: (missing: Array<{ index: number; dst: DeviceBuffer }>) => void,
    ahead = false,
  ): DeviceBuffer[] {
    return this.pool.derived(source, requests, build, ahead);
  }

  /** The keys of `source`'s cached derivations that a write into it has made stale and that were asked for since built (to rebuild them ahead of use). */
  staleDerived(source: DeviceBuffer): string[] {
    return this.pool.staleDerived(source);
  }

  /** Uploads `data` into `dst` at byte `offset`, after any encoded work that uses `dst`. */
  write(dst: DeviceBuffer, data: ArrayBufferView, offset = 0): void {
    this.checkHealthy();
    if (this.batch.used.has(dst.buffer)) this.flush();
    this.pool.bump(dst.buffer);
    this.device.queue.writeBuffer(dst.buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  // ---------------------------------------------------------------- kernels

  /** Compiles a kernel specialization now and rejects with the compiler's messages if it is invalid. */
  async compile<S extends object>(kernel: Kernel<S>, spec: NoInfer<S>): Promise<void> {
    this.pipelines.pipeline(kernel, spec);
    await this.settle();
  }

  /**
   * Encodes one dispatch: `buffers` and `params` by the names the kernel
   * declares (the kernel's layout packs the parameters and orders the
   * buffers).
   */
  dispatch<S extends object, P extends ParamDecls, B extends BindingDecls>(
    kernel: Kernel<S, P, B>,
    spec: NoInfer<S>,
    buffers: BindingBuffers<B>,
    params: ParamValues<P>,
    workgroups: readonly [number, number, number],
  ): void {
    this.checkHealthy();
    const named: Readonly<Record<string, DeviceBuffer | undefined>> = buffers;
    const ordered = kernel.bindingOrder.map(({ name }, i) => {
      const b = named[name];
      if (!b) throw new GpuError(`kernel ${kernel.name}: no buffer for binding ${name}`);
      const bytes = this.bindingBytes(b);
      if (!this.fitsBinding(bytes)) {
        throw new GpuError(
          `kernel ${kernel.name}: binding ${i + 1} covers ${bytes} bytes, and the device binds at most ${this.maxBindingBytes} per buffer ` +
            '(this kernel does not work on such a tensor in chunks)',
        );
      }
      return b;
    });
    const offset = this.batch.addParams(kernel, params);
    const p = this.pipelines.pipeline(kernel, spec);
    ordered.forEach((b, i) => {
      this.batch.used.add(b.buffer);
      if (kernel.bindingOrder[i].access === 'read_write') this.pool.bump(b.buffer);
    });
    const pass = this.batch.passFor(kernel.name, this.profiler);
    pass.setPipeline(p.pipeline);
    pass.setBindGroup(0, this.pipelines.bindGroup(p, this.batch.paramBinding, ordered, this.boundBytes), [offset]);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
    if (this.profiler) this.batch.endPass();
    if (this.batch.isFull(this.maxDispatchesPerBatch)) this.flush();
  }

  /** Copies bytes between device buffers, in order with the dispatches around it. */
  copy(src: DeviceBuffer, srcOffset: number, dst: DeviceBuffer, dstOffset: number, bytes: number): void {
    this.checkHealthy();
    this.batch.endPass();
    this.batch.used.add(src.buffer).add(dst.buffer);
    this.pool.bump(dst.buffer);
    this.batch.commandEncoder().copyBufferToBuffer(src.buffer, srcOffset, dst.buffer, dstOffset, bytes);
  }

  /** Sets `bytes` bytes of `dst` from `offset` to zero, in order with the dispatches around it. */
  clear(dst: DeviceBuffer, offset = 0, bytes = dst.size - offset): void {
    this.checkHealthy();
    this.batch.endPass();
    this.batch.used.add(dst.buffer);
    this.pool.bump(dst.buffer);
    this.batch.commandEncoder().clearBuffer(dst.buffer, offset, bytes);
  }

  /** Submits everything encoded so far. */
  flush(): void {
    this.checkHealthy();
    this.batch.submit(this.profiler);
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
    const done = this.health.raceLoss(this.device.queue.onSubmittedWorkDone());
    done.catch(() => {}); // a loss while queued here is rethrown when awaited, not reported as unhandled
    this.inFlight.push(done);
    while (this.inFlight.length > depth) await this.inFlight.shift();
    this.checkHealthy();
  }

  /** Waits for every pending error scope and submitted work; throws the first reported error. */
  async settle(): Promise<void> {
    this.flush();
    await this.health.raceLoss(this.device.queue.onSubmittedWorkDone());
    await Promise.all(this.health.takeScopes());
    this.checkHealthy();
  }

  /** Reads `bytes` bytes of `src` from `offset` back to the CPU. */
  async read(src: DeviceBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    this.checkHealthy();
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({ size: Math.max(4, size), usage: MAP_READ | COPY_DST, label: 'readback' });
    try {
      this.batch.endPass();
      this.batch.commandEncoder().copyBufferToBuffer(src.buffer, offset, staging, 0, size);
      this.flush();
      const scopes = this.health.takeScopes();
      await this.health.raceLoss(staging.mapAsync(MAP_READ));
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

/** `init`'s options: where the device comes from, and the debug switches. */
export interface InitOptions extends DeviceOptions {
  /**
   * Debug switches; in Node.js they default to the environment's
   * (STRIPES_PRINT_WGSL, STRIPES_CONV_TILES), which these override field by
   * field. Given on a later call, they update the running runtime's.
   */
  debug?: DebugOptions;
}

/**
 * Acquires the device and builds the runtime; idempotent. Pass `{ device }`
 * on the first call to run on a device you already have (one shared with a
 * renderer or another WebGPU library), or `{ gpu }` to request one from a
 * `GPU` other than the host's.
 */
export function init(options: InitOptions = {}): Promise<Runtime> {
  const { debug } = options;
  if (starting && (options.device || options.gpu)) {
    return acquireDevice(options).then(() => withDebug(starting as Promise<Runtime>, debug));
  }
  if (starting) return debug ? withDebug(starting, debug) : starting;
  starting = acquireDevice(options)
    .then(({ device, info }) => (runtime = new Runtime(device, info, { ...hostDebugOptions(), ...debug })))
    .catch((e: unknown) => {
      starting = null;
      throw e;
    });
  return starting;
}

/** `started`, with `debug` merged into its runtime's debug switches. */
async function withDebug(started: Promise<Runtime>, debug: DebugOptions | undefined): Promise<Runtime> {
  const r = await started;
  if (debug) r.debug = { ...r.debug, ...debug };
  return r;
}

/** The runtime; throws a clear error before `init()` has resolved. */
export function rt(): Runtime {
  if (!runtime) throw new GpuError('stripes: the GPU runtime is not ready; call `await init()` (or `await ready()` from @stripes/tensor) first');
  return runtime;
}
