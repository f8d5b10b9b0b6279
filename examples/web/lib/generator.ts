/**
 * Generators from safetensors bytes, and translating one image with them, as
 * `stripes-cyclegan translate` does: no resizing, sizes padded to a multiple
 * of 4 by edge replication and cropped back.
 */
import { decodeStateDict, type TensorEntry } from '@stripes/nn';
import { fromCHW, ResnetGenerator, toCHW, toChannels, translateTensor, type ImageU8 } from '@stripes/cyclegan';
import { tensor, tidy } from '@stripes/tensor';

/** A ResnetGenerator's architecture, read off its weight shapes. */
export interface GeneratorSpec {
  inputNc: 1 | 3;
  outputNc: number;
  ngf: number;
  nBlocks: number;
  dropout: boolean;
}

/** One generator found in a file: the CLI's training checkpoint holds two, a state dict one. */
export interface FoundGenerator {
  /** 'G_A', 'G_B', or 'generator' for a bare state dict. */
  name: string;
  spec: GeneratorSpec;
  weights: Record<string, TensorEntry>;
}

/** Key prefixes of the generators in a training checkpoint (CycleGAN.stateTensors) and in a bare state dict. */
const GENERATOR_PREFIXES: ReadonlyArray<[prefix: string, name: string]> = [
  ['net_G_A.', 'G_A'],
  ['net_G_B.', 'G_B'],
  ['', 'generator'],
];

/**
 * The architecture of the ResnetGenerator whose state dict this is: the first
 * conv (model.1, 7x7) gives ngf and the input channels, the last conv the
 * output channels, the residual blocks are counted, and a block's second conv
 * at conv_block.6 rather than .5 means a Dropout layer sits between.
 */
export function generatorSpec(weights: Record<string, TensorEntry>): GeneratorSpec {
  const first = weights['model.1.weight']?.shape;
  if (!first || first.length !== 4 || first[2] !== 7 || first[3] !== 7) {
    throw new Error('not a ResnetGenerator state dict: no 7x7 conv weight at model.1.weight');
  }
  const [ngf, inputNc] = first;
  if (inputNc !== 1 && inputNc !== 3) throw new Error(`the generator takes ${inputNc}-channel images; the page translates gray (1) or RGB (3) ones`);
  const blocks = new Set<number>();
  let dropout = false;
  let lastConv = -1;
  for (const key of Object.keys(weights)) {
    const block = /^model\.(\d+)\.conv_block\.(\d+)\.weight$/.exec(key);
    if (block) {
      blocks.add(Number(block[1]));
      if (block[2] === '6') dropout = true;
    }
    const conv = /^model\.(\d+)\.weight$/.exec(key);
    if (conv) lastConv = Math.max(lastConv, Number(conv[1]));
  }
  const last = weights[`model.${lastConv}.weight`].shape;
  return { inputNc, outputNc: last[0], ngf, nBlocks: blocks.size, dropout };
}

/** Every generator in a safetensors file: G_A and G_B of a CLI checkpoint, or the one of a generator state dict. */
export function findGenerators(bytes: Uint8Array, source: string): FoundGenerator[] {
  const all = decodeStateDict(bytes, source);
  const found: FoundGenerator[] = [];
  for (const [prefix, name] of GENERATOR_PREFIXES) {
    if (!(`${prefix}model.1.weight` in all)) continue;
    const weights = Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
    found.push({ name, spec: generatorSpec(weights), weights });
  }
  if (found.length === 0) {
    throw new Error(`${source}: no ResnetGenerator weights (expected a generator state dict with model.1.weight, or a stripes-cyclegan checkpoint with net_G_A.*)`);
  }
  return found;
}

/** Builds the generator and loads its weights; dispose it when done. */
export function buildGenerator({ spec, weights }: FoundGenerator): ResnetGenerator {
  const net = new ResnetGenerator(spec);
  net.loadStateDict(weights);
  return net;
}

/** Translates one image at its own size, as the CLI's translate: any channel count in, the generator's out. */
export async function translateImage(net: ResnetGenerator, spec: GeneratorSpec, image: ImageU8): Promise<ImageU8> {
  const chw = toCHW(toChannels(image, spec.inputNc));
  const { width: w, height: h } = chw;
  const y = tidy(() => translateTensor(net, tensor(chw.data, [1, chw.channels, h, w])));
  try {
    return fromCHW({ channels: spec.outputNc, height: h, width: w, data: await y.data() });
  } finally {
    y.dispose();
  }
}
