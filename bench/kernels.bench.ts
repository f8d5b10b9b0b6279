/**
 * Conv kernel microbenchmarks at CycleGAN's shapes: every pass of stripes'
 * conv kernels, and the same work on tfjs-backend-webgpu 4.22 running on the
 * same Dawn device in this process. Each timed iteration waits for the GPU.
 * Prints a table and writes results/kernels.json. Run: `pnpm run bench` at the root.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  acquireDevice, conv2dForward, conv2dInputGrad, conv2dWeightGrad, convOutSize, defaultConvTiles, init,
  type ConvGeometry, type DeviceBuffer, type Runtime,
} from '@stripes/kernels';
import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { Bench } from 'tinybench';

const PEER = 'tfjs-backend-webgpu 4.22';
const only = process.env.BENCH_FILTER;

/** The three computations of a convolution; conv_transpose2d's passes are the same three, permuted. */
type Computation = 'conv' | 'dataGrad' | 'filterGrad';
type Pass = 'forward' | 'inputGrad' | 'weightGrad';

interface Case {
  kernel: 'conv2d' | 'convTranspose2d';
  shape: string;
  /** The convolution in conv2d terms (for conv_transpose2d: the conv2d it is the adjoint of). */
  g: ConvGeometry;
  passes: Array<[Pass, Computation]>;
}

function conv(C: number, K: number, H: number, k: number, s: number, p: number): ConvGeometry {
  const Ho = convOutSize(H, k, s, p);
  return { N: 1, C, H, W: H, K, Ho, Wo: Ho, kH: k, kW: k, sH: s, sW: s, pH: p, pW: p };
}

const convPasses: Array<[Pass, Computation]> = [['forward', 'conv'], ['inputGrad', 'dataGrad'], ['weightGrad', 'filterGrad']];
const convCase = (C: number, K: number, H: number, k: number, s: number, p: number, note = ''): Case => ({
  kernel: 'conv2d',
  shape: `${C}->${K} k${k} s${s} p${p} @${H}x${H}${note}`,
  g: conv(C, K, H, k, s, p),
  passes: convPasses,
});

/**
 * Every conv of a small CycleGAN (ResNet generator with 6 blocks, 3-layer
 * PatchGAN) at `size` px: few pixels and channels, where parallelism, not
 * the large-shape rate, decides. Its transposed convs are the adjoints of
 * the two downsampling convs, so those cases' passes cover them.
 */
function smallCycleGanCases(size: number, ngf: number, ndf: number, label: string): Case[] {
  const note = (layer: string) => ` (${label} ${layer})`;
  return [
    convCase(3, ngf, size + 6, 7, 1, 0, note('G in')),
    convCase(ngf, 2 * ngf, size, 3, 2, 1, note('G down 1')),
    convCase(2 * ngf, 4 * ngf, size / 2, 3, 2, 1, note('G down 2')),
    convCase(4 * ngf, 4 * ngf, size / 4 + 2, 3, 1, 0, note('resnet block')),
    convCase(ngf, 3, size + 6, 7, 1, 0, note('G out')),
    convCase(3, ndf, size, 4, 2, 1, note('D1')),
    convCase(ndf, 2 * ndf, size / 2, 4, 2, 1, note('D2')),
    convCase(2 * ndf, 4 * ndf, size / 4, 4, 2, 1, note('D3')),
    convCase(4 * ndf, 8 * ndf, size / 8, 4, 1, 1, note('D4')),
    convCase(8 * ndf, 1, size / 8 - 1, 4, 1, 1, note('D5')),
  ];
}

const cases: Case[] = [
  convCase(256, 256, 64, 3, 1, 1, ' (resnet block)'),
  convCase(64, 64, 32, 3, 1, 1),
  convCase(3, 64, 256, 4, 2, 1, ' (D1)'),
  convCase(64, 128, 128, 4, 2, 1, ' (D2)'),
  convCase(128, 256, 64, 4, 2, 1, ' (D3)'),
  convCase(3, 64, 262, 7, 1, 0, ' (G in)'),
  convCase(64, 3, 262, 7, 1, 0, ' (G out)'),
  ...smallCycleGanCases(32, 8, 16, 'demo'),
  ...smallCycleGanCases(64, 32, 32, '64px'),
  {
    // 256 -> 128 channels, 64x64 -> 128x128: the adjoint of a 128 -> 256, 128x128 -> 64x64 conv.
    kernel: 'convTranspose2d',
    shape: '256->128 k3 s2 p1 op1 @64x64->128x128',
    g: conv(128, 256, 128, 3, 2, 1),
    passes: [['forward', 'dataGrad'], ['inputGrad', 'conv'], ['weightGrad', 'filterGrad']],
  },
];

const flops = (g: ConvGeometry): number => 2 * g.N * g.K * g.Ho * g.Wo * g.C * g.kH * g.kW;

