// Runs the same checks on every row of the op table (test/tensor/ops.table.ts):
// forward vs its f64 reference (function and method form), a finite-difference
// gradcheck of each gradcheck sample (asserting how many coordinates it
// compared), and that a forward and backward under tidy leave no buffer alive.
import { describe, expect, it } from 'vitest';
import { memory, Rng, tensor, tidy, type Tensor } from '@stripes/tensor';
import { gradcheck, type GradcheckInput } from '../helpers/gradcheck.ts';
import { ref } from '../helpers/reference.ts';
import { OPS, type OpRow, type Sample } from './ops.table.ts';

/** Every row draws its samples from the same seed, so a row's data does not depend on the rows before it. */
const SEED = 2024;
/** gradcheck's default budget of coordinates per input (test/helpers/gradcheck.ts). */
const DEFAULT_MAX_COORDS = 24;

type Form = (xs: Tensor[], args: unknown) => Tensor;

function formsOf(row: OpRow<unknown>): Array<[string, Form]> {
  const forms: Array<[string, Form]> = [['function', (xs, args) => row.op(xs, args)]];
  const { method } = row;
  if (method) forms.push(['method', (xs, args) => method.call(row, xs, args)]);
  return forms;
}

const shapeText = (input: GradcheckInput): string => `[${input.shape.join(', ')}]${input.noGrad ? ' (constant)' : ''}`;

function labelOf(sample: Sample<unknown>): string {
  const shapes = sample.inputs.map(shapeText).join(' with ');
  return sample.args === undefined ? shapes : `${shapes}, ${JSON.stringify(sample.args, (_, v: unknown) => (v === undefined ? null : v))}`;
}

/** How many coordinates gradcheck compares: each input that needs a gradient, up to its budget. */
function coordsOf(sample: Sample<unknown>): number {
  const budget = sample.options?.maxCoords ?? DEFAULT_MAX_COORDS;
  return sample.inputs.reduce((n, input) => n + (input.noGrad ? 0 : Math.min(input.data.length, budget)), 0);
}

const leaves = (inputs: GradcheckInput[]): Tensor[] => inputs.map((i) => tensor(i.data, i.shape).requireGrad(!i.noGrad));

for (const row of OPS) {
  describe(row.name, () => {
    it('forward vs f64 reference', async () => {
      for (const sample of row.forwardSamples(new Rng(SEED))) {
        const refs = sample.inputs.map((i) => ref(i.shape, i.data));
        const expected = row.reference(refs, sample.args);
        const tol = row.tolerance(expected, refs, sample.args);
        for (const [form, fn] of formsOf(row)) {
          const label = `${row.name} (${form}) ${labelOf(sample)}`;
          const y = tidy(() => fn(sample.inputs.map((i) => tensor(i.data, i.shape)), sample.args));
          expect(y.shape, label).toEqual(expected.shape);
          expect(await y.data()).toBeAllClose(expected, tol, label);
          y.dispose();
        }
      }
    });

    for (const sample of row.gradSamples(new Rng(SEED))) {
      const label = labelOf(sample);
      it(`gradcheck ${label}`, async () => {
        const compared = await gradcheck(`${row.name} ${label}`, (...xs) => row.op(xs, sample.args), sample.inputs, sample.options);
        expect(compared).toBe(coordsOf(sample));
      });
    }

    it('frees everything it made, forward and backward', () => {
      const [sample] = row.gradSamples(new Rng(SEED));
      const before = memory();
      for (const [, fn] of formsOf(row)) tidy(() => fn(leaves(sample.inputs), sample.args).sum().backward());
      const after = memory();
      expect([after.liveBuffers, after.liveBytes]).toEqual([before.liveBuffers, before.liveBytes]);
    });
  });
}
