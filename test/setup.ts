// Every test file gets the device before its first test.
import { beforeAll } from 'vitest';
import { ready } from '@stripes/tensor';

beforeAll(async () => {
  await ready();
});
