// Typed kernel interfaces: a kernel declares its parameters and bindings once;
// the WGSL declarations and the parameter packing come from that declaration,
// and TypeScript rejects a dispatch whose names disagree with it.
import { describe, expect, it } from 'vitest';
import { defineKernel, MAX_PARAM_WORDS, rt, unaryKernel, type DeviceBuffer } from '@stripes/kernels';

/** Copies each parameter's bits into `bits`, so a test sees exactly what was packed. */
const packKernel = defineKernel({
  name: 'testParamPacking',
  params: { count: 'u32', offset: 'i32', scale: 'f32', dims: ['u32', 3], deltas: ['i32', 2], weights: ['f32', 2] },
  bindings: { bits: { access: 'read_write', type: 'u32' }, unused: 'read' },
  source: () => /* wgsl */ `
@compute @workgroup_size(1)
fn main() {
  bits[0] = p.count;
  bits[1] = bitcast<u32>(p.offset);
  bits[2] = bitcast<u32>(p.scale);
  for (var d = 0u; d < 3u; d++) { bits[3u + d] = p.dims[d]; }
  for (var d = 0u; d < 2u; d++) { bits[6u + d] = bitcast<u32>(p.deltas[d]); }
  for (var d = 0u; d < 2u; d++) { bits[8u + d] = bitcast<u32>(p.weights[d]); }
}`,
});

async function readU32(b: DeviceBuffer, n: number): Promise<number[]> {
  return [...new Uint32Array(await rt().read(b, 0, n * 4))];
}

describe('kernel declarations', () => {
  it('generate the Params struct, binding 0 and one storage binding per declared buffer, in declaration order', () => {
    const wgsl = packKernel.wgsl({});
    expect(wgsl).toContain('struct Params { count: u32, offset: i32, scale: f32, dims: array<u32, 3>, deltas: array<i32, 2>, weights: array<f32, 2> }');
    expect(wgsl).toContain('@group(0) @binding(0) var<storage, read> p: Params;');
    expect(wgsl).toContain('@group(0) @binding(1) var<storage, read_write> bits: array<u32>;');
    expect(wgsl).toContain('@group(0) @binding(2) var<storage, read> unused: array<f32>;');
    expect(packKernel.paramWords).toBe(10);
    expect(packKernel.bindingOrder).toEqual([
      { name: 'bits', access: 'read_write' },
      { name: 'unused', access: 'read' },
    ]);
    // A library kernel: its declarations precede its body.
    const unary = unaryKernel.wgsl({ op: 'relu' });
    expect(unary.startsWith(
      'struct Params { n: u32, a: f32, b: f32 }\n' +
        '@group(0) @binding(0) var<storage, read> p: Params;\n' +
        '@group(0) @binding(1) var<storage, read> x: array<f32>;\n' +
        '@group(0) @binding(2) var<storage, read_write> y: array<f32>;\n',
    )).toBe(true);
  });

  it('pack u32, i32 (two\'s complement) and f32 (IEEE bits) parameters and arrays by name', async () => {
    const bits = rt().alloc(10 * 4);
    const unused = rt().alloc(16);
    const params = { scale: -2, count: 4_000_000_000, offset: -3, dims: [7, 8, 9], deltas: Int32Array.of(-1, 5), weights: [1, 0.1] };
    rt().dispatch(packKernel, {}, { unused, bits }, params, [1, 1, 1]);
    const tenth = new Uint32Array(Float32Array.of(0.1).buffer)[0];
    expect(await readU32(bits, 10)).toEqual([4_000_000_000, 0xfffffffd, 0xc0000000, 7, 8, 9, 0xffffffff, 5, 0x3f800000, tenth]);
    rt().release(bits);
    rt().release(unused);
  });

  it('reject a mismatch at compile time (TypeScript) and at run time (a name, a missing value, an array of the wrong length)', () => {
    const b = rt().alloc(64);
    const params = { count: 1, offset: 0, scale: 1, dims: [1, 1, 1], deltas: [0, 0], weights: [0, 0] };
    const buffers = { bits: b, unused: b };
    const run = (p: unknown, bufs: unknown = buffers) => () => rt().dispatch(packKernel, {}, bufs as typeof buffers, p as typeof params, [1, 1, 1]);
    // Never called: these lines only have to fail to type-check (`pnpm run typecheck` checks this file).
    const typeErrors = () => {
      // @ts-expect-error -- a misspelled parameter
      rt().dispatch(packKernel, {}, buffers, { cuont: 1, offset: 0, scale: 1, dims: [1, 1, 1], deltas: [0, 0], weights: [0, 0] }, [1, 1, 1]);
      // @ts-expect-error -- a misspelled binding
      rt().dispatch(packKernel, {}, { bits: b, unsued: b }, params, [1, 1, 1]);
      // @ts-expect-error -- a parameter the kernel does not declare
      rt().dispatch(packKernel, {}, buffers, { ...params, extra: 1 }, [1, 1, 1]);
      // @ts-expect-error -- a missing parameter
      rt().dispatch(packKernel, {}, buffers, { offset: 0, scale: 1, dims: [1, 1, 1], deltas: [0, 0], weights: [0, 0] }, [1, 1, 1]);
      // @ts-expect-error -- an array where a scalar is declared
      rt().dispatch(packKernel, {}, buffers, { ...params, count: [1] }, [1, 1, 1]);
      // @ts-expect-error -- a spec the kernel's source does not take
      rt().dispatch(unaryKernel, { op: 'cube' }, { x: b, y: b }, { n: 1, a: 0, b: 0 }, [1, 1, 1]);
    };
    expect(typeof typeErrors).toBe('function');
    expect(run({ ...params, count: undefined })).toThrow(/kernel testParamPacking: parameter count is missing/);
    expect(run({ ...params, scale: '1' })).toThrow(/kernel testParamPacking: parameter scale is not a number/);
    expect(run({ ...params, dims: [1, 1] })).toThrow(/kernel testParamPacking: parameter dims needs 3 values, got 2/);
    expect(run(params, { bits: b })).toThrow(/kernel testParamPacking: no buffer for binding unused/);
    rt().release(b);
  });

  it('refuse, naming the kernel, a parameter block over the limit and names that are not WGSL identifiers', () => {
    expect(() => defineKernel({ name: 'tooManyParams', params: { big: ['u32', MAX_PARAM_WORDS], one: 'f32' }, bindings: {}, source: () => '' })).toThrow(
      /kernel tooManyParams: its parameters take 65 words; a parameter block holds at most 64/,
    );
    expect(() => defineKernel({ name: 'badParam', params: { 'a-b': 'u32' }, bindings: {}, source: () => '' })).toThrow(/kernel badParam: parameter name 'a-b'/);
    expect(() => defineKernel({ name: 'badBinding', params: {}, bindings: { p: 'read' }, source: () => '' })).toThrow(/kernel badBinding: binding name 'p'/);
    expect(() => defineKernel({ name: 'badArray', params: { v: ['f32', 0] }, bindings: {}, source: () => '' })).toThrow(/kernel badArray: parameter v: array length 0/);
  });
});
