/**
 * Whole CycleGAN training steps (`CycleGAN.optimizeParameters`, batch 1) at
 * the configurations of the demo and of the paper, and the same step in
 * PyTorch (cyclegan_peer.py, the reference architecture) measured in the
 * same run when a `python3` with torch is found. Prints a table and writes
 * results/train.json. Run: `pnpm run bench -- train [--configs demo,64px|all]
 * [--steps N] [--out FILE]` at the root.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { acquireDevice, init, type Runtime } from '@stripes/kernels';
import { CycleGAN, LOSS_NAMES } from '@stripes/cyclegan';
import { rand, Rng } from '@stripes/tensor';

interface Config {
  config: string;
  imageSize: number;
  ngf: number;
  ndf: number;
  nBlocks: number;
  /** Timed steps by default: the big configurations take seconds (GPU) to minutes (lavapipe) per step. */
  steps: number;
}

const CONFIGS: Config[] = [
  { config: 'demo', imageSize: 32, ngf: 8, ndf: 16, nBlocks: 6, steps: 10 },
  // `npm run demo`'s images since it moved to 48 px (the issue's targets are stated for the 32 px config above).
  { config: 'demo48', imageSize: 48, ngf: 8, ndf: 16, nBlocks: 6, steps: 10 },
  { config: '64px', imageSize: 64, ngf: 32, ndf: 32, nBlocks: 6, steps: 5 },
  { config: '128px', imageSize: 128, ngf: 64, ndf: 64, nBlocks: 9, steps: 3 },
  { config: '256px', imageSize: 256, ngf: 64, ndf: 64, nBlocks: 9, steps: 2 },
];
/** On a CPU adapter (lavapipe) a 128 px step takes ~53 s and a 256 px one minutes. */
const CPU_DEFAULT = ['demo', 'demo48', '64px'];
/** Untimed steps first: pipeline compiles, the buffer pool and the image pools filling. */
const WARMUP = 2;

const here = dirname(fileURLToPath(import.meta.url));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (v: number, d: number): number => Number(v.toFixed(d));

/**
 * Counts dispatches (every `rt.dispatch`) and queue submits. The runtime
 * keeps no totals of its own, so both calls are wrapped on these instances.
 */
function countCalls(runtime: Runtime): { dispatches: number; submits: number } {
  const counts = { dispatches: 0, submits: 0 };
  const dispatch = runtime.dispatch.bind(runtime);
  runtime.dispatch = ((...args: Parameters<Runtime['dispatch']>) => {
    counts.dispatches++;
    dispatch(...args);
  }) as Runtime['dispatch'];
  const queue = runtime.device.queue;
  const submit = queue.submit.bind(queue);
  queue.submit = (buffers) => {
    counts.submits++;
    submit(buffers);
  };
  return counts;
}

interface PeerResult {
  msPerStep: number;
  peer: string;
  peakBytes: number | null;
}

/** The first Python that imports torch: $STRIPES_PYTHON, `python3`, then Debian's own (a pyenv one may shadow it). */
function findPython(): string | null {
  const candidates = [process.env.STRIPES_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  return candidates.find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) ?? null;
}

