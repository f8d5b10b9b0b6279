// The method forms that op files attach to Tensor.prototype: all there once the package is imported, shaped like class methods.
import { describe, expect, it } from 'vitest';
import { Tensor, zeros } from '@stripes/tensor';

const METHOD_FORMS = [
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum',
  'neg', 'exp', 'log', 'sqrt', 'abs', 'relu', 'leakyRelu', 'tanh', 'sigmoid',
  'sum', 'mean', 'max', 'reshape', 'flatten', 'permute', 'transpose', 'slice', 'matmul',
  'clone', 'copy_', 'backward',
];

describe('method forms', () => {
  it('every op with a PyTorch method form has it, non-enumerable as the class methods are', () => {
    const described = (name: string) => Object.getOwnPropertyDescriptor(Tensor.prototype, name);
    for (const name of METHOD_FORMS) {
      expect(typeof described(name)?.value, name).toBe('function');
      expect(described(name), name).toMatchObject({ enumerable: false, writable: true, configurable: true });
    }
    expect(described('detach')).toMatchObject({ enumerable: false, writable: true, configurable: true });
  });

  it('a for...in over a tensor lists its fields only', () => {
    const keys: string[] = [];
    for (const key in zeros([1])) keys.push(key);
    expect(keys.some((k) => METHOD_FORMS.includes(k))).toBe(false);
  });
});
