/**
 * The reference's own files through our code, against what PyTorch made of
 * them (test/golden/pth_parity.py): translations of the official-style
 * generator fixtures in both containers, and the export of a checkpoint,
 * which PyTorch loaded with weights_only=True into the reference networks.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findGenerators, loadGenerator, toCHW, toReferenceNetworks, translateTensor, type GeneratorWeights } from '@stripes/cyclegan';
import { exportReferenceRun, readImage, readWeightsFile } from '@stripes/cyclegan/node';
import { decodeSafetensors, readPth, type TensorEntry } from '@stripes/nn';
import { tensor } from '@stripes/tensor';
import { EXPORT_ARCHITECTURE, exportSampleTensors, writeExportSample } from '../golden/export_sample.ts';
import { expectClose } from '../helpers/golden.ts';

const dir = resolve(import.meta.dirname, '../golden/fixtures/pth');
const torch = decodeSafetensors(readFileSync(join(dir, 'parity.safetensors'))).tensors;
const want = (name: string) => {
  const t = torch.get(name);
  if (!t) throw new Error(`parity.safetensors has no '${name}': rerun test/golden/pth_parity.py`);
  return t;
};

interface ExportedFile {
  file_sha256: string;
  type: string;
  load_state_dict: string;
  tensors: { key: string; shape: number[]; dtype: string; sha256: string }[];
}
const exported = (JSON.parse(readFileSync(join(dir, 'exported.json'), 'utf8')) as { exported: Record<string, ExportedFile> }).exported;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bytesOf = (data: Float32Array) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

async function translate(found: GeneratorWeights, source: string, input: TensorEntry): Promise<Float32Array> {
  const net = loadGenerator(found, source);
  const y = translateTensor(net, tensor(input.data, input.shape));
  try {
    return await y.data();
  } finally {
    y.dispose();
    net.dispose();
  }
}

describe("the reference's generator files translate as PyTorch translates with them", () => {
  it('the PNG becomes the tensor the reference test transform makes of it, bit for bit', () => {
    expect(toCHW(readImage(join(dir, 'parity_input.png'))).data).toEqual(want('png.input').data);
  });

  it.each([
    ['zip', 'generator_ngf8.pth'],
    ['legacy', 'generator_ngf8_2018_legacy.pth'],
  ])('%s: %s, on a 24x32 pattern and the 32x32 PNG, to 1e-4', async (label, file) => {
    const [found] = findGenerators(readWeightsFile(join(dir, file)).tensors, file);
    for (const input of ['pattern', 'png']) {
      const y = await translate(found, file, want(`${input}.input`));
      expectClose(y, want(`${label}.${input}`).data, { rtol: 1e-4 }, `${file} on ${input}`, want(`${label}.${input}`).shape);
    }
  });
});

describe('export: what PyTorch loaded', () => {
  let root: string;
  let paths: string[];
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'stripes-export-'));
    await writeExportSample(root, 'sample');
    paths = exportReferenceRun({ checkpointsDir: root, name: 'sample', epoch: 'latest', log: () => {} });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes, byte for byte, the four files torch.load(weights_only=True) read and the reference networks loaded strictly', () => {
    expect(paths.map((p) => p.slice(root.length + 1))).toEqual(['sample/latest_net_G_A.pth', 'sample/latest_net_G_B.pth', 'sample/latest_net_D_A.pth', 'sample/latest_net_D_B.pth']);
    const nets = toReferenceNetworks(exportSampleTensors(), EXPORT_ARCHITECTURE);
    for (const [k, net] of (['G_A', 'G_B', 'D_A', 'D_B'] as const).entries()) {
      const record = exported[net];
      expect(sha256(readFileSync(paths[k])), net).toBe(record.file_sha256);
      expect(record.type, net).toBe('OrderedDict');
      expect(record.load_state_dict, net).toBe('strict, ok');
      // torch saw our keys in our (module) order, as float32, with our bytes.
      expect(record.tensors.map((t) => t.key), net).toEqual([...nets[net].keys()]);
      for (const t of record.tensors) {
        expect(t.shape, `${net} ${t.key}`).toEqual(nets[net].get(t.key)!.shape);
        expect(t.dtype).toBe('float32');
        expect(t.sha256, `${net} ${t.key}`).toBe(sha256(bytesOf(nets[net].get(t.key)!.data)));
      }
    }
  });

  it("reads back through readPth as the checkpoint's weights, and G_A translates as PyTorch's G_A loaded from it", async () => {
    const sample = exportSampleTensors();
    for (const [k, net] of (['G_A', 'G_B', 'D_A', 'D_B'] as const).entries()) {
      const back = readPth(new Uint8Array(readFileSync(paths[k])), paths[k]).tensors;
      const prefix = `net_${net}.`;
      const own = Object.keys(sample).filter((n) => n.startsWith(prefix));
      expect([...back.keys()].sort(), net).toEqual(own.map((n) => n.slice(prefix.length)).sort());
      for (const n of own) expect(bytesOf(back.get(n.slice(prefix.length))!.data), n).toEqual(bytesOf(sample[n].data));
    }
    const [gA] = findGenerators(readWeightsFile(paths[0]).tensors, paths[0]);
    expectClose(await translate(gA, paths[0], want('pattern.input')), want('exported.G_A.pattern').data, { rtol: 1e-4 }, 'exported G_A on pattern');
  });
});
