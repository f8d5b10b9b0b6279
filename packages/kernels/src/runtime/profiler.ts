import { COPY_DST, COPY_SRC, MAP_READ, QUERY_RESOLVE } from './usage.ts';

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
    const resolved = this.device.createBuffer({ size: bytes, usage: QUERY_RESOLVE | COPY_SRC });
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
