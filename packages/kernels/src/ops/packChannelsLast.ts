/**
 * dst [A, Dout, bPad] = src [A, B, D] with B innermost, zero-padded to bPad (a
 * multiple of 4): the channels-last operand of the convolutions. An
 * invocation writes one vec4 of 4 consecutive channels of one (a, d), so the
 * index arithmetic is two divisions per 4 values; the general strided copy
 * spends two per dimension per value, which is most of its time on lavapipe.
 * Plainly Dout = D. With `reflect`, D is an h x w plane and Dout the plane
 * reflection-padded by pH rows and pW columns on each side (Wp columns): the
 * weight gradient of a reflect-padded convolution reads its input padded
 * without a padded NCHW copy (one more division per 4 values).
 */
import { defineKernel, gridFor, wgslElementwiseMain, type BindingBuffers } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { WGSL_REFLECT_INDEX } from './convTiles.ts';

/** The most operands one dispatch packs: what the parameter block's per-operand arrays hold. */
const MAX_OPERANDS = 8;

/**
 * Per operand k: its vec4s end at ends[k] (cumulative), its source viewed as
 * [A, Bs[k], Ds[k]], its padded width bqs[k] vec4s. Operand 0 may be
 * reflection-padded: Dout, h, w, Wp, pH, pW describe its planes.
 */
const packParams = (operands: number) =>
  ({
    ends: ['u32', operands], Bs: ['u32', operands], Ds: ['u32', operands], bqs: ['u32', operands],
    Dout: 'u32', h: 'u32', w: 'u32', Wp: 'u32', pH: 'u32', pW: 'u32',
  }) as const;

/**
 * WGSL statements writing vec4 `i` of `dst`, packed from `src` by the
 * parameters named in `q` (`position` maps the packed position `d` to its
 * offset in a source plane). The padding channels read nothing: the index
 * is clamped, the value dropped.
 */
function wgslPackVec4(src: string, dst: string, i: string, q: { B: string; D: string; Dout: string; bq: string }, position: string): string {
  const channel = (e: number) => `select(0.0, ${src}[base + min(c + ${e}u, ${q.B} - 1u) * ${q.D}], c + ${e}u < ${q.B})`;
  return /* wgsl */ `
    let ad = ${i} / ${q.bq};
    let d = ad % ${q.Dout};
    let base = (ad / ${q.Dout}) * ${q.B} * ${q.D} + ${position};
    let c = (${i} % ${q.bq}) * 4u;
    ${dst}[${i}] = vec4<f32>(${[0, 1, 2, 3].map(channel).join(', ')});`;
}

type PackBindings = { readonly [K in `src${number}`]: 'read' } & { readonly [K in `dst${number}`]: { readonly access: 'read_write'; readonly type: 'vec4<f32>' } };

function packBindings(operands: number): PackBindings {
  const bindings: Record<string, unknown> = {};
  for (let k = 0; k < operands; k++) Object.assign(bindings, { [`src${k}`]: 'read', [`dst${k}`]: { access: 'read_write', type: 'vec4<f32>' } });
  return bindings as PackBindings;
}

/**
 * Several packings in one dispatch: vec4s below ends[0] are operand 0's
 * (plain or reflection-padded), the next up to ends[1] operand 1's (plain),
 * and so on. On lavapipe a dispatch costs about as much as packing a small
 * layer, so a weight gradient packs its x and gy together, and an
 * optimizer's step repacks its weights several at a time. WGSL cannot index
 * bindings, so operand k has its own two and an if-chain picks them; every
 * operand count shares the name, and the spec keys the pipeline cache.
 */
function definePackKernel(operands: number) {
  return defineKernel({
    name: 'packChannelsLast',
    params: packParams(operands),
    bindings: packBindings(operands),
    source: ({ reflect }: { operands: number; reflect: boolean }) => {
      const position = reflect ? 'reflectIndex(i32(d / p.Wp) - i32(p.pH), i32(p.h)) * p.w + reflectIndex(i32(d % p.Wp) - i32(p.pW), i32(p.w))' : 'd';
      const branches = Array.from({ length: operands }, (_, k) => {
        const q = { B: `p.Bs[${k}]`, D: `p.Ds[${k}]`, Dout: k === 0 ? 'p.Dout' : `p.Ds[${k}]`, bq: `p.bqs[${k}]` };
        const local = k === 0 ? 'i' : `i - p.ends[${k - 1}]`;
        return `if (i < p.ends[${k}]) {\n    let j = ${local};${wgslPackVec4(`src${k}`, `dst${k}`, 'j', q, k === 0 ? position : 'd')}\n  }`;
      });
      return /* wgsl */ `
${reflect ? WGSL_REFLECT_INDEX : ''}
${wgslElementwiseMain(`  ${branches.join(' else ')}`, `p.ends[${operands - 1}]`)}`;
    },
  });
}

