// The device runtime: size classes, the buffer pool, WGSL compile errors,
// command batching across the parameter ring, readback of sub-ranges, and the
// 2D workgroup grid, and the kernel profiler.
import { describe, expect, it } from 'vitest';
import {
  binary,
  defineKernel,
  fill,
  grid1d,
  gridFor,
  KernelProfiler,
  MAX_WORKGROUPS_PER_DIM,
  rt,
  sizeClass,
  unary,
  type DeviceBuffer,
  type MemoryStats,
} from '@stripes/kernels';
import { ready } from '@stripes/tensor';

const f32 = (ab: ArrayBuffer): Float32Array => new Float32Array(ab);

async function readAll(buf: DeviceBuffer, n: number): Promise<Float32Array> {
  return f32(await rt().read(buf, 0, n * 4));
}

describe('adapter', () => {
  it('has a name, and ready() reports the same info', async () => {
    const info = rt().info;
    expect(typeof info.name).toBe('string');
    expect(info.name.length).toBeGreaterThan(0);
    expect(info.name).not.toBe('unknown adapter');
    expect((await ready()).name).toBe(info.name);
  });
});

describe('sizeClass', () => {
  const samples: number[] = [];
  for (let b = 0; b <= 4096; b++) samples.push(b);
  for (let b = 4096; b < 1 << 28; b = Math.ceil(b * 1.013) + 1) samples.push(b);

  it('covers the request, is 16-byte aligned, at least 16 bytes, idempotent and monotone', () => {
    let prev = 0;
    for (const b of samples) {
      const c = sizeClass(b);
      expect(c, `sizeClass(${b})`).toBeGreaterThanOrEqual(b);
      expect(c, `sizeClass(${b})`).toBeGreaterThanOrEqual(16);
      expect(c % 16, `sizeClass(${b}) alignment`).toBe(0);
      expect(sizeClass(c), `sizeClass(sizeClass(${b}))`).toBe(c);
      expect(c, `sizeClass(${b}) monotone`).toBeGreaterThanOrEqual(prev);
      prev = c;
    }
  });

  it('wastes under 25% above 256 bytes and has at most 4 classes per octave', () => {
    for (const b of samples) {
      if (b <= 256) continue;
      expect(sizeClass(b) - b, `waste of sizeClass(${b}) = ${sizeClass(b)}`).toBeLessThan(b / 4);
    }
    for (let p = 256; p < 1 << 26; p *= 2) {
      const classes = new Set<number>();
      for (let b = p + 1; b <= 2 * p; b += Math.max(1, p / 512)) classes.add(sizeClass(b));
      classes.add(sizeClass(2 * p));
      expect(classes.size, `classes in (${p}, ${2 * p}]`).toBeLessThanOrEqual(4);
      expect(sizeClass(p), 'powers of two are classes').toBe(p);
    }
    expect(sizeClass(1)).toBe(16);
    expect(sizeClass(17)).toBe(32);
    expect(sizeClass(257)).toBe(320);
    expect(sizeClass(1000)).toBe(1024);
  });
});

