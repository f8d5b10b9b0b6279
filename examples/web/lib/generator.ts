/**
 * Generators from the bytes of a file the user picks (our safetensors, or a
 * PyTorch `.pth` such as the reference's pretrained `latest_net_G.pth`), and
 * translating one image with them, as `stripes-cyclegan translate` does: no
 * resizing, sizes padded to a multiple of 4 by edge replication and cropped back,
 * pixels as the reference's tensor2im makes them.
 */
import { decodeWeights } from '@stripes/nn';
import { findGenerators, tensor2im, toCHW, toChannels, translateTensor, type GeneratorSpec, type GeneratorWeights, type ImageU8, type ResnetGenerator } from '@stripes/cyclegan';
import { tensor, tidy } from '@stripes/tensor';

/** Every generator in a file: G_A and G_B of a CLI checkpoint, or the one of a generator state dict (.safetensors or .pth). */
export function generatorsIn(bytes: Uint8Array, source: string): GeneratorWeights[] {
  return findGenerators(decodeWeights(bytes, source).tensors, source);
}

/** Translates one image at its own size, as the CLI's translate: any channel count in, the generator's out. */
export async function translateImage(net: ResnetGenerator, spec: GeneratorSpec, image: ImageU8): Promise<ImageU8> {
  const channels = spec.inputNc;
  if (channels !== 1 && channels !== 3) throw new Error(`the generator takes ${channels}-channel images; the page translates gray (1) or RGB (3) ones`);
  const chw = toCHW(toChannels(image, channels));
  const { width: w, height: h } = chw;
  const y = tidy(() => translateTensor(net, tensor(chw.data, [1, chw.channels, h, w])));
  try {
    return tensor2im({ channels: spec.outputNc, height: h, width: w, data: await y.data() });
  } finally {
    y.dispose();
  }
}
