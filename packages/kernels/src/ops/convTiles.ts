/**
 * What the three convolution kernels share: the geometry they take, the tile
 * configuration chosen per adapter, the register-block update, the guarded
 * load, and the packing that puts one operand's channels innermost.
 *
 * All three are implicit GEMMs over an NCHW activation and an OIHW weight:
 * an invocation accumulates a register block of `cb` channels x `4 pv`
 * pixels (in the weight gradient: x `4 kv` more channels). The channel
 * block is read as vec4s from a channels-last copy of its operand (made
 * by packChannelsLast); pixels are read as scalars with zero
 * padding at the edges. On lavapipe every buffer read is a loop over the
 * SIMD lanes, even when all lanes read one address, so what counts is FMAs
 * per read: a channel vec4 serves 4 pv pixels, a pixel serves cb channels.
 */
import { isSoftwareAdapter, type DeviceInfo } from '../device.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import type { PackLayout } from './packChannelsLast.ts';
import type { PadArgs } from './pad.ts';

/** The forward convolution x [N, C, H, W] * w [K, C, kH, kW] -> y [N, K, Ho, Wo]. */
export interface ConvGeometry {
  N: number;
  /** Input channels. */
  C: number;
  H: number;
  W: number;
  /** Output channels. */
  K: number;
  Ho: number;
  Wo: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  pH: number;
  pW: number;
}

/**
 * A tile configuration: `wg` invocations per workgroup, each owning `cb`
 * channels (a multiple of 4) x `4 pv` pixels in the forward and input
 * gradient (the widest pixel block: `pixelTiles` narrows it for short rows),
 * and `4 kv` output x `cb` input channels in the weight gradient, which
 * slices its reduction until about `minGroups` workgroups' worth of
 * invocations exist. Part of every conv pipeline's cache key.
 */
export interface ConvTiles {
  wg: number;
  cb: number;
  pv: number;
  kv: number;
  minGroups: number;
}

/**
 * The tile configurations by name. On a CPU adapter (lavapipe) a workgroup
 * runs as 8-wide SIMD lanes of one core and each load costs a per-lane loop:
 * big register blocks and small workgroups. The forward and input gradient
 * take 8 channels x 8 pixels: their tap windows already share pixel reads,
 * and 8 x 16 measured 10-20% slower (more spilling), also on 256-channel
 * 64x64 layers. The weight gradient, without windows, takes 16 x 8. On a
 * GPU, small blocks keep registers free for occupancy, and big workgroups
 * hide latency.
 */
export const CONV_TILE_CONFIGS = {
  cpu: { wg: 16, cb: 8, pv: 2, kv: 4, minGroups: 64 },
  gpu: { wg: 64, cb: 8, pv: 1, kv: 1, minGroups: 1024 },
} as const satisfies Record<string, ConvTiles>;
export type ConvTilesName = keyof typeof CONV_TILE_CONFIGS;

/** The configuration named `name`; an unknown name throws, listing the valid ones (`origin` says where the name came from). */
export function namedConvTiles(name: string, origin = 'conv tiles'): ConvTiles {
  if (!Object.hasOwn(CONV_TILE_CONFIGS, name)) {
    throw new Error(`${origin}: unknown conv tile configuration '${name}'; valid names: ${Object.keys(CONV_TILE_CONFIGS).join(', ')}`);
  }
  return { ...CONV_TILE_CONFIGS[name as ConvTilesName] };
}

/** The configuration for an adapter: 'cpu' for software adapters, else 'gpu'. */
export function convTiles(info: Pick<DeviceInfo, 'architecture' | 'description' | 'name'>): ConvTiles {
  return namedConvTiles(isSoftwareAdapter(info) ? 'cpu' : 'gpu');
}

/** The configuration conv dispatches use unless given one: the runtime's forced one (`debug.convTiles`), else the adapter's. */
export function defaultConvTiles(rt: Runtime): ConvTiles {
  const forced = rt.debug.convTiles;
  return forced === undefined ? convTiles(rt.info) : namedConvTiles(forced);
}

/**
 * The block of a forward or input-gradient pass whose channel block covers
 * `channels` over output rows of `rowLength` pixels (input gradient: of one
 * stride phase). Narrow channel counts (RGB) get a 4-wide channel block and
 * a pixel block as much wider, so the block keeps the configuration's size.
 * The pixel block is the narrowest power-of-two width that still covers a
 * row, if that is narrower than the configuration's: the PatchGAN's last
 * layers (rows of 2-4 pixels) get 4-pixel blocks, not half-empty 8-pixel
 * ones. Small layers need no narrower blocks than that: the kernels index
 * (channel block, tile) items across workgroups, so few tiles still fill
 * the workgroups, and on lavapipe 8-pixel blocks measured faster than
 * 4-pixel ones down to 32 invocations (a 32-channel 8x8 layer).
 */
