/**
 * Writes the export sample's checkpoint (export_sample.ts) under the folder
 * given as the argument and exports it there as latest_net_{G_A,G_B,D_A,D_B}.pth
 * with exportReferenceRun, for pth_parity.py to load in PyTorch. Run from the
 * repository root: `pnpm exec tsx --conditions=@stripes/source test/golden/write_export_fixture.ts <dir>`.
 */
import { exportReferenceRun } from '@stripes/cyclegan/node';
import { ready } from '@stripes/tensor';
import { writeExportSample } from './export_sample.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: write_export_fixture.ts <dir>');
await ready();
await writeExportSample(dir, 'sample');
exportReferenceRun({ checkpointsDir: dir, name: 'sample', epoch: 'latest', log: () => {} });
