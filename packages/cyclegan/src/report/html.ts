/**
 * Static HTML pages next to the images they show: an index of training
 * sample grids (newest first) and a test results page of input -> output
 * pairs. Image paths are relative to the page; file names are escaped both
 * as URLs and as HTML, so names with spaces, '#', '&' or quotes still work.
 */
import { escapeXml as escapeHtml } from './escape.ts';
import { GRID_COLUMNS } from './grid.ts';

export interface SampleEntry {
  epoch: number;
  iteration: number;
  /** Grid image path relative to the page. */
  image: string;
}

export interface TestPair {
  name: string;
  /** Paths relative to the page. */
  input: string;
  output: string;
}

export interface TestPageOptions {
  /** Figures shown above the table, e.g. [['stripe movement', '83%'], ['mask IoU', '0.61']]. */
  summary?: readonly (readonly [string, string | number])[];
  inputLabel?: string;
  outputLabel?: string;
}

/** A relative path as a URL: each segment percent-encoded, separators kept. */
export function pathToHref(path: string): string {
  return path.split(/[\\/]/).map(encodeURIComponent).join('/');
}

function page(title: string, body: readonly string[], refreshSeconds?: number): string {
  const head = ['<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">'];
  if (refreshSeconds) head.push(`<meta http-equiv="refresh" content="${refreshSeconds}">`);
  head.push(
    `<title>${escapeHtml(title)}</title>`,
    '<style>body{font-family:sans-serif;margin:1.5em}img{image-rendering:pixelated;max-width:100%}td,th{padding:4px 8px;text-align:left;vertical-align:top}figure{margin:0 0 1.5em}</style>',
    '</head>',
  );
  return `${[...head, '<body>', `<h1>${escapeHtml(title)}</h1>`, ...body, '</body>', '</html>'].join('\n')}\n`;
}

function img(path: string, alt: string): string {
  return `<img src="${escapeHtml(pathToHref(path))}" alt="${escapeHtml(alt)}">`;
}

/** The training samples page, newest first; reloads itself every `refreshSeconds` when given (a run in progress). */
export function samplesIndexHtml(title: string, entries: readonly SampleEntry[], opts: { refreshSeconds?: number } = {}): string {
  const sorted = [...entries].sort((a, b) => b.iteration - a.iteration || b.epoch - a.epoch);
  const body = [`<p>Each row: ${GRID_COLUMNS.join(' | ')}</p>`];
  if (sorted.length === 0) body.push('<p>No samples yet.</p>');
  for (const e of sorted) {
    const label = `epoch ${e.epoch}, iteration ${e.iteration}`;
    body.push(`<figure>\n<figcaption>${escapeHtml(label)}</figcaption>\n${img(e.image, label)}\n</figure>`);
  }
  return page(title, body, opts.refreshSeconds);
}

/** The test results page: optional summary figures, then one table row per input -> output pair. */
export function testResultsHtml(title: string, pairs: readonly TestPair[], opts: TestPageOptions = {}): string {
  const body: string[] = [];
  if (opts.summary && opts.summary.length > 0) {
    body.push('<table class="summary">');
    for (const [k, v] of opts.summary) body.push(`<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`);
    body.push('</table>');
  }
  const inLabel = escapeHtml(opts.inputLabel ?? 'input');
  const outLabel = escapeHtml(opts.outputLabel ?? 'output');
  body.push('<table class="results">', `<tr><th>name</th><th>${inLabel}</th><th>${outLabel}</th></tr>`);
  for (const p of pairs) {
    body.push(`<tr><td>${escapeHtml(p.name)}</td><td>${img(p.input, `${p.name} ${opts.inputLabel ?? 'input'}`)}</td><td>${img(p.output, `${p.name} ${opts.outputLabel ?? 'output'}`)}</td></tr>`);
  }
  body.push('</table>');
  return page(title, body);
}