type PackKernel = ReturnType<typeof definePackKernel>;
const kernels = new Map<number, PackKernel>();

/** The packing kernel for `operands` packings per dispatch (one per count). */
export function packChannelsLastKernel(operands: number): PackKernel {
  let kernel = kernels.get(operands);
  if (!kernel) kernels.set(operands, (kernel = definePackKernel(operands)));
  return kernel;
}

/** Packings one dispatch holds on `rt`'s device: two storage buffers each besides the parameter block (lavapipe's 16 allow 7). */
export function packOperandsPerDispatch(rt: Runtime): number {
  return Math.min(MAX_OPERANDS, Math.floor((rt.limits.maxStorageBuffersPerShaderStage - 1) / 2));
}

/** Reflection padding of the [h, w] planes being packed: pH rows above and below, pW columns left and right. */
export interface PackReflectPadding {
  h: number;
  w: number;
  pH: number;
  pW: number;
}

/** A channels-last layout: a source viewed as [A, B, D], packed [A, D, bPad] (D reflection-padded planes with `reflectPadding`). */
export interface PackLayout {
  A: number;
  B: number;
  D: number;
  bPad: number;
  reflectPadding?: PackReflectPadding;
}

/** One operand to pack: its source and layout. */
export interface PackOperand extends PackLayout {
  src: DeviceBuffer;
}

/** The packing's geometry and output size; throws on a bad bPad or padding. */
function packLayout(op: string, { A, B, D, bPad, reflectPadding }: PackLayout) {
  if (bPad % 4 !== 0 || bPad < B) throw new Error(`${op}: bPad ${bPad} must be a multiple of 4 and at least B = ${B}`);
  const { h, w, pH, pW } = reflectPadding ?? { h: 1, w: D, pH: 0, pW: 0 };
  if (reflectPadding && (h * w !== D || pH >= h || pW >= w)) {
    throw new Error(`${op}: reflection padding [${pH}, ${pW}] of ${h}x${w} planes needs D = h w (got ${D}) and pads smaller than the plane`);
  }
  const Wp = w + 2 * pW;
  const Dout = (h + 2 * pH) * Wp;
  const n = (A * Dout * bPad) / 4;
  return { n, B, D, bq: bPad / 4, planes: { Dout, h, w, Wp, pH, pW }, bytes: n * 16 };
}

/** A packing into its destination. */
type PackJob = PackOperand & { dst: DeviceBuffer };

/**
 * Encodes the packings `packOperandsPerDispatch` per dispatch, in order; a
 * reflection-padded one (which only operand 0 can be) starts a dispatch.
 */
function encodePacks(rt: Runtime, jobs: readonly PackJob[]): void {
  const most = packOperandsPerDispatch(rt);
  let first = 0;
  while (first < jobs.length) {
    let end = first + 1;
    while (end < jobs.length && end - first < most && !jobs[end].reflectPadding) end++;
    const group = jobs.slice(first, end);
    const layouts = group.map((job) => packLayout('packChannelsLast', job));
    const ends: number[] = [];
    layouts.reduce((total, { n }) => (ends.push(total + n), total + n), 0);
    const params = { ends, Bs: layouts.map((l) => l.B), Ds: layouts.map((l) => l.D), bqs: layouts.map((l) => l.bq), ...layouts[0].planes };
    const bindings: Record<string, DeviceBuffer> = {};
    group.forEach((job, k) => Object.assign(bindings, { [`src${k}`]: job.src, [`dst${k}`]: job.dst }));
    const total = ends[ends.length - 1];
    const spec = { operands: group.length, reflect: group[0].reflectPadding !== undefined };
    if (total > 0) rt.dispatch(packChannelsLastKernel(group.length), spec, bindings as BindingBuffers<PackBindings>, params, gridFor(total, 256));
    first = end;
  }
}

/** Layouts by their derived-cache key: a stale cached packing is rebuilt from its key. */
const layoutsByKey = new Map<string, PackLayout>();

