import { describe, expect, it } from 'vitest';
import { tensor, tidy } from '@stripes/tensor';
import { Conv2d, ConvTranspose2d, Identity, InstanceNorm2d, LeakyReLU, ReflectionPad2d } from '@stripes/nn';

describe("Conv2d paddingMode 'reflect'", () => {
  it('is conv2d with reflect padding: bitwise the ReflectionPad2d then unpadded Conv2d with the same weights', async () => {
    const conv = new Conv2d(3, 4, 3, { padding: 1, paddingMode: 'reflect', stride: 2 });
    expect(conv.paddingMode).toBe('reflect');
    const plain = new Conv2d(3, 4, 3, { stride: 2 });
    plain.loadStateDict(conv.stateDict());
    const x = tensor(Float32Array.from({ length: 2 * 3 * 5 * 6 }, (_, i) => Math.sin(i)), [2, 3, 5, 6]);
    const [y, want] = [tidy(() => conv.call(x)), tidy(() => plain.call(new ReflectionPad2d(1).call(x)))];
    expect(await y.data()).toEqual(await want.data());
    for (const t of [conv, plain, x, y, want]) t.dispose();
  });
});

describe('layer construction', () => {
  it("Conv2d and ConvTranspose2d use PyTorch's default init bounds (fan-in from weight dims 1..)", async () => {
    const conv = new Conv2d(4, 6, 3);
    const convT = new ConvTranspose2d(4, 6, 3);
    for (const [m, fanIn] of [[conv, 4 * 9], [convT, 6 * 9]] as const) {
      const bound = 1 / Math.sqrt(fanIn);
      for (const p of m.parameters()) {
        const v = await p.data();
        const max = v.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
        expect(max).toBeLessThanOrEqual(bound);
        // A uniform sample of >= 6 values nearly fills its range.
        expect(max).toBeGreaterThan(bound * 0.5);
      }
    }
    expect(Object.fromEntries(Object.entries(convT.stateDict()).map(([k, t]) => [k, t.shape]))).toEqual({ weight: [4, 6, 3, 3], bias: [6] });
    conv.dispose();
    convT.dispose();
  });

  it('rejects bad arguments with the layer named', () => {
    expect(() => new Conv2d(3, 0, 3)).toThrow(/Conv2d: outChannels must be a positive integer/);
    expect(() => new Conv2d(3, 4, [3, 3, 3] as never)).toThrow(/Conv2d: kernelSize/);
    expect(() => new ConvTranspose2d(3, 4, 3, { stride: 2, outputPadding: 2 })).toThrow(/outputPadding \[2, 2\] must be smaller than stride/);
    expect(() => new InstanceNorm2d(4, { trackRunningStats: true })).toThrow(/trackRunningStats is not supported/);
    expect(() => new ReflectionPad2d([1, 2] as never)).toThrow(/ReflectionPad2d: padding/);
    expect(() => new Conv2d(3, 4, 3, { paddingMode: 'circular' as never })).toThrow(/^Conv2d: paddingMode must be 'zeros' or 'reflect', got 'circular'$/);
    const padded = new Conv2d(3, 4, 3, { padding: 1 });
    expect(() => padded.forwardReflectPadded(tensor(new Float32Array(3 * 16), [1, 3, 4, 4]), [1, 1])).toThrow(/^Conv2d.forwardReflectPadded: the layer must be unpadded/);
    padded.dispose();
    const norm = new InstanceNorm2d(4);
    expect(() => tidy(() => norm.call(tensor(new Float32Array(3 * 4), [1, 3, 2, 2])))).toThrow(/expected input \[N, 4, H, W\], got \[1, 3, 2, 2\]/);
  });

  it('InstanceNorm2d is parameter-free by default; affine adds weight (ones) and bias (zeros)', async () => {
    expect(new InstanceNorm2d(3).numParameters()).toBe(0);
    const affine = new InstanceNorm2d(3, { affine: true });
    expect(await affine.stateDict().weight.data()).toEqual(Float32Array.of(1, 1, 1));
    expect(await affine.stateDict().bias.data()).toEqual(Float32Array.of(0, 0, 0));
    affine.dispose();
  });

  it('Identity returns its input; activations keep gradients flowing', async () => {
    const x = tensor([-1, 2], [2]).requireGrad();
    expect(new Identity().call(x)).toBe(x);
    const y = new LeakyReLU(0.1).call(x);
    y.sum().backward();
    expect(await x.grad!.data()).toEqual(Float32Array.of(0.1, 1));
  });
});
