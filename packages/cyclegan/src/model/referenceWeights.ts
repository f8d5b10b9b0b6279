/**
 * The four networks of a CycleGAN as the reference code keeps them: one state
 * dict per network (`<epoch>_net_G_A.pth`, `_G_B`, `_D_A`, `_D_B`), weights
 * only. `fromReferenceNetworks` reads the architecture off the shapes and
 * checks every tensor against it (for `import`); `toReferenceNetworks` splits
 * a checkpoint's networks back into those state dicts (for `export`).
 * Host-free.
 */
import type { TensorEntry } from '@stripes/nn';
import { fmt, sameShape } from '@stripes/tensor';
import { networkShapes } from './checkpointFormat.ts';
import type { ResolvedCycleGANOptions } from './cyclegan.ts';
import { describeGenerator, dropRunningStats, generatorSpec, type GeneratorSpec } from './generatorWeights.ts';

export const REFERENCE_NETWORKS = ['G_A', 'G_B', 'D_A', 'D_B'] as const;
export type ReferenceNetwork = (typeof REFERENCE_NETWORKS)[number];

/** The options that fix a CycleGAN's tensors. */
export type CycleGANArchitecture = Pick<ResolvedCycleGANOptions, 'inputNc' | 'outputNc' | 'ngf' | 'ndf' | 'nBlocks' | 'nLayersD' | 'dropout'>;

/** The reference's file name of a network's weights at an epoch ('latest' or a number). */
export function referenceFileName(epoch: string, net: ReferenceNetwork): string {
  return `${epoch}_net_${net}.pth`;
}

/** An NLayerDiscriminator's (PatchGAN's) architecture, read off its weight shapes. */
export interface DiscriminatorSpec {
  inputNc: number;
  ndf: number;
  /** Strided conv layers after the first (`--n_layers_D`; 3 for the 70x70 PatchGAN). */
  nLayers: number;
}

/**
 * The architecture of the NLayerDiscriminator whose state dict this is: the
 * first conv (model.0, 4x4) gives ndf and the input channels; the convs are
 * counted (n_layers strided ones, a stride-1 one, the 1-channel output).
 */
export function discriminatorSpec(weights: Record<string, TensorEntry>, source = '<weights>'): DiscriminatorSpec {
  const first = weights['model.0.weight']?.shape;
  if (!first || first.length !== 4 || first[2] !== 4 || first[3] !== 4) {
    throw new Error(`${source}: not a PatchGAN (NLayerDiscriminator) state dict: no 4x4 conv weight at model.0.weight`);
  }
  const convs = Object.keys(weights).filter((k) => /^model\.\d+\.weight$/.test(k)).length;
  if (convs < 3) throw new Error(`${source}: not a PatchGAN (NLayerDiscriminator) state dict: ${convs} conv layers, at least 3 expected`);
  return { inputNc: first[1], ndf: first[0], nLayers: convs - 2 };
}

function describeDiscriminator(d: DiscriminatorSpec): string {
  return `a PatchGAN on ${d.inputNc}-channel images, ndf ${d.ndf}, ${d.nLayers} layers`;
}

/**
 * The reference's options that build this architecture (both its CLI and
 * ours spell them so): `--ngf 64 --netG resnet_9blocks --no_dropout`...
 */
export function referenceOptions(a: CycleGANArchitecture): string {
  const netG = a.nBlocks === 6 || a.nBlocks === 9 ? `--netG resnet_${a.nBlocks}blocks` : `(no --netG names ${a.nBlocks} residual blocks: ResnetGenerator(..., n_blocks=${a.nBlocks}) in code)`;
  const netD = a.nLayersD === 3 ? '--netD basic' : `--netD n_layers --n_layers_D ${a.nLayersD}`;
  return [`--input_nc ${a.inputNc} --output_nc ${a.outputNc} --ngf ${a.ngf} --ndf ${a.ndf}`, netG, netD, ...(a.dropout ? [] : ['--no_dropout'])].join(' ');
}

export interface ReferenceNetworkFile {
  /** Names the file in errors. */
  source: string;
  tensors: Record<string, TensorEntry>;
}

export interface ReferenceState {
  architecture: CycleGANArchitecture;
  /** The four networks' weights under checkpoint names (`net_G_A.model.1.weight`), for `CycleGAN.loadState`. */
  tensors: Record<string, TensorEntry>;
  /** Per network, the InstanceNorm statistics left out as the reference's loader leaves them out. */
  dropped: Record<ReferenceNetwork, string[]>;
}

