/**
 * Checkpoints from elsewhere: every field of a checkpoint's JSON and every
 * tensor is checked before anything is built from it. A fuzzer mutates a
 * valid checkpoint (header bytes, tensor bytes, truncation, JSON fields set
 * to huge numbers or wrong types, tensor entries) and every case must end in
 * a clear error or a valid load: no crash, no hang, no allocation before the
 * checks pass.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CycleGAN } from '@stripes/cyclegan';
import { CheckpointFormatError, loadModel, networkShapes, readTrainingCheckpoint, saveTrainingCheckpoint } from '@stripes/cyclegan/node';
import { memory, randn, Rng } from '@stripes/tensor';

let root: string;
let valid: Uint8Array;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'stripes-ckpt-'));
  // A tiny model after one step: Adam state and one pooled image per side.
  const model = new CycleGAN({ ngf: 2, ndf: 2, nBlocks: 1, nLayersD: 1, poolSize: 2, seed: 3 });
  const [a, b] = [randn([1, 3, 8, 8]), randn([1, 3, 8, 8])];
  for (const t of Object.values(model.optimizeParameters(a, b).losses)) t.dispose();
  a.dispose();
  b.dispose();
  const path = join(root, 'valid.ckpt.safetensors');
  const loader = { epoch: 0, position: 1, epochRng: new Rng(5).getState(), rng: new Rng(6).getState() };
  await saveTrainingCheckpoint(path, model, { epoch: 1, epochIter: 1, totalIters: 1, loader });
  model.dispose();
  // A plain copy: a Buffer's slice() is a view, and the cases below mutate copies.
  valid = new Uint8Array(readFileSync(path));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The safetensors header of `bytes` as JSON, and the data section. */
function split(bytes: Uint8Array): { header: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
}

function join8(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** `bytes` with the checkpoint JSON (in the header's metadata) changed by `edit`. */
function editJson(bytes: Uint8Array, edit: (json: Record<string, unknown>) => void): Uint8Array {
  const { header, data } = split(bytes);
  const meta = header.__metadata__ as Record<string, string>;
  const json = JSON.parse(meta['stripes.checkpoint']);
  edit(json);
  // JSON.stringify recurses: a deeply nested value goes in as text.
  const text = JSON.stringify(json).replace(`"${DEEP}"`, `${'['.repeat(100_000)}0${']'.repeat(100_000)}`);
  return join8({ ...header, __metadata__: { ...meta, 'stripes.checkpoint': text } }, data);
}

/** Every path to a leaf (number, string, boolean, null) or array of the JSON, e.g. ['model', 'ngf']. */
function leafPaths(v: unknown, path: string[] = [], out: string[][] = []): string[][] {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) leafPaths(x, [...path, k], out);
  } else {
    out.push(path);
    if (Array.isArray(v)) v.forEach((x, i) => leafPaths(x, [...path, String(i)], out));
  }
  return out;
}

function setPath(json: Record<string, unknown>, path: string[], value: unknown): void {
  let o = json as Record<string, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[path[path.length - 1]] = value;
}

/** Stands for an array nested 100000 deep. */
const DEEP = '<deep>';
const HOSTILE = [1e6, 1e9, 1e300, 2 ** 53 + 2, -1, 0, 0.5, 100000, '64', true, null, [], {}, [1, 2, 3], DEEP, 'x'.repeat(1000)];

/** What loading does with the file: the resume path (full checks) and the inference path. */
function load(bytes: Uint8Array, i: number): { resume: 'ok' | Error; infer: 'ok' | Error } {
  const path = join(root, `case${i}.ckpt.safetensors`);
  writeFileSync(path, bytes);
  const attempt = (fn: () => void): 'ok' | Error => {
    try {
      fn();
      return 'ok';
    } catch (e) {
      return e as Error;
    }
  };
  const resume = attempt(() => {
    const { json, tensors } = readTrainingCheckpoint(path);
    const model = new CycleGAN(json.model);
    try {
      model.loadState(tensors, json.training);
    } finally {
      model.dispose();
    }
  });
  const infer = attempt(() => loadModel(path).dispose());
  rmSync(path);
  return { resume, infer };
}

