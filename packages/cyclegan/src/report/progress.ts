/**
 * Training progress: `formatProgress` turns a state into one line (bar,
 * iteration, epoch, it/s, ETA, losses); `ProgressWriter` redraws that line
 * in place on a terminal and prints it every so often otherwise, so logs
 * redirected to a file stay readable.
 */

export interface ProgressState {
  /** Iterations done so far (1-based after the first step). */
  iteration: number;
  totalIterations: number;
  epoch: number;
  totalEpochs: number;
  /** Recent iterations per second; 0 or NaN while unknown. */
  itPerSec: number;
  losses: Readonly<Record<string, number>>;
}

export interface FormatOptions {
  /** Cut the line to this many characters (a terminal's width). */
  maxWidth?: number;
  /** Cells in the bar. */
  barWidth?: number;
}

/** h:mm:ss, or m:ss under an hour; '--:--' when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function formatRate(itPerSec: number): string {
  if (!(itPerSec > 0)) return '-- it/s';
  // Slow steps (large images on a CPU adapter) read better as s/it.
  return itPerSec >= 1 ? `${itPerSec.toFixed(2)} it/s` : `${(1 / itPerSec).toFixed(2)} s/it`;
}

/** One progress line, e.g. `[#####---------------]  25% it 500/2000 ep 3/10 4.20 it/s ETA 5:57 | D_A 0.251 G_A 0.498`. */
export function formatProgress(state: ProgressState, opts: FormatOptions = {}): string {
  const barWidth = opts.barWidth ?? 20;
  const frac = state.totalIterations > 0 ? Math.min(1, Math.max(0, state.iteration / state.totalIterations)) : 0;
  const filled = Math.floor(frac * barWidth);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]`;
  const pct = `${String(Math.floor(frac * 100)).padStart(3)}%`;
  const eta = state.itPerSec > 0 ? (state.totalIterations - state.iteration) / state.itPerSec : NaN;
  const losses = Object.entries(state.losses).map(([k, v]) => `${k} ${v.toPrecision(3)}`);
  const line = [
    bar,
    pct,
    `it ${state.iteration}/${state.totalIterations}`,
    `ep ${state.epoch}/${state.totalEpochs}`,
    formatRate(state.itPerSec),
    `ETA ${formatDuration(eta)}`,
  ].join(' ');
  const full = losses.length > 0 ? `${line} | ${losses.join(' ')}` : line;
  const max = opts.maxWidth;
  return max !== undefined && full.length > max ? full.slice(0, Math.max(0, max - 1)) + '…' : full;
}

/** The bits of a stream the writer uses (process.stdout / stderr fit). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressWriterOptions {
  /** Without a TTY, print a line at most this often (ms); default 30 s. */
  lineIntervalMs?: number;
  /** On a TTY, redraw at most this often (ms); default 100. */
  redrawIntervalMs?: number;
  /** Updates the it/s estimate looks back over. */
  rateWindow?: number;
  now?: () => number;
}

export type ProgressUpdate = Omit<ProgressState, 'itPerSec'>;

/** Redraws a progress line on a TTY; prints periodic lines elsewhere. Computes it/s itself. */
export class ProgressWriter {
  private readonly tty: boolean;
  private readonly lineIntervalMs: number;
  private readonly redrawIntervalMs: number;
  private readonly rateWindow: number;
  private readonly now: () => number;
  private readonly samples: [number, number][] = [];
  private lastWrite = -Infinity;
  private last: ProgressState | null = null;
  /** Whether the latest state is already on screen / in the log. */
  private shown = false;

  constructor(
    private readonly stream: ProgressStream,
    opts: ProgressWriterOptions = {},
  ) {
    this.tty = stream.isTTY === true;
    this.lineIntervalMs = opts.lineIntervalMs ?? 30_000;
    this.redrawIntervalMs = opts.redrawIntervalMs ?? 100;
    this.rateWindow = opts.rateWindow ?? 20;
    this.now = opts.now ?? (() => performance.now());
  }

  update(u: ProgressUpdate): void {
    const t = this.now();
    this.samples.push([t, u.iteration]);
    if (this.samples.length > this.rateWindow) this.samples.shift();
    const [t0, i0] = this.samples[0];
    const itPerSec = t > t0 ? ((u.iteration - i0) * 1000) / (t - t0) : NaN;
    this.last = { ...u, itPerSec };
    this.shown = false;
    if (t - this.lastWrite >= (this.tty ? this.redrawIntervalMs : this.lineIntervalMs)) this.flush(t);
  }

  /** Prints a message without garbling the bar: on a TTY the bar is cleared and redrawn below it. */
  log(message: string): void {
    if (this.tty && this.last) this.stream.write(`\r\x1b[K${message}\n${this.render()}`);
    else this.stream.write(`${message}\n`);
  }

  /** Shows the latest state if it is not shown yet, and ends the bar's line. */
  done(): void {
    if (this.last && !this.shown) this.flush(this.now());
    if (this.tty && this.last) this.stream.write('\n');
    this.last = null;
  }

  private render(): string {
    // One column short of the width: writing the last column wraps some terminals.
    return this.last ? formatProgress(this.last, { maxWidth: this.stream.columns ? this.stream.columns - 1 : undefined }) : '';
  }

  private flush(t: number): void {
    this.stream.write(this.tty ? `\r\x1b[K${this.render()}` : `${this.render()}\n`);
    this.lastWrite = t;
    this.shown = true;
  }
}
