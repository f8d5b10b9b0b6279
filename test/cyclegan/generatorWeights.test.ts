import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findGenerators, generatorSpec, loadGenerator, ResnetGenerator } from '@stripes/cyclegan';
import { decodeWeights, encodeStateDict, type TensorEntry } from '@stripes/nn';
import { manualSeed } from '@stripes/tensor';

const pthDir = resolve(import.meta.dirname, '../golden/fixtures/pth');
const fixture = (name: string) => decodeWeights(new Uint8Array(readFileSync(resolve(pthDir, name))), name);

/** A generator's state dict as host values, as a file would give it. */
async function stateOf(net: ResnetGenerator): Promise<Record<string, TensorEntry>> {
  return decodeWeights(await encodeStateDict(net)).tensors;
}

describe('generators from weights made elsewhere', () => {
  it("reads the reference's files in both containers, dropping the 2018 InstanceNorm statistics as the reference does", () => {
    const zip = fixture('generator_ngf8.pth');
    const legacy = fixture('generator_ngf8_2018_legacy.pth');
    expect(zip.format).toBe('pth (zip)');
    expect(legacy.format).toBe('pth (legacy)');
    const [a] = findGenerators(zip.tensors, 'generator_ngf8.pth');
    const [b] = findGenerators(legacy.tensors, 'generator_ngf8_2018_legacy.pth');
    expect(a.name).toBe('generator');
    expect(a.spec).toEqual({ inputNc: 3, outputNc: 3, ngf: 8, nBlocks: 9, dropout: false });
    expect(b.spec).toEqual(a.spec);
    expect(a.dropped).toEqual([]);
    // The reader drops the int64 counters, the CycleGAN rule the f32 running statistics.
    expect(legacy.dropped.length).toBeGreaterThan(0);
    expect(legacy.dropped.every((k) => k.endsWith('.num_batches_tracked'))).toBe(true);
    expect(b.dropped.length).toBeGreaterThan(0);
    expect(b.dropped.every((k) => /\.running_(mean|var)$/.test(k))).toBe(true);
    expect(Object.keys(b.weights)).toEqual(Object.keys(a.weights));
    for (const k of Object.keys(a.weights)) expect(b.weights[k].data).toEqual(a.weights[k].data);
    const net = loadGenerator(b, 'generator_ngf8_2018_legacy.pth');
    expect(net.numParameters()).toBe(Object.values(a.weights).reduce((n, t) => n + t.data.length, 0));
    net.dispose();
  });

  it('finds G_A and G_B in a stripes checkpoint, and a safetensors state dict decodes like a .pth', async () => {
    manualSeed(1);
    const g = new ResnetGenerator({ inputNc: 3, outputNc: 1, ngf: 4, nBlocks: 2 });
    const state = await stateOf(g);
    const prefixed = (p: string) => Object.fromEntries(Object.entries(state).map(([k, v]) => [p + k, v]));
    const found = findGenerators({ ...prefixed('net_G_A.'), ...prefixed('net_G_B.'), 'net_D_A.model.0.weight': state['model.1.weight'] }, 'run.ckpt.safetensors');
    expect(found.map((f) => f.name)).toEqual(['G_A', 'G_B']);
    expect(found[0].spec).toEqual({ inputNc: 3, outputNc: 1, ngf: 4, nBlocks: 2, dropout: false });
    expect(Object.keys(found[1].weights).sort()).toEqual(Object.keys(state).sort());
    g.dispose();
  });

  it('detects the dropout layout (second conv at conv_block.6) and refuses blocks that disagree', async () => {
    manualSeed(2);
    const g = new ResnetGenerator({ inputNc: 3, outputNc: 3, ngf: 4, nBlocks: 2, dropout: true });
    const state = await stateOf(g);
    expect('model.10.conv_block.6.weight' in state).toBe(true);
    expect(generatorSpec(state).dropout).toBe(true);
    const loaded = loadGenerator(findGenerators(state, 'dropout.pth')[0], 'dropout.pth');
    loaded.dispose();
    const mixed = { ...state, 'model.11.conv_block.5.weight': state['model.10.conv_block.6.weight'] };
    delete (mixed as Record<string, TensorEntry>)['model.11.conv_block.6.weight'];
    expect(() => generatorSpec(mixed, 'mixed.pth')).toThrow(/mixed\.pth: residual blocks disagree .*conv_block\.6 and \.5|conv_block\.5 and \.6/);
    g.dispose();
  });

  it('reports every missing, unexpected and misshaped key in one error naming the file', async () => {
    manualSeed(3);
    const g = new ResnetGenerator({ inputNc: 3, outputNc: 3, ngf: 4, nBlocks: 1 });
    const state = await stateOf(g);
    g.dispose();
    const broken: Record<string, TensorEntry> = { ...state, 'model.99.extra': state['model.1.bias'] };
    delete broken['model.1.bias'];
    broken['model.4.weight'] = { shape: [8, 4, 3, 1], data: new Float32Array(96) };
    const [found] = findGenerators(broken, 'broken.pth');
    let message = '';
    try {
      loadGenerator(found, 'broken.pth').dispose();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^broken\.pth: loadStateDict: 3 problem/);
    expect(message).toMatch(/missing: model\.1\.bias/);
    expect(message).toMatch(/unexpected: model\.99\.extra/);
    expect(message).toMatch(/model\.4\.weight/);
    expect(() => findGenerators({ 'model.0.weight': state['model.1.bias'] }, 'other.pth')).toThrow(/other\.pth: no ResnetGenerator weights/);
  });
});