function random(n: number, seed: number): Float32Array {
  // A cheap LCG: the values only need to be varied and finite.
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

/** Our side: device buffers for one geometry and a function encoding one computation. */
function stripesSide(rt: Runtime, g: ConvGeometry): { run: (c: Computation) => void; free: () => void } {
  const nx = g.N * g.C * g.H * g.W;
  const nw = g.K * g.C * g.kH * g.kW;
  const ny = g.N * g.K * g.Ho * g.Wo;
  const buf = (n: number, seed: number): DeviceBuffer => {
    const b = rt.alloc(n * 4, 'bench');
    rt.write(b, random(n, seed));
    return b;
  };
  const [x, w, gy, out] = [buf(nx, 1), buf(nw, 2), buf(ny, 3), rt.alloc(Math.max(nx, nw, ny) * 4, 'bench out')];
  return {
    run(c) {
      if (c === 'conv') conv2dForward(rt, x, w, null, out, g);
      else if (c === 'dataGrad') conv2dInputGrad(rt, gy, w, null, out, g);
      else conv2dWeightGrad(rt, x, gy, out, g);
    },
    free: () => [x, w, gy, out].forEach((b) => rt.release(b)),
  };
}

/** The peer's side, in its native NHWC / HWIO layouts (its fast path). */
function tfjsSide(g: ConvGeometry): { run: (c: Computation) => tf.Tensor; free: () => void } {
  const x = tf.tensor4d(random(g.N * g.H * g.W * g.C, 1), [g.N, g.H, g.W, g.C]);
  const w = tf.tensor4d(random(g.kH * g.kW * g.C * g.K, 2), [g.kH, g.kW, g.C, g.K]);
  const gy = tf.tensor4d(random(g.N * g.Ho * g.Wo * g.K, 3), [g.N, g.Ho, g.Wo, g.K]);
  const strides: [number, number] = [g.sH, g.sW];
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [g.pH, g.pH], [g.pW, g.pW], [0, 0]];
  return {
    run(c) {
      if (c === 'conv') return tf.conv2d(x, w, strides, pad);
      if (c === 'dataGrad') {
        return tf.engine().runKernel('Conv2DBackpropInput', { dy: gy, filter: w }, { strides, pad, dataFormat: 'NHWC', inputShape: [g.N, g.H, g.W, g.C] }) as tf.Tensor;
      }
      return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: gy }, { strides, pad, dataFormat: 'NHWC', filterShape: [g.kH, g.kW, g.C, g.K] }) as tf.Tensor;
    },
    free: () => [x, w, gy].forEach((t) => t.dispose()),
  };
}

async function main(): Promise<void> {
  const rt = await init();
  // tfjs gets the very device stripes uses: same adapter, same queue, no second Dawn instance.
  const { device, adapter } = await acquireDevice();
  if (!adapter) throw new Error('bench: tfjs needs the adapter, and stripes was given a bare device');
  // tfjs's backend refuses to start without navigator.gpu (Node 20 has no
  // navigator); handed a device, it never calls it, so a marker suffices.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: {} }, configurable: true });
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, adapter.info));
  await tf.setBackend('webgpu');
  // Submit after every dispatch, so awaiting the queue waits for all of an op's work.
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', 1);
  const idle = () => device.queue.onSubmittedWorkDone();

  // The big cases take seconds per iteration on a CPU adapter: a warm-up (which
  // also compiles) and a few timed runs keep the whole bench to a few minutes.
  const bench = new Bench({ time: 400, iterations: 2, warmupIterations: 1, warmupTime: 0, throws: true });
  const jobs: Array<{ c: Case; pass: Pass; ours: string; peer: string }> = [];
  const sides: Array<{ free: () => void }> = [];
  for (const c of cases) {
    if (only && !`${c.kernel} ${c.shape}`.includes(only)) continue;
    const ours = stripesSide(rt, c.g);
    const peer = tfjsSide(c.g);
    sides.push(ours, peer);
    for (const [pass, computation] of c.passes) {
      const name = `${c.kernel} ${pass} ${c.shape}`;
      bench.add(`stripes ${name}`, async () => {
        ours.run(computation);
        rt.flush();
        await idle();
      });
      bench.add(`tfjs ${name}`, async () => {
        const r = peer.run(computation);
        await idle();
        r.dispose();
      });
      jobs.push({ c, pass, ours: `stripes ${name}`, peer: `tfjs ${name}` });
    }
  }
  bench.addEventListener('cycle', (e) => console.error(`  ${e.task?.name}`));
  await bench.run();
  // Medians: other work on the machine makes the odd run slow.
  const median = (name: string): number => {
    const r = bench.getTask(name)?.result;
    if (!r || !('latency' in r)) throw new Error(`no result for ${name}`);
    return r.latency.p50;
  };

  const records = jobs.map(({ c, pass, ours, peer }) => {
    const ms = median(ours);
    const peerMs = median(peer);
    const round = (v: number, d: number) => Number(v.toFixed(d));
    return { kernel: c.kernel, pass, shape: c.shape, ms: round(ms, 3), gflops: round(flops(c.g) / ms / 1e6, 2), peer: PEER, peerMs: round(peerMs, 3), peerGflops: round(flops(c.g) / peerMs / 1e6, 2), ratio: round(peerMs / ms, 2) };
  });
  const here = dirname(fileURLToPath(import.meta.url));
  mkdirSync(join(here, 'results'), { recursive: true });
  const meta = { date: new Date().toISOString(), adapter: rt.info.name, tiles: defaultConvTiles(rt) };
  writeFileSync(join(here, 'results', 'kernels.json'), `${JSON.stringify({ ...meta, records }, null, 2)}\n`);

  console.log(`\n${meta.date.slice(0, 10)}, ${meta.adapter}, tiles ${JSON.stringify(meta.tiles)}\n`);
  console.log('| kernel | pass | shape | ms | GFLOP/s | tfjs ms | tfjs GFLOP/s | ratio |');
  console.log('|---|---|---|---:|---:|---:|---:|---:|');
  for (const r of records) {
    console.log(`| ${r.kernel} | ${r.pass} | ${r.shape} | ${r.ms.toFixed(2)} | ${r.gflops.toFixed(2)} | ${r.peerMs.toFixed(2)} | ${r.peerGflops.toFixed(2)} | ${r.ratio.toFixed(2)}x |`);
  }
  for (const s of sides) s.free();
  tf.engine().reset();
  // Dawn keeps threads alive; leave explicitly once the results are out.
  process.exit(0);
}

await main();
