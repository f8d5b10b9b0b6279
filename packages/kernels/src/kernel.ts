/**
 * How a WGSL kernel is described. Each kernel file holds one `Kernel`: its
 * parameters and storage bindings declared once, by name and type, and a
 * source template for the body. The declarations generate both the WGSL
 * (`struct Params`, binding 0 `p`, and a `var<storage>` per binding) and the
 * packing of `dispatch`'s named values, so the two cannot disagree: a
 * missing, extra or misspelled name is a TypeScript error at the dispatch.
 * Specialization is a small, named, JSON-serializable object; it is part of
 * the pipeline-cache key, so keep the set of values small.
 */
import type { DeviceBuffer } from './runtime/pool.ts';

/** A parameter's WGSL scalar type. */
export type ParamScalar = 'u32' | 'i32' | 'f32';
/** A parameter: a scalar, or a fixed-length array of one (`['u32', 6]` is `array<u32, 6>`). */
export type ParamType = ParamScalar | readonly [ParamScalar, number];
/** Parameters by name; declaration order is the `Params` struct's order. */
export type ParamDecls = { readonly [name: string]: ParamType };

export type StorageAccess = 'read' | 'read_write';
/** Element types of a storage binding's `array<...>`. */
export type StorageElement = 'f32' | 'u32' | 'i32' | 'vec2<f32>' | 'vec4<f32>';
/** A storage binding: its access (of `array<f32>`), or access and element type. */
export type BindingDecl = StorageAccess | { readonly access: StorageAccess; readonly type: StorageElement };
/** Storage bindings by name; declaration order is @binding(1), (2), ... */
export type BindingDecls = { readonly [name: string]: BindingDecl };

/** The values `dispatch` takes for declared parameters: a number per scalar, exactly the declared count per array. */
export type ParamValues<P extends ParamDecls> = { readonly [K in keyof P]: P[K] extends ParamScalar ? number : ArrayLike<number> };
/** The buffers `dispatch` takes: one per declared binding. */
export type BindingBuffers<B extends BindingDecls> = { readonly [K in keyof B]: DeviceBuffer };

/** The most 32-bit words a parameter block holds (one slot of the runtime's parameter ring). */
export const MAX_PARAM_WORDS = 64;

/** Typed views of one parameter ring, indexed by `ParamSlot.view`. */
export type ParamViews = readonly [Uint32Array, Int32Array, Float32Array];
const VIEW_OF: Record<ParamScalar, 0 | 1 | 2> = { u32: 0, i32: 1, f32: 2 };

/** Where one parameter goes: `count` words from `word` (0 for a scalar) of the view for its type. */
interface ParamSlot {
  readonly name: string;
  readonly word: number;
  readonly count: number;
  readonly view: 0 | 1 | 2;
}

/** What a kernel file writes. */
export interface KernelDecl<S extends object, P extends ParamDecls, B extends BindingDecls> {
  /** Names the kernel in errors, in the pipeline cache and for the WGSL debug print. */
  readonly name: string;
  readonly params: P;
  readonly bindings: B;
  /**
   * The WGSL after the generated declarations (helpers and the entry point
   * `main`) for one specialization; it reads parameters as `p.<name>` and
   * bindings by their names.
   */
  source(spec: S): string;
}

