/** Matrix product with batch dimensions, as torch.matmul for rank >= 2 operands. */
import { matmul as matmulKernel, rt } from '@stripes/kernels';
import { gradIfNeeded, record } from '../autograd.ts';
import { broadcastShapes, fmt, sizeOf } from '../shape.ts';
import { addMethods, Tensor } from '../tensor.ts';
import { sumToShape } from './reduce.ts';

/** The product op(a) @ op(b) with a's and b's batch dims; a batch of 1 side broadcasts. */
function product(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const [M, Ka] = transA ? [a.shape[a.rank - 1], a.shape[a.rank - 2]] : [a.shape[a.rank - 2], a.shape[a.rank - 1]];
  const [Kb, N] = transB ? [b.shape[b.rank - 1], b.shape[b.rank - 2]] : [b.shape[b.rank - 2], b.shape[b.rank - 1]];
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  if (Ka !== Kb) throw new Error(`matmul: inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)} (${Ka} vs ${Kb})`);
  // A side with one batch matrix broadcasts; otherwise both must hold the same
  // batches, laid out alike (equal up to leading 1s).
  let batch: readonly number[] | null = null;
  try {
    batch = broadcastShapes('matmul', batchA, batchB);
  } catch {
    batch = null;
  }
  const nb = batch ? sizeOf(batch) : -1;
  if (!batch || (sizeOf(batchA) !== 1 && sizeOf(batchA) !== nb) || (sizeOf(batchB) !== 1 && sizeOf(batchB) !== nb)) {
    throw new Error(`matmul: batch dimensions of ${fmt(a.shape)} and ${fmt(b.shape)} must match, or one side must have none`);
  }
  const c = Tensor.empty([...batch, M, N]);
  matmulKernel(rt(), a.buffer, b.buffer, c.buffer, {
    batch: sizeOf(batch), M, N, K: Ka, transA, transB,
    strideA: sizeOf(batchA) === 1 ? 0 : M * Ka,
    strideB: sizeOf(batchB) === 1 ? 0 : Ka * N,
  });
  return c;
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  a.assertAlive('matmul');
  b.assertAlive('matmul');
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: both operands need rank >= 2, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  const c = product(a, b, false, false);
  record('matmul', c, [a, b], [a, b], (g, [as, bs]) => [
    gradIfNeeded(a, () => sumToShape(product(g, bs, false, true), a.shape)),
    gradIfNeeded(b, () => sumToShape(product(as, g, true, false), b.shape)),
  ]);
  return c;
}

declare module '../tensor.ts' {
  interface Tensor {
    matmul(b: Tensor): Tensor;
  }
}

addMethods({
  matmul(b) { return matmul(this, b); },
});
