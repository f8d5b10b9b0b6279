/**
 * State dicts and checkpoints as safetensors bytes. State dicts load in
 * PyTorch (`safetensors.torch.load`) and back; checkpoints add a JSON
 * document (optimizer steps and hyperparameters, schedule, RNG, epoch...)
 * in the header's `__metadata__`, so one file holds everything a resume
 * needs. Host-free: saving to and loading from disk is `@stripes/nn/node`.
 */
import type { Tensor } from '@stripes/tensor';
import { Module, type AnyModule } from './module.ts';
import { decodeSafetensors, encodeSafetensors, type TensorEntry } from './safetensors.ts';

/** A JSON value. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** What `encodeCheckpoint`/`saveCheckpoint` store: tensors by name, and any JSON-able state. */
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
 * A module's state dict (or named tensors) as safetensors bytes, under
 * PyTorch's names. `metadata` goes into the header as strings.
 */
export async function encodeStateDict(source: AnyModule | Record<string, Tensor>, metadata?: Record<string, string>): Promise<Uint8Array> {
  const tensors = source instanceof Module ? source.stateDict() : source;
  return encodeSafetensors(await download('encodeStateDict', tensors), metadata);
}

/** A state dict from safetensors bytes, as host values; pass it to `module.loadStateDict`. `source` names the bytes in errors. */
export function decodeStateDict(bytes: Uint8Array, source?: string): Record<string, TensorEntry> {
  return Object.fromEntries(decodeSafetensors(bytes, source).tensors);
}

export interface EncodeCheckpointOptions {
  /**
   * Refuse tensors holding NaN or infinities (a `NonFiniteTensorError` naming
   * them), so a diverged model is never written over a good file.
   */
  requireFinite?: boolean;
}

/** Thrown by `encodeCheckpoint`/`saveCheckpoint` with `requireFinite` when a tensor holds NaN or infinities. */
export class NonFiniteTensorError extends Error {
  constructor(
    /** Tensor name -> count of non-finite values. */
    readonly counts: ReadonlyMap<string, number>,
  ) {
    const list = [...counts].map(([name, n]) => `'${name}' (${n})`);
    super(`non-finite values in ${counts.size} tensor(s): ${list.slice(0, 5).join(', ')}${list.length > 5 ? ', ...' : ''}`);
    this.name = 'NonFiniteTensorError';
  }
}

/** How many of `data`'s values are NaN or infinite. */
export function countNonFinite(data: ArrayLike<number>): number {
  let bad = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) bad++;
  return bad;
}

/** Tensors and JSON state as one safetensors file's bytes. */
export async function encodeCheckpoint(checkpoint: Checkpoint, options: EncodeCheckpointOptions = {}): Promise<Uint8Array> {
  const json = JSON.stringify(checkpoint.json);
  if (json === undefined) throw new Error('encodeCheckpoint: json is not JSON-serializable');
  const host = await download('encodeCheckpoint', checkpoint.tensors);
  if (options.requireFinite) {
    const counts = new Map<string, number>();
    for (const [name, { data }] of Object.entries(host)) {
      const bad = countNonFinite(data);
      if (bad > 0) counts.set(name, bad);
    }
    if (counts.size > 0) throw new NonFiniteTensorError(counts);
  }
  return encodeSafetensors(host, { [CHECKPOINT_KEY]: json });
}

/** Reads bytes written by `encodeCheckpoint` (or `saveCheckpoint`). `source` names the bytes in errors. */
export function decodeCheckpoint(bytes: Uint8Array, source = '<buffer>'): LoadedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const json = metadata[CHECKPOINT_KEY];
  if (json === undefined) throw new Error(`loadCheckpoint ${source}: no '${CHECKPOINT_KEY}' metadata; the file was not written by saveCheckpoint`);
  let parsed: Json;
  try {
    parsed = JSON.parse(json) as Json;
  } catch (e) {
    throw new Error(`loadCheckpoint ${source}: its '${CHECKPOINT_KEY}' metadata is not valid JSON (${(e as Error).message})`);
  }
  return { tensors: Object.fromEntries(tensors), json: parsed };
}
