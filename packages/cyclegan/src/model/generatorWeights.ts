/**
 * Generators from weights made elsewhere: a stripes checkpoint (G_A and G_B
 * under `net_G_A.` / `net_G_B.`), a bare generator state dict (ours, or the
 * reference's `latest_net_G.pth` read by `readPth`). The architecture is read
 * off the weight shapes, and the reference's own load rules apply: old files
 * carry InstanceNorm running statistics that the reference's
 * `__patch_instance_norm_state_dict` deletes, and so do we. Host-free.
 */
import type { TensorEntry } from '@stripes/nn';
import { ResnetGenerator } from './networks.ts';

/** A ResnetGenerator's architecture, read off its weight shapes. */
export interface GeneratorSpec {
  inputNc: number;
  outputNc: number;
  ngf: number;
  nBlocks: number;
  /** Dropout(0.5) in the residual blocks (the reference without `--no_dropout`). */
  dropout: boolean;
}

/** A generator in words ('3 -> 3 channels, ngf 64, 9 blocks, no dropout'), for messages. */
export function describeGenerator(g: GeneratorSpec): string {
  return `${g.inputNc} -> ${g.outputNc} channels, ngf ${g.ngf}, ${g.nBlocks} blocks, ${g.dropout ? 'dropout' : 'no dropout'}`;
}

/** Weights ready for `new ResnetGenerator(spec).loadStateDict(weights)`. */
export interface GeneratorWeights {
  /** 'G_A', 'G_B', or 'generator' for a bare state dict. */
  name: string;
  spec: GeneratorSpec;
  weights: Record<string, TensorEntry>;
  /** Keys left out as the reference leaves them out (InstanceNorm running statistics). */
  dropped: string[];
}

/** Key prefixes of the generators in a training checkpoint (CycleGAN.stateTensors), then a bare state dict. */
const GENERATOR_PREFIXES: ReadonlyArray<[prefix: string, name: string]> = [
  ['net_G_A.', 'G_A'],
  ['net_G_B.', 'G_B'],
  ['', 'generator'],
];

/** What InstanceNorm(track_running_stats) layers of 2017-18 PyTorch wrote, and the reference deletes at load. */
const RUNNING_STATS = /\.(running_mean|running_var|num_batches_tracked)$/;

/**
 * A state dict without the InstanceNorm running statistics that the
 * reference's `__patch_instance_norm_state_dict` deletes from every network
 * it loads (our networks have no BatchNorm, so every such key is one), and
 * the keys left out.
 */
export function dropRunningStats(all: Record<string, TensorEntry>): { weights: Record<string, TensorEntry>; dropped: string[] } {
  const weights: Record<string, TensorEntry> = {};
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(all)) {
    if (RUNNING_STATS.test(key)) dropped.push(key);
    else weights[key] = value;
  }
  return { weights, dropped };
}

/**
 * The architecture of the ResnetGenerator whose state dict this is: the first
 * conv (model.1, 7x7) gives ngf and the input channels, the last conv the
 * output channels, the residual blocks are counted, and a block's second conv
 * at conv_block.6 rather than .5 means a Dropout layer sits between.
 */
export function generatorSpec(weights: Record<string, TensorEntry>, source = '<weights>'): GeneratorSpec {
  const first = weights['model.1.weight']?.shape;
  if (!first || first.length !== 4 || first[2] !== 7 || first[3] !== 7) {
    throw new Error(`${source}: not a ResnetGenerator state dict: no 7x7 conv weight at model.1.weight`);
  }
  const [ngf, inputNc] = first;
  const blocks = new Set<number>();
  const layouts = new Set<string>();
  let lastConv = -1;
  for (const key of Object.keys(weights)) {
    const block = /^model\.(\d+)\.conv_block\.(\d+)\.weight$/.exec(key);
    if (block) {
      blocks.add(Number(block[1]));
      if (block[2] !== '1') layouts.add(block[2]);
    }
    const conv = /^model\.(\d+)\.weight$/.exec(key);
    if (conv) lastConv = Math.max(lastConv, Number(conv[1]));
  }
  if (layouts.size > 1) throw new Error(`${source}: residual blocks disagree on where their second conv is (conv_block.${[...layouts].join(' and .')})`);
  const last = weights[`model.${lastConv}.weight`].shape;
  return { inputNc, outputNc: last[0], ngf, nBlocks: blocks.size, dropout: layouts.has('6') };
}

/**
 * Every generator in a state dict: G_A and G_B of a stripes checkpoint, or the
 * one of a generator state dict, with the reference's InstanceNorm statistics
 * dropped. Throws, naming `source`, when there is none.
 */
export function findGenerators(all: Record<string, TensorEntry>, source: string): GeneratorWeights[] {
  const found: GeneratorWeights[] = [];
  for (const [prefix, name] of GENERATOR_PREFIXES) {
    if (!(`${prefix}model.1.weight` in all)) continue;
    const own = Object.fromEntries(Object.entries(all).filter(([key]) => key.startsWith(prefix)).map(([key, value]) => [key.slice(prefix.length), value]));
    const { weights, dropped } = dropRunningStats(own);
    found.push({ name, spec: generatorSpec(weights, source), weights, dropped });
  }
  if (found.length === 0) {
    throw new Error(`${source}: no ResnetGenerator weights (expected a generator state dict with model.1.weight, or a stripes-cyclegan checkpoint with net_G_A.*)`);
  }
  return found;
}

/**
 * Builds the generator the weights describe and loads them; every missing,
 * unexpected or misshaped key is reported in one error naming `source`.
 * Dispose the generator when done.
 */
export function loadGenerator({ spec, weights }: GeneratorWeights, source: string): ResnetGenerator {
  const net = new ResnetGenerator(spec);
  try {
    net.loadStateDict(weights);
  } catch (e) {
    net.dispose();
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  return net;
}
