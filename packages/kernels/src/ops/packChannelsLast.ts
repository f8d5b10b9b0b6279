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
export const packChannelsLastKernel = defineKernel({
  name: 'packChannelsLast',
  params: { n: 'u32', B: 'u32', D: 'u32', Dout: 'u32', bq: 'u32', h: 'u32', w: 'u32', Wp: 'u32', pH: 'u32', pW: 'u32' },
  bindings: { src: 'read', dst: { access: 'read_write', type: 'vec4<f32>' } },
  source: ({ reflect }: { reflect: boolean }) => /* wgsl */ `
${reflect ? WGSL_REFLECT_INDEX : ''}
fn sourcePosition(d: u32) -> u32 {
  ${reflect ? 'return reflectIndex(i32(d / p.Wp) - i32(p.pH), i32(p.h)) * p.w + reflectIndex(i32(d % p.Wp) - i32(p.pW), i32(p.w));' : 'return d;'}
}
fn channel(base: u32, c: u32) -> f32 {
  // The padding channels read nothing (the index is clamped, the value dropped).
  return select(0.0, src[base + min(c, p.B - 1u) * p.D], c < p.B);
}
${wgslElementwiseMain(`
  let q = i % p.bq;
  let ad = i / p.bq;
  let d = ad % p.Dout;
  let base = (ad / p.Dout) * p.B * p.D + sourcePosition(d);
  let c = q * 4u;
  dst[i] = vec4<f32>(channel(base, c), channel(base, c + 1u), channel(base, c + 2u), channel(base, c + 3u));`)}`,
});

/** Reflection padding of the [h, w] planes being packed: pH rows above and below, pW columns left and right. */
export interface PackReflectPadding {
  h: number;
  w: number;
  pH: number;
  pW: number;
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
  if (bPad % 4 !== 0 || bPad < B) throw new Error(`packChannelsLast: bPad ${bPad} must be a multiple of 4 and at least B = ${B}`);
  const { h, w, pH, pW } = reflectPadding ?? { h: 1, w: D, pH: 0, pW: 0 };
  if (reflectPadding && (h * w !== D || pH >= h || pW >= w)) {
    throw new Error(`packChannelsLast: reflection padding [${pH}, ${pW}] of ${h}x${w} planes needs D = h w (got ${D}) and pads smaller than the plane`);
  }
  const Wp = w + 2 * pW;
  const Dout = (h + 2 * pH) * Wp;
  const n = (A * Dout * bPad) / 4;
  const build = (dst: DeviceBuffer): void => {
    const params = { n, B, D, Dout, bq: bPad / 4, h, w, Wp, pH, pW };
    if (n > 0) rt.dispatch(packChannelsLastKernel, { reflect: reflectPadding !== undefined }, { src, dst }, params, gridFor(n, 256));
  };
  const bytes = A * Dout * bPad * 4;
  if (cached) return rt.derived(src, `channels-last ${A}x${B}x${D}/${bPad}${reflectPadding ? ` reflect-padded ${pH}x${pW}` : ''}`, bytes, build);
  const dst = rt.alloc(bytes, 'conv channels-last operand');
  build(dst);
  return dst;
}