/** The derived-cache key of a packing of a source. */
function packKey(layout: PackLayout): string {
  const { A, B, D, bPad, reflectPadding: r } = layout;
  const key = `channels-last ${A}x${B}x${D}/${bPad}${r ? ` reflect-padded ${r.h}x${r.w} by ${r.pH}x${r.pW}` : ''}`;
  if (!layoutsByKey.has(key)) layoutsByKey.set(key, { A, B, D, bPad, reflectPadding: r && { ...r } });
  return key;
}

/**
 * A copy of src viewed as [A, B, D] laid out [A, D, bPad] (see the kernel),
 * or with `reflectPadding` (D = h w) as [A, (h + 2 pH) (w + 2 pW), bPad].
 * A weight is packed `cached`: the runtime keeps the copy until the weight is
 * written again, so a step packs each weight once per layout, not once per
 * call; the caller must not release it. Activations are packed uncached and
 * released by the caller (caching them would hold a second copy of every
 * saved activation through the backward pass).
 */
export function packChannelsLast(
  rt: Runtime,
  src: DeviceBuffer,
  A: number,
  B: number,
  D: number,
  bPad: number,
  cached: boolean,
  reflectPadding?: PackReflectPadding,
): DeviceBuffer {
  const operand = { src, A, B, D, bPad, reflectPadding };
  if (cached) return packChannelsLastCached(rt, src, [operand])[0];
  const dst = rt.alloc(packLayout('packChannelsLast', operand).bytes, 'conv channels-last operand');
  encodePacks(rt, [{ ...operand, dst }]);
  return dst;
}

/**
 * The cached packings of `src` in `layouts`; the ones not cached are pushed
 * onto `jobs`, for the caller to encode. `ahead`: repacked before use.
 */
function cachedPackings(rt: Runtime, src: DeviceBuffer, layouts: ReadonlyArray<PackLayout>, jobs: PackJob[], ahead = false): DeviceBuffer[] {
  const requests = layouts.map((l) => ({ key: packKey(l), bytes: packLayout('packChannelsLast', l).bytes }));
  const build = (missing: Array<{ index: number; dst: DeviceBuffer }>) => {
    for (const { index, dst } of missing) jobs.push({ ...layouts[index], src, dst });
  };
  return rt.derivedAll(src, requests, build, ahead);
}

/**
 * Several packings of one source, each cached as `packChannelsLast` caches
 * a weight's; the ones not cached are packed in one dispatch (a conv packs
 * its weight for the forward and, when a backward will follow, for the
 * input gradient at once). Owned by the cache: do not release them.
 */
export function packChannelsLastCached(rt: Runtime, src: DeviceBuffer, layouts: ReadonlyArray<PackLayout>): DeviceBuffer[] {
  const jobs: PackJob[] = [];
  const packed = cachedPackings(rt, src, layouts, jobs);
  encodePacks(rt, jobs);
  return packed;
}

/**
 * Repacks every cached packing of `sources` that a write has made stale,
 * `packOperandsPerDispatch` per dispatch: after an optimizer's step has
 * updated its weights, the next forward finds them packed instead of
 * packing each weight on its first use (a dispatch each). Only packings
 * asked for since they were last built: one no longer used (a layout for
 * another image size) is not rebuilt step after step. Other cached
 * derivations of the sources are left to their users.
 */
export function repackStaleChannelsLast(rt: Runtime, sources: readonly DeviceBuffer[]): void {
  const jobs: PackJob[] = [];
  for (const src of sources) {
    const layouts = rt.staleDerived(src).flatMap((key) => layoutsByKey.get(key) ?? []);
    if (layouts.length > 0) cachedPackings(rt, src, layouts, jobs, true);
  }
  encodePacks(rt, jobs);
}

/**
 * Packs two operands, uncached, in one dispatch (the second without
 * reflection padding); the caller releases both copies.
 */
export function packChannelsLastPair(rt: Runtime, first: PackOperand, second: PackOperand): [DeviceBuffer, DeviceBuffer] {
  if (second.reflectPadding) throw new Error('packChannelsLastPair: only the first operand can be reflection-padded');
  const [a, b] = [first, second].map((o) => ({ ...o, dst: rt.alloc(packLayout('packChannelsLastPair', o).bytes, 'conv channels-last operand') }));
  encodePacks(rt, [a, b]);
  return [a.dst, b.dst];
}