describe('buffer pool', () => {
  // The counts without the high-water mark, which the next test checks.
  const counts = (): Omit<MemoryStats, 'peakBytes'> => {
    const { peakBytes: _, ...rest } = rt().memory();
    return rest;
  };

  it('reuses a released buffer of the same size class', () => {
    const r = rt();
    r.trimPool();
    const m0 = counts();
    expect(m0.pooledBuffers).toBe(0);
    expect(m0.pooledBytes).toBe(0);

    const a = r.alloc(1000);
    expect(a.size).toBe(sizeClass(1000));
    expect(a.bytes).toBe(1000);
    expect(r.memory().liveBuffers).toBe(m0.liveBuffers + 1);
    expect(r.memory().liveBytes).toBe(m0.liveBytes + a.size);

    r.release(a);
    expect(counts()).toEqual({ ...m0, pooledBuffers: 1, pooledBytes: a.size });

    // 990 bytes falls in the same class as 1000: the pooled buffer comes back.
    expect(sizeClass(990)).toBe(sizeClass(1000));
    const b = r.alloc(990);
    expect(b.buffer).toBe(a.buffer);
    expect(counts()).toEqual({ ...m0, liveBuffers: m0.liveBuffers + 1, liveBytes: m0.liveBytes + a.size });

    // A larger class gets a new buffer; the pooled one stays pooled.
    r.release(b);
    const c = r.alloc(5000);
    expect(c.buffer).not.toBe(a.buffer);
    expect(r.memory().pooledBuffers).toBe(1);
    r.release(c);
    expect(r.memory().pooledBuffers).toBe(2);
    r.trimPool();
    expect(counts()).toEqual(m0);
  });

  it('serves a request from a free buffer of a larger class up to twice its size, and keeps the high-water mark of what it holds', () => {
    const r = rt();
    r.trimPool();
    r.resetPeakMemory();
    const m0 = r.memory();
    expect(m0.peakBytes).toBe(m0.liveBytes + m0.cachedBytes);
    const big = r.alloc(6000);
    expect(r.memory().peakBytes).toBe(m0.peakBytes + big.size);
    r.release(big);
    // 3500 bytes: no free buffer of its class, but 6000's is within twice it. Nothing new is held.
    const mid = r.alloc(3500);
    expect(mid.buffer).toBe(big.buffer);
    expect(mid.size).toBe(big.size);
    expect(mid.bytes).toBe(3500);
    expect(r.memory().peakBytes).toBe(m0.peakBytes + big.size);
    r.release(mid);
    expect(r.memory().pooledBytes).toBe(big.size);
    // 2000 bytes: 6000's class is more than twice its own, so a new buffer.
    const small = r.alloc(2000);
    expect(small.buffer).not.toBe(big.buffer);
    expect(r.memory().peakBytes).toBe(m0.peakBytes + big.size + small.size);
    r.release(small);
    r.trimPool();
    expect(r.memory().peakBytes).toBe(m0.peakBytes + big.size + small.size);
    r.resetPeakMemory();
    expect(r.memory().peakBytes).toBe(m0.peakBytes);
  });

  it('reuses a buffer released mid-batch at once, and a write to it waits for the encoded work that reads it', async () => {
    const r = rt();
    r.flush();
    const a = r.alloc(64);
    const b = r.alloc(64);
    fill(r, a, 16, 3); // opens a batch that uses `a`
    r.copy(a, 0, b, 0, 64); // b <- a (3s), not yet submitted
    r.release(a);
    const again = r.alloc(64);
    expect(again.buffer).toBe(a.buffer); // pooled immediately, no new allocation
    // queue.writeBuffer would run before the unsubmitted copy; the runtime submits first.
    r.write(again, new Float32Array(16).fill(7));
    expect([...new Float32Array(await r.read(b, 0, 64))]).toEqual(new Array(16).fill(3));
    expect([...new Float32Array(await r.read(again, 0, 64))]).toEqual(new Array(16).fill(7));
    r.release(again);
    r.release(b);
  });
});

describe('compile errors', () => {
  it('reject naming the kernel and the compiler message, and leave the runtime usable', async () => {
    const bad = defineKernel({
      name: 'deliberatelyBrokenKernel',
      params: { n: 'u32' },
      bindings: { out: 'read_write' },
      source: (_: { variant?: number }) => /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  out[id.x] = undefinedIdentifier + 1.0;
}`,
    });
    await expect(rt().compile(bad, {})).rejects.toThrow(/deliberatelyBrokenKernel/);
    await expect(rt().compile(bad, { variant: 2 })).rejects.toThrow(/undefinedIdentifier|unresolved/);

    const b = rt().alloc(16);
    fill(rt(), b, 4, 2.5);
    expect([...(await readAll(b, 4))]).toEqual([2.5, 2.5, 2.5, 2.5]);
    rt().release(b);
  });

  it('a valid kernel compiles', async () => {
    const ok = defineKernel({
      name: 'validKernel',
      params: { n: 'u32' },
      bindings: { out: 'read_write' },
      source: () => /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x < p.n) { out[id.x] = f32(id.x); }
}`,
    });
    await expect(rt().compile(ok, {})).resolves.toBeUndefined();
    const b = rt().alloc(40);
    rt().dispatch(ok, {}, { out: b }, { n: 10 }, [1, 1, 1]);
    expect([...(await readAll(b, 10))]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    rt().release(b);
  });

  it('dispatch without a declared buffer names the kernel and the binding', () => {
    const b = rt().alloc(16);
    const twoBuffers = defineKernel({ name: 'twoBuffers', params: { n: 'u32' }, bindings: { x: 'read', y: 'read_write' }, source: () => '' });
    // @ts-expect-error -- y is missing; JavaScript callers get the runtime error.
    expect(() => rt().dispatch(twoBuffers, {}, { x: b }, { n: 1 }, [1, 1, 1])).toThrow(/kernel twoBuffers: no buffer for binding y/);
    rt().release(b);
  });
});

