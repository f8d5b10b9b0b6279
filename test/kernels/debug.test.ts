// The debug switches: printing each pipeline's WGSL as it is compiled, and a
// forced conv tile configuration; as runtime options and, on Node, as
// environment variables.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  conv2dForward, CONV_TILE_CONFIGS, convOutSize, debugOptionsFromEnv, defaultConvTiles, defineKernel, init, namedConvTiles, rt,
  type ConvGeometry, type DebugOptions,
} from '@stripes/kernels';

const root = resolve(import.meta.dirname, '../..');

/** Runs `fn` with the runtime's debug switches set to `options`, then restores them. */
async function withDebug<T>(options: DebugOptions, fn: () => Promise<T>): Promise<T> {
  const saved = rt().debug;
  rt().debug = options;
  try {
    return await fn();
  } finally {
    rt().debug = saved;
  }
}

const tinyKernel = (name: string) =>
  defineKernel({
    name,
    params: { n: 'u32', scale: 'f32' },
    bindings: { out: 'read_write' },
    source: () => /* wgsl */ `
@compute @workgroup_size(1)
fn main() { out[0] = f32(p.n) * p.scale; }`,
  });

describe('printWgsl', () => {
  it('prints the complete WGSL of the selected kernels once, when each pipeline is compiled', async () => {
    const printed: string[] = [];
    const chosen = tinyKernel('debugPrinted');
    const other = tinyKernel('debugNotPrinted');
    await withDebug({ printWgsl: ['debugPrinted'], print: (text) => printed.push(text) }, async () => {
      await rt().compile(chosen, {});
      await rt().compile(other, {});
      await rt().compile(chosen, {}); // cached: not compiled, not printed again
    });
    expect(printed).toEqual([`// ---- WGSL of kernel debugPrinted:{}\n${chosen.wgsl({})}`]);
    expect(printed[0]).toContain('struct Params { n: u32, scale: f32 }');
    expect(printed[0]).toContain('@group(0) @binding(1) var<storage, read_write> out: array<f32>;');
  });

  it('true prints every kernel', async () => {
    const printed: string[] = [];
    await withDebug({ printWgsl: true, print: (text) => printed.push(text) }, async () => {
      await rt().compile(tinyKernel('debugAllA'), {});
      await rt().compile(tinyKernel('debugAllB'), {});
    });
    expect(printed.map((text) => text.split('\n')[0])).toEqual(['// ---- WGSL of kernel debugAllA:{}', '// ---- WGSL of kernel debugAllB:{}']);
  });
});

describe('convTiles', () => {
  const g: ConvGeometry = { N: 1, C: 6, H: 9, W: 10, K: 7, kH: 3, kW: 3, sH: 1, sW: 1, pH: 1, pW: 1, Ho: convOutSize(9, 3, 1, 1), Wo: convOutSize(10, 3, 1, 1) };

  it('forces the named configuration on conv dispatches that are not given one', async () => {
    const r = rt();
    const x = r.alloc(g.N * g.C * g.H * g.W * 4);
    const w = r.alloc(g.K * g.C * g.kH * g.kW * 4);
    r.write(x, Float32Array.from({ length: g.N * g.C * g.H * g.W }, (_, i) => Math.sin(i)));
    r.write(w, Float32Array.from({ length: g.K * g.C * g.kH * g.kW }, (_, i) => Math.cos(i)));
    const ny = g.N * g.K * g.Ho * g.Wo;
    const [forced, given] = [r.alloc(ny * 4), r.alloc(ny * 4)];
    const printed: string[] = [];
    await withDebug({ convTiles: 'gpu', printWgsl: ['conv2dForward'], print: (text) => printed.push(text) }, async () => {
      expect(defaultConvTiles(r)).toEqual(CONV_TILE_CONFIGS.gpu);
      conv2dForward(r, x, w, null, forced, g);
      await r.settle();
    });
    conv2dForward(r, x, w, null, given, g, namedConvTiles('gpu'));
    // The pipeline it compiled is the 'gpu' one (64 invocations per workgroup), and it computes what passing those tiles does.
    expect(printed.length).toBe(1);
    expect(printed[0]).toMatch(/^\/\/ ---- WGSL of kernel conv2dForward:\{"wg":64,.*"minGroups":1024\}\n/);
    expect(new Float32Array(await r.read(forced, 0, ny * 4))).toEqual(new Float32Array(await r.read(given, 0, ny * 4)));
    for (const b of [x, w, forced, given]) r.release(b);
  });

  it('an unknown name is an error listing the valid ones; init({ debug }) on a later call updates the switches', async () => {
    expect(() => (rt().debug = { convTiles: 'huge' as never })).toThrow(/debug.convTiles: unknown conv tile configuration 'huge'; valid names: cpu, gpu/);
    expect(() => namedConvTiles('huge')).toThrow(/valid names: cpu, gpu/);
    const saved = rt().debug;
    try {
      expect((await init({ debug: { convTiles: 'cpu' } })).debug.convTiles).toBe('cpu');
      expect(defaultConvTiles(rt())).toEqual(CONV_TILE_CONFIGS.cpu);
    } finally {
      rt().debug = saved;
    }
  });
});

describe('environment variables (Node host)', () => {
  it('STRIPES_PRINT_WGSL and STRIPES_CONV_TILES parse to the options', () => {
    expect(debugOptionsFromEnv({})).toEqual({});
    expect(debugOptionsFromEnv({ STRIPES_PRINT_WGSL: '', STRIPES_CONV_TILES: ' ' })).toEqual({});
    expect(debugOptionsFromEnv({ STRIPES_PRINT_WGSL: 'all' })).toEqual({ printWgsl: true });
    expect(debugOptionsFromEnv({ STRIPES_PRINT_WGSL: ' conv2dForward, unary,' })).toEqual({ printWgsl: ['conv2dForward', 'unary'] });
    expect(debugOptionsFromEnv({ STRIPES_CONV_TILES: 'gpu' })).toEqual({ convTiles: 'gpu' });
    expect(() => debugOptionsFromEnv({ STRIPES_CONV_TILES: 'bogus' })).toThrow(/STRIPES_CONV_TILES: unknown conv tile configuration 'bogus'; valid names: cpu, gpu/);
  });

  const runFixture = (env: Record<string, string>) => {
    const run = spawnSync(resolve(root, 'node_modules/.bin/tsx'), ['--conditions=@stripes/source', resolve(import.meta.dirname, 'fixtures/debug-env.ts')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', ...env },
    });
    expect(run.status, run.stderr).toBe(0);
    return { result: JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>, stderr: run.stderr };
  };

  it('a process started with them prints the selected kernels\' WGSL to stderr and uses the forced tiles', () => {
    const { result, stderr } = runFixture({ STRIPES_PRINT_WGSL: 'unary', STRIPES_CONV_TILES: 'gpu' });
    expect(result).toEqual({ debug: { printWgsl: ['unary'], convTiles: 'gpu' }, values: new Array(16).fill(-2), forcedTiles: true });
    expect(stderr).toContain('// ---- WGSL of kernel unary:{"op":"neg"}\nstruct Params { n: u32, a: f32, b: f32 }\n');
    expect(stderr).not.toContain('WGSL of kernel fill');
  });

  it('an unknown STRIPES_CONV_TILES makes init() reject, listing the valid names', () => {
    const { result } = runFixture({ STRIPES_CONV_TILES: 'bogus' });
    expect(result.error).toMatch(/STRIPES_CONV_TILES: unknown conv tile configuration 'bogus'; valid names: cpu, gpu/);
  });
});
