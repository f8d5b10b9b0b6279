/**
 * The packages as a user gets them: `pnpm pack` each one, install the
 * tarballs into a fresh project outside the workspace (pnpm's isolated
 * node_modules, so an undeclared dependency fails here), then use them the
 * ways users do: a plain .mjs under Node, `tsc --strict` on a TypeScript
 * consumer, the CLI binary, and a browser bundle.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const fixtures = resolve(import.meta.dirname, 'consumer');
const PACKAGES = ['kernels', 'tensor', 'nn', 'cyclegan'] as const;
const work = mkdtempSync(join(tmpdir(), 'stripes-consumer-'));
const app = join(work, 'app');
const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };

// Small, fixed inputs for a conv + instance norm both sides run.
const values = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 0.37) * 0.5);
const CASE = { xShape: [1, 2, 5, 5], wShape: [3, 2, 3, 3], x: values(50, 1), w: values(54, 2), b: values(3, 3), c: values(75, 4) };

const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

beforeAll(() => {
  const packs = join(work, 'packs');
  mkdirSync(app, { recursive: true });
  const tarballs: Record<string, string> = {};
  for (const name of PACKAGES) {
    const dir = join(root, 'packages', name);
    if (!existsSync(join(dir, 'dist', 'index.js'))) throw new Error(`packages/${name}/dist is missing: run \`pnpm run build\` first (npm test does)`);
    execFileSync('pnpm', ['pack', '--pack-destination', packs], { cwd: dir, stdio: 'pipe' });
    const version = readJson(join(dir, 'package.json')).version as string;
    tarballs[`@stripes/${name}`] = `file:${join(packs, `stripes-${name}-${version}.tgz`)}`;
  }
  const typesNode = (readJson(join(root, 'package.json')).devDependencies as Record<string, string>)['@types/node'];
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'stripes-consumer',
      private: true,
      type: 'module',
      dependencies: tarballs,
      devDependencies: { '@types/node': typesNode },
      // The tarballs depend on each other by version; point those at the tarballs too.
      pnpm: { overrides: tarballs },
    }),
  );
  for (const f of readdirSync(fixtures)) copyFileSync(join(fixtures, f), join(app, f));
  writeFileSync(join(app, 'case.json'), JSON.stringify(CASE));
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', types: ['node'], noEmit: true },
      files: ['consumer.ts'],
    }),
  );
  // --ignore-workspace: this project is outside the workspace and must not inherit its settings.
  execFileSync('pnpm', ['install', '--prefer-offline', '--ignore-workspace', '--reporter=silent'], { cwd: app, stdio: 'pipe', env });
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packages installed from tarballs', () => {
  it('a plain .mjs runs a conv + instance norm forward and backward, with the numbers the workspace gets', () => {
    type Result = { loss: number; gx: number[]; gw: number[]; gb: number[]; roundTrip: boolean; generatorParameters: number };
    const parse = (out: string): Result => JSON.parse(out.trim().split('\n').at(-1)!) as Result;
    const caseFile = join(app, 'case.json');
    const installed = parse(execFileSync(process.execPath, ['run.mjs', caseFile], { cwd: app, encoding: 'utf8', env }));
    // The same script against the workspace's sources.
    const tsx = join(root, 'node_modules', '.bin', 'tsx');
    const workspace = parse(execFileSync(tsx, ['--conditions=@stripes/source', join(fixtures, 'run.mjs'), caseFile], { cwd: root, encoding: 'utf8', env }));
    expect(Number.isFinite(installed.loss)).toBe(true);
    expect(installed.loss).toBeCloseTo(workspace.loss, 6);
    for (const k of ['gx', 'gw', 'gb'] as const) {
      expect(installed[k].length).toBe(workspace[k].length);
      installed[k].forEach((v, i) => expect(Math.abs(v - workspace[k][i])).toBeLessThan(1e-6));
    }
    expect(installed.gw.some((v) => Math.abs(v) > 1e-4)).toBe(true);
    expect(installed.roundTrip).toBe(true);
    expect(installed.generatorParameters).toBe(workspace.generatorParameters);
  });

  it('a TypeScript consumer compiles under tsc --strict (NodeNext) with zero errors, declarations included', () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      output = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`;
    }
    expect(output).toBe('');
  });

  it('the CLI binary runs compiled JavaScript, without tsx installed', () => {
    const help = execFileSync(join(app, 'node_modules', '.bin', 'stripes-cyclegan'), ['train', '--help'], { cwd: app, encoding: 'utf8', env });
    expect(help).toMatch(/--dataroot/);
    expect(readdirSync(join(app, 'node_modules', '.pnpm')).filter((d) => d.startsWith('tsx@'))).toEqual([]);
  });

  it('bundles for the browser without Dawn or Node built-ins, and asks navigator.gpu for the device', async () => {
    const result = await build({
      entryPoints: [join(app, 'browser-entry.mjs')],
      absWorkingDir: app,
      bundle: true,
      platform: 'browser',
      format: 'iife',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((p) => /node_modules\/(\.pnpm\/)?webgpu[@/]|^node:/.test(p))).toEqual([]);
    expect(inputs.some((p) => p.includes('kernels/dist/host/browser.js'))).toBe(true);
    const code = result.outputFiles[0].text;
    expect(code).not.toMatch(/\bprocess\.(env|pid|platform)|\brequire\(/);

    // A context with no navigator: the error says what the page lacks.
    const context: Record<string, unknown> = { console, TextEncoder, TextDecoder };
    context.globalThis = context;
    runInNewContext(code, context);
    const { ready } = context.stripes as { ready: () => Promise<unknown> };
    await expect(ready()).rejects.toThrow(/No WebGPU adapter found \(host: navigator\.gpu\)[\s\S]*secure context/);
  });
});
