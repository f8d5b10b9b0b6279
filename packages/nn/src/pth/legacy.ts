/**
 * The legacy container (torch < 1.6, and `_use_new_zipfile_serialization=False`):
 * five pickles in a row (the magic number, the protocol version 1001, a
 * sys-info dict, the object, the sorted list of storage keys), then for each
 * key in that list an int64 element count and the storage's raw bytes.
 */
import type { Fail } from './fail.ts';
import { unpickle, type Unpickled } from './pickle.ts';
import { declareStorage, ITEM_SIZE, type StorageRef } from './tensors.ts';

const MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

export function readLegacy(bytes: Uint8Array, fail: Fail): Unpickled {
  const magic = unpickle(bytes, 0, 'the magic-number pickle', fail);
  if (magic.value !== MAGIC) fail('it starts with a pickle but not the torch.save magic number');
  const version = unpickle(bytes, magic.end, 'the protocol-version pickle', fail);
  if (version.value !== PROTOCOL_VERSION) fail(`legacy protocol version is ${String(version.value)}, not ${PROTOCOL_VERSION}`);
  const sysInfo = unpickle(bytes, version.end, 'the sys-info pickle', fail);
  const littleEndian = sysInfo.value instanceof Map ? sysInfo.value.get('little_endian') : undefined;
  if (littleEndian === false) fail('it was written on a big-endian machine (sys_info little_endian is False); only little-endian files are supported');
  if (littleEndian !== true) fail('the sys-info pickle has no little_endian flag');

  const declared = new Map<string, StorageRef>();
  const object = unpickle(bytes, sysInfo.end, 'the object pickle', fail, (ref) => declareStorage(declared, ref, fail));
  const keys = unpickle(bytes, object.end, 'the storage-key pickle', fail);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) fail('the storage-key pickle is not a list of strings');

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, Uint8Array>();
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    const ref = declared.get(key);
    if (ref === undefined) fail(`storage '${key}' has data but no tensor names it`);
    if (storages.has(key)) fail(`storage '${key}' is listed twice`);
    if (pos + 8 > bytes.length) fail(`the file ends before the element count of storage '${key}' (truncated?)`);
    const count = view.getBigInt64(pos, true);
    pos += 8;
    if (count !== BigInt(ref.numel)) fail(`storage '${key}' holds ${count} elements but the object pickle says ${ref.numel}`);
    const size = ref.numel * ITEM_SIZE[ref.dtype];
    if (size > bytes.length - pos) fail(`storage '${key}' needs ${size} bytes but only ${bytes.length - pos} remain (truncated?)`);
    storages.set(key, bytes.subarray(pos, pos + size));
    pos += size;
  }
  for (const key of declared.keys()) if (!storages.has(key)) fail(`storage '${key}' is named by a tensor but has no data`);
  return { root: object.value, storages };
}
