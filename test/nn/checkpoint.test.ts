import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keep, manualSeed, tensor } from '@stripes/tensor';
import { Adam, Conv2d, decodeCheckpoint, decodeStateDict, encodeCheckpoint, encodeStateDict, InstanceNorm2d, Sequential } from '@stripes/nn';
import { loadCheckpoint, loadStateDict, readSafetensors, saveCheckpoint, saveStateDict } from '@stripes/nn/node';

const scratch = mkdtempSync(join(tmpdir(), 'stripes-checkpoint-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const model = () => new Sequential(new Conv2d(2, 3, 3), new InstanceNorm2d(3, { affine: true }));

describe('checkpoint IO', () => {
  it('saveStateDict / loadStateDict round-trip a module under its PyTorch names, with metadata', async () => {
    manualSeed(1);
    const a = model();
    manualSeed(2);
    const b = model();
    const path = join(scratch, 'model.safetensors');
    await saveStateDict(path, a, { format: 'pt' });
    const sd = loadStateDict(path);
    expect(Object.keys(sd).sort()).toEqual(['0.bias', '0.weight', '1.bias', '1.weight']);
    expect(readSafetensors(path).metadata).toEqual({ format: 'pt' });
    b.loadStateDict(sd);
    for (const [name, t] of Object.entries(a.stateDict())) expect(await b.stateDict()[name].data(), name).toEqual(await t.data());
    a.dispose();
    b.dispose();
  });

  it('an interrupted save leaves the previous file loadable and no temp file behind', async () => {
    const m = model();
    const path = join(scratch, 'atomic.safetensors');
    await saveStateDict(path, m);
    const before = loadStateDict(path);
    const weight = m.stateDict()['0.weight'];
    const bumped = keep(tensor((await weight.data()).map((v) => v + 1), weight.shape));
    m.loadStateDict({ '0.weight': bumped }, { strict: false });
    await expect(
      saveStateDict(path, m, undefined, {
        beforeRename: () => {
          throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    expect(loadStateDict(path)).toEqual(before);
    expect(readdirSync(scratch).filter((f) => f.includes('.tmp'))).toEqual([]);

    await expect(
      saveCheckpoint(path, { tensors: m.stateDict(), json: { epoch: 2 } }, {
        beforeRename: () => {
          throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    expect(loadStateDict(path)).toEqual(before);
    bumped.dispose();
    m.dispose();
  });

  it('saveCheckpoint stores tensors and JSON together; loadCheckpoint restores an optimizer and model', async () => {
    const m = model();
    const opt = new Adam(m.parameters(), { lr: 2e-4, betas: [0.5, 0.999] });
    for (const p of m.parameters()) p.grad = keep(tensor(new Float32Array(p.size).fill(0.1), p.shape));
    opt.step();
    const path = join(scratch, 'ckpt.safetensors');
    const state = opt.stateDict();
    const prefixed = <T>(prefix: string, t: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(t).map(([k, v]) => [prefix + k, v]));
    await saveCheckpoint(path, {
      tensors: { ...prefixed('model.', m.stateDict()), ...prefixed('opt.', state.tensors) },
      json: { epoch: 7, optimizer: state.json, note: 'unicode ✓' },
    });
    const loaded = loadCheckpoint(path);
    const json = loaded.json as { epoch: number; optimizer: typeof state.json; note: string };
    expect(json.epoch).toBe(7);
    expect(json.note).toBe('unicode ✓');
    expect(json.optimizer).toEqual(state.json);
    const pick = (prefix: string) =>
      Object.fromEntries(Object.entries(loaded.tensors).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
    const m2 = model();
    m2.loadStateDict(pick('model.'));
    const opt2 = new Adam(m2.parameters());
    opt2.loadStateDict({ tensors: pick('opt.'), json: json.optimizer });
    expect(opt2.paramGroups[0].betas).toEqual([0.5, 0.999]);
    expect(await opt2.stateDict().tensors['state.0.exp_avg'].data()).toEqual(await state.tensors['state.0.exp_avg'].data());

    await saveStateDict(join(scratch, 'plain.safetensors'), m);
    expect(() => loadCheckpoint(join(scratch, 'plain.safetensors'))).toThrow(/was not written by saveCheckpoint/);
    expect(existsSync(path)).toBe(true);
    opt.dispose();
    opt2.dispose();
    m.dispose();
    m2.dispose();
  });

  it('refuses to save a disposed tensor', async () => {
    const t = tensor([1, 2]);
    t.dispose();
    await expect(saveCheckpoint(join(scratch, 'x.safetensors'), { tensors: { t }, json: null })).rejects.toThrow(/tensor 't' was disposed/);
  });

  it('the host-free byte forms give the same bytes as the files, and name the source in errors', async () => {
    const m = model();
    const path = join(scratch, 'bytes.safetensors');
    await saveStateDict(path, m);
    const bytes = await encodeStateDict(m);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes).toEqual(new Uint8Array(readFileSync(path)));
    const sd = decodeStateDict(bytes, 'upload.safetensors');
    expect(Object.keys(sd).sort()).toEqual(Object.keys(m.stateDict()).sort());

    const ckptPath = join(scratch, 'bytes.ckpt.safetensors');
    const checkpoint = { tensors: m.stateDict(), json: { epoch: 3 } };
    await saveCheckpoint(ckptPath, checkpoint);
    const ckptBytes = await encodeCheckpoint(checkpoint);
    expect(ckptBytes).toEqual(new Uint8Array(readFileSync(ckptPath)));
    expect(decodeCheckpoint(ckptBytes).json).toEqual({ epoch: 3 });
    expect(() => decodeCheckpoint(bytes, 'upload.safetensors')).toThrow(/upload\.safetensors: no 'stripes\.checkpoint' metadata/);
    expect(() => decodeStateDict(bytes.subarray(0, 20), 'upload.safetensors')).toThrow(/^safetensors upload\.safetensors: /);
    m.dispose();
  });
});
