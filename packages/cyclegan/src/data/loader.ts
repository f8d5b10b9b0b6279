import { Worker } from 'node:worker_threads';
import type { Rng } from '@stripes/tensor';
import { ItemLoader } from './dataset.ts';
import type { DatasetItem, ItemLoaderSpec, LoadFailure, UnalignedDataset } from './dataset.ts';
import { epochOrder, type ItemPlan } from './pairing.ts';
import type { DecodeRequest, DecodeResponse, DecodeWorkerData } from './decode-worker.ts';

type RngSnapshot = ReturnType<Rng['getState']>;

/** Where the next undelivered item stands; enough to resume exactly. Plain data, for checkpoints. */
export interface DataLoaderState {
  epoch: number;
  /** Items of `epoch` already delivered. */
  position: number;
  /** The generator before this epoch's shuffle, null while it is not drawn yet. */
  epochRng: RngSnapshot | null;
  /** The generator before the next item's draws. */
  rng: RngSnapshot;
}

export interface Batch {
  /** NCHW, values in [-1, 1]. */
  A: Float32Array;
  B: Float32Array;
  shapeA: [number, number, number, number];
  shapeB: [number, number, number, number];
  pathsA: string[];
  pathsB: string[];
  epoch: number;
  /** The batch's index within its epoch. */
  index: number;
}

export interface DataLoaderOptions {
  /** Its `rng` shuffles and draws every item's choices: nothing else may draw from it while the loader runs. */
  dataset: UnalignedDataset;
  batchSize: number;
  /** Decode threads; 0 decodes in the calling thread when a batch is asked for. Default 1. */
  workers?: number;
  /** Items decoded ahead of the consumer; default twice the batch size. */
  prefetch?: number;
  /** The module decode workers start from; tests point it elsewhere to exercise the fallback. */
  workerEntry?: URL;
}

type Loaded = { kind: 'item'; item: DatasetItem; failures: LoadFailure[] } | { kind: 'error'; message: string };

/** 'retry': the worker died before answering, so the item is loaded in this thread instead. */
type Outcome = Loaded | { kind: 'retry' };

interface Slot {
  epoch: number;
  position: number;
  /** The loader's state just before this item was drawn. */
  state: DataLoaderState;
  plan: ItemPlan;
  /** Null when the item is loaded in this thread when taken. */
  result: Promise<Outcome> | null;
}

/**
 * Compiled, the worker is plain JavaScript and starts directly. From source
 * (vitest, tsx) it is TypeScript, which Node 20 cannot start a Worker on (it
 * ignores loader flags in a Worker's execArgv): a plain entry registers tsx
 * first, and the workspace's source condition is passed on so that the
 * worker resolves packages as this thread does. The compiled package never
 * loads the entry, so it never needs tsx.
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_SCRIPT = new URL(FROM_SOURCE ? './decode-worker.ts' : './decode-worker.js', import.meta.url);
const WORKER_ENTRY = FROM_SOURCE ? new URL('./decode-worker-entry.mjs', import.meta.url) : WORKER_SCRIPT;
const WORKER_EXEC_ARGV = FROM_SOURCE ? [...process.execArgv, '--conditions=@stripes/source'] : undefined;

/** Longest wait for decode workers to stop. */
const CLOSE_TIMEOUT_MS = 2000;

interface PoolWorker {
  worker: Worker;
  pending: Map<number, (outcome: Outcome) => void>;
  alive: boolean;
}

/**
 * Worker threads that read, decode and transform items. A worker that fails
 * to start or dies answers its items with 'retry'; the pool then runs on the
 * others, or on none.
 */
