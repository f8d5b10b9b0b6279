import { grid1d, defineKernel } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';
import { NORM_PARAMS, normParams, normThreads, wgslNormMain, type InstanceNorm2dArgs } from './instanceNorm2d.ts';

/**
 * Backward of `instanceNorm2d`, one workgroup per plane. With z = x̂ w + b,
 * gz = g * act'(z) and ĝ = gz w (x̂, z recomputed from x and the saved stats):
 *
 *     gx = rstd * (ĝ - mean(ĝ) - x̂ * mean(ĝ x̂))
 *
 * and per plane sums[plane] = Σ gz x̂, sums[planes + plane] = Σ gz, which
 * summed over the batch are the weight and bias gradients.
 */
export const instanceNorm2dBackwardKernel = defineKernel({
  name: 'instanceNorm2dBackward',
  params: NORM_PARAMS,
  bindings: {
    x: 'read', gy: 'read', stats: { access: 'read', type: 'vec2<f32>' }, weight: 'read', bias: 'read', gx: 'read_write', sums: 'read_write',
  },
  source: ({ threads }: { threads: number }) => /* wgsl */ `
${wgslNormMain(threads)}
  let plane = flatWorkgroup(wid, nwg);
  // Uniform across the workgroup, so the barriers below stay uniform.
  if (plane >= p.planes) { return; }
  let base = plane * p.size;
  let mean = stats[plane].x;
  let rstd = stats[plane].y;
  let w = planeWeight(plane);
  // z exactly as the forward computed it, so act' agrees with its output.
  let scale = rstd * w;
  let shift = planeBias(plane) - mean * scale;
  var acc = vec2(0.0, 0.0);
  for (var i = li; i < p.size; i += ${threads}u) {
    let v = x[base + i];
    let xh = (v - mean) * rstd;
    let gz = gy[base + i] * activationSlope(v * scale + shift);
    acc += vec2(gz, gz * xh);
  }
  let total = workgroupSum2(acc, li);
  if (li == 0u) {
    sums[plane] = total.y;
    sums[p.planes + plane] = total.x;
  }
  let inv = 1.0 / f32(p.size);
  let meanG = total.x * w * inv;
  let meanGX = total.y * w * inv;
  for (var i = li; i < p.size; i += ${threads}u) {
    let v = x[base + i];
    let xh = (v - mean) * rstd;
    let gz = gy[base + i] * activationSlope(v * scale + shift);
    gx[base + i] = rstd * (gz * w - meanG - xh * meanGX);
  }
}`,
});

/**
 * `stats` as written by the forward; `sums` holds 2 * planes floats. Null
 * `weight`/`bias` as in `instanceNorm2d`.
 */
export function instanceNorm2dBackward(
  rt: Runtime,
  x: DeviceBuffer,
  gy: DeviceBuffer,
  stats: DeviceBuffer,
  weight: DeviceBuffer | null,
  bias: DeviceBuffer | null,
  gx: DeviceBuffer,
  sums: DeviceBuffer,
  args: InstanceNorm2dArgs,
): void {
  const buffers = { x, gy, stats, weight: weight ?? x, bias: bias ?? x, gx, sums };
  rt.dispatch(instanceNorm2dBackwardKernel, { threads: args.threads ?? normThreads(rt.info, args.size) }, buffers, normParams(args, weight, bias), grid1d(args.planes));
}
