// What a web app imports; bundled for the browser by consumer.test.ts.
import { ready } from '@stripes/tensor';
import { Adam, decodeStateDict } from '@stripes/nn';
import { CycleGAN, renderScene } from '@stripes/cyclegan';

globalThis.stripes = { ready, Adam, decodeStateDict, CycleGAN, renderScene };
