/**
 * Saving and loading tensors as safetensors files, atomically: a crash or an
 * error mid-save leaves the previous file intact. State dicts load in
 * PyTorch (`safetensors.torch.load_file`) and back; checkpoints add a JSON
 * document (optimizer steps and hyperparameters, schedule, RNG, epoch...)
 * in the header's `__metadata__`, so one file holds everything a resume needs.
 */
import type { Tensor } from '@stripes/tensor';
import { Module, type AnyModule } from './module.ts';
import { readSafetensors, writeSafetensorsAtomic, type AtomicWriteOptions, type TensorEntry } from './safetensors.ts';

/** A JSON value. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** What `saveCheckpoint` stores: tensors by name, and any JSON-able state. */
export interface Checkpoint {
  tensors: Record<string, Tensor>;
  json: Json;
}

/** A loaded checkpoint: host values (shape + Float32Array), ready for `loadStateDict` methods. */
export interface LoadedCheckpoint {
  tensors: Record<string, TensorEntry>;
  json: Json;
}

/** The `__metadata__` key holding a checkpoint's JSON. */
const CHECKPOINT_KEY = 'stripes.checkpoint';

/** Reads every tensor back from the GPU, concurrently. */
async function download(op: string, tensors: Record<string, Tensor>): Promise<Record<string, TensorEntry>> {
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) if (t.isDisposed) throw new Error(`${op}: tensor '${name}' was disposed`);
  const data = await Promise.all(entries.map(([, t]) => t.data()));
  return Object.fromEntries(entries.map(([name, t], i) => [name, { shape: [...t.shape], data: data[i] }]));
}

/**
 * Writes a module's state dict (or named tensors) to `path` as safetensors,
 * under PyTorch's names. `metadata` goes into the header as strings.
 */
export async function saveStateDict(
  path: string,
  source: AnyModule | Record<string, Tensor>,
  metadata?: Record<string, string>,
  options?: AtomicWriteOptions,
): Promise<void> {
  const tensors = source instanceof Module ? source.stateDict() : source;
  writeSafetensorsAtomic(path, await download('saveStateDict', tensors), metadata, options);
}

/** Reads a state dict as host values; pass it to `module.loadStateDict`. Metadata: `readSafetensors(path).metadata`. */
export function loadStateDict(path: string): Record<string, TensorEntry> {
  return Object.fromEntries(readSafetensors(path).tensors);
}

/** Writes tensors and JSON state to `path` in one atomic safetensors file. */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint, options?: AtomicWriteOptions): Promise<void> {
  const json = JSON.stringify(checkpoint.json);
  if (json === undefined) throw new Error('saveCheckpoint: json is not JSON-serializable');
  writeSafetensorsAtomic(path, await download('saveCheckpoint', checkpoint.tensors), { [CHECKPOINT_KEY]: json }, options);
}

/** Reads a file written by `saveCheckpoint`. */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  const { tensors, metadata } = readSafetensors(path);
  const json = metadata[CHECKPOINT_KEY];
  if (json === undefined) throw new Error(`loadCheckpoint ${path}: no '${CHECKPOINT_KEY}' metadata; the file was not written by saveCheckpoint`);
  return { tensors: Object.fromEntries(tensors), json: JSON.parse(json) as Json };
}
