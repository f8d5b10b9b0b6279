// Every test file gets the device before its first test, and the suite's matchers.
import { beforeAll, expect } from 'vitest';
import { ready } from '@stripes/tensor';
import { toBeAllClose } from './helpers/matchers.ts';

expect.extend({ toBeAllClose });

beforeAll(async () => {
  await ready();
});