/** Every problem of a reference run in one error; the caller names the run. */
function fail(problems: string[]): never {
  const shown = problems.slice(0, 20).join('\n  ') + (problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : '');
  throw new Error(problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${shown}`);
}

/**
 * A CycleGAN's architecture and weights from the reference's four state
 * dicts. G_A maps A images (input_nc channels) to B (output_nc), G_B back;
 * D_A judges B images and D_B A images, as the reference names them. Every
 * problem (a file that is not the network its name says, networks that
 * disagree, each missing, unexpected or misshaped tensor) is reported in one
 * error naming its file.
 */
export function fromReferenceNetworks(files: Record<ReferenceNetwork, ReferenceNetworkFile>): ReferenceState {
  const problems: string[] = [];
  const cleaned = Object.fromEntries(REFERENCE_NETWORKS.map((n) => [n, dropRunningStats(files[n].tensors)])) as Record<ReferenceNetwork, ReturnType<typeof dropRunningStats>>;
  const read = <T>(net: ReferenceNetwork, spec: (w: Record<string, TensorEntry>, source: string) => T): T | null => {
    try {
      return spec(cleaned[net].weights, files[net].source);
    } catch (e) {
      problems.push((e as Error).message);
      return null;
    }
  };
  const gA = read('G_A', generatorSpec);
  const gB = read('G_B', generatorSpec);
  const dA = read('D_A', discriminatorSpec);
  const dB = read('D_B', discriminatorSpec);
  if (!gA || !gB || !dA || !dB) fail(problems);

  const architecture: CycleGANArchitecture = {
    inputNc: gA.inputNc, outputNc: gA.outputNc, ngf: gA.ngf, nBlocks: gA.nBlocks, dropout: gA.dropout, ndf: dA.ndf, nLayersD: dA.nLayers,
  };
  const wantGB: GeneratorSpec = { ...gA, inputNc: gA.outputNc, outputNc: gA.inputNc };
  if (describeGenerator(gB) !== describeGenerator(wantGB)) {
    problems.push(`${files.G_B.source}: a generator ${describeGenerator(gB)}; G_A (${files.G_A.source}) makes it ${describeGenerator(wantGB)}`);
  }
  const wantD = (inputNc: number): DiscriminatorSpec => ({ inputNc, ndf: dA.ndf, nLayers: dA.nLayers });
  if (describeDiscriminator(dA) !== describeDiscriminator(wantD(gA.outputNc))) {
    problems.push(`${files.D_A.source}: ${describeDiscriminator(dA)}; it judges G_A's ${gA.outputNc}-channel outputs`);
  }
  if (describeDiscriminator(dB) !== describeDiscriminator(wantD(gA.inputNc))) {
    problems.push(`${files.D_B.source}: ${describeDiscriminator(dB)}; D_A (${files.D_A.source}) makes it ${describeDiscriminator(wantD(gA.inputNc))}`);
  }
  if (problems.length) fail(problems);

  // The summaries agree; now every tensor, by name and shape.
  const expected = networkShapes(architecture);
  const tensors: Record<string, TensorEntry> = {};
  for (const net of REFERENCE_NETWORKS) {
    const prefix = `net_${net}.`;
    const { source } = files[net];
    for (const [key, t] of Object.entries(cleaned[net].weights)) {
      const shape = expected.get(prefix + key);
      if (!shape) problems.push(`${source}: unexpected tensor '${key}'`);
      else if (!sameShape(t.shape, shape)) problems.push(`${source}: '${key}' has shape ${fmt(t.shape)}, the architecture needs ${fmt(shape)}`);
      else tensors[prefix + key] = t;
    }
    for (const name of expected.keys()) {
      if (name.startsWith(prefix) && !(name.slice(prefix.length) in cleaned[net].weights)) problems.push(`${source}: tensor '${name.slice(prefix.length)}' is missing`);
    }
  }
  if (problems.length) fail(problems);
  return { architecture, tensors, dropped: Object.fromEntries(REFERENCE_NETWORKS.map((n) => [n, cleaned[n].dropped])) as Record<ReferenceNetwork, string[]> };
}

/**
 * A checkpoint's networks (`net_G_A.model.1.weight`...) as the reference's
 * four state dicts, each in its module order (the order PyTorch's
 * `state_dict()` lists them in).
 */
export function toReferenceNetworks(tensors: Record<string, TensorEntry>, architecture: CycleGANArchitecture): Record<ReferenceNetwork, Map<string, TensorEntry>> {
  const out = Object.fromEntries(REFERENCE_NETWORKS.map((n) => [n, new Map<string, TensorEntry>()])) as Record<ReferenceNetwork, Map<string, TensorEntry>>;
  for (const name of networkShapes(architecture).keys()) {
    const t = tensors[name];
    if (!t) throw new Error(`toReferenceNetworks: tensor '${name}' is missing`);
    const dot = name.indexOf('.');
    out[name.slice('net_'.length, dot) as ReferenceNetwork].set(name.slice(dot + 1), t);
  }
  return out;
}
