import { defineKernel, grid1d, MAX_PARAM_WORDS, WGSL_FLAT_WORKGROUP } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

/** One Adam step's scalars; the host computes them in f64 so no f32 cancellation (1 - 0.999) reaches the kernel. */
export interface AdamStepScalars {
  beta1: number;
  beta2: number;
  eps: number;
  /** L2 penalty added to the gradient (PyTorch's `weight_decay`, not AdamW's). */
  weightDecay: number;
  /** lr / (1 - beta1^t). */
  stepSize: number;
  /** sqrt(1 - beta2^t). */
  biasCorrection2Sqrt: number;
}

/** One parameter's buffers for an Adam step, each holding `n` elements. */
export interface AdamOperands {
  param: DeviceBuffer;
  grad: DeviceBuffer;
  expAvg: DeviceBuffer;
  expAvgSq: DeviceBuffer;
  n: number;
}

const WORKGROUP = 256;
const SCALARS = {
  beta1: 'f32', oneMinusBeta1: 'f32', beta2: 'f32', oneMinusBeta2: 'f32',
  eps: 'f32', weightDecay: 'f32', stepSize: 'f32', biasCorrection2Sqrt: 'f32',
} as const;
/** Per slot the parameter block holds its first workgroup and its element count. */
const WORDS_PER_SLOT = 2;
/** The most slots whose offsets fit the parameter block beside the scalars. */
const MAX_SLOTS = Math.floor((MAX_PARAM_WORDS - Object.keys(SCALARS).length) / WORDS_PER_SLOT);
/** Storage buffers per slot: param, grad, expAvg, expAvgSq. */
const BUFFERS_PER_SLOT = 4;

type SlotBindings = { readonly [K in `param${number}` | `expAvg${number}` | `expAvgSq${number}`]: 'read_write' } & { readonly [K in `grad${number}`]: 'read' };

function slotBindings(slots: number): SlotBindings {
  const bindings: Record<string, 'read' | 'read_write'> = {};
  for (let k = 0; k < slots; k++) Object.assign(bindings, { [`param${k}`]: 'read_write', [`grad${k}`]: 'read', [`expAvg${k}`]: 'read_write', [`expAvgSq${k}`]: 'read_write' });
  return bindings as SlotBindings;
}

/**
 * Adam in place over up to `slots` parameters per dispatch (PyTorch's
 * `_fused_adam_`), in PyTorch's order of operations:
 *   g += wd * w;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   w -= stepSize * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * WGSL cannot index bindings, so slot k has its own four bindings and a
 * `switch` picks them. Each slot starts on a workgroup boundary
 * (`firstGroup`, ascending), so every workgroup updates one parameter.
 * All slot counts share the name `adam`, so the spec `{ slots }` keys the
 * pipeline cache.
 */
function defineAdamKernel(slots: number) {
  return defineKernel({
    name: 'adam',
    params: { ...SCALARS, firstGroup: ['u32', slots], count: ['u32', slots] },
    bindings: slotBindings(slots),
    source: (_cacheKey: { slots: number }) => {
      const cases = Array.from({ length: slots }, (_, k) => /* wgsl */ `
    case ${k}u: {
      let r = adamElement(param${k}[j], grad${k}[j], expAvg${k}[j], expAvgSq${k}[j]);
      expAvg${k}[j] = r.m;
      expAvgSq${k}[j] = r.v;
      param${k}[j] = r.w;
    }`).join('');
      return /* wgsl */ `
struct AdamElement { w: f32, m: f32, v: f32 }

fn adamElement(w: f32, grad: f32, expAvg: f32, expAvgSq: f32) -> AdamElement {
  let g = grad + p.weightDecay * w;
  let m = p.beta1 * expAvg + p.oneMinusBeta1 * g;
  let v = p.beta2 * expAvgSq + p.oneMinusBeta2 * g * g;
  let denom = sqrt(v) / p.biasCorrection2Sqrt + p.eps;
  return AdamElement(w - p.stepSize * (m / denom), m, v);
}
${WGSL_FLAT_WORKGROUP}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let group = flatWorkgroup(wid, nwg);
  var slot = 0u;
  for (var k = 1u; k < ${slots}u; k++) {
    if (group >= p.firstGroup[k]) { slot = k; }
  }
  let j = (group - p.firstGroup[slot]) * ${WORKGROUP}u + li;
  if (j >= p.count[slot]) { return; }
  switch slot {${cases}
    default: {}
  }
}`;
    },
  });
}

type AdamKernel = ReturnType<typeof defineAdamKernel>;
const kernels = new Map<number, AdamKernel>();

/** The multi-tensor Adam kernel for `slots` parameters per dispatch (one per slot count). */
export function adamKernel(slots: number): AdamKernel {
  let kernel = kernels.get(slots);
  if (!kernel) kernels.set(slots, (kernel = defineAdamKernel(slots)));
  return kernel;
}

/**
 * Parameters one dispatch updates on `rt`'s device: four storage buffers
 * each besides the parameter block (lavapipe's 16 allow 3), at most what
 * the parameter block can describe.
 */
export function adamSlots(rt: Runtime): number {
  return Math.min(MAX_SLOTS, Math.floor((rt.limits.maxStorageBuffersPerShaderStage - 1) / BUFFERS_PER_SLOT));
}

/**
 * Updates each operand set's `param`, `expAvg` and `expAvgSq` in place from
 * its `grad`, `adamSlots(rt)` parameters per dispatch; a tensor larger than
 * one binding takes a slot per range. No written buffer may appear in two
 * operand sets, nor as another's `grad`.
 */
export function adam(rt: Runtime, operands: readonly AdamOperands[], s: AdamStepScalars): void {
  const slots = adamSlots(rt);
  if (slots < 1) throw new Error(`adam: the device binds ${rt.limits.maxStorageBuffersPerShaderStage} storage buffers per shader stage; the kernel needs ${BUFFERS_PER_SLOT + 1}`);
  const ranges = operands.flatMap(({ param, grad, expAvg, expAvgSq, n }) => rt.elementRanges(n, [param, grad, expAvg, expAvgSq]).filter((r) => r.count > 0));
  const scalars = {
    beta1: s.beta1, oneMinusBeta1: 1 - s.beta1, beta2: s.beta2, oneMinusBeta2: 1 - s.beta2,
    eps: s.eps, weightDecay: s.weightDecay, stepSize: s.stepSize, biasCorrection2Sqrt: s.biasCorrection2Sqrt,
  };
  for (let first = 0; first < ranges.length; first += slots) {
    // A partly filled last dispatch takes the kernel for its own slot count: every binding is a real operand.
    const used = ranges.slice(first, first + slots);
    const buffers: { -readonly [K in keyof SlotBindings]: DeviceBuffer } = {};
    const firstGroup: number[] = [];
    const count: number[] = [];
    let groups = 0;
    used.forEach(({ views, count: n }, k) => {
      [buffers[`param${k}`], buffers[`grad${k}`], buffers[`expAvg${k}`], buffers[`expAvgSq${k}`]] = views;
      firstGroup.push(groups);
      count.push(n);
      groups += Math.ceil(n / WORKGROUP);
    });
    rt.dispatch(adamKernel(used.length), { slots: used.length }, buffers, { ...scalars, firstGroup, count }, grid1d(groups));
  }
}
