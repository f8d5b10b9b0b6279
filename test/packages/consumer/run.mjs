// A user's plain Node script: no TypeScript tooling, packages imported by name
// from the installed tarballs. Prints one JSON line for consumer.test.ts, which
// also runs it in the workspace (from source) and compares the two.
import { conv2d, instanceNorm2d, ready, tensor } from '@stripes/tensor';
import { Conv2d, encodeStateDict, decodeStateDict } from '@stripes/nn';
import { ResnetGenerator } from '@stripes/cyclegan';
import { saveStateDict, loadStateDict } from '@stripes/nn/node';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The conv + instance-norm case, written by the test.
const CASE = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const info = await ready();
const x = tensor(Float32Array.from(CASE.x), CASE.xShape).requireGrad();
const w = tensor(Float32Array.from(CASE.w), CASE.wShape).requireGrad();
const b = tensor(Float32Array.from(CASE.b), [CASE.wShape[0]]).requireGrad();
const y = instanceNorm2d(conv2d(x, w, b, { stride: 1, padding: 1 }));
// Weighted by a fixed tensor: mean(y^2) after instance norm is ~1 whatever w is, and would give w no gradient.
const loss = y.mul(tensor(Float32Array.from(CASE.c), y.shape)).sum();
loss.backward();

const layer = new Conv2d(2, 3, 3);
const path = join(mkdtempSync(join(tmpdir(), 'stripes-consumer-')), 'conv.safetensors');
await saveStateDict(path, layer);
const roundTrip = Object.keys(decodeStateDict(await encodeStateDict(layer))).sort().join(',') === Object.keys(loadStateDict(path)).sort().join(',');

const generator = new ResnetGenerator({ inputNc: 3, outputNc: 3, ngf: 4, nBlocks: 1 });
console.log(
  JSON.stringify({
    adapter: info.name,
    loss: await loss.item(),
    gx: [...(await x.grad.data())],
    gw: [...(await w.grad.data())],
    gb: [...(await b.grad.data())],
    roundTrip,
    generatorParameters: generator.numParameters(),
  }),
);
process.exit(0);
