/** Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_. */
import { keep, minimum, noGrad, sqrt, stack, sum, tensor, tidy, type Tensor } from '@stripes/tensor';

/**
 * Scales the gradients of `params` in place so that their global L2 norm
 * (over all of them together) is at most `maxNorm`, and returns that norm as
 * it was before clipping: a scalar tensor, so no GPU readback is forced
 * (`await norm.item()` when you need the number). Parameters without a
 * gradient are skipped.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): Tensor {
  if (!(maxNorm >= 0)) throw new Error(`clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`);
  const withGrad = [...params].filter((p) => p.grad);
  return noGrad(() => {
    if (withGrad.length === 0) return tensor(0);
    const norm = tidy(() => sqrt(sum(stack(withGrad.map((p) => sum(p.grad!.mul(p.grad!)))))));
    tidy(() => {
      // min(1, maxNorm / (norm + 1e-6)): PyTorch's clip coefficient, computed on the GPU.
      const coef = minimum(tensor(maxNorm).div(norm.add(1e-6)), tensor(1));
      for (const p of withGrad) {
        const old = p.grad!;
        p.grad = keep(old.mul(coef));
        old.dispose();
      }
    });
    return norm;
  });
}
