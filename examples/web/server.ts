/**
 * Builds the web page's bundles with esbuild, as a user's app would bundle
 * the packages (their dist builds, default export conditions, platform
 * 'browser': the kernels' `#gpu` import resolves to navigator.gpu, never to
 * Dawn), and serves them from a static server on 127.0.0.1, which browsers
 * treat as a secure context (WebGPU needs one). `npm run web` runs `main`;
 * the browser tests use `buildWeb` and `serveWeb`.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const WEB_DIR = dirname(fileURLToPath(import.meta.url));
/** Where `npm run web` writes the bundles (ignored by git). */
export const DEFAULT_OUT_DIR = join(WEB_DIR, 'dist');
/** The page, and the test harness the browser tests drive. */
const ENTRIES = { main: join(WEB_DIR, 'main.ts'), harness: join(WEB_DIR, 'harness.ts') };

export interface BundleSize {
  file: string;
  bytes: number;
  gzipBytes: number;
}

/** Bundles the page and the harness into `outDir`; returns the page bundle's size. */
export async function buildWeb(outDir: string): Promise<BundleSize> {
  await build({
    entryPoints: ENTRIES,
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  const file = join(outDir, 'main.js');
  const bytes = readFileSync(file);
  return { file, bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface WebServer {
  url: string;
  close: () => Promise<void>;
}

/**
 * Serves the page's static files (WEB_DIR) and the bundles (`outDir`) on
 * 127.0.0.1:`port` (0: any free port). Only files with a known type, and
 * none of the page's TypeScript sources.
 */
export async function serveWeb(outDir: string, port: number): Promise<WebServer> {
  const roots = [resolve(outDir), WEB_DIR];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    // normalize() of an absolute path drops any '..' that would climb above the roots.
    const rel = normalize(path === '/' ? '/index.html' : path).slice(1);
    const type = TYPES[extname(rel)];
    const file = type ? roots.map((r) => join(r, rel)).find((f) => existsSync(f) && statSync(f).isFile()) : undefined;
    if (req.method !== 'GET' || !type || !file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    // No caching: a rebuilt bundle shows on reload.
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () => {
      server.closeAllConnections();
      return new Promise((ok) => server.close(() => ok()));
    },
  };
}

const USAGE = `usage: node scripts/web.mjs [--port <n>]

Bundles examples/web and serves it on http://127.0.0.1:<port>/ (default 8000; 0 picks a free port).
Open the URL in a browser with WebGPU (Chrome/Edge 113+, Firefox 141+, Safari 26+).`;

/** `npm run web [-- --port <n>]`. */
export async function main(argv: readonly string[]): Promise<void> {
  let port = 8000;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      return;
    }
    const value = arg.startsWith('--port=') ? arg.slice('--port='.length) : arg === '--port' ? argv[++i] : undefined;
    if (value === undefined || !/^\d+$/.test(value) || Number(value) > 65535) {
      console.error(`web: ${arg.startsWith('--port') ? `--port needs a number from 0 to 65535, got '${value ?? ''}'` : `unknown argument '${arg}'`}\n\n${USAGE}`);
      process.exit(2);
    }
    port = Number(value);
  }
  const size = await buildWeb(DEFAULT_OUT_DIR);
  console.log(`built ${size.file}: ${(size.bytes / 1024).toFixed(0)} KiB (${(size.gzipBytes / 1024).toFixed(0)} KiB gzipped)`);
  const server = await serveWeb(DEFAULT_OUT_DIR, port).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EADDRINUSE') throw e;
    console.error(`web: port ${port} is in use; choose another with --port <n> (0 picks a free one)`);
    process.exit(1);
  });
  console.log(`serving the stripes web page at ${server.url} (Ctrl-C stops)`);
}
