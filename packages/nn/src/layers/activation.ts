/** Elementwise activations and Identity, as layers for `Sequential`. */
import { leakyRelu, relu, sigmoid, tanh, type Tensor } from '@stripes/tensor';
import { Module } from '../module.ts';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** x for x > 0, else negativeSlope * x. */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }

  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** Returns its input unchanged (the same tensor). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
