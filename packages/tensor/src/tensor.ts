/**
 * `Tensor`: f32, contiguous, row-major (NCHW for images), on the GPU.
 * Ops are synchronous and only encode GPU work; `await t.data()` reads back.
 * The ops' method forms (`t.add(u)`, `t.backward()`, ...) are attached by
 * their own files (`addMethods`), so this file depends on no op.
 */
import { rt, type DeviceBuffer } from '@stripes/kernels';
import type { GraphNode } from './autograd.ts';
import { track } from './scope.ts';
import { fmt, sizeOf, type Shape } from './shape.ts';

// `Symbol.dispose` for consumers whose lib lacks esnext.disposable (the same
// declaration @types/node ships), so the `[Symbol.dispose]` members of Tensor
// and nn's Module type-check there too.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** A device buffer shared by a tensor and its views and saved aliases. */
class Storage {
  refs = 1;
  constructor(readonly buffer: DeviceBuffer) {}
  release(): void {
    if (--this.refs === 0) rt().release(this.buffer);
  }
}

let nextId = 1;

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  /** Number of elements. */
  readonly size: number;
  /** Gradient accumulated by `backward()` (leaves only), owned by this tensor. */
  grad: Tensor | null = null;
  /** The graph node that produced this tensor, when it was recorded. */
  gradFn: GraphNode | null = null;
  private storage: Storage | null;
  private _requiresGrad = false;

  /** Use the creation functions (`zeros`, `tensor`, ...). */
  private constructor(storage: Storage, shape: Shape, tracked: boolean) {
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    if (tracked) track(this);
  }

  /** @internal A new tensor with uninitialized contents, registered with the current `tidy` scope. */
  static empty(shape: Shape): Tensor {
    const bytes = Math.max(4, sizeOf(shape) * 4);
    return new Tensor(new Storage(rt().alloc(bytes)), shape, true);
  }

  /** Whether gradients flow to this tensor. Settable on leaves only. */
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }
  set requiresGrad(flag: boolean) {
    if (this.gradFn && !flag) {
      throw new Error('requiresGrad: cannot turn off gradients of a non-leaf tensor; use detach()');
    }
    this._requiresGrad = flag;
  }

  /** Sets `requiresGrad` and returns this tensor, for chaining. */
  requireGrad(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.storage === null;
  }

  /** @internal The device buffer; throws if disposed. */
  get buffer(): DeviceBuffer {
    return this.assertAlive('access').buffer;
  }

  /** @internal Throws a clear error when used after dispose(). */
  assertAlive(op: string): Storage {
    if (!this.storage) throw new Error(`${op}: tensor #${this.id} of shape ${fmt(this.shape)} was disposed and cannot be used`);
    return this.storage;
  }

  /** @internal Whether no other tensor, view or saved copy shares this one's storage (so writing it in place changes no one else's values). */
  get ownsStorage(): boolean {
    return this.storage?.refs === 1;
  }

  /** @internal Another handle on the same storage (a view with `shape`). */
  alias(tracked: boolean, shape: Shape = this.shape): Tensor {
    const s = this.assertAlive('alias');
    s.refs++;
    return new Tensor(s, shape, tracked);
  }

  /** @internal */
  attachGradFn(node: GraphNode): void {
    this.gradFn = node;
    this._requiresGrad = true;
  }

  /** Frees the storage (once no view or saved copy uses it), its graph and its gradient. Idempotent. */
  dispose(): void {
    if (!this.storage) return;
    this.storage.release();
    this.storage = null;
    this.gradFn?.release();
    this.gradFn = null;
    this.grad?.dispose();
    this.grad = null;
  }

  /** `dispose()`, so `using t = ...` frees the tensor at the end of its block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Reads the values back as a new Float32Array (row-major). */
  async data(): Promise<Float32Array> {
    const s = this.assertAlive('data');
    return new Float32Array(await rt().read(s.buffer, 0, this.size * 4));
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor of shape ${fmt(this.shape)} has ${this.size} elements, expected exactly 1`);
    return (await this.data())[0];
  }

  /** A tensor sharing this one's values, cut from the graph. */
  detach(): Tensor {
    this.assertAlive('detach');
    return this.alias(true);
  }

  /** Drops the accumulated gradient. */
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  toString(): string {
    return `Tensor#${this.id}(shape=${fmt(this.shape)}${this.requiresGrad ? ', requiresGrad' : ''}${this.isDisposed ? ', disposed' : ''})`;
  }
}

/**
 * @internal Installs method forms on `Tensor.prototype`, non-enumerable as
 * the class's own methods are. Each op file calls it for its ops next to a
 * `declare module '../tensor.ts'` augmentation that types them, so this file
 * imports no op and importing the package's index attaches every method.
 */
export function addMethods(methods: Partial<Tensor> & ThisType<Tensor>): void {
  for (const [name, value] of Object.entries(methods)) {
    Object.defineProperty(Tensor.prototype, name, { value, writable: true, configurable: true, enumerable: false });
  }
}
