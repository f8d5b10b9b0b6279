/**
 * What a training run shows and leaves behind, beside its checkpoints:
 * a progress bar, `loss_log.jsonl` and `loss_plot.svg` (every print_freq
 * iterations), and sample grids with an HTML index under `web/` (every
 * display_freq iterations).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writePng } from '../image/codec.ts';
import type { CycleGANVisuals } from '../model/cyclegan.ts';
import { writeFileAtomic } from '../report/atomicWrite.ts';
import { visualsGrid } from '../report/grid.ts';
import { samplesIndexHtml, type SampleEntry } from '../report/html.ts';
import { appendLossRecord, LOSS_LOG_FILE, LOSS_PLOT_FILE, trimLossLog, writeLossPlot, type LossRecord } from '../report/lossLog.ts';
import { ProgressWriter, type ProgressStream } from '../report/progress.ts';
import type { IterationInfo, TrainHooks } from '../train.ts';

export interface TrainReport {
  hooks: TrainHooks;
  /** Ends the progress line. */
  done(): void;
  lossLogPath: string;
  lossPlotPath: string;
  samplesIndexPath: string;
}

export function trainReport(experimentDir: string, name: string, stream: ProgressStream = process.stdout): TrainReport {
  const lossLogPath = join(experimentDir, LOSS_LOG_FILE);
  const lossPlotPath = join(experimentDir, LOSS_PLOT_FILE);
  const webDir = join(experimentDir, 'web');
  const imagesDir = join(webDir, 'images');
  const samplesIndexPath = join(webDir, 'index.html');
  mkdirSync(imagesDir, { recursive: true });
  let records: LossRecord[] = [];
  const samples: SampleEntry[] = [];
  const progress = new ProgressWriter(stream);
  let started = performance.now();
  /** Training seconds before this process: a resumed run's clock goes on from its log. */
  let timeOffset = 0;
  const total = (i: IterationInfo) => i.epochSize * (i.lastEpoch - i.epoch + 1) + i.totalIters - i.epochIter;

  const hooks: TrainHooks = {
    log: (line) => progress.log(line),
    // A resumed run keeps the log up to its checkpoint (records past it belong to
    // the interrupted run and would be repeated); a new run starts a new log.
    onStart: (info, resumed) => {
      // A resumed run keeps what it can of an old log: a damaged line is dropped with a warning, not fatal.
      if (resumed) records = trimLossLog(lossLogPath, info.totalIters, (message) => progress.log(`loss log: dropped a damaged line (${message})`));
      else rmSync(lossLogPath, { force: true });
      timeOffset = records.at(-1)?.time ?? 0;
      started = performance.now();
    },
    onIteration: (info) => {
      progress.update({ iteration: info.totalIters, totalIterations: total(info), epoch: info.epoch, totalEpochs: info.lastEpoch, losses: info.losses ?? {} });
      if (!info.losses) return;
      const record: LossRecord = { iteration: info.totalIters, epoch: info.epoch, time: timeOffset + (performance.now() - started) / 1000, losses: { ...info.losses } };
      appendLossRecord(lossLogPath, record);
      records.push(record);
      writeLossPlot(lossPlotPath, records, { title: `${name}: losses` });
    },
    onVisuals: async (info, visuals: CycleGANVisuals) => {
      const file = `epoch${String(info.epoch).padStart(3, '0')}_iter${String(info.totalIters).padStart(8, '0')}.png`;
      writePng(join(imagesDir, file), await visualsGrid(visuals));
      samples.push({ epoch: info.epoch, iteration: info.totalIters, image: `images/${file}` });
      writeFileAtomic(samplesIndexPath, samplesIndexHtml(`${name}: training samples`, samples, { refreshSeconds: 30 }));
    },
    onCheckpoint: (path, info) => progress.log(`saved ${path} (epoch ${info.epoch}, iteration ${info.totalIters})`),
  };
  return { hooks, done: () => progress.done(), lossLogPath, lossPlotPath, samplesIndexPath };
}