function runPeer(python: string, c: Config, steps: number): PeerResult {
  const args = [join(here, 'cyclegan_peer.py'), '--image-size', c.imageSize, '--ngf', c.ngf, '--ndf', c.ndf, '--blocks', c.nBlocks, '--steps', steps, '--warmup', WARMUP];
  const r = spawnSync(python, args.map(String), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${python} cyclegan_peer.py failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(r.stdout) as PeerResult;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { configs: { type: 'string' }, steps: { type: 'string' }, out: { type: 'string' } },
  });
  const runtime = await init();
  const { adapter } = await acquireDevice();
  const cpuAdapter = adapter?.info.isFallbackAdapter ?? false;
  const wanted = values.configs === 'all' ? CONFIGS.map((c) => c.config) : (values.configs?.split(',') ?? (cpuAdapter ? CPU_DEFAULT : CONFIGS.map((c) => c.config)));
  const unknown = wanted.filter((w) => !CONFIGS.some((c) => c.config === w));
  if (unknown.length) throw new Error(`train bench: unknown config ${unknown.join(', ')}; choose from ${CONFIGS.map((c) => c.config).join(', ')} or all`);
  const configs = CONFIGS.filter((c) => wanted.includes(c.config));
  const skipped = CONFIGS.filter((c) => !wanted.includes(c.config)).map((c) => c.config);
  console.log(`adapter: ${runtime.info.name}${cpuAdapter ? ' (a CPU adapter)' : ''}`);
  if (skipped.length) {
    const why = values.configs ? 'not selected' : 'a CPU adapter runs a 128 px step in ~53 s and a 256 px one in minutes';
    console.log(`skipped ${skipped.join(', ')}: ${why} (--configs all runs every one)`);
  }
  const python = findPython();
  const threads = cpus().length;
  if (!python) console.log('PyTorch peer skipped: no python3 here imports torch (set STRIPES_PYTHON to one that does)');

  const counts = countCalls(runtime);
  const records = [];
  for (const c of configs) {
    const steps = values.steps ? Number(values.steps) : c.steps;
    console.error(`  ${c.config}: ${WARMUP} warm-up + ${steps} timed steps`);
    // Pooled buffers of the previous configuration would count toward this one's peak.
    runtime.trimPool();
    runtime.resetPeakMemory();
    const model = new CycleGAN({ ngf: c.ngf, ndf: c.ndf, nBlocks: c.nBlocks, seed: 1 });
    const rng = new Rng(2);
    const shape = [1, 3, c.imageSize, c.imageSize];
    const [realA, realB] = [rand(shape, { rng, low: -1, high: 1 }), rand(shape, { rng, low: -1, high: 1 })];
    const step = async (): Promise<void> => {
      const { losses } = model.optimizeParameters(realA, realB);
      for (const k of LOSS_NAMES) losses[k].dispose();
      await runtime.settle();
    };
    for (let i = 0; i < WARMUP; i++) await step();

    const times: number[] = [];
    const before = { ...counts };
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await step();
      times.push(performance.now() - t0);
    }
    // The most buffer memory (live + pooled + cached) held at any moment of the warm-up and timed steps.
    const { peakBytes } = runtime.memory();
    const dispatchesPerStep = (counts.dispatches - before.dispatches) / steps;
    const submitsPerStep = (counts.submits - before.submits) / steps;

    // One more step with a timestamp per dispatch (each in its own pass, so it runs a little slower).
    const profiler = runtime.startProfiling();
    await step();
    const profile = profiler
      ? [...(await runtime.stopProfiling())].map(([kernel, v]) => ({ kernel, ms: round(v.ms, 2), dispatches: v.count })).sort((a, b) => b.ms - a.ms)
      : [];
    for (const t of [realA, realB, model]) t.dispose();

    const msPerStep = median(times);
    const peer = python ? runPeer(python, c, steps) : null;
    records.push({
      config: c.config,
      imageSize: c.imageSize,
      ngf: c.ngf,
      ndf: c.ndf,
      nBlocks: c.nBlocks,
      msPerStep: round(msPerStep, 1),
      itPerSec: round(1000 / msPerStep, 3),
      dispatchesPerStep,
      submitsPerStep,
      peakBytes,
      peer: peer?.peer ?? null,
      peerMsPerStep: peer ? round(peer.msPerStep, 1) : null,
      peerPeakBytes: peer?.peakBytes ?? null,
      ratio: peer ? round(peer.msPerStep / msPerStep, 3) : null,
      profile,
    });
  }

  const out = values.out ? resolve(values.out) : join(here, 'results', 'train.json');
  mkdirSync(dirname(out), { recursive: true });
  const meta = { date: new Date().toISOString(), adapter: runtime.info.name, cores: threads, timedSteps: values.steps ?? 'per config', warmupSteps: WARMUP };
  writeFileSync(out, `${JSON.stringify({ ...meta, skipped, records }, null, 2)}\n`);

  const mb = (b: number | null) => (b === null ? '' : (b / 2 ** 20).toFixed(0));
  console.log(`\n${meta.date.slice(0, 10)}, ${meta.adapter}; ms/step: median of timed steps after ${WARMUP} warm-up; ratio = PyTorch ms / stripes ms\n`);
  console.log('| config | ms / step | it/s | dispatches / step | submits / step | peak MiB | PyTorch | PyTorch ms / step | PyTorch peak MiB | ratio |');
  console.log('|---|---:|---:|---:|---:|---:|---|---:|---:|---:|');
  for (const r of records) {
    console.log(`| ${r.config}: ${r.imageSize} px, ngf ${r.ngf}, ndf ${r.ndf}, ${r.nBlocks} blocks | ${r.msPerStep} | ${r.itPerSec.toFixed(2)} | ${r.dispatchesPerStep} | ${r.submitsPerStep} | ${mb(r.peakBytes)} | ${r.peer ?? 'skipped'} | ${r.peerMsPerStep ?? ''} | ${mb(r.peerPeakBytes)} | ${r.ratio === null ? '' : `${r.ratio}x`} |`);
  }
  for (const r of records) {
    const top = r.profile.slice(0, 8).map((p) => `${p.kernel} ${p.ms.toFixed(1)} ms (${p.dispatches})`).join(', ');
    console.log(`\n${r.config} GPU time by kernel (one profiled step): ${top || 'no timestamp queries on this adapter'}`);
  }
  console.log(`\nwrote ${out}`);
  // Dawn keeps threads alive; leave explicitly once the results are out.
  process.exit(0);
}

await main();