export function pixelTiles(tiles: ConvTiles, channels: number, rowLength: number): ConvTiles {
  const cb = channels <= 4 ? 4 : tiles.cb;
  let pv = (tiles.pv * tiles.cb) / cb;
  while (pv > 1 && 2 * pv >= rowLength) pv /= 2;
  return { ...tiles, cb, pv };
}

/** The forward's weight layout for channel blocks of `cb`, [C kH kW, Kpad]: each tap's output channels as vec4s. */
export function forwardWeightLayout(g: ConvGeometry, cb: number): PackLayout {
  return { A: 1, B: g.K, D: g.C * g.kH * g.kW, bPad: Math.ceil(g.K / cb) * cb };
}

/** The input gradient's weight layout for channel blocks of `cb`, [K, kH kW, Cpad]: each tap's input channels as vec4s. */
export function inputGradWeightLayout(g: ConvGeometry, cb: number): PackLayout {
  return { A: g.K, B: g.C, D: g.kH * g.kW, bPad: Math.ceil(g.C / cb) * cb };
}

/** The channel blocks each pass uses for `g` (they depend on the channel counts alone, not on a row's pixel block). */
export function weightChannelBlocks(g: ConvGeometry, adapterTiles: ConvTiles): { forward: number; inputGrad: number } {
  return { forward: pixelTiles(adapterTiles, g.K, g.Wo).cb, inputGrad: pixelTiles(adapterTiles, g.C, g.W).cb };
}

/** The block of a weight-gradient pass over `C` input and `K` output channels: narrow channel counts (RGB) get narrow blocks on either side. */
export function weightGradTiles(tiles: ConvTiles, C: number, K: number): ConvTiles {
  return { ...tiles, cb: C <= 4 ? 4 : tiles.cb, kv: K <= 4 ? 1 : tiles.kv };
}

/** The geometry's parameters, leading every conv kernel's parameter block: a `ConvGeometry` fills them. */
export const CONV_GEOMETRY_PARAMS = {
  N: 'u32', C: 'u32', H: 'u32', W: 'u32', K: 'u32', Ho: 'u32', Wo: 'u32', kH: 'u32', kW: 'u32', sH: 'u32', sW: 'u32', pH: 'u32', pW: 'u32',
} as const satisfies Record<keyof ConvGeometry, 'u32'>;

/**
 * What a convolution reads outside the input: 'zeros', or 'reflect' (the
 * input mirrored about its edge without repeating it, as PyTorch's
 * padding_mode='reflect'; needs pH < H and pW < W). A reflect-padded
 * convolution is the same sums in the same order as reflection padding
 * followed by an unpadded convolution (`reflectPaddedGeometry`), without the
 * padded copy of its input.
 */
export type ConvPaddingMode = 'zeros' | 'reflect';

/** The unpadded convolution over the reflection-padded input that a reflect-padded convolution `g` equals. */
export function reflectPaddedGeometry(g: ConvGeometry): ConvGeometry {
  return { ...g, H: g.H + 2 * g.pH, W: g.W + 2 * g.pW, pH: 0, pW: 0 };
}

/** The reflection padding of `g`'s input that `reflectPaddedGeometry` convolves (forward and its gradient use the same). */
export function reflectPadArgs(g: ConvGeometry): PadArgs {
  return { planes: g.N * g.C, h: g.H, w: g.W, pad: [g.pW, g.pW, g.pH, g.pH] };
}

