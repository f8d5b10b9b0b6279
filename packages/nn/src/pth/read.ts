/**
 * Reading PyTorch `.pth` state dicts from bytes, safely: both containers
 * (zip, torch >= 1.6; legacy, older), a data-only pickle machine, and the
 * rules that turn the unpickled object into f32 tensors a `Module` loads.
 * Host-free: the page and Node use it alike.
 */
import type { TensorEntry } from '../safetensors.ts';
import { readArchive } from './archive.ts';
import { failer, type Fail } from './fail.ts';
import { readLegacy } from './legacy.ts';
import { repr, typeName, type Value } from './pickle.ts';
import { sizeOf } from '@stripes/tensor';
import { materialize, TensorRef, type PthDtype } from './tensors.ts';

export type { PthDtype } from './tensors.ts';

export type PthContainer = 'zip' | 'legacy';

/** A tensor as f32, with the dtype its storage had in the file. */
export interface PthTensor extends TensorEntry {
  dtype: PthDtype;
}

export interface PthStateDict {
  /** The state dict in file order, every tensor as f32: `module.loadStateDict(result.tensors)`. */
  tensors: Map<string, PthTensor>;
  container: PthContainer;
  /** int64 entries left out: BatchNorm/InstanceNorm `num_batches_tracked` counters, which nothing here uses. */
  dropped: string[];
  /** The key the state dict was found under when the file wraps it (`{'state_dict': ..., 'epoch': ...}`), else null. */
  wrapper: string | null;
}

/**
 * A file may hold more values than its bytes store only through views that
 * overlap or broadcast (stride 0); past this many, refuse rather than allocate.
 */
const SPARE_VALUES = 1 << 20;

function isStateDict(v: Value): v is Map<Value, Value> {
  return v instanceof Map && [...v].every(([key, x]) => typeof key === 'string' && x instanceof TensorRef);
}

function listKeys(dict: Map<Value, Value>): string {
  const keys = [...dict.keys()];
  return keys.slice(0, 8).map(repr).join(', ') + (keys.length > 8 ? `, ... (${keys.length} keys)` : '');
}

/**
 * The state dict in the object: the object itself when it is a dict of
 * tensors, or, when its values hold no tensors, the only one of them that is
 * a non-empty dict of tensors (a training checkpoint's `state_dict`).
 */
function findStateDict(root: Value, fail: Fail): { dict: Map<Value, Value>; wrapper: string | null } {
  if (!(root instanceof Map)) return fail(`it holds a ${typeName(root)}, not a state dict (a dict of tensors)`);
  if (root.size === 0 || [...root.values()].some((v) => v instanceof TensorRef)) {
    for (const [key, value] of root) {
      if (typeof key !== 'string') fail(`the state dict has a key that is a ${typeName(key)}, not a str`);
      if (!(value instanceof TensorRef)) fail(`entry '${key}' of the state dict is a ${typeName(value)}, not a tensor`);
    }
    return { dict: root, wrapper: null };
  }
  const candidates = [...root].filter(([key, v]) => typeof key === 'string' && v instanceof Map && v.size > 0 && isStateDict(v));
  if (candidates.length === 0) return fail(`it holds a dict with no tensors (keys ${listKeys(root)}) and no dict of tensors under any key`);
  if (candidates.length > 1) {
    fail(`it holds ${candidates.length} dicts of tensors (under ${candidates.map(([k]) => repr(k)).join(', ')}), so which one to load is ambiguous`);
  }
  const [key, dict] = candidates[0];
  return { dict: dict as Map<Value, Value>, wrapper: key as string };
}

function isDroppable(key: string): boolean {
  return key === 'num_batches_tracked' || key.endsWith('.num_batches_tracked');
}

/**
 * Reads a `.pth` file's bytes (`torch.save(model.state_dict(), path)`, any
 * torch version) into f32 tensors. Refuses, with an error naming `source`
 * and the reason, anything that is not plain tensor data: other globals,
 * code, compressed or big-endian files, out-of-range views, truncation.
 */
export function readPth(bytes: Uint8Array, source = '<buffer>'): PthStateDict {
  const fail = failer(source);
  if (bytes.length === 0) fail('the file is empty');
  const zip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  // A legacy file starts with its magic-number pickle, whose first opcode is PROTO.
  if (!zip && bytes[0] !== 0x80) {
    const head = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    fail(`it starts with bytes ${head}: neither a zip archive (torch >= 1.6) nor a legacy pickle (torch < 1.6)`);
  }
  const { root, storages } = zip ? readArchive(bytes, fail) : readLegacy(bytes, fail);
  const { dict, wrapper } = findStateDict(root, fail);

  const dropped: string[] = [];
  const kept: [string, TensorRef][] = [];
  let values = 0;
  for (const [key, ref] of dict as Map<string, TensorRef>) {
    if (ref.storage.dtype === 'int64' && isDroppable(key)) {
      dropped.push(key);
      continue;
    }
    kept.push([key, ref]);
    values += sizeOf(ref.shape);
  }
  if (values > bytes.length + SPARE_VALUES) {
    fail(`its tensors would hold ${values} values, more than its ${bytes.length} bytes can store without broadcast views; refusing to allocate them`);
  }
  const tensors = new Map<string, PthTensor>();
  for (const [key, ref] of kept) {
    const data = materialize(ref, storages.get(ref.storage.key)!, fail, key);
    tensors.set(key, { shape: [...ref.shape], data, dtype: ref.storage.dtype });
  }
  return { tensors, container: zip ? 'zip' : 'legacy', dropped, wrapper };
}