class DecodePool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 0;
  private closing = false;

  constructor(spec: ItemLoaderSpec, count: number, entry: URL, onFailure: (message: string) => void) {
    const workerData: DecodeWorkerData = { script: WORKER_SCRIPT.href, spec };
    for (let i = 0; i < count; i++) {
      let worker: Worker;
      try {
        worker = new Worker(entry, { workerData, execArgv: WORKER_EXEC_ARGV });
      } catch (e) {
        onFailure((e as Error).message);
        continue;
      }
      const entryState: PoolWorker = { worker, pending: new Map(), alive: true };
      const fail = (message: string) => {
        if (!entryState.alive) return;
        entryState.alive = false;
        for (const resolve of entryState.pending.values()) resolve({ kind: 'retry' });
        entryState.pending.clear();
        if (!this.closing) onFailure(message);
      };
      worker.on('message', (res: DecodeResponse) => {
        const resolve = entryState.pending.get(res.id);
        if (!resolve) return;
        entryState.pending.delete(res.id);
        // An idle worker must not keep the process alive.
        if (entryState.pending.size === 0) worker.unref();
        resolve(res.ok ? { kind: 'item', item: res.item, failures: res.failures } : { kind: 'error', message: res.message });
      });
      worker.on('error', (e) => fail(e.message));
      worker.on('exit', (code) => fail(`exited with code ${code}`));
      worker.unref();
      this.workers.push(entryState);
    }
  }

  get live(): number {
    return this.workers.filter((w) => w.alive).length;
  }

  /** Queues a plan on the least busy live worker; null when none is alive. */
  run(plan: ItemPlan): Promise<Outcome> | null {
    let best: PoolWorker | null = null;
    for (const w of this.workers) {
      if (w.alive && (!best || w.pending.size < best.pending.size)) best = w;
    }
    if (!best) return null;
    const target = best;
    const id = this.nextId++;
    return new Promise<Outcome>((resolve) => {
      target.pending.set(id, resolve);
      target.worker.ref();
      target.worker.postMessage({ id, plan } satisfies DecodeRequest);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    // terminate() of a worker that is still loading its tsx hooks (from
    // source) can stay pending without holding the process open, so Node would
    // exit (code 13) mid-close and lose the caller's error. A ref'd timer
    // bounds the wait.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)));
    await Promise.race([Promise.all(this.workers.map((w) => w.worker.terminate())), bound]);
    clearTimeout(timer);
  }
}

/**
 * Batches of an UnalignedDataset in epoch order: shuffled unless the dataset
 * is serial (the reference's shuffle = not serial_batches), the last batch of
 * an epoch possibly smaller. Every random choice is drawn in this thread in
 * item order when an item is scheduled, so the batches depend only on the
 * generator's state, not on worker timing or on whether workers run at all.
 */
export class DataLoader {
  readonly batchSize: number;
  /** Batches per epoch. */
  readonly length: number;
  private readonly dataset: UnalignedDataset;
  private readonly rng: Rng;
  private readonly shuffle: boolean;
  private readonly ahead: number;
  private readonly local: ItemLoader;
  private readonly pool: DecodePool | null;
  private queue: Slot[] = [];
  private closed = false;
  // Where scheduling stands: the next item to draw.
  private epochNow = 0;
  private positionNow = 0;
  private order: Uint32Array | null = null;
  private epochRng: RngSnapshot | null = null;

  constructor(opts: DataLoaderOptions) {
    const { dataset, batchSize } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    const workers = opts.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 0) throw new Error(`DataLoader: workers must be a non-negative integer, got ${workers}`);
    this.dataset = dataset;
    this.rng = dataset.rng;
    this.batchSize = batchSize;
    this.length = Math.ceil(dataset.length / batchSize);
    this.shuffle = !dataset.serialBatches;
    this.ahead = Math.max(opts.prefetch ?? 2 * batchSize, batchSize);
    this.local = new ItemLoader(dataset.spec);
    const entry = opts.workerEntry ?? WORKER_ENTRY;
    this.pool =
      workers > 0
        ? new DecodePool(dataset.spec, workers, entry, (message) =>
            dataset.log(`data loader: a decode worker stopped (${message}); its items are decoded in the main thread`),
          )
        : null;
  }

  /** The epoch the next batch belongs to. */
  get epoch(): number {
    return this.queue.length > 0 ? this.queue[0].epoch : this.epochNow;
  }

  /** Decode workers still running. */
  get liveWorkers(): number {
    return this.pool?.live ?? 0;
  }

  getState(): DataLoaderState {
    return this.queue.length > 0 ? this.queue[0].state : this.cursorState();
  }

  /** Resumes at a state from `getState`; items decoded ahead are discarded. */
  setState(state: DataLoaderState): void {
    const n = this.dataset.length;
    if (!Number.isInteger(state.epoch) || state.epoch < 0 || !Number.isInteger(state.position) || state.position < 0 || state.position >= n) {
      throw new Error(`DataLoader.setState: epoch ${state.epoch} position ${state.position} does not fit a dataset of ${n} items`);
    }
    if (state.epochRng === null && state.position !== 0) {
      throw new Error('DataLoader.setState: a state within an epoch must carry the epoch generator state');
    }
    this.queue = [];
    this.epochNow = state.epoch;
    this.positionNow = state.position;
    this.order = null;
    this.epochRng = state.epochRng;
    if (state.epochRng) {
      this.rng.setState(state.epochRng);
      this.order = this.drawOrder();
    }
    this.rng.setState(state.rng);
  }

  /** The next batch; batches never span two epochs. */
  async nextBatch(): Promise<Batch> {
    if (this.closed) throw new Error('DataLoader: used after close()');
    this.fill();
    const first = this.queue[0];
    let count = 1;
    while (count < this.batchSize && this.queue[count].epoch === first.epoch) count++;
    const slots = this.queue.splice(0, count);
    // Start decoding what follows before waiting on this batch.
    this.fill();
    const items: DatasetItem[] = [];
    for (const slot of slots) items.push(await this.take(slot));
    return this.stack(items, first.epoch, Math.floor(first.position / this.batchSize));
  }

  /** The remaining batches of the current epoch. */
  async *epochBatches(): AsyncGenerator<Batch> {
    const epoch = this.epoch;
    while (this.epoch === epoch) yield await this.nextBatch();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.queue = [];
    await this.pool?.close();
  }

  private cursorState(): DataLoaderState {
    return {
      epoch: this.epochNow,
      position: this.positionNow,
      epochRng: this.order ? this.epochRng : null,
      rng: this.rng.getState(),
    };
  }

  private drawOrder(): Uint32Array {
    return epochOrder(this.dataset.length, this.rng, this.shuffle);
  }

  private fill(): void {
    while (this.queue.length < this.ahead) {
      const state = this.cursorState();
      if (!this.order) {
        this.epochRng = this.rng.getState();
        this.order = this.drawOrder();
      }
      const plan = this.dataset.plan(this.order[this.positionNow]);
      this.queue.push({ epoch: this.epochNow, position: this.positionNow, state, plan, result: this.pool?.run(plan) ?? null });
      if (++this.positionNow === this.dataset.length) {
        this.epochNow++;
        this.positionNow = 0;
        this.order = null;
      }
    }
  }

  private async take(slot: Slot): Promise<DatasetItem> {
    const outcome = slot.result ? await slot.result : null;
    const loaded = outcome === null || outcome.kind === 'retry' ? this.loadHere(slot.plan) : outcome;
    if (loaded.kind === 'error') throw new Error(loaded.message);
    this.dataset.report(loaded.failures);
    return loaded.item;
  }

  private loadHere(plan: ItemPlan): Loaded {
    try {
      return { kind: 'item', ...this.local.load(plan) };
    } catch (e) {
      return { kind: 'error', message: (e as Error).message };
    }
  }

  private stack(items: DatasetItem[], epoch: number, index: number): Batch {
    const side = (pick: (it: DatasetItem) => { image: DatasetItem['A']; path: string }) => {
      const first = pick(items[0]).image;
      const size = first.channels * first.height * first.width;
      const data = new Float32Array(items.length * size);
      items.forEach((it, k) => {
        const { image, path } = pick(it);
        if (image.channels !== first.channels || image.height !== first.height || image.width !== first.width) {
          throw new Error(
            `DataLoader: cannot batch ${path} (${image.channels}x${image.height}x${image.width}) with ` +
              `${pick(items[0]).path} (${first.channels}x${first.height}x${first.width}); ` +
              'use batchSize 1 or a preprocess mode that crops to a fixed size',
          );
        }
        data.set(image.data, k * size);
      });
      const shape: [number, number, number, number] = [items.length, first.channels, first.height, first.width];
      return { data, shape, paths: items.map((it) => pick(it).path) };
    };
    const a = side((it) => ({ image: it.A, path: it.pathA }));
    const b = side((it) => ({ image: it.B, path: it.pathB }));
    return { A: a.data, B: b.data, shapeA: a.shape, shapeB: b.shape, pathsA: a.paths, pathsB: b.paths, epoch, index };
  }
}
