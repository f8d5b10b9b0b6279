/**
 * Access to the PyTorch golden fixtures in test/golden/fixtures (written by
 * test/golden/generate.py; see its header for the naming scheme) and the
 * comparison used against them.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect } from 'vitest';
import { decodeSafetensors, type SafeTensor } from '@stripes/nn';

const fixturesDir = resolve(import.meta.dirname, '../golden/fixtures');

export type GoldenCase = { name: string; opts: Record<string, unknown> };

export type Golden = {
  file: string;
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
  /** The tensor `name`; throws naming the file if it is missing. */
  get(name: string): SafeTensor;
  /** Cases whose metadata has `"op": op` (ops, optim) or `"module": op` (layers), in file order. */
  cases(op: string): GoldenCase[];
};

/** `file` is a fixture name ('ops', 'optim', 'layers', 'cyclegan', 'independent') or a path to a .safetensors file. */
export function loadGolden(file: 'ops' | 'optim' | 'layers' | 'cyclegan' | (string & {})): Golden {
  const path = file.endsWith('.safetensors') ? resolve(file) : resolve(fixturesDir, `${file}.safetensors`);
  const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
  return {
    file: path,
    tensors,
    metadata,
    get(name) {
      const t = tensors.get(name);
      if (t === undefined) throw new Error(`golden ${path}: no tensor '${name}'`);
      return t;
    },
    cases(op) {
      const out: GoldenCase[] = [];
      for (const [name, json] of Object.entries(metadata)) {
        const opts = JSON.parse(json) as Record<string, unknown>;
        if (opts.op === op || opts.module === op) out.push({ name, opts });
      }
      return out;
    },
  };
}

function indexIn(flat: number, shape: readonly number[] | undefined): string {
  if (shape === undefined) return `${flat}`;
  const idx: number[] = [];
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(rest % shape[d]);
    rest = Math.floor(rest / shape[d]);
  }
  return `${flat} [${idx.join(', ')}]`;
}

/**
 * Fails (through vitest's expect, naming `label`) unless
 *
 *     err = max_i |actual_i - expected_i| / max(max_i |expected_i|, atol ?? 0)  <=  rtol
 *
 * i.e. the max error relative to the largest expected magnitude. Measuring
 * against the whole tensor's scale, not each element's, keeps values that
 * are near zero (where float32 sums cancel) from failing on rounding noise.
 * `atol` is a floor for that scale, for tensors whose expected values are all
 * near zero: with it, such a tensor passes when max|a-e| <= rtol * atol.
 * Any NaN or a length mismatch fails. Returns err; `shape` only makes the
 * reported worst index readable.
 */
export function expectClose(
  actual: Float32Array | readonly number[],
  expected: Float32Array,
  tol: { rtol: number; atol?: number },
  label: string,
  shape?: readonly number[],
): number {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let maxDiff = 0;
  let worst = -1;
  let maxExpected = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    // `!(diff <= maxDiff)` also catches NaN, so a NaN becomes the reported worst element.
    if (!(diff <= maxDiff) && !Number.isNaN(maxDiff)) {
      maxDiff = diff;
      worst = i;
    }
    maxExpected = Math.max(maxExpected, Math.abs(expected[i]));
  }
  const scale = Math.max(maxExpected, tol.atol ?? 0);
  const err = maxDiff === 0 ? 0 : maxDiff / scale;
  const where =
    worst < 0 ? '' : `; worst at ${indexIn(worst, shape)}: actual ${actual[worst]}, expected ${expected[worst]}`;
  expect(
    err,
    `${label}: max relative error ${err.toExponential(3)} > rtol ${tol.rtol} (max |a-e| ${maxDiff.toExponential(3)}, scale ${scale.toExponential(3)}${where})`,
  ).toBeLessThanOrEqual(tol.rtol);
  return err;
}

export function assertSameShape(actual: readonly number[], expected: readonly number[], label: string): void {
  expect([...actual], `${label}: shape`).toEqual([...expected]);
}
