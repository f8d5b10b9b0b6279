import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { WGSL_REFLECT_INDEX } from './convTiles.ts';

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
const PACK_PARAMS = { n: 'u32', B: 'u32', D: 'u32', Dout: 'u32', bq: 'u32', h: 'u32', w: 'u32', Wp: 'u32', pH: 'u32', pW: 'u32' } as const;

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

const wgslFirstPosition = (reflect: boolean): string =>
  reflect ? 'reflectIndex(i32(d / p.Wp) - i32(p.pH), i32(p.h)) * p.w + reflectIndex(i32(d % p.Wp) - i32(p.pW), i32(p.w))' : 'd';
const FIRST = { B: 'p.B', D: 'p.D', Dout: 'p.Dout', bq: 'p.bq' };

export const packChannelsLastKernel = defineKernel({
  name: 'packChannelsLast',
  params: PACK_PARAMS,
  bindings: { src: 'read', dst: { access: 'read_write', type: 'vec4<f32>' } },
  source: ({ reflect }: { reflect: boolean }) => /* wgsl */ `
${reflect ? WGSL_REFLECT_INDEX : ''}
${wgslElementwiseMain(wgslPackVec4('src', 'dst', 'i', FIRST, wgslFirstPosition(reflect)))}`,
});

/**
 * Two packings in one dispatch (a weight gradient's x and gy): vec4s below
 * `n` are the first (plain or reflection-padded, as packChannelsLast), the
 * next `n2` the second, always plain. One dispatch instead of two: on
 * lavapipe a dispatch costs about as much as packing a small layer.
 */
export const packChannelsLastPairKernel = defineKernel({
  name: 'packChannelsLastPair',
  params: { ...PACK_PARAMS, n2: 'u32', B2: 'u32', D2: 'u32', bq2: 'u32' },
  bindings: { src: 'read', dst: { access: 'read_write', type: 'vec4<f32>' }, src2: 'read', dst2: { access: 'read_write', type: 'vec4<f32>' } },
  source: ({ reflect }: { reflect: boolean }) => /* wgsl */ `
${reflect ? WGSL_REFLECT_INDEX : ''}
${wgslElementwiseMain(`
  if (i < p.n) {${wgslPackVec4('src', 'dst', 'i', FIRST, wgslFirstPosition(reflect))}
  } else {
    let j = i - p.n;${wgslPackVec4('src2', 'dst2', 'j', { B: 'p.B2', D: 'p.D2', Dout: 'p.D2', bq: 'p.bq2' }, 'd')}
  }`, 'p.n + p.n2')}`,
});

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

/** The packing's parameters and output size; throws on a bad bPad or padding. */
function packLayout(op: string, { A, B, D, bPad, reflectPadding }: PackOperand) {
  if (bPad % 4 !== 0 || bPad < B) throw new Error(`${op}: bPad ${bPad} must be a multiple of 4 and at least B = ${B}`);
  const { h, w, pH, pW } = reflectPadding ?? { h: 1, w: D, pH: 0, pW: 0 };
  if (reflectPadding && (h * w !== D || pH >= h || pW >= w)) {
    throw new Error(`${op}: reflection padding [${pH}, ${pW}] of ${h}x${w} planes needs D = h w (got ${D}) and pads smaller than the plane`);
  }
  const Wp = w + 2 * pW;
  const Dout = (h + 2 * pH) * Wp;
  const n = (A * Dout * bPad) / 4;
  return { params: { n, B, D, Dout, bq: bPad / 4, h, w, Wp, pH, pW }, bytes: n * 16 };
}

/** A packing into its destination. */
type PackJob = PackOperand & { dst: DeviceBuffer };

/** Encodes the packings two per dispatch (the pair kernel, whose second operand is plain), the others alone. */
function encodePacks(rt: Runtime, jobs: readonly PackJob[]): void {
  let i = 0;
  while (i < jobs.length) {
    const [a, b] = [jobs[i], jobs[i + 1]];
    const first = packLayout('packChannelsLast', a).params;
    const spec = { reflect: a.reflectPadding !== undefined };
    const paired = b !== undefined && b.reflectPadding === undefined;
    if (!paired) {
      if (first.n > 0) rt.dispatch(packChannelsLastKernel, spec, { src: a.src, dst: a.dst }, first, gridFor(first.n, 256));
    } else {
      const second = packLayout('packChannelsLastPair', b).params;
      const params = { ...first, n2: second.n, B2: second.B, D2: second.D, bq2: second.bq };
      if (first.n + second.n > 0) {
        rt.dispatch(packChannelsLastPairKernel, spec, { src: a.src, dst: a.dst, src2: b.src, dst2: b.dst }, params, gridFor(first.n + second.n, 256));
      }
    }
    i += paired ? 2 : 1;
  }
}

/** The derived-cache key of a packing of a source. */
const packKey = ({ A, B, D, bPad, reflectPadding: r }: PackLayout): string =>
  `channels-last ${A}x${B}x${D}/${bPad}${r ? ` reflect-padded ${r.pH}x${r.pW}` : ''}`;

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
 * Several packings of one source, each cached as `packChannelsLast` caches
 * a weight's; the ones not cached are packed two per dispatch (a conv packs
 * its weight for the forward and, when a backward will follow, for the
 * input gradient at once). Owned by the cache: do not release them.
 */
export function packChannelsLastCached(rt: Runtime, src: DeviceBuffer, layouts: ReadonlyArray<PackLayout>): DeviceBuffer[] {
  const requests = layouts.map((l) => ({ key: packKey(l), bytes: packLayout('packChannelsLast', { ...l, src }).bytes }));
  return rt.derivedAll(src, requests, (missing) => encodePacks(rt, missing.map(({ index, dst }) => ({ ...layouts[index], src, dst }))));
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
