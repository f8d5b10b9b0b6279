/** The buffer pool (size classes, reuse, memory stats) and the cache of buffers derived from others. */
import { GpuError, type DeviceHealth } from './health.ts';
import { COPY_DST, COPY_SRC, STORAGE } from './usage.ts';

const STORAGE_USAGE = STORAGE | COPY_SRC | COPY_DST;

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
  /** The most bytes held at once (live + pooled + cached) since the pool was made or `Runtime.resetPeakMemory()`: buffer memory's high-water mark. */
  peakBytes: number;
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

/** Rounds up to a size class: 2^k * {1, 1.25, 1.5, 1.75}, so waste stays under 25%. */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (b <= 256) return Math.ceil(b / 16) * 16;
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  private free = new Map<number, GPUBuffer[]>();
  /** Writes (dispatch outputs, uploads, copies, clears) per buffer, so derived data knows when it is stale. */
  private versions = new WeakMap<GPUBuffer, number>();
  /**
   * Buffers computed from another buffer (e.g. a repacked weight), valid
   * while the source's version holds; `used`: requested since it was built.
   */
  private derivedCache = new Map<GPUBuffer, Map<string, { version: number; buffer: DeviceBuffer; used: boolean }>>();
  private stats: MemoryStats = { liveBuffers: 0, liveBytes: 0, pooledBuffers: 0, pooledBytes: 0, cachedBuffers: 0, cachedBytes: 0, peakBytes: 0 };

  constructor(
    private readonly device: GPUDevice,
    private readonly health: DeviceHealth,
  ) {}

  /** A stable id per buffer this pool created (bind groups are cached by it). */
  id(buffer: GPUBuffer): number | undefined {
    return this.ids.get(buffer);
  }

  alloc(bytes: number, label: string): DeviceBuffer {
    this.health.check();
    // Past the binding limit a size class may round over maxBufferSize while the bytes fit: allocate them exactly then.
    const max = this.device.limits.maxBufferSize;
    let size = sizeClass(bytes);
    if (size > max && bytes <= max) size = Math.ceil(bytes / 4) * 4;
    if (size > max) {
      throw new GpuError(`cannot allocate ${label} of ${bytes} bytes: the device allows at most ${max} bytes per buffer`);
    }
    const pooled = this.free.get(size)?.length ? size : this.largerFree(size);
    let buffer: GPUBuffer;
    if (pooled !== undefined) {
      buffer = this.free.get(pooled)!.pop()!;
      size = pooled;
      this.stats.pooledBuffers--;
      this.stats.pooledBytes -= size;
    } else {
      this.device.pushErrorScope('out-of-memory');
      buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, label });
      this.health.watchScope(`allocating ${label} (${bytes} bytes): out of GPU memory`);
      this.ids.set(buffer, this.nextId++);
      const held = this.stats.liveBytes + size + this.stats.pooledBytes + this.stats.cachedBytes;
      this.stats.peakBytes = Math.max(this.stats.peakBytes, held);
    }
    this.stats.liveBuffers++;
    this.stats.liveBytes += size;
    return { buffer, size, bytes };
  }

  /**
   * The smallest size class with a free buffer that is larger than `size` but
   * at most twice it. Reusing one wastes at most half of it, where a new
   * buffer would add to the memory held: without this, every size class
   * keeps its own high-water mark, and a training step's activations (one
   * class per resolution and width) and gradients (others again) never share.
   */
  private largerFree(size: number): number | undefined {
    let best: number | undefined;
    for (const [c, list] of this.free) if (list.length > 0 && c > size && c <= 2 * size && (best === undefined || c < best)) best = c;
    return best;
  }

  /** Restarts `peakBytes` from what is held now. */
  resetPeak(): void {
    this.stats.peakBytes = this.stats.liveBytes + this.stats.pooledBytes + this.stats.cachedBytes;
  }

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

  /**
   * Keeps each class's free list ordered by buffer id, highest first, so
   * `alloc` always takes the oldest free buffer. The buffers a step gets then
   * depend on which are free, not on the order earlier steps released them:
   * a training loop's steps get the same buffers in the same places, and the
   * bind groups cached for them are found again (a new one costs ~50 us).
   */
  private toPool(size: number, buffer: GPUBuffer): void {
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    const id = this.ids.get(buffer) ?? 0;
    let at = list.length;
    while (at > 0 && (this.ids.get(list[at - 1]) ?? 0) < id) at--;
    list.splice(at, 0, buffer);
    this.stats.pooledBuffers++;
    this.stats.pooledBytes += size;
  }

  /** Destroys every pooled (free) buffer; the caller submits pending work first. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.stats.pooledBuffers = 0;
    this.stats.pooledBytes = 0;
  }

  memory(): MemoryStats {
    return { ...this.stats };
  }

  /** Records a write into `b`: what was derived from it is stale. */
  bump(b: GPUBuffer): void {
    this.versions.set(b, (this.versions.get(b) ?? 0) + 1);
  }

  /**
   * The keys of what is cached as derived from `source` that a write into it
   * has made stale and that was requested since it was built: what a
   * rebuild ahead of use would be for (a layout no longer asked for is not).
   */
  staleDerived(source: DeviceBuffer): string[] {
    const version = this.versions.get(source.buffer) ?? 0;
    return [...(this.derivedCache.get(source.buffer) ?? [])].filter(([, e]) => e.version !== version && e.used).map(([key]) => key);
  }

  /**
   * One buffer per request derived from `source`, each cached until `source`
   * is written again; `build` computes the ones that were not (so one pass
   * can compute several). `ahead`: a rebuild before use, which does not count
   * as a request (see `staleDerived`).
   */
  derived(
    source: DeviceBuffer,
    requests: ReadonlyArray<{ key: string; bytes: number }>,
    build: (missing: Array<{ index: number; dst: DeviceBuffer }>) => void,
    ahead = false,
  ): DeviceBuffer[] {
    const version = this.versions.get(source.buffer) ?? 0;
    let entries = this.derivedCache.get(source.buffer);
    if (!entries) this.derivedCache.set(source.buffer, (entries = new Map()));
    const out: DeviceBuffer[] = [];
    const missing: Array<{ index: number; dst: DeviceBuffer }> = [];
    requests.forEach(({ key, bytes }, index) => {
      const hit = entries.get(key);
      if (hit && hit.version === version) {
        hit.used ||= !ahead;
        out.push(hit.buffer);
        return;
      }
      if (hit) this.releaseCached(hit.buffer);
      const dst = this.alloc(bytes, key);
      this.stats.liveBuffers--;
      this.stats.liveBytes -= dst.size;
      this.stats.cachedBuffers++;
      this.stats.cachedBytes += dst.size;
      entries.set(key, { version, buffer: dst, used: !ahead });
      out.push(dst);
      missing.push({ index, dst });
    });
    if (missing.length > 0) build(missing);
    return out;
  }
}