describe('batching', () => {
  it('chains more than 512 dependent dispatches before a single read', async () => {
    const r = rt();
    const n = 1000;
    const x = Float32Array.from({ length: n }, (_, i) => i * 0.5);
    let a = r.alloc(n * 4);
    let b = r.alloc(n * 4);
    r.write(a, x);
    const steps = 1201; // crosses the 512-dispatch ring boundary twice
    for (let s = 0; s < steps; s++) {
      // y = x * 1 + 1, ping-ponging between two buffers
      unary(r, 'affine', a, b, n, 1, 1);
      [a, b] = [b, a];
    }
    const got = await readAll(a, n);
    expect(got[0]).toBe(steps);
    for (let i = 0; i < n; i++) if (got[i] !== x[i] + steps) expect(got[i], `element ${i}`).toBe(x[i] + steps);
    r.release(a);
    r.release(b);
  });

  it('gives each of 700 independent dispatches its own parameters', async () => {
    const r = rt();
    const count = 700;
    const bufs = Array.from({ length: count }, () => r.alloc(16));
    bufs.forEach((buf, i) => fill(r, buf, 4, i + 0.25));
    const all = r.alloc(count * 16);
    bufs.forEach((buf, i) => r.copy(buf, 0, all, i * 16, 16));
    const got = await readAll(all, count * 4);
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < 4; j++) if (got[i * 4 + j] !== i + 0.25) expect(got[i * 4 + j], `buffer ${i}[${j}]`).toBe(i + 0.25);
    }
    bufs.forEach((buf) => r.release(buf));
    r.release(all);
  });

  it('submits at maxDispatchesPerBatch and stays correct', async () => {
    const r = rt();
    const saved = r.maxDispatchesPerBatch;
    try {
      r.maxDispatchesPerBatch = 7;
      let a = r.alloc(64);
      let b = r.alloc(64);
      r.write(a, new Float32Array(16).fill(1));
      for (let s = 0; s < 50; s++) {
        unary(r, 'affine', a, b, 16, 2, 0); // doubles
        [a, b] = [b, a];
        if (s === 9) r.release(r.alloc(64)); // a release mid-run must not hand out a busy buffer
      }
      const got = await readAll(a, 16);
      expect([...got]).toEqual(new Array(16).fill(2 ** 50));
      r.release(a);
      r.release(b);
    } finally {
      r.maxDispatchesPerBatch = saved;
    }
  });

  it('throttle(depth) returns only when the work of `depth` calls ago is finished, and rejects a bad depth', async () => {
    const r = rt();
    const n = 1 << 16;
    let a = r.alloc(n * 4);
    let b = r.alloc(n * 4);
    r.write(a, new Float32Array(n));
    const done: boolean[] = [];
    for (const depth of [1, 2, 3]) {
      for (let step = 0; step < 6; step++) {
        for (let s = 0; s < 40; s++) {
          unary(r, 'affine', a, b, n, 1, 1);
          [a, b] = [b, a];
        }
        r.flush();
        const k = done.push(false) - 1;
        void r.device.queue.onSubmittedWorkDone().then(() => (done[k] = true));
        await r.throttle(depth);
        // This call's work and that of depth - 1 calls before it may still run; older work is done.
        if (k - depth >= 0) expect(done[k - depth], `depth ${depth}, step ${step}`).toBe(true);
      }
      await r.settle();
    }
    expect((await readAll(a, n))[n - 1]).toBe(3 * 6 * 40);
    r.release(a);
    r.release(b);
    await expect(r.throttle(0)).rejects.toThrow(/throttle: depth must be a positive integer, got 0/);
  });

  it('orders copies and clears with the dispatches around them', async () => {
    const r = rt();
    const a = r.alloc(64);
    const b = r.alloc(64);
    fill(r, a, 16, 5);
    r.copy(a, 0, b, 0, 64); // sees the fill
    r.clear(b, 16, 32); // elements 4..11
    unary(r, 'affine', b, a, 16, 1, 1); // a = b + 1
    const got = await readAll(a, 16);
    expect([...got]).toEqual([6, 6, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1, 6, 6, 6, 6]);
    r.release(a);
    r.release(b);
  });
});

describe('readback', () => {
  it('reads a sub-range and writes at a byte offset', async () => {
    const r = rt();
    const buf = r.alloc(64 * 4);
    r.write(buf, Float32Array.from({ length: 64 }, (_, i) => i));
    expect([...f32(await r.read(buf, 16 * 4, 8 * 4))]).toEqual([16, 17, 18, 19, 20, 21, 22, 23]);
    expect([...f32(await r.read(buf, 63 * 4, 4))]).toEqual([63]);
    r.write(buf, Float32Array.of(-1, -2), 10 * 4);
    expect([...f32(await r.read(buf, 9 * 4, 4 * 4))]).toEqual([9, -1, -2, 12]);
    // A byte count that is not a multiple of 4 comes back with exactly that length.
    const partial = await r.read(buf, 0, 6);
    expect(partial.byteLength).toBe(6);
    r.release(buf);
  });
});

