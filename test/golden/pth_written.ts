/**
 * The tensors in test/golden/fixtures/pth/written.pth: what writePth wrote
 * and pth_fixtures.py loaded in PyTorch (`weights_only=True`), recording what
 * torch saw in expected.json. The values follow formulas, so the test
 * rebuilds the same bytes. Regenerate the file with
 * `pnpm exec tsx --conditions=@stripes/source test/golden/write_pth_fixture.ts`
 * (pth_fixtures.py runs it first).
 */
import type { TensorEntry } from '@stripes/nn';

function entry(shape: number[], value: (i: number) => number): TensorEntry {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, (_, i) => value(i)) };
}

export function writtenSample(): Map<string, TensorEntry> {
  return new Map([
    ['model.1.weight', entry([4, 3, 3, 3], (i) => (((i * 37) % 101) - 50) / 1250)],
    ['model.1.bias', entry([4], (i) => i / 8 - 0.25)],
    ['model.4.weight', entry([16, 4, 3, 3], (i) => Math.sin(i) / 50)],
    ['model.10.conv_block.5.weight', entry([2, 2, 1, 1], (i) => [-0, 1e-45, 3.4e38, -1.5][i])],
    ['scalar', entry([], () => Math.PI)],
    ['empty', entry([0, 3], () => 0)],
    ['six.dims', entry([1, 2, 1, 2, 1, 2], (i) => i - 3.5)],
    ['ünïcode.weight', entry([2], (i) => 1 / (i + 3))],
  ]);
}
