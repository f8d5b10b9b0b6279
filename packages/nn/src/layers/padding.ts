/** Padding layers over the last two dims of NCHW input, with PyTorch's padding order [left, right, top, bottom]. */
import { pad, reflectionPad2d, type Tensor } from '@stripes/tensor';
import { Module } from '../module.ts';

/** One number for all four sides, or [left, right, top, bottom]. */
export type Padding2d = number | readonly [number, number, number, number];

function sides(layer: string, padding: Padding2d): [number, number, number, number] {
  const p: [number, number, number, number] = typeof padding === 'number' ? [padding, padding, padding, padding] : [...padding];
  if (p.length !== 4 || p.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${layer}: padding must be a non-negative integer or [left, right, top, bottom], got ${JSON.stringify(padding)}`);
  }
  return p;
}

/** Pads by mirroring about the edge (the edge itself not repeated); each side must be smaller than that dim. */
export class ReflectionPad2d extends Module {
  /** [left, right, top, bottom]. */
  readonly padding: [number, number, number, number];

  constructor(padding: Padding2d) {
    super();
    this.padding = sides('ReflectionPad2d', padding);
  }

  forward(x: Tensor): Tensor {
    return reflectionPad2d(x, this.padding);
  }
}

/** Pads with zeros. */
export class ZeroPad2d extends Module {
  /** [left, right, top, bottom]. */
  readonly padding: [number, number, number, number];

  constructor(padding: Padding2d) {
    super();
    this.padding = sides('ZeroPad2d', padding);
  }

  forward(x: Tensor): Tensor {
    return pad(x, this.padding, 'constant', 0);
  }
}
