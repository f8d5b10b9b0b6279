/**
 * How a WGSL kernel is described. Each kernel file holds one `KernelDef`
 * (source template + binding layout) and the dispatch function that sizes its
 * grid. Specialization is a small, named, JSON-serializable parameter object;
 * it is part of the pipeline-cache key, so keep the set of values small.
 */
export type StorageAccess = 'read' | 'read_write';

export interface KernelDef<S extends object = Record<string, never>> {
  /** Names the kernel in errors and in the pipeline cache. */
  readonly name: string;
  /**
   * Storage buffers in binding order, starting at @binding(1). Binding 0 is
   * always the kernel's parameter block: `var<storage, read> p: Params`.
   */
  readonly bindings: readonly StorageAccess[];
  /** WGSL source for one specialization; entry point `main`. */
  source(spec: S): string;
}

export function defineKernel<S extends object = Record<string, never>>(def: KernelDef<S>): KernelDef<S> {
  return def;
}

/** Bit pattern of an f32, for the u32 parameter block. */
export function f32Bits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0];
}
const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

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
 * with i < p.n (so the kernel's Params must have `n: u32`), 256 per
 * workgroup; dispatch it with `gridFor(n, 256)`.
 */
export function wgslElementwiseMain(body: string): string {
  return /* wgsl */ `${WGSL_FLAT_WORKGROUP}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = flatWorkgroup(wid, nwg) * 256u + li;
  if (i >= p.n) { return; }
${body}
}`;
}