/** A kernel ready for `Runtime.dispatch`: its declarations, their precomputed layout, and its full WGSL. */
export interface Kernel<S extends object = object, P extends ParamDecls = ParamDecls, B extends BindingDecls = BindingDecls> {
  readonly name: string;
  readonly params: P;
  readonly bindings: B;
  /** Binding names and access in @binding(1..) order. */
  readonly bindingOrder: ReadonlyArray<{ readonly name: string; readonly access: StorageAccess }>;
  /** 32-bit words of the parameter block. */
  readonly paramWords: number;
  /** The complete WGSL of one specialization: the generated declarations, then `source(spec)`. */
  readonly wgsl: (spec: S) => string;
  /** Packs `values` into `views` from word `at`; throws, naming the kernel and parameter, on a missing value or a wrong-length array. */
  writeParams(values: ParamValues<P>, views: ParamViews, at: number): void;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Declares a kernel. `const` type parameters keep the declarations' literal
 * names and types, which `dispatch` maps to the values and buffers it takes;
 * the spec type comes from `source`'s parameter.
 */
export function defineKernel<const P extends ParamDecls, const B extends BindingDecls, S extends object = Record<string, never>>(
  decl: KernelDecl<S, P, B>,
): Kernel<S, P, B> {
  const { name } = decl;
  const fail = (why: string): never => {
    throw new Error(`kernel ${name}: ${why}`);
  };
  const slots: ParamSlot[] = [];
  const fields: string[] = [];
  let words = 0;
  for (const [param, type] of Object.entries(decl.params)) {
    if (!IDENTIFIER.test(param)) fail(`parameter name '${param}' is not a WGSL identifier`);
    const [scalar, count] = typeof type === 'string' ? [type, 0] : type;
    if (typeof type !== 'string' && !(Number.isInteger(count) && count > 0)) fail(`parameter ${param}: array length ${count} is not a positive integer`);
    slots.push({ name: param, word: words, count, view: VIEW_OF[scalar] });
    fields.push(`${param}: ${count === 0 ? scalar : `array<${scalar}, ${count}>`}`);
    words += Math.max(1, count);
  }
  if (words > MAX_PARAM_WORDS) fail(`its parameters take ${words} words; a parameter block holds at most ${MAX_PARAM_WORDS}`);
  const bindingOrder = Object.entries(decl.bindings).map(([binding, d]) => {
    if (!IDENTIFIER.test(binding) || binding === 'p') fail(`binding name '${binding}' is not a WGSL identifier other than p`);
    return typeof d === 'string' ? { name: binding, access: d, type: 'f32' } : { name: binding, ...d };
  });
  const declarations = [
    ...(fields.length > 0 ? [`struct Params { ${fields.join(', ')} }`, '@group(0) @binding(0) var<storage, read> p: Params;'] : []),
    ...bindingOrder.map((b, i) => `@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${b.type}>;`),
  ].join('\n');

  return {
    name,
    params: decl.params,
    bindings: decl.bindings,
    bindingOrder: bindingOrder.map(({ name: binding, access }) => ({ name: binding, access })),
    paramWords: words,
    wgsl: (spec) => `${declarations}\n${decl.source(spec)}`,
    writeParams(values, views, at) {
      const named = values as Readonly<Record<string, number | ArrayLike<number> | undefined>>;
      for (const slot of slots) {
        const value = named[slot.name];
        const view = views[slot.view];
        if (slot.count === 0) {
          if (typeof value !== 'number') fail(`parameter ${slot.name} is ${value === undefined ? 'missing' : 'not a number'}`);
          view[at + slot.word] = value as number;
        } else {
          const list = value as ArrayLike<number> | undefined;
          if (list?.length !== slot.count) fail(`parameter ${slot.name} needs ${slot.count} values, got ${list?.length ?? 'none'}`);
          for (let j = 0; j < slot.count; j++) view[at + slot.word + j] = (list as ArrayLike<number>)[j];
        }
      }
    },
  };
}

/** The per-dimension workgroup limit every WebGPU device guarantees. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Grid for `count` workgroups laid over x then y (x capped at the limit).
 * Kernels recover the flat workgroup index with `flatWorkgroup` below.
 */
export function grid1d(count: number): [number, number, number] {
  if (count <= MAX_WORKGROUPS_PER_DIM) return [Math.max(1, count), 1, 1];
  const y = Math.ceil(count / MAX_WORKGROUPS_PER_DIM);
  if (y > MAX_WORKGROUPS_PER_DIM) throw new Error(`dispatch of ${count} workgroups exceeds the device grid`);
  return [MAX_WORKGROUPS_PER_DIM, y, 1];
}

/** Grid covering `n` elements with `perGroup` elements per workgroup. */
export function gridFor(n: number, perGroup: number): [number, number, number] {
  return grid1d(Math.ceil(n / perGroup));
}

/** WGSL helper matching `grid1d`: the flat workgroup index. */
export const WGSL_FLAT_WORKGROUP = /* wgsl */ `
fn flatWorkgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}`;

/**
 * The entry point of an elementwise kernel: `body` runs once per index `i`
 * with i < `count` (by default p.n, so the kernel's params must have
 * `n: 'u32'`), 256 per workgroup; dispatch it with `gridFor(count, 256)`.
 */
export function wgslElementwiseMain(body: string, count = 'p.n'): string {
  return /* wgsl */ `${WGSL_FLAT_WORKGROUP}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = flatWorkgroup(wid, nwg) * 256u + li;
  if (i >= ${count}) { return; }
${body}
}`;
}
