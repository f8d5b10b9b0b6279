/** Sequential: applies its layers in order. */
import { isGradEnabled, type Tensor } from '@stripes/tensor';
import { Module } from '../module.ts';
import { LeakyReLU, ReLU } from './activation.ts';
import { InstanceNorm2d } from './norm.ts';

/** A chain of single-input layers, named "0", "1", ... in its state dict, as torch.nn.Sequential. */
export class Sequential extends Module {
  readonly layers: readonly Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((layer, i) => this.registerModule(String(i), layer));
  }

  forward(x: Tensor): Tensor {
    // Without a graph nothing keeps the intermediate outputs: each is freed once
    // the next layer has read it, so a large image needs memory for two of them
    // at a time, not for all.
    const freeAsYouGo = !isGradEnabled();
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i];
      const next = this.layers[i + 1];
      const input = h;
      // InstanceNorm followed by (Leaky)ReLU runs as one fused kernel each way,
      // saving a pass and a saved tensor; both layers stay, so names are unchanged.
      if (layer instanceof InstanceNorm2d && (next instanceof ReLU || next instanceof LeakyReLU)) {
        h = layer.forwardWithActivation(h, next instanceof ReLU ? { activation: 'relu' } : { activation: 'leakyRelu', slope: next.negativeSlope });
        i++;
      } else {
        h = layer.call(h);
      }
      if (freeAsYouGo && input !== x && input !== h) input.dispose();
    }
    return h;
  }
}
