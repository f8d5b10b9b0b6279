/**
 * The browser tests' entry: the same bundle build as the page, exposing the
 * shared checks on `globalThis.stripesHarness` once the device is ready.
 */
import { ready } from '@stripes/tensor';
import { convNormCheck } from './lib/checks.ts';

export interface Harness {
  adapter: string;
  convNormCheck: typeof convNormCheck;
}

declare global {
  var stripesHarness: Promise<Harness> | undefined;
}

globalThis.stripesHarness = ready().then((info) => ({ adapter: info.name, convNormCheck }));
