/**
 * The CycleGAN whose export PyTorch checks (test/golden/pth_parity.py, via
 * write_export_fixture.ts): a small architecture with weights that follow
 * formulas, so the test rebuilds the same checkpoint and its export gives
 * the same bytes as the files torch loaded.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CYCLEGAN_DEFAULTS, CycleGAN, type CycleGANArchitecture } from '@stripes/cyclegan';
import { checkpointPath, networkShapes, saveTrainingCheckpoint } from '@stripes/cyclegan/node';
import type { TensorEntry } from '@stripes/nn';
import { Rng } from '@stripes/tensor';

/** 3 -> 3 channels so pth_parity.py's reference ResnetGenerator builds it; 2 blocks keep the files small. */
export const EXPORT_ARCHITECTURE: CycleGANArchitecture = { inputNc: 3, outputNc: 3, ngf: 4, ndf: 4, nBlocks: 2, nLayersD: 3, dropout: false };

/** Every network tensor under its checkpoint name, values in [-0.04, 0.04], different per tensor. */
export function exportSampleTensors(): Record<string, TensorEntry> {
  return Object.fromEntries(
    [...networkShapes(EXPORT_ARCHITECTURE)].map(([name, shape], k) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return [name, { shape, data: Float32Array.from({ length: n }, (_, i) => (((i * 37 + k * 11) % 101) - 50) / 1250) }];
    }),
  );
}

/** Writes the sample as <checkpointsDir>/<name>/latest.ckpt.safetensors, as training would. */
export async function writeExportSample(checkpointsDir: string, name: string): Promise<string> {
  const model = new CycleGAN({ ...CYCLEGAN_DEFAULTS, ...EXPORT_ARCHITECTURE, poolSize: 0 });
  try {
    model.loadState(exportSampleTensors());
    const path = checkpointPath({ checkpointsDir, name }, 'latest');
    mkdirSync(dirname(path), { recursive: true });
    await saveTrainingCheckpoint(path, model, { epoch: 1, epochIter: 0, totalIters: 0, loader: { epoch: 0, position: 0, epochRng: null, rng: new Rng(1).getState() } });
    return path;
  } finally {
    model.dispose();
  }
}