describe('workgroup grid', () => {
  it('lays more than 65535 workgroups over x and y', () => {
    expect(MAX_WORKGROUPS_PER_DIM).toBe(65535);
    expect(grid1d(0)).toEqual([1, 1, 1]);
    expect(grid1d(65535)).toEqual([65535, 1, 1]);
    expect(grid1d(65536)).toEqual([65535, 2, 1]);
    expect(gridFor(65535 * 256 + 1, 256)).toEqual([65535, 2, 1]);
    expect(gridFor(1000, 256)).toEqual([4, 1, 1]);
    expect(() => grid1d(65535 * 65535 + 1)).toThrow(/exceeds the device grid/);
  });

  it('an elementwise kernel over more than 65535 * 256 elements reaches every element', async () => {
    const r = rt();
    const n = 65535 * 256 + 777;
    expect(gridFor(n, 256)[1]).toBe(2);
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = i % 1021;
    const a = r.alloc(n * 4);
    const b = r.alloc(n * 4);
    r.write(a, x);
    unary(r, 'affine', a, b, n, 2, 1);
    // Read around the x/y boundary of the grid and the tail.
    for (const start of [0, 65535 * 256 - 300, n - 1000]) {
      const got = f32(await r.read(b, start * 4, 1000 * 4));
      for (let i = 0; i < 1000; i++) {
        const e = 2 * x[start + i] + 1;
        if (got[i] !== e) expect(got[i], `element ${start + i}`).toBe(e);
      }
    }
    r.release(a);
    r.release(b);
  });
});

describe('derived buffers', () => {
  it('are rebuilt only after their source is written, and freed with it', async () => {
    const r = rt();
    const src = r.alloc(64);
    r.write(src, new Float32Array(16).fill(1));
    let builds = 0;
    const double = () =>
      r.derived(src, 'test: doubled', 64, (dst) => {
        builds++;
        binary(r, 'add', src, [16], src, [16], dst, [16]);
      });
    const first = double();
    expect(double()).toBe(first);
    expect(builds).toBe(1);
    expect(r.memory().cachedBuffers).toBeGreaterThanOrEqual(1);
    expect([...new Float32Array(await r.read(first, 0, 64))]).toEqual(new Array(16).fill(2));

    r.write(src, new Float32Array(16).fill(5)); // an upload
    expect([...new Float32Array(await r.read(double(), 0, 64))]).toEqual(new Array(16).fill(10));
    fill(r, src, 16, 3); // a dispatch that writes src
    expect([...new Float32Array(await r.read(double(), 0, 64))]).toEqual(new Array(16).fill(6));
    expect(builds).toBe(3);

    const cached = r.memory().cachedBuffers;
    r.release(src);
    expect(r.memory().cachedBuffers).toBe(cached - 1);
  });
});

describe('profiler', () => {
  it('counts dispatches per kernel name with non-negative GPU times, or is null without timestamp queries', async () => {
    const r = rt();
    const n = 1024;
    const [a, b] = [r.alloc(n * 4), r.alloc(n * 4)];
    const profiler = r.startProfiling();
    if (!profiler) {
      expect(r.device.features.has('timestamp-query')).toBe(false);
      expect(await r.stopProfiling()).toEqual(new Map());
    } else {
      expect(profiler).toBeInstanceOf(KernelProfiler);
      fill(r, a, n, 2);
      fill(r, b, n, 3);
      unary(r, 'neg', a, b, n);
      const results = await r.stopProfiling();
      expect([...results.keys()].sort()).toEqual(['fill', 'unary']);
      expect(results.get('fill')!.count).toBe(2);
      expect(results.get('unary')!.count).toBe(1);
      for (const { ms } of results.values()) {
        expect(typeof ms).toBe('number');
        expect(ms).toBeGreaterThanOrEqual(0);
      }
      expect(await readAll(b, n)).toEqual(new Float32Array(n).fill(-2));
      // Stopped: later dispatches are not timed, and stopping again gives nothing.
      fill(r, a, n, 1);
      expect(await r.stopProfiling()).toEqual(new Map());
    }
    r.release(a);
    r.release(b);
  });
});
