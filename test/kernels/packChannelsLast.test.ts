// packChannelsLast: the convolutions' channels-last operand (plain and reflection-padded), exact against an index-by-index copy.
import { describe, expect, it, vi } from 'vitest';
import {
  conv2dForward, conv2dInputGrad, fill, packChannelsLast, packChannelsLastCached, packChannelsLastPair, packOperandsPerDispatch, repackStaleChannelsLast, rt, type ConvGeometry, type PackOperand,
} from '@stripes/kernels';
import { Rng } from '@stripes/tensor';

describe('packChannelsLast', () => {
  it.each([
    [1, 3, 5, 4],
    [2, 3, 7, 8],
    [3, 8, 4, 8],
    [2, 17, 33, 32],
  ])('[A %i, B %i, D %i] -> [A, D, bPad %i]: values moved exactly, padding channels zero', async (A, B, D, bPad) => {
    const rng = new Rng(A * 100 + B);
    const src = Float32Array.from({ length: A * B * D }, () => rng.normal());
    const buf = rt().alloc(src.byteLength);
    rt().write(buf, src);
    // A used buffer from the pool: the padding must be written, not assumed zero.
    const stale = rt().alloc(A * D * bPad * 4);
    rt().write(stale, new Float32Array(A * D * bPad).fill(7));
    rt().release(stale);
    const out = packChannelsLast(rt(), buf, A, B, D, bPad, false);
    const got = new Float32Array(await rt().read(out, 0, A * D * bPad * 4));
    const want = new Float32Array(A * D * bPad);
    for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) want[(a * D + d) * bPad + b] = src[(a * B + b) * D + d];
    expect(got).toEqual(want);
    rt().release(out);
    rt().release(buf);
  });

  it.each([
    [2, 3, 3, 5, 1, 1],
    [1, 5, 4, 4, 3, 2],
    [1, 9, 2, 7, 1, 3],
  ])('[A %i, B %i, %ix%i planes] reflection-padded by [%i, %i]: each padded position holds its mirrored source', async (A, B, h, w, pH, pW) => {
    const rng = new Rng(A * 100 + B);
    const src = Float32Array.from({ length: A * B * h * w }, () => rng.normal());
    const buf = rt().alloc(src.byteLength);
    rt().write(buf, src);
    const bPad = Math.ceil(B / 4) * 4;
    const Hp = h + 2 * pH;
    const Wp = w + 2 * pW;
    const out = packChannelsLast(rt(), buf, A, B, h * w, bPad, false, { h, w, pH, pW });
    const got = new Float32Array(await rt().read(out, 0, A * Hp * Wp * bPad * 4));
    const mirror = (i: number, n: number): number => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
    const want = new Float32Array(A * Hp * Wp * bPad);
    for (let a = 0; a < A; a++) {
      for (let b = 0; b < B; b++) {
        for (let y = 0; y < Hp; y++) {
          for (let x = 0; x < Wp; x++) want[((a * Hp + y) * Wp + x) * bPad + b] = src[((a * B + b) * h + mirror(y - pH, h)) * w + mirror(x - pW, w)];
        }
      }
    }
    expect(got).toEqual(want);
    rt().release(out);
    rt().release(buf);
  });

  it.each([
    ['plain and plain', { A: 2, B: 5, D: 9, bPad: 8 }, { A: 2, B: 3, D: 4, bPad: 4 }],
    ['reflection-padded and plain', { A: 1, B: 6, D: 20, bPad: 8, reflectPadding: { h: 4, w: 5, pH: 1, pW: 2 } }, { A: 1, B: 17, D: 12, bPad: 32 }],
  ])('a pair (%s) packed in one dispatch equals each packed alone', async (_, first, second) => {
    const rng = new Rng(first.B);
    const upload = ({ A, B, D }: Omit<PackOperand, 'src'>) => {
      const buf = rt().alloc(A * B * D * 4);
      rt().write(buf, Float32Array.from({ length: A * B * D }, () => rng.normal()));
      return buf;
    };
    const a: PackOperand = { ...first, src: upload(first) };
    const b: PackOperand = { ...second, src: upload(second) };
    const read = async (buf: ReturnType<typeof upload>) => new Float32Array(await rt().read(buf, 0, buf.bytes));
    const pair = packChannelsLastPair(rt(), a, b);
    const alone = [a, b].map((o) => packChannelsLast(rt(), o.src, o.A, o.B, o.D, o.bPad, false, o.reflectPadding));
    for (let i = 0; i < 2; i++) expect(await read(pair[i])).toEqual(await read(alone[i]));
    for (const buf of [...pair, ...alone, a.src, b.src]) rt().release(buf);
  });

  it('cached layouts of one source: the missing ones packed in one dispatch, kept until the source is written', async () => {
    const [A, B, D] = [3, 5, 6];
    const rng = new Rng(9);
    const src = rt().alloc(A * B * D * 4);
    rt().write(src, Float32Array.from({ length: A * B * D }, () => rng.normal()));
    // The fourth is reflection-padded, which only a dispatch's first operand can be: it starts a second dispatch.
    const layouts = [{ A, B, D, bPad: 8 }, { A: 1, B: A, D: B * D, bPad: 4 }, { A, B, D, bPad: 12 }, { A, B, D, bPad: 8, reflectPadding: { h: 2, w: 3, pH: 1, pW: 2 } }];
    const names = () => dispatch.mock.calls.map(([kernel]) => kernel.name);
    const dispatch = vi.spyOn(rt(), 'dispatch');
    const packed = packChannelsLastCached(rt(), src, layouts);
    expect(names()).toEqual(['packChannelsLast', 'packChannelsLast']);
    for (const [i, l] of layouts.entries()) {
      const alone = packChannelsLast(rt(), src, l.A, l.B, l.D, l.bPad, false, l.reflectPadding);
      expect(new Float32Array(await rt().read(packed[i], 0, packed[i].bytes))).toEqual(new Float32Array(await rt().read(alone, 0, alone.bytes)));
      rt().release(alone);
    }
    dispatch.mockClear();
    expect(packChannelsLastCached(rt(), src, layouts.slice(1))).toEqual(packed.slice(1));
    expect(packChannelsLast(rt(), src, A, B, D, 8, true)).toBe(packed[0]);
    expect(names()).toEqual([]);
    fill(rt(), src, A * B * D, 1);
    packChannelsLastCached(rt(), src, layouts.slice(0, 2));
    expect(names()).toEqual(['fill', 'packChannelsLast']);
    dispatch.mockRestore();
    rt().release(src);
  });

  it('a conv forward told a backward follows packs the input gradient\'s weight layout too: the input gradient packs nothing', () => {
    const g: ConvGeometry = { N: 1, C: 6, H: 8, W: 8, K: 10, Ho: 8, Wo: 8, kH: 3, kW: 3, sH: 1, sW: 1, pH: 1, pW: 1 };
    const [x, w, y] = [g.C * 64, g.K * g.C * 9, g.K * 64].map((n) => rt().alloc(n * 4));
    const dispatch = vi.spyOn(rt(), 'dispatch');
    conv2dForward(rt(), x, w, null, y, g, undefined, 'zeros', { packInputGradWeights: true });
    conv2dInputGrad(rt(), y, w, null, x, g);
    expect(dispatch.mock.calls.map(([kernel]) => kernel.name)).toEqual(['packChannelsLast', 'conv2dForward', 'conv2dInputGrad']);
    dispatch.mockRestore();
    for (const b of [x, w, y]) rt().release(b);
  });

  it('stale cached packings of many sources are repacked a dispatch per packOperandsPerDispatch, fresh ones and other sources left alone', async () => {
    const most = packOperandsPerDispatch(rt());
    expect(most).toBeGreaterThanOrEqual(1);
    const rng = new Rng(5);
    const layoutsOf = (k: number) => [{ A: 1, B: 4 + k, D: 6, bPad: Math.ceil((4 + k) / 4) * 4 }, { A: 4 + k, B: 3, D: 2, bPad: 4 }];
    const sources = Array.from({ length: most + 2 }, (_, k) => {
      const src = rt().alloc((4 + k) * 6 * 4);
      rt().write(src, Float32Array.from({ length: (4 + k) * 6 }, () => rng.normal()));
      return src;
    });
    const packed = sources.map((src, k) => packChannelsLastCached(rt(), src, layoutsOf(k)));
    // All but the last source are written again (an optimizer's step); the last one's packings stay fresh.
    for (const src of sources.slice(0, -1)) fill(rt(), src, src.bytes / 4, 0.5);
    const dispatch = vi.spyOn(rt(), 'dispatch');
    repackStaleChannelsLast(rt(), sources);
    const stale = 2 * (sources.length - 1);
    expect(dispatch.mock.calls.map(([kernel]) => kernel.name)).toEqual(Array(Math.ceil(stale / most)).fill('packChannelsLast'));
    dispatch.mockClear();
    const again = sources.map((src, k) => packChannelsLastCached(rt(), src, layoutsOf(k)));
    expect(dispatch).not.toHaveBeenCalled();
    dispatch.mockRestore();
    expect(again).toEqual(packed);
    for (const [k, src] of sources.entries()) {
      for (const [i, l] of layoutsOf(k).entries()) {
        const alone = packChannelsLast(rt(), src, l.A, l.B, l.D, l.bPad, false);
        expect(new Float32Array(await rt().read(again[k][i], 0, alone.bytes))).toEqual(new Float32Array(await rt().read(alone, 0, alone.bytes)));
        rt().release(alone);
      }
    }
    // Only what was asked for since its last build is repacked: a layout no one uses is not rebuilt step after step.
    const writeAll = () => {
      for (const src of sources) fill(rt(), src, src.bytes / 4, 0.25);
    };
    const repacks = () => {
      const spy = vi.spyOn(rt(), 'dispatch');
      repackStaleChannelsLast(rt(), sources);
      const n = spy.mock.calls.length;
      spy.mockRestore();
      return n;
    };
    writeAll();
    expect(repacks(), 'all were asked for').toBe(Math.ceil((2 * sources.length) / most));
    writeAll();
    expect(repacks(), 'none was asked for since').toBe(0);
    packChannelsLastCached(rt(), sources[0], layoutsOf(0).slice(0, 1));
    writeAll();
    expect(repacks(), 'one was asked for since').toBe(1);
    for (const src of sources) rt().release(src);
  });

  it('a pair reflection-pads only its first operand', () => {
    const buf = rt().alloc(64);
    const plain = { src: buf, A: 1, B: 1, D: 4, bPad: 4 };
    expect(() => packChannelsLastPair(rt(), plain, { ...plain, reflectPadding: { h: 2, w: 2, pH: 1, pW: 1 } })).toThrow(
      /^packChannelsLastPair: only the first operand can be reflection-padded$/,
    );
    rt().release(buf);
  });

  it('refuses a padded width that is not whole vec4s or narrower than B', () => {
    const buf = rt().alloc(64);
    expect(() => packChannelsLast(rt(), buf, 1, 3, 4, 6, false)).toThrow(/^packChannelsLast: bPad 6 must be a multiple of 4 and at least B = 3$/);
    expect(() => packChannelsLast(rt(), buf, 1, 5, 2, 4, false)).toThrow(/^packChannelsLast: bPad 4 must be a multiple of 4 and at least B = 5$/);
    rt().release(buf);
  });

  it('refuses reflection padding as large as the plane, or a plane that is not D', () => {
    const buf = rt().alloc(64);
    expect(() => packChannelsLast(rt(), buf, 1, 1, 6, 4, false, { h: 2, w: 3, pH: 2, pW: 0 })).toThrow(/^packChannelsLast: reflection padding \[2, 0\] of 2x3 planes/);
    expect(() => packChannelsLast(rt(), buf, 1, 1, 5, 4, false, { h: 2, w: 3, pH: 1, pW: 1 })).toThrow(/needs D = h w \(got 5\)/);
    rt().release(buf);
  });
});
