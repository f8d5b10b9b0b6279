/** Sequential: applies its layers in order. */
import type { Tensor } from '@stripes/tensor';
import { Module } from '../module.ts';

/** A chain of single-input layers, named "0", "1", ... in its state dict, as torch.nn.Sequential. */
export class Sequential extends Module {
  readonly layers: readonly Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((layer, i) => this.registerModule(String(i), layer));
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, layer) => layer.call(h), x);
  }
}
