// What a web app imports; bundled for the browser by consumer.test.ts.
import { ready } from '@stripes/tensor';
import { Adam, decodeStateDict } from '@stripes/nn';
import { CycleGAN } from '@stripes/cyclegan';
import { renderScene } from '@stripes/cyclegan/demo';

globalThis.stripes = { ready, Adam, decodeStateDict, CycleGAN, renderScene };
