/**
 * The reference's ImagePool: a history of generated images that the
 * discriminators see instead of only the latest ones (Shrivastava et al.).
 * Until it holds `poolSize` images it stores and returns each new one; after
 * that, with probability 0.5 it returns a stored image and stores the new
 * one in its place, otherwise it returns the new image.
 */
import { concat, keep, Rng, slice, tensor, type RngState, type Tensor } from '@stripes/tensor';

/** The JSON half of a pool's state; the images themselves are saved as tensors. */
export interface ImagePoolJson {
  size: number;
  rng: { s: RngState; spare: number | null };
}

export class ImagePool {
  private images: Tensor[] = [];

  constructor(
    readonly poolSize: number,
    private readonly rng: Rng,
  ) {
    if (!Number.isInteger(poolSize) || poolSize < 0) throw new Error(`ImagePool: poolSize must be a non-negative integer, got ${poolSize}`);
  }

  get size(): number {
    return this.images.length;
  }

  /** Images [N, C, H, W] in; the same shape out, drawn from the history. Input is treated as detached. */
  query(images: Tensor): Tensor {
    const detached = images.detach();
    if (this.poolSize === 0) return detached;
    // Tensors handed out: fresh slices, or stored images that were just replaced.
    const out: Tensor[] = [];
    for (let i = 0; i < images.shape[0]; i++) {
      const image = slice(detached, 0, i, i + 1);
      if (this.images.length < this.poolSize) {
        this.images.push(keep(image.clone()));
        out.push(image);
      } else if (this.rng.random() > 0.5) {
        const id = this.rng.int(this.poolSize);
        out.push(this.images[id]);
        this.images[id] = keep(image);
      } else {
        out.push(image);
      }
    }
    detached.dispose();
    // concat copies, so everything handed out that the pool no longer holds can go.
    const result = concat(out, 0);
    for (const t of out) if (!this.images.includes(t)) t.dispose();
    return result;
  }

  /** The stored images (live tensors: read them before the next query). */
  stateTensors(): Tensor[] {
    return [...this.images];
  }

  /** The JSON half of the state: the generator's position. */
  stateJson(): ImagePoolJson {
    return { size: this.images.length, rng: this.rng.getState() };
  }

  /** Restores stored images (host values, as a checkpoint holds them) and the generator. */
  loadState(images: ReadonlyArray<{ shape: readonly number[]; data: Float32Array }>, json: ImagePoolJson): void {
    if (images.length !== json.size) throw new Error(`ImagePool.loadState: ${images.length} images given, the state says ${json.size}`);
    if (images.length > this.poolSize) throw new Error(`ImagePool.loadState: ${images.length} images exceed poolSize ${this.poolSize}`);
    this.dispose();
    this.images = images.map((e) => keep(tensor(e.data, e.shape)));
    this.rng.setState(json.rng);
  }

  dispose(): void {
    for (const t of this.images) t.dispose();
    this.images = [];
  }
}
