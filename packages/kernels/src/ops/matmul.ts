import { defineKernel } from '../kernel.ts';
import type { DeviceBuffer, Runtime } from '../runtime.ts';

/**
 * Batched C[b] = op(A[b]) @ op(B[b]), op = optional transpose, so backward
 * passes need no materialized transposes. Each invocation accumulates a 4x4
 * register block; 8x8 invocations cover a 32x32 tile. Operands come straight
 * from global memory: on lavapipe register blocking beat shared-memory tiles.
 * A batch stride of 0 broadcasts an operand over the batch.
 */
export const matmulKernel = defineKernel({
  name: 'matmul',
  params: { M: 'u32', N: 'u32', K: 'u32', strideA: 'u32', strideB: 'u32' },
  bindings: { A: 'read', B: 'read', C: 'read_write' },
  source: ({ transA, transB }: { transA: boolean; transB: boolean }) => /* wgsl */ `

fn loadA(base: u32, m: u32, k: u32) -> f32 {
  if (m >= p.M) { return 0.0; }
  return A[base + ${transA ? 'k * p.M + m' : 'm * p.K + k'}];
}
fn loadB(base: u32, k: u32, n: u32) -> f32 {
  if (n >= p.N) { return 0.0; }
  return B[base + ${transB ? 'n * p.K + k' : 'k * p.N + n'}];
}

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = (wid.y * 8u + lid.y) * 4u;
  let col0 = (wid.x * 8u + lid.x) * 4u;
  let b = wid.z;
  let baseA = b * p.strideA;
  let baseB = b * p.strideB;
  var acc: array<vec4<f32>, 4>;
  for (var k = 0u; k < p.K; k++) {
    let bv = vec4<f32>(loadB(baseB, k, col0), loadB(baseB, k, col0 + 1u), loadB(baseB, k, col0 + 2u), loadB(baseB, k, col0 + 3u));
    for (var i = 0u; i < 4u; i++) {
      acc[i] += loadA(baseA, row0 + i, k) * bv;
    }
  }
  let baseC = b * p.M * p.N;
  for (var i = 0u; i < 4u; i++) {
    let m = row0 + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (col0 + j < p.N) { C[baseC + m * p.N + col0 + j] = acc[i][j]; }
    }
  }
}`,
});

export interface MatmulArgs {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  /** Elements between consecutive batch matrices; 0 broadcasts. */
  strideA: number;
  strideB: number;
}

export function matmul(rt: Runtime, a: DeviceBuffer, b: DeviceBuffer, c: DeviceBuffer, args: MatmulArgs): void {
  const { batch, M, N, K } = args;
  rt.dispatch(
    matmulKernel,
    { transA: !!args.transA, transB: !!args.transB },
    { A: a, B: b, C: c },
    { M, N, K, strideA: args.strideA, strideB: args.strideB },
    [Math.ceil(N / 32), Math.ceil(M / 32), batch],
  );
}
