/**
 * @stripes/cyclegan/demo: the demo's data, not the library: the mini
 * horse2zebra scenes (a procedural horse or zebra on a landscape, with its
 * mask and background) rendered in memory, what each image of the data set
 * is, and the demo's model and schedule. Host-free; the data set written to
 * disk is `generateMiniZebra` in `@stripes/cyclegan/node`.
 */
export {
  drawScene,
  renderScene,
  renderAnimal,
  MIN_SEPARATION,
  type Coat,
  type RGB,
  type SceneParams,
  type RenderedScene,
  type BackgroundParams,
  type PoseParams,
  type PlainCoatParams,
  type ZebraCoatParams,
} from './scene.ts';
export { SPLITS, DEFAULT_COUNTS, DEFAULT_SIZE, DEMO_OPTIONS, DEMO_REFERENCE, coatOf, imageName, imageSeed, renderEntry, type Split, type SplitCounts } from './entries.ts';
