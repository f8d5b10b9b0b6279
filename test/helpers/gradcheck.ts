/**
 * Finite-difference gradient checks for f32 GPU ops.
 *
 * The op's output is projected to a scalar L = sum(f(x) * r) with a fixed
 * random r, so every output element takes part. The analytic gradient comes
 * from L.backward(); the numeric one from central differences
 * (L(x + h e_i) - L(x - h e_i)) / 2h, with L summed in f64 on the host from
 * the f32 outputs.
 *
 * Step and tolerance are chosen for f32: h = 1e-2 * max(1, |x_i|) balances
 * truncation error (O(h^2) * f''') against rounding error (about
 * 6e-8 * |f| / h per output element). A coordinate passes when
 * |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|), with
 * defaults rtol = 2e-2, atol = 2e-3 * (1 + max |numeric| over the input).
 * Ops with kinks (relu, abs, max) should be checked at inputs away from them.
 * Large inputs are checked on a seeded random subset of coordinates.
 */
import { expect } from 'vitest';
import { noGrad, Rng, tensor, tidy, type Tensor } from '@stripes/tensor';

export interface GradcheckInput {
  shape: number[];
  data: Float32Array;
  /** Skip this input's gradient (e.g. an integer-like target). */
  noGrad?: boolean;
}

export interface GradcheckOptions {
  rtol?: number;
  atolScale?: number;
  /** Most coordinates checked per input. */
  maxCoords?: number;
  seed?: number;
  /** Relative step. */
  step?: number;
}

/** Compares analytic gradients with central differences; throws naming the first disagreeing coordinate. Returns how many coordinates it compared. */
export async function gradcheck(
  name: string,
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: GradcheckInput[],
  options: GradcheckOptions = {},
): Promise<number> {
  const { rtol = 2e-2, atolScale = 2e-3, maxCoords = 24, seed = 7, step = 1e-2 } = options;
  const rng = new Rng(seed);
  const make = (datas: Float32Array[]) => datas.map((d, i) => tensor(d, inputs[i].shape));

  // Output shape, then the projection weights r.
  const outShape = tidy(() => fn(...make(inputs.map((i) => i.data))).shape);
  const rSize = outShape.reduce((a, b) => a * b, 1);
  const r = rng.fillNormal(new Float32Array(rSize));

  // Analytic gradients.
  const ts = make(inputs.map((i) => i.data));
  ts.forEach((t, i) => (t.requiresGrad = !inputs[i].noGrad));
  const loss = tidy(() => fn(...ts).mul(tensor(r, outShape)).sum());
  loss.backward();
  const analytic = await Promise.all(ts.map((t) => (t.grad ? t.grad.data() : Promise.resolve(null))));
  loss.dispose();
  ts.forEach((t) => t.dispose());

  const evalLoss = async (datas: Float32Array[]): Promise<number> => {
    const out = noGrad(() => tidy(() => fn(...make(datas))));
    const v = await out.data();
    out.dispose();
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * r[i];
    return s;
  };

  let checked = 0;
  for (let k = 0; k < inputs.length; k++) {
    if (inputs[k].noGrad) continue;
    const a = analytic[k];
    expect(a, `${name}: input ${k} got no gradient`).not.toBeNull();
    const n = inputs[k].data.length;
    const coords = n <= maxCoords ? [...Array(n).keys()] : Array.from({ length: maxCoords }, () => rng.int(n));
    const numeric: number[] = [];
    for (const i of coords) {
      const base = inputs[k].data;
      const h = step * Math.max(1, Math.abs(base[i]));
      const plus = inputs.map((inp) => inp.data.slice());
      const minus = inputs.map((inp) => inp.data.slice());
      plus[k][i] = base[i] + h;
      minus[k][i] = base[i] - h;
      // The f32 step actually taken, not the f64 one asked for.
      const taken = plus[k][i] - minus[k][i];
      numeric.push(((await evalLoss(plus)) - (await evalLoss(minus))) / taken);
    }
    const atol = atolScale * (1 + Math.max(...numeric.map(Math.abs)));
    coords.forEach((i, j) => {
      const an = a![i];
      const nu = numeric[j];
      const ok = Math.abs(an - nu) <= atol + rtol * Math.max(Math.abs(an), Math.abs(nu));
      if (!ok) {
        throw new Error(`${name}: gradient of input ${k} at index ${i}: analytic ${an}, numeric ${nu} (atol ${atol.toExponential(2)}, rtol ${rtol})`);
      }
    });
    checked += coords.length;
  }
  return checked;
}

/** Random f32 data for gradchecks, optionally kept away from 0 (for kinks, log, division). */
export function randomInput(shape: number[], rng: Rng, opts: { low?: number; high?: number; awayFromZero?: number } = {}): GradcheckInput {
  const { low = -1, high = 1, awayFromZero = 0 } = opts;
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    let v = low + (high - low) * rng.random();
    if (awayFromZero && Math.abs(v) < awayFromZero) v = v < 0 ? -awayFromZero - rng.random() * 0.5 : awayFromZero + rng.random() * 0.5;
    data[i] = v;
  }
  return { shape, data };
}

// ------------------------------------------------------------ domains for ops with kinks

/**
 * Values on a 0.2 grid offset by `parity` * 0.1, jittered by at most 0.02:
 * an even and an odd input never come within 0.06 of each other, well beyond
 * the finite-difference step (0.01 here), so maximum / minimum have no ties.
 */
export function separated(shape: number[], rng: Rng, parity: 0 | 1): GradcheckInput {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = 0.2 * (rng.int(11) - 5) + 0.1 * parity + 0.04 * (rng.random() - 0.5);
  return { shape, data };
}

/** Distinct values 0.1 apart in random order, so a max has a unique winner. */
export function distinct(shape: number[], rng: Rng): GradcheckInput {
  const n = shape.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [vals[i], vals[j]] = [vals[j], vals[i]];
  }
  return { shape, data: Float32Array.from(vals) };
}

/**
 * Inputs whose instance-normalized values all lie at |x̂| >= ~0.5, so finite
 * differences never step across a ReLU after the norm: each plane alternates
 * between two clusters at about -1 and +1, which keeps its mean near 0 and
 * its std near 1.
 */
export function normalizedAwayFromKink(shape: number[], rng: Rng): GradcheckInput {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = (i % 2 ? 1 : -1) * (0.8 + 0.4 * rng.random());
  return { shape, data };
}
