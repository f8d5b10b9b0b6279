/**
 * Weights from whichever file a user brings: safetensors (ours, or
 * Hugging Face's) or a PyTorch `.pth` (both containers), told apart by their
 * first bytes, never by the file name. Host-free.
 */
import { readPth, type PthContainer } from './pth/read.ts';
import { decodeSafetensors, type TensorEntry } from './safetensors.ts';

export type WeightsFormat = 'safetensors' | `pth (${PthContainer})`;

export interface DecodedWeights {
  tensors: Record<string, TensorEntry>;
  format: WeightsFormat;
  /** Entries a `.pth` held that were left out (int64 `num_batches_tracked` counters). */
  dropped: string[];
  /** The key a `.pth` wrapped its state dict under (`{'state_dict': ...}`), else null. */
  wrapper: string | null;
}

/** safetensors: an 8-byte little-endian header length, then the JSON header's '{'. PyTorch files start with 'PK' or a pickle's 0x80. */
function isSafetensors(bytes: Uint8Array): boolean {
  return bytes.length >= 9 && bytes[8] === 0x7b && bytes[6] === 0 && bytes[7] === 0;
}

/** Decodes a safetensors or `.pth` state dict; errors name `source` and the reason. */
export function decodeWeights(bytes: Uint8Array, source = '<buffer>'): DecodedWeights {
  if (isSafetensors(bytes)) return { tensors: Object.fromEntries(decodeSafetensors(bytes, source).tensors), format: 'safetensors', dropped: [], wrapper: null };
  const pth = readPth(bytes, source);
  return { tensors: Object.fromEntries(pth.tensors), format: `pth (${pth.container})`, dropped: pth.dropped, wrapper: pth.wrapper };
}
