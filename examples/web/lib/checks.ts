/**
 * A small fixed computation whose numbers a browser test compares between the
 * page (the bundled dist build on navigator.gpu) and Node (Dawn): a strided,
 * padded conv2d with bias, instanceNorm2d, and the backward of a weighted sum.
 */
import { conv2d, instanceNorm2d, mul, sum, tensor, tidy } from '@stripes/tensor';

export type ConvNormResult = Record<'y' | 'dx' | 'dw' | 'db', number[]>;

/** Deterministic, irregular values in (-1, 1), so no two hosts disagree on the inputs. */
function wave(n: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + phase) * Math.cos(0.31 * i * i + phase));
}

export async function convNormCheck(): Promise<ConvNormResult> {
  // The leaves live outside tidy: a tensor's gradient is freed with it.
  const x = tensor(wave(2 * 3 * 7 * 6, 0.1), [2, 3, 7, 6]).requireGrad();
  const w = tensor(wave(4 * 3 * 3 * 3, 0.7), [4, 3, 3, 3]).requireGrad();
  const b = tensor(wave(4, 1.3), [4]).requireGrad();
  try {
    const y = tidy(() => {
      const out = instanceNorm2d(conv2d(x, w, b, { stride: 2, padding: 1 }));
      // A non-uniform weighting: a plain sum of an instance norm's output has zero gradient.
      sum(mul(out, tensor(wave(out.size, 2.9), out.shape))).backward();
      return out.detach();
    });
    const [yv, dx, dw, db] = await Promise.all([y.data(), x.grad!.data(), w.grad!.data(), b.grad!.data()]);
    y.dispose();
    return { y: [...yv], dx: [...dx], dw: [...dw], db: [...db] };
  } finally {
    for (const t of [x, w, b]) t.dispose();
  }
}