describe('checkpoint validation', () => {
  test('the derived parameter shapes are those of the built networks', () => {
    for (const o of [
      { ngf: 2, ndf: 3, nBlocks: 1, nLayersD: 1, dropout: false },
      { ngf: 3, ndf: 2, nBlocks: 2, nLayersD: 4, dropout: true, inputNc: 1, outputNc: 3 },
    ]) {
      const model = new CycleGAN(o);
      const real = Object.entries(model.stateTensors()).filter(([k]) => k.startsWith('net_'));
      expect(new Map(real.map(([k, t]) => [k, [...t.shape]]))).toEqual(networkShapes(model.options));
      model.dispose();
    }
  });

  test("the issue's cases: a huge nBlocks or nLayersD is refused before anything is allocated", () => {
    const before = memory().liveBuffers;
    for (const [key, value, message] of [
      ['nBlocks', 1000000, /model\.nBlocks must be an integer in \[0, 1000\], got 1000000/],
      ['nLayersD', 100000, /model\.nLayersD must be an integer in \[1, 12\], got 100000/],
      ['nBlocks', 3, /tensor 'net_G_A\.model\.11\.conv_block\.1\.weight' is missing \(a 3-block generator/],
      ['ngf', 64, /tensor 'net_G_A\.model\.1\.weight' has shape \[2, 3, 7, 7\], the architecture needs \[64, 3, 7, 7\]/],
      ['dropout', 'yes', /model\.dropout must be true or false, got "yes"/],
    ] as const) {
      const { resume, infer } = load(editJson(valid, (j) => ((j.model as Record<string, unknown>)[key] = value)), 0);
      for (const e of [resume, infer]) {
        expect(e).toBeInstanceOf(CheckpointFormatError);
        expect((e as Error).message).toMatch(/case0\.ckpt\.safetensors: not a usable CycleGAN checkpoint: /);
        expect((e as Error).message).toMatch(message);
      }
    }
    expect(memory().liveBuffers).toBe(before);
  });

  test('non-finite weights are refused, naming the tensor', () => {
    const { header, data } = split(valid);
    const entry = header['net_G_B.model.1.bias'] as { data_offsets: [number, number] };
    const bad = data.slice();
    new DataView(bad.buffer).setFloat32(entry.data_offsets[0], NaN, true);
    const { infer } = load(join8(header, bad), 0);
    expect((infer as Error).message).toMatch(/tensor 'net_G_B\.model\.1\.bias' holds 1 non-finite value\(s\) of 2 \(a diverged run\?\)/);
  });

  test('300 mutations of a valid checkpoint end in a clear error or a valid load', () => {
    expect(load(valid, 0)).toEqual({ resume: 'ok', infer: 'ok' });
    const rng = new Rng(2024);
    const { header } = split(valid);
    const headerLen = 8 + Number(new DataView(valid.buffer, valid.byteOffset).getBigUint64(0, true));
    const paths = leafPaths(JSON.parse((header.__metadata__ as Record<string, string>)['stripes.checkpoint']));
    const tensorNames = Object.keys(header).filter((k) => k !== '__metadata__');
    const before = memory().liveBuffers;
    const outcomes = { ok: 0, error: 0 };
    const started = performance.now();
    for (let i = 0; i < 300; i++) {
      let bytes: Uint8Array;
      const kind = i % 6;
      if (kind === 0) {
        // Random bytes in the header.
        bytes = valid.slice();
        for (let k = 0, n = 1 + rng.int(4); k < n; k++) bytes[rng.int(headerLen)] = rng.int(256);
      } else if (kind === 1) {
        // Random bytes in the tensor data.
        bytes = valid.slice();
        for (let k = 0, n = 1 + rng.int(8); k < n; k++) bytes[headerLen + rng.int(valid.length - headerLen)] = rng.int(256);
      } else if (kind === 2) {
        bytes = valid.slice(0, rng.int(valid.length));
      } else if (kind === 3 || kind === 4) {
        // A JSON field set to a hostile value.
        const path = paths[rng.int(paths.length)];
        const value = HOSTILE[rng.int(HOSTILE.length)];
        bytes = editJson(valid, (j) => setPath(j, path, value));
      } else {
        // A tensor entry: a huge or wrong shape, another dtype, offsets past the end, removed or renamed.
        const { header: h, data } = split(valid);
        const name = tensorNames[rng.int(tensorNames.length)];
        const e = { ...(h[name] as Record<string, unknown>) };
        const which = rng.int(5);
        if (which === 0) e.shape = [2 ** 40, 2 ** 40];
        else if (which === 1) e.shape = [rng.int(5)];
        else if (which === 2) e.dtype = 'F64';
        else if (which === 3) e.data_offsets = [0, 2 ** 52];
        if (which === 4) {
          delete h[name];
          h[`${name}x`] = e;
        } else h[name] = e;
        bytes = join8(h, data);
      }
      const { resume, infer } = load(bytes, i);
      for (const r of [resume, infer]) {
        if (r === 'ok') {
          outcomes.ok++;
          continue;
        }
        outcomes.error++;
        // A clear error: ours, not a crash surfacing as a TypeError or RangeError (stack overflow, array length).
        expect(r, `case ${i}: ${r}`).toBeInstanceOf(Error);
        expect(r.constructor.name, `case ${i}: ${r.message}`).not.toMatch(/^(TypeError|RangeError)$/);
        expect(r.message, `case ${i}`).toMatch(/case\d+\.ckpt\.safetensors|loadStateDict|ImagePool/);
      }
      expect(memory().liveBuffers, `case ${i}`).toBe(before);
    }
    expect(outcomes.error).toBeGreaterThan(300);
    expect(outcomes.ok).toBeGreaterThan(10);
    // No case hangs: all 600 loads together take seconds.
    expect(performance.now() - started).toBeLessThan(60_000);
  });
});
