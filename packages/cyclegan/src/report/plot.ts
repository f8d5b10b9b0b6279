/**
 * An SVG line plot of the loss log: one polyline per loss name against the
 * iteration, with axes, "nice" tick values and a legend. Plain SVG 1.1 text,
 * so any browser or image viewer shows it without scripts.
 */
import { escapeXml } from './escape.ts';
import type { LossRecord } from './lossLog.ts';

export interface PlotOptions {
  width?: number;
  height?: number;
  title?: string;
}

/** Tableau's 10 colours: distinct, and readable on white. */
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi] in about `count` steps. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(1) : String(Number(v.toPrecision(6)));
}

/** Loss names in order of first appearance. */
function seriesNames(records: readonly LossRecord[]): string[] {
  const names = new Set<string>();
  for (const r of records) for (const k of Object.keys(r.losses)) names.add(k);
  return [...names];
}

export function lossPlotSvg(records: readonly LossRecord[], opts: PlotOptions = {}): string {
  const width = opts.width ?? 800;
  const height = opts.height ?? 400;
  const names = seriesNames(records);
  const margin = { left: 60, right: 130, top: opts.title ? 34 : 16, bottom: 44 };
  const pw = width - margin.left - margin.right;
  const ph = height - margin.top - margin.bottom;

  // Loops rather than Math.min(...values): a long run has more points than a call has arguments.
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = 0;
  let y1 = -Infinity;
  for (const r of records) {
    x0 = Math.min(x0, r.iteration);
    x1 = Math.max(x1, r.iteration);
    for (const v of Object.values(r.losses)) {
      if (!Number.isFinite(v)) continue;
      y0 = Math.min(y0, v);
      y1 = Math.max(y1, v);
    }
  }
  if (!Number.isFinite(x0)) [x0, x1] = [0, 1];
  if (x1 === x0) x1 = x0 + 1;
  if (!Number.isFinite(y1)) [y0, y1] = [0, 1];
  if (y1 === y0) y1 = y0 + 1;
  const xTicks = niceTicks(x0, x1);
  const yTicks = niceTicks(y0, y1);
  // Stretch the y range to whole ticks so the top line is labelled.
  const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 1;
  if (yTicks[yTicks.length - 1] < y1) yTicks.push(Number((yTicks[yTicks.length - 1] + yStep).toPrecision(12)));
  y1 = Math.max(y1, yTicks[yTicks.length - 1]);
  const sx = (v: number): number => margin.left + ((v - x0) / (x1 - x0)) * pw;
  const sy = (v: number): number => margin.top + ph - ((v - y0) / (y1 - y0)) * ph;
  const r2 = (v: number): string => String(Math.round(v * 100) / 100);

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  if (opts.title) out.push(`<text x="${r2(margin.left + pw / 2)}" y="20" text-anchor="middle" font-size="14">${escapeXml(opts.title)}</text>`);
  // Grid and tick labels.
  for (const t of yTicks) {
    const y = r2(sy(t));
    out.push(`<line x1="${margin.left}" y1="${y}" x2="${margin.left + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${margin.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`);
  }
  for (const t of xTicks) {
    const x = r2(sx(t));
    out.push(`<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${margin.top + ph}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${x}" y="${margin.top + ph + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  // Axes.
  out.push(`<line x1="${margin.left}" y1="${margin.top + ph}" x2="${margin.left + pw}" y2="${margin.top + ph}" stroke="black"/>`);
  out.push(`<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + ph}" stroke="black"/>`);
  out.push(`<text x="${r2(margin.left + pw / 2)}" y="${height - 8}" text-anchor="middle">iteration</text>`);
  out.push(`<text transform="translate(14 ${r2(margin.top + ph / 2)}) rotate(-90)" text-anchor="middle">loss</text>`);
  if (records.length === 0) out.push(`<text x="${r2(margin.left + pw / 2)}" y="${r2(margin.top + ph / 2)}" text-anchor="middle" fill="#888">no data yet</text>`);

  names.forEach((name, k) => {
    const color = PALETTE[k % PALETTE.length];
    // A non-finite or missing value breaks the line rather than dropping to an axis.
    const segments: string[][] = [[]];
    for (const r of records) {
      const v = r.losses[name];
      if (v === undefined || !Number.isFinite(v)) {
        if (segments[segments.length - 1].length > 0) segments.push([]);
        continue;
      }
      segments[segments.length - 1].push(`${r2(sx(r.iteration))},${r2(sy(v))}`);
    }
    for (const seg of segments) {
      if (seg.length === 0) continue;
      if (seg.length === 1) {
        const [cx, cy] = seg[0].split(',');
        out.push(`<circle cx="${cx}" cy="${cy}" r="1.5" fill="${color}"/>`);
      } else {
        out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.2" points="${seg.join(' ')}"><title>${escapeXml(name)}</title></polyline>`);
      }
    }
    const ly = margin.top + 8 + k * 16;
    const lx = margin.left + pw + 12;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 18}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 24}" y="${ly}" dominant-baseline="middle">${escapeXml(name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
