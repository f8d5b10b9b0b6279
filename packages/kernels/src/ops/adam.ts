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

/** Elements per invocation: 4 (vec4 bindings) for ranges of whole vec4s, else 1. */
type AdamWidth = 1 | 4;

type SlotBinding<A extends 'read' | 'read_write'> = { readonly access: A; readonly type: 'f32' | 'vec4<f32>' };
type SlotBindings = { readonly [K in `param${number}` | `expAvg${number}` | `expAvgSq${number}`]: SlotBinding<'read_write'> } & {
  readonly [K in `grad${number}`]: SlotBinding<'read'>;
};

function slotBindings(slots: number, width: AdamWidth): SlotBindings {
  const type = width === 4 ? 'vec4<f32>' : 'f32';
  const [rw, r] = [{ access: 'read_write', type }, { access: 'read', type }];
  const bindings: Record<string, unknown> = {};
  for (let k = 0; k < slots; k++) Object.assign(bindings, { [`param${k}`]: rw, [`grad${k}`]: r, [`expAvg${k}`]: rw, [`expAvgSq${k}`]: rw });
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
 * With `width` 4 an invocation updates a vec4 of each (the same arithmetic
 * per element; `count` is then in vec4s): on lavapipe a storage access
 * costs a loop over the SIMD lanes whatever its width, so a vec4 moves 4
 * elements for the price of 1.
 * All variants share the name `adam`; the spec `{ slots, width }` keys the
 * pipeline cache.
 */
function defineAdamKernel(slots: number, width: AdamWidth) {
  const T = width === 4 ? 'vec4<f32>' : 'f32';
  return defineKernel({
    name: 'adam',
    params: { ...SCALARS, firstGroup: ['u32', slots], count: ['u32', slots] },
    bindings: slotBindings(slots, width),
    source: (_cacheKey: { slots: number; width: AdamWidth }) => {
      const cases = Array.from({ length: slots }, (_, k) => /* wgsl */ `
    case ${k}u: {
      let r = adamElement(param${k}[j], grad${k}[j], expAvg${k}[j], expAvgSq${k}[j]);
      expAvg${k}[j] = r.m;
      expAvgSq${k}[j] = r.v;
      param${k}[j] = r.w;
    }`).join('');
      return /* wgsl */ `
struct AdamElement { w: ${T}, m: ${T}, v: ${T} }

fn adamElement(w: ${T}, grad: ${T}, expAvg: ${T}, expAvgSq: ${T}) -> AdamElement {
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
const kernels = new Map<string, AdamKernel>();

/** The multi-tensor Adam kernel for `slots` parameters per dispatch of `width` elements per invocation (one per pair). */
export function adamKernel(slots: number, width: AdamWidth = 1): AdamKernel {
  const key = `${slots}/${width}`;
  let kernel = kernels.get(key);
  if (!kernel) kernels.set(key, (kernel = defineAdamKernel(slots, width)));
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
 * its `grad`, `adamSlots(rt)` parameters per dispatch (a vec4 at a time
 * where every binding holds whole vec4s); a tensor larger than
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
  // Ranges whose bindings all hold whole vec4s go 4 elements per invocation, the others 1. A whole
  // buffer is bound to its size class (a multiple of 16 bytes), so the vec4 holding its last element
  // may run past the tensor's end: it updates unused bytes of the same buffer, which nothing reads.
  const widthOf = (views: DeviceBuffer[]): AdamWidth => (views.every((v) => rt.bindingBytes(v) % 16 === 0) ? 4 : 1);
  for (const width of [4, 1] as const) {
    const ofWidth = ranges.filter(({ views }) => widthOf(views) === width);
    for (let first = 0; first < ofWidth.length; first += slots) {
      // A partly filled last dispatch takes the kernel for its own slot count: every binding is a real operand.
      const used = ofWidth.slice(first, first + slots);
      const buffers: { -readonly [K in keyof SlotBindings]: DeviceBuffer } = {};
      const firstGroup: number[] = [];
      const count: number[] = [];
      let groups = 0;
      used.forEach(({ views, count: n }, k) => {
        [buffers[`param${k}`], buffers[`grad${k}`], buffers[`expAvg${k}`], buffers[`expAvgSq${k}`]] = views;
        firstGroup.push(groups);
        count.push(Math.ceil(n / width));
        groups += Math.ceil(n / width / WORKGROUP);
      });
      rt.dispatch(adamKernel(used.length, width), { slots: used.length, width }, buffers, { ...scalars, firstGroup, count }, grid1d(groups));
    }
  }
}
