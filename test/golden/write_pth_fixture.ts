/** Writes test/golden/fixtures/pth/written.pth from pth_written.ts's tensors with writePth. Run from the repository root. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { writePth } from '@stripes/nn';
import { writtenSample } from './pth_written.ts';

writeFileSync(resolve(import.meta.dirname, 'fixtures/pth/written.pth'), writePth(writtenSample()));
