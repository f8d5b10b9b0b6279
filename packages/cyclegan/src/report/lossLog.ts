/**
 * The loss log: one JSON object per line in `loss_log.jsonl`,
 * `{"iteration":100,"epoch":1,"time":12.5,"losses":{"D_A":0.25,...}}`.
 * Appending a line is cheap and a crash loses at most the line being
 * written; readers skip a torn last line. JSON has no NaN, so a diverged
 * (non-finite) loss is written as null and read back as NaN. Beside it,
 * `loss_plot.svg` is redrawn from the records.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomicWrite.ts';
import { lossPlotSvg, type PlotOptions } from './plot.ts';

export const LOSS_LOG_FILE = 'loss_log.jsonl';
export const LOSS_PLOT_FILE = 'loss_plot.svg';

export interface LossRecord {
  iteration: number;
  epoch: number;
  /** Seconds of training so far (a resumed run continues from its last kept record). */
  time: number;
  losses: Record<string, number>;
}

function toLine(r: LossRecord): string {
  const losses: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(r.losses)) losses[k] = Number.isFinite(v) ? v : null;
  return `${JSON.stringify({ iteration: r.iteration, epoch: r.epoch, time: r.time, losses })}\n`;
}

export function appendLossRecord(path: string, record: LossRecord): void {
  mkdirSync(dirname(path), { recursive: true });
  appendFileSync(path, toLine(record));
}

function parseRecord(line: string, where: string): LossRecord {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new Error(`${where}: not JSON`);
  }
  const r = v as Partial<Record<keyof LossRecord, unknown>> | null;
  if (!r || typeof r.iteration !== 'number' || typeof r.epoch !== 'number' || typeof r.time !== 'number' || typeof r.losses !== 'object' || r.losses === null) {
    throw new Error(`${where}: expected {iteration, epoch, time, losses}`);
  }
  const losses: Record<string, number> = {};
  for (const [k, x] of Object.entries(r.losses as Record<string, unknown>)) {
    if (x !== null && typeof x !== 'number') throw new Error(`${where}: loss ${k} is not a number`);
    losses[k] = x === null ? NaN : x;
  }
  return { iteration: r.iteration, epoch: r.epoch, time: r.time, losses };
}

/**
 * All records in file order; [] when the file does not exist. A malformed
 * line other than a torn last one throws, unless `onBadLine` is given: then
 * it is told the line's error and the line is skipped.
 */
export function readLossLog(path: string, onBadLine?: (message: string) => void): LossRecord[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  // A complete file ends with '\n'; anything after the last one is a torn write.
  const torn = lines.pop() ?? '';
  const records: LossRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      records.push(parseRecord(line, `${path}:${i + 1}`));
    } catch (e) {
      if (!onBadLine) throw e;
      onBadLine((e as Error).message);
    }
  });
  if (torn.trim() !== '') {
    try {
      records.push(parseRecord(torn, `${path}:${lines.length + 1}`));
    } catch {
      // The write was cut short: the record never completed.
    }
  }
  return records;
}

/**
 * Drops records past `iteration` (atomically), for resuming from a
 * checkpoint taken there: the log then continues without the steps that the
 * resumed run will redo. Malformed lines are dropped too, each reported to
 * `onBadLine` (default: they throw).
 */
export function trimLossLog(path: string, iteration: number, onBadLine?: (message: string) => void): LossRecord[] {
  const kept = readLossLog(path, onBadLine).filter((r) => r.iteration <= iteration);
  if (existsSync(path)) writeFileAtomic(path, kept.map(toLine).join(''));
  return kept;
}

/** Renders the plot and replaces `path` atomically (a browser never sees half an SVG). */
export function writeLossPlot(path: string, records: readonly LossRecord[], opts: PlotOptions = {}): void {
  writeFileAtomic(path, lossPlotSvg(records, opts));
}
