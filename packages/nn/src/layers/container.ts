/** Sequential: applies its layers in order. */
import { add, isGradEnabled, type Tensor } from '@stripes/tensor';
import { Module } from '../module.ts';
import { LeakyReLU, ReLU } from './activation.ts';
import { Conv2d } from './conv.ts';
import { InstanceNorm2d } from './norm.ts';
import { ReflectionPad2d } from './padding.ts';

/** A chain of single-input layers, named "0", "1", ... in its state dict, as torch.nn.Sequential. */
export class Sequential extends Module {
  readonly layers: readonly Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((layer, i) => this.registerModule(String(i), layer));
  }

  forward(x: Tensor): Tensor {
    return this.run(x, null);
  }

  /**
   * `residual + this(x)`, as a ResNet block computes it. When the last layer
   * is an InstanceNorm2d its kernel adds the residual (no pass of its own, no
   * intermediate tensor); otherwise an add does.
   */
  forwardWithResidual(x: Tensor, residual: Tensor): Tensor {
    return this.run(x, residual);
  }

  private run(x: Tensor, residual: Tensor | null): Tensor {
    // Without a graph nothing keeps the intermediate outputs: each is freed once
    // the next layer has read it, so a large image needs memory for two of them
    // at a time, not for all.
    const freeAsYouGo = !isGradEnabled();
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i];
      const next = this.layers[i + 1];
      const input = h;
      const last = i === this.layers.length - 1;
      // InstanceNorm followed by (Leaky)ReLU runs as one fused kernel each way,
      // saving a pass and a saved tensor; both layers stay, so names are unchanged.
      // A ReflectionPad2d followed by an unpadded Conv2d (the ResNet generator's
      // pairs) runs as one reflect-mode convolution: the same values bit for
      // bit, without the pad dispatch and the padded activation's memory;
      // both layers stay, so names (and state dicts) are unchanged.
      const reflectConv = reflectPaddedConv(layer, next);
      if (layer instanceof InstanceNorm2d && (next instanceof ReLU || next instanceof LeakyReLU)) {
        h = layer.forwardWithActivation(h, next instanceof ReLU ? { activation: 'relu' } : { activation: 'leakyRelu', slope: next.negativeSlope });
        i++;
      } else if (reflectConv) {
        h = reflectConv.conv.forwardReflectPadded(h, reflectConv.padding);
        i++;
      } else if (last && residual && layer instanceof InstanceNorm2d) {
        h = layer.forwardWithActivation(h, { residual });
        residual = null;
      } else {
        h = layer.call(h);
      }
      if (freeAsYouGo && input !== x && input !== h) input.dispose();
    }
    if (!residual) return h;
    const sum = add(residual, h);
    if (freeAsYouGo && h !== x) h.dispose();
    return sum;
  }
}

/**
 * The conv and its [pH, pW] when `layer` then `next` equal one reflect-mode
 * convolution: a ReflectionPad2d padding opposite sides alike, then an
 * unpadded zeros-mode Conv2d.
 */
function reflectPaddedConv(layer: Module, next: Module | undefined): { conv: Conv2d; padding: [number, number] } | null {
  if (!(layer instanceof ReflectionPad2d) || !(next instanceof Conv2d)) return null;
  const [left, right, top, bottom] = layer.padding;
  const fusable = left === right && top === bottom && next.paddingMode === 'zeros' && next.padding[0] === 0 && next.padding[1] === 0;
  return fusable ? { conv: next, padding: [top, left] } : null;
}