/** Output size of a convolution along one axis (floor division, as PyTorch). */
export function convOutSize(size: number, k: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

/**
 * `load_<array>(base, i, len)`: A[base + i] when 0 <= i < len, else 0 (zero
 * padding; len 0 marks a row outside the image). Branch-free: the address is
 * clamped into the row so the load is always in bounds.
 */
export const WGSL_GUARDED_LOAD = (array: string): string => /* wgsl */ `
fn load_${array}(base: u32, i: i32, len: u32) -> f32 {
  let ok = i >= 0 && i < i32(len);
  return select(0.0, ${array}[base + u32(clamp(i, 0, max(i32(len) - 1, 0)))], ok);
}`;

/**
 * `reflectIndex(i, n)`: where index i of an axis of n elements, padded by
 * reflection on both sides, reads from (|i| mirrored about n - 1), clamped
 * into [0, n) for indices past the padded range.
 */
export const WGSL_REFLECT_INDEX = /* wgsl */ `
fn reflectIndex(i: i32, n: i32) -> u32 {
  let a = abs(i);
  return u32(clamp(select(a, 2 * (n - 1) - a, a >= n), 0, n - 1));
}`;

/**
 * `load_<array>(base, i, len)` for reflect padding: A[base + reflectIndex(i, len)]
 * (window slots of pixels past the row's end, computed but never stored,
 * read the clamped index).
 */
export const WGSL_REFLECTED_LOAD = (array: string): string => /* wgsl */ `
${WGSL_REFLECT_INDEX}
fn load_${array}(base: u32, i: i32, len: u32) -> f32 {
  return ${array}[base + reflectIndex(i, i32(len))];
}`;

/**
 * WGSL statements adding the outer product of `cb` channel values and `4 pv`
 * pixel values to `acc` (acc[c * pv + v] holds channel c, pixels 4v..4v+3).
 * The channel values are the vec4s `wExpr(q)`, q < cb / 4; pixel i is
 * `xExpr(i)`. Unrolled here: NIR would not unroll bodies this large, and a
 * dynamically indexed `acc` would live in scratch memory.
 */
export function wgslOuterProduct(cb: number, pv: number, wExpr: (q: number) => string, xExpr: (i: number) => string): string {
  const xs = [...Array(pv)].map((_, v) => `vec4<f32>(${[0, 1, 2, 3].map((e) => xExpr(4 * v + e)).join(', ')})`);
  const lines = [`let xv = array<vec4<f32>, ${pv}>(${xs.join(', ')});`];
  for (let q = 0; q < cb / 4; q++) {
    const mads = [];
    for (let e = 0; e < 4; e++) for (let v = 0; v < pv; v++) mads.push(`acc[${(4 * q + e) * pv + v}] += wv[${e}] * xv[${v}];`);
    lines.push(`{ let wv = ${wExpr(q)}; ${mads.join(' ')} }`);
  }
  return lines.join('\n');
}

/**
 * Taps per window: a row of taps is walked in chunks of TAP_CHUNK, each
 * reading the 4 pv + TAP_CHUNK - 1 input columns its pixels share once
 * (3 covers a 3x3 kernel in one chunk; chunk slots past the row's last tap
 * are skipped by a uniform branch).
 */
export const TAP_CHUNK = 3;

/**
 * WGSL statements storing the register block: channel j (< chN) of pixel i
 * (< pixN) goes to `out[chBase + j * chStride + i * pixStep]`, plus
 * `bias[ch0 + j]` when `withBias` and the kernel's `hasBias` are set, or
 * added to what `out` holds with `accumulate` (a load per value, so its
 * own pipeline: plain stores do not pay it). The block is first copied to
 * `res`, the only array indexed dynamically: a dynamically indexed `acc`
 * would live in scratch memory during the loops, and unrolling these
 * stores costs seconds of compile time on lavapipe.
 */
export function wgslStoreBlock(cb: number, pv: number, out: string, withBias: boolean, accumulate = false): string {
  const value = `res[j * ${pv}u + i / 4u][i % 4u] + b`;
  return /* wgsl */ `
  let res = acc;
  for (var j = 0u; j < chN; j++) {
    let o = chBase + j * chStride;
    let b = ${withBias ? 'select(0.0, bias[ch0 + j], hasBias)' : '0.0'};
    for (var i = 0u; i < min(pixN, ${4 * pv}u); i++) {
      ${accumulate ? `let at = o + i * pixStep;
      ${out}[at] = ${out}[at] + (${value});` : `${out}[o + i * pixStep] = ${value};`}
    }
  }`;
}

/**
 * Copies rows [r0, r0 + rows) of the `channels` planes of image `n` of a
 * tensor [N, channels, H, W] into a band [channels, rows, W] (`toBand`), or
 * the band back into those rows. One buffer copy per plane (its rows are
 * contiguous), so no binding limit applies: this is how the convolutions
 * work on tensors larger than one binding, a band of rows at a time.
 */
export function copyBandRows(
  rt: Runtime,
  tensor: DeviceBuffer,
  band: DeviceBuffer,
  plane: { n: number; channels: number; H: number; W: number },
  r0: number,
  rows: number,
  toBand: boolean,
): void {
  const { n, channels, H, W } = plane;
  const bytes = rows * W * 4;
  for (let c = 0; c < channels; c++) {
    const at = ((n * channels + c) * H + r0) * W * 4;
    if (toBand) rt.copy(tensor, at, band, c * bytes, bytes);
    else rt.copy(band, c * bytes, tensor, at, bytes);
  }
}

/**
 * The most output rows per band such that a band of `outChannels` x rows x
 * `outWidth` and its input, `inChannels` x inputRows(rows) x `inWidth`, each
 * fit one binding; a multiple of `multiple`. Throws when one step does not fit.
 */
export function bandRows(
  rt: Runtime,
  op: string,
  total: number,
  out: { channels: number; width: number },
  input: { channels: number; width: number; rows: (outRows: number) => number },
  multiple = 1,
): number {
  const fits = (rows: number) => rt.fitsBinding(out.channels * rows * out.width * 4) && rt.fitsBinding(input.channels * input.rows(rows) * input.width * 4);
  let rows = Math.floor(Math.min(total, rt.maxBindingBytes / (4 * out.channels * out.width)) / multiple) * multiple;
  while (rows >= multiple && !fits(rows)) rows -= multiple;
  if (rows < multiple) {
    throw new Error(`${op}: even ${multiple} row(s) of its input or output are larger than one storage binding (${rt.maxBindingBytes} bytes)`);
  }
  return Math.min(rows, Math.ceil(total / multiple) * multiple);
}
