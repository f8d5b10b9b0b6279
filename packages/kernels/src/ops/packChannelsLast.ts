import { defineKernel, gridFor, wgslElementwiseMain } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

/**
 * dst [A, D, bPad] = src [A, B, D] with B innermost, zero-padded to bPad (a
 * multiple of 4): the channels-last operand of the convolutions. An
 * invocation writes one vec4 of 4 consecutive channels of one (a, d), so the
 * index arithmetic is two divisions per 4 values; the general strided copy
 * spends two per dimension per value, which is most of its time on lavapipe.
 */
export const packChannelsLastKernel = defineKernel({
  name: 'packChannelsLast',
  params: { n: 'u32', B: 'u32', D: 'u32', bq: 'u32' },
  bindings: { src: 'read', dst: { access: 'read_write', type: 'vec4<f32>' } },
  source: () => /* wgsl */ `
fn channel(base: u32, c: u32) -> f32 {
  // The padding channels read nothing (the index is clamped, the value dropped).
  return select(0.0, src[base + min(c, p.B - 1u) * p.D], c < p.B);
}
${wgslElementwiseMain(`
  let q = i % p.bq;
  let ad = i / p.bq;
  let d = ad % p.D;
  let base = (ad / p.D) * p.B * p.D + d;
  let c = q * 4u;
  dst[i] = vec4<f32>(channel(base, c), channel(base, c + 1u), channel(base, c + 2u), channel(base, c + 3u));`)}`,
});

/**
 * A copy of src viewed as [A, B, D] laid out [A, D, bPad] (see the kernel).
 * A weight is packed `cached`: the runtime keeps the copy until the weight is
 * written again, so a step packs each weight once per layout, not once per
 * call; the caller must not release it. Activations are packed uncached and
 * released by the caller (caching them would hold a second copy of every
 * saved activation through the backward pass).
 */
export function packChannelsLast(rt: Runtime, src: DeviceBuffer, A: number, B: number, D: number, bPad: number, cached: boolean): DeviceBuffer {
  if (bPad % 4 !== 0 || bPad < B) throw new Error(`packChannelsLast: bPad ${bPad} must be a multiple of 4 and at least B = ${B}`);
  const n = (A * D * bPad) / 4;
  const build = (dst: DeviceBuffer): void => {
    if (n > 0) rt.dispatch(packChannelsLastKernel, {}, { src, dst }, { n, B, D, bq: bPad / 4 }, gridFor(n, 256));
  };
  const bytes = A * D * bPad * 4;
  if (cached) return rt.derived(src, `channels-last ${A}x${B}x${D}/${bPad}`, bytes, build);
  const dst = rt.alloc(bytes, 'conv channels-last operand');
  build(dst);
  return dst;
}
