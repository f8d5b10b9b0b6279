import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  GRID_COLUMNS,
  ProgressWriter,
  composeGrid,
  formatDuration,
  formatProgress,
  lossPlotSvg,
  niceTicks,
  pathToHref,
  sampleRow,
  samplesIndexHtml,
  testResultsHtml,
  type ImageU8,
  type LossRecord,
} from '@stripes/cyclegan';
import { LOSS_LOG_FILE, LOSS_PLOT_FILE, appendLossRecord, readLossLog, trainReport, trimLossLog, writeLossPlot } from '@stripes/cyclegan/node';

const root = mkdtempSync(join(tmpdir(), 'report-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('formatProgress', () => {
  const state = { iteration: 500, totalIterations: 2000, epoch: 3, totalEpochs: 10, itPerSec: 4.2, losses: { D_A: 0.25123, G_A: 0.4981, cycle_A: 1.5 } };

  it('shows bar, counts, rate, ETA and losses on one line', () => {
    expect(formatProgress(state)).toBe('[#####---------------]  25% it 500/2000 ep 3/10 4.20 it/s ETA 5:57 | D_A 0.251 G_A 0.498 cycle_A 1.50');
  });

  it('handles an unknown rate, slow steps, overshoot and no losses', () => {
    expect(formatProgress({ ...state, itPerSec: NaN, losses: {} })).toBe('[#####---------------]  25% it 500/2000 ep 3/10 -- it/s ETA --:--');
    expect(formatProgress({ ...state, itPerSec: 0.25, losses: {} })).toContain('4.00 s/it ETA 1:40:00');
    expect(formatProgress({ ...state, iteration: 2100, losses: {} })).toMatch(/^\[#{20}\] 100% it 2100\/2000/);
    expect(formatProgress({ ...state, losses: { G_A: NaN } })).toMatch(/\| G_A NaN$/);
  });

  it('fits a width', () => {
    const line = formatProgress(state, { maxWidth: 40 });
    expect(line).toHaveLength(40);
    expect(line.endsWith('…')).toBe(true);
    expect(formatProgress(state, { barWidth: 4 })).toMatch(/^\[#---\]/);
  });

  it('formats durations', () => {
    expect(formatDuration(59.4)).toBe('0:59');
    expect(formatDuration(3599)).toBe('59:59');
    expect(formatDuration(3600 * 26 + 61)).toBe('26:01:01');
    expect(formatDuration(Infinity)).toBe('--:--');
  });
});

describe('ProgressWriter', () => {
  function fakeStream(isTTY: boolean, columns?: number) {
    const chunks: string[] = [];
    return { chunks, stream: { isTTY, columns, write: (c: string) => chunks.push(c) } };
  }
  const step = (iteration: number) => ({ iteration, totalIterations: 100, epoch: 1, totalEpochs: 2, losses: { G_A: 1 } });

  it('redraws in place on a TTY, throttled, and measures it/s', () => {
    let t = 0;
    const { chunks, stream } = fakeStream(true, 200);
    const w = new ProgressWriter(stream, { redrawIntervalMs: 100, now: () => t });
    w.update(step(1));
    t = 50;
    w.update(step(2)); // within 100 ms of the last draw: skipped
    t = 1000;
    w.update(step(5)); // 4 iterations in 1 s
    expect(chunks).toHaveLength(2);
    for (const c of chunks) expect(c.startsWith('\r\x1b[K')).toBe(true);
    expect(chunks[1]).toContain('it 5/100');
    expect(chunks[1]).toContain('4.00 it/s ETA 0:24');
    w.log('saved checkpoint');
    expect(chunks[2]).toMatch(/^\r\x1b\[Ksaved checkpoint\n\r?.*it 5\/100/);
    w.done();
    expect(chunks[chunks.length - 1]).toBe('\n');
  });

  it('cuts the line to the terminal width', () => {
    const { chunks, stream } = fakeStream(true, 30);
    new ProgressWriter(stream, { now: () => 0 }).update(step(1));
    expect(chunks[0].replace('\r\x1b[K', '')).toHaveLength(29);
  });

  it('prints whole lines at an interval without a TTY, and the last state when done', () => {
    let t = 0;
    const { chunks, stream } = fakeStream(false);
    const w = new ProgressWriter(stream, { lineIntervalMs: 10_000, now: () => t });
    for (let i = 1; i <= 30; i++) {
      t = i * 1000;
      w.update(step(i));
    }
    // At 1 s, 11 s, 21 s.
    expect(chunks.map((c) => c.match(/it (\d+)\//)?.[1])).toEqual(['1', '11', '21']);
    w.done();
    expect(chunks).toHaveLength(4);
    expect(chunks[3]).toContain('it 30/100');
    for (const c of chunks) {
      expect(c.endsWith('\n')).toBe(true);
      expect(c).not.toContain('\r');
    }
    w.log('plain message');
    expect(chunks[4]).toBe('plain message\n');
  });
});

describe('loss log', () => {
  const rec = (iteration: number, losses: Record<string, number>): LossRecord => ({ iteration, epoch: Math.ceil(iteration / 10), time: iteration / 4, losses });

  it('appends one JSON line per record and reads them back', () => {
    const path = join(root, 'run1', LOSS_LOG_FILE);
    appendLossRecord(path, rec(10, { D_A: 0.25, G_A: 0.5 }));
    appendLossRecord(path, rec(20, { D_A: 0.2, G_A: NaN }));
    const lines = readFileSync(path, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0])).toEqual({ iteration: 10, epoch: 1, time: 2.5, losses: { D_A: 0.25, G_A: 0.5 } });
    // JSON has no NaN: written as null, read back as NaN.
    expect(JSON.parse(lines[1]).losses.G_A).toBeNull();
    const back = readLossLog(path);
    expect(back).toHaveLength(2);
    expect(back[0]).toEqual(rec(10, { D_A: 0.25, G_A: 0.5 }));
    expect(back[1].losses.G_A).toBeNaN();
  });

  it('skips a torn last line but rejects a malformed one in the middle', () => {
    const path = join(root, 'torn.jsonl');
    appendLossRecord(path, rec(1, { a: 1 }));
    appendFileSync(path, '{"iteration":2,"epoch":1,"ti');
    expect(readLossLog(path).map((r) => r.iteration)).toEqual([1]);
    appendFileSync(path, '\n');
    appendLossRecord(path, rec(3, { a: 1 }));
    expect(() => readLossLog(path)).toThrow(/torn\.jsonl:2: not JSON/);
    writeFileSync(path, '{"iteration":1}\n');
    expect(() => readLossLog(path)).toThrow(/expected \{iteration, epoch, time, losses\}/);
  });

  it('reads a missing log as empty and trims it for a resume', () => {
    expect(readLossLog(join(root, 'nope.jsonl'))).toEqual([]);
    const path = join(root, 'trim.jsonl');
    for (const i of [10, 20, 30, 40]) appendLossRecord(path, rec(i, { a: i }));
    expect(trimLossLog(path, 25).map((r) => r.iteration)).toEqual([10, 20]);
    expect(readLossLog(path).map((r) => r.iteration)).toEqual([10, 20]);
    appendLossRecord(path, rec(30, { a: 3 }));
    expect(readLossLog(path).map((r) => r.losses.a)).toEqual([10, 20, 3]);
  });
});

describe('trainReport', () => {
  it('a resumed run keeps the log up to its checkpoint and its clock goes on from there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stripes-report-'));
    try {
      const quiet = { write: () => true };
      const info = (totalIters: number, withLosses = true) => ({
        epoch: 1, epochIter: totalIters, totalIters, epochSize: 100, lastEpoch: 2, lr: 1e-3,
        losses: withLosses ? { D_A: 0.5, G_A: 1, cycle_A: 2, idt_A: 0.1, D_B: 0.5, G_B: 1, cycle_B: 2, idt_B: 0.1 } : undefined,
      });
      const first = trainReport(dir, 'r', quiet);
      first.hooks.onStart!(info(0, false), false);
      for (const it of [10, 20, 30]) first.hooks.onIteration!(info(it));
      first.done();
      // Pretend the first run trained for 100 s up to iteration 20.
      const kept = readLossLog(first.lossLogPath).map((r) => ({ ...r, time: r.iteration * 5 }));
      writeFileSync(first.lossLogPath, '');
      for (const r of kept) appendLossRecord(first.lossLogPath, r);

      const resumed = trainReport(dir, 'r', quiet);
      resumed.hooks.onStart!(info(20, false), true);
      resumed.hooks.onIteration!(info(30));
      const log = readLossLog(resumed.lossLogPath);
      expect(log.map((r) => r.iteration)).toEqual([10, 20, 30]);
      expect(log[2].time).toBeGreaterThanOrEqual(100);
      expect(log[2].time).toBeLessThan(110);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a damaged line in an old loss log stops neither a new run nor a resumed one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stripes-report-'));
    try {
      const lines: string[] = [];
      const stream = { write: (s: string) => (lines.push(s), true) };
      const info = { epoch: 1, epochIter: 20, totalIters: 20, epochSize: 100, lastEpoch: 2, lr: 1e-3 };
      const path = join(dir, LOSS_LOG_FILE);
      const record = (iteration: number) => JSON.stringify({ iteration, epoch: 1, time: iteration, losses: { G_A: 1 } });
      writeFileSync(path, `${record(10)}\n{"iteration": oops\n${record(20)}\n`);
      trainReport(dir, 'r', stream).hooks.onStart!(info, true);
      expect(readLossLog(path).map((r) => r.iteration)).toEqual([10, 20]);
      expect(lines.join('')).toMatch(/loss log: dropped a damaged line \(\S+loss_log\.jsonl:2: not JSON\)/);

      writeFileSync(path, `${record(10)}\n{"iteration": oops\n${record(20)}\n`);
      trainReport(dir, 'r', stream).hooks.onStart!({ ...info, totalIters: 0, epochIter: 0 }, false);
      expect(existsSync(path)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('loss plot', () => {
  const records: LossRecord[] = [0, 100, 200, 300, 400].map((it, k) => ({
    iteration: it,
    epoch: 1,
    time: k,
    losses: { D_A: 0.5 - 0.05 * k, 'G<&>': 1 + k, cycle_A: k === 2 ? NaN : 2 },
  }));

  it('draws one polyline per loss with axes and a legend', () => {
    const svg = lossPlotSvg(records, { title: 'run <1>' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    // cycle_A is broken by its NaN into two 2-point segments.
    expect(svg.match(/<polyline /g)).toHaveLength(4);
    expect(svg.match(/<polyline /g)?.length).toBe(svg.match(/<\/polyline>/g)?.length);
    for (const name of ['D_A', 'G&lt;&amp;&gt;', 'cycle_A']) expect(svg).toContain(`>${name}</text>`);
    expect(svg).not.toContain('G<&>');
    expect(svg).toContain('run &lt;1&gt;');
    expect(svg).toContain('>iteration</text>');
    expect(svg).toContain('>loss</text>');
    for (const tick of ['0', '100', '200', '300', '400']) expect(svg).toContain(`>${tick}</text>`);
  });

  it('maps values into the plot area', () => {
    const svg = lossPlotSvg(records, { width: 800, height: 400 });
    const points = [...svg.matchAll(/points="([^"]+)"/g)].flatMap((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));
    const xs = points.map(([x]) => x);
    const ys = points.map(([, y]) => y);
    // Plot area: x 60..670, y 16..356.
    expect(Math.min(...xs)).toBe(60);
    expect(Math.max(...xs)).toBe(670);
    expect(Math.min(...ys)).toBeGreaterThanOrEqual(16);
    expect(Math.max(...ys)).toBeLessThanOrEqual(356);
    // G_A rises: its last point is above (smaller y than) its first.
    const g = svg.match(/points="([^"]+)"><title>G&lt;&amp;&gt;/)![1].split(' ').map((p) => Number(p.split(',')[1]));
    expect(g[g.length - 1]).toBeLessThan(g[0]);
  });

  it('draws empty axes before the first record', () => {
    const svg = lossPlotSvg([]);
    expect(svg).toContain('no data yet');
    expect(svg).not.toContain('<polyline');
  });

  it('writes atomically', () => {
    const path = join(root, 'plot', LOSS_PLOT_FILE);
    writeLossPlot(path, records);
    expect(readFileSync(path, 'utf8')).toBe(lossPlotSvg(records));
    expect(readdirSync(join(root, 'plot'))).toEqual([LOSS_PLOT_FILE]);
  });

  it('picks round tick values', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 2000)).toEqual([0, 500, 1000, 1500, 2000]);
    expect(niceTicks(0.13, 0.52)).toEqual([0.2, 0.3, 0.4, 0.5]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });
});

describe('sample grid', () => {
  const solid = (w: number, h: number, rgb: [number, number, number]): ImageU8 => {
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) data.set(rgb, 3 * i);
    return { width: w, height: h, channels: 3, data };
  };
  const px = (img: ImageU8, x: number, y: number) => [...img.data.slice((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

  it('lays out realA | fakeB | recA | realB | fakeA | recB rows with 2 px separators', () => {
    const row = (k: number) =>
      sampleRow({
        realA: solid(4, 3, [k, 0, 0]),
        fakeB: solid(4, 3, [k, 1, 0]),
        recA: solid(4, 3, [k, 2, 0]),
        realB: solid(4, 3, [k, 3, 0]),
        fakeA: solid(4, 3, [k, 4, 0]),
        recB: solid(4, 3, [k, 5, 0]),
      });
    expect(GRID_COLUMNS).toEqual(['realA', 'fakeB', 'recA', 'realB', 'fakeA', 'recB']);
    const g = composeGrid([row(10), row(20)]);
    expect([g.width, g.height, g.channels]).toEqual([6 * 4 + 5 * 2, 2 * 3 + 2, 3]);
    for (let c = 0; c < 6; c++) {
      expect(px(g, c * 6, 0)).toEqual([10, c, 0]);
      expect(px(g, c * 6 + 3, 2)).toEqual([10, c, 0]);
      expect(px(g, c * 6, 5)).toEqual([20, c, 0]);
    }
    expect(px(g, 4, 0)).toEqual([255, 255, 255]);
    expect(px(g, 5, 1)).toEqual([255, 255, 255]);
    expect(px(g, 0, 3)).toEqual([255, 255, 255]);
    expect(px(g, 0, 4)).toEqual([255, 255, 255]);
  });

  it('centres smaller tiles, spreads gray to RGB and drops alpha', () => {
    const gray: ImageU8 = { width: 2, height: 2, channels: 1, data: new Uint8Array([7, 7, 7, 7]) };
    const rgba: ImageU8 = { width: 4, height: 4, channels: 4, data: new Uint8Array(64).fill(9) };
    const g = composeGrid([[gray, rgba]], { separator: 1, fill: [0, 0, 0] });
    expect([g.width, g.height]).toEqual([9, 4]);
    expect(px(g, 0, 0)).toEqual([0, 0, 0]);
    expect(px(g, 1, 1)).toEqual([7, 7, 7]);
    expect(px(g, 2, 2)).toEqual([7, 7, 7]);
    expect(px(g, 3, 3)).toEqual([0, 0, 0]);
    expect(px(g, 5, 0)).toEqual([9, 9, 9]);
  });

  it('rejects ragged or empty layouts', () => {
    const t = solid(2, 2, [0, 0, 0]);
    expect(() => composeGrid([[t, t], [t]])).toThrow(/row 1 has 1 tiles, row 0 has 2/);
    expect(() => composeGrid([])).toThrow(/no rows/);
  });
});

describe('html pages', () => {
  it('indexes sample grids newest first with labels', () => {
    const html = samplesIndexHtml('horse2zebra <run>', [
      { epoch: 1, iteration: 400, image: 'images/epoch001_iter000400.png' },
      { epoch: 2, iteration: 1200, image: 'images/epoch002_iter001200.png' },
    ], { refreshSeconds: 30 });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<title>horse2zebra &lt;run&gt;</title>');
    expect(html).toContain('<meta http-equiv="refresh" content="30">');
    expect(html).toContain('realA | fakeB | recA | realB | fakeA | recB');
    const newer = html.indexOf('epoch 2, iteration 1200');
    const older = html.indexOf('epoch 1, iteration 400');
    expect(newer).toBeGreaterThan(0);
    expect(older).toBeGreaterThan(newer);
    expect(html).toContain('src="images/epoch002_iter001200.png"');
    expect(samplesIndexHtml('t', [])).not.toContain('http-equiv');
  });

  it('lists test input -> output pairs with a summary, escaping file names', () => {
    const name = `a b&c"<x>'#1.png`;
    const html = testResultsHtml('test results', [
      { name, input: `images/${name}`, output: `images/fake ${name}` },
      { name: 'plain.png', input: 'images/plain.png', output: 'images/plain_fake.png' },
    ], { summary: [['stripe movement', '83%'], ['mask IoU', 0.61]], inputLabel: 'real A', outputLabel: 'fake B' });
    expect(html).toContain('<tr><th>stripe movement</th><td>83%</td></tr>');
    expect(html).toContain('<tr><th>mask IoU</th><td>0.61</td></tr>');
    expect(html).toContain('<th>real A</th><th>fake B</th>');
    expect(html.match(/<tr><td>/g)).toHaveLength(2);
    // Percent-encoded as a URL (the apostrophe, legal in URLs, then HTML-escaped).
    expect(html).toContain('src="images/a%20b%26c%22%3Cx%3E&#39;%231.png"');
    expect(html).toContain('src="images/fake%20a%20b%26c%22%3Cx%3E&#39;%231.png"');
    expect(html).toContain('<td>a b&amp;c&quot;&lt;x&gt;&#39;#1.png</td>');
    expect(html).not.toContain('<x>');
  });

  it('percent-encodes each path segment', () => {
    expect(pathToHref('dir name/file #1.png')).toBe('dir%20name/file%20%231.png');
    expect(pathToHref('a\\b.png')).toBe('a/b.png');
  });
});

describe('report files', () => {
  it('leaves no temporary files behind', () => {
    writeLossPlot(join(root, 'clean', 'p.svg'), []);
    expect(readdirSync(join(root, 'clean'))).toEqual(['p.svg']);
    expect(existsSync(join(root, 'clean', 'p.svg'))).toBe(true);
  });
});
