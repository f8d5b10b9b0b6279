/**
 * Reading and writing the safetensors format (https://github.com/huggingface/safetensors),
 * F32 only: an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
 * `{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}}`
 * padded with spaces to a multiple of 8, then the raw little-endian tensor bytes.
 * Files written here load in PyTorch/`safetensors` and vice versa. Bytes in,
 * bytes out: file IO lives in the Node-only entry (`@stripes/nn/node`).
 */
import { fmt, sizeOf } from '@stripes/tensor';

export type SafeTensor = { dtype: 'F32'; shape: number[]; data: Float32Array };

export type TensorEntry = { shape: number[]; data: Float32Array };
export type TensorDict = Record<string, TensorEntry> | Map<string, TensorEntry>;

export type DecodedSafetensors = { tensors: Map<string, SafeTensor>; metadata: Record<string, string> };

/** Same cap as the reference reader: a larger header means a corrupt or hostile file. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

function entriesOf(tensors: TensorDict): [string, TensorEntry][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
}

function isDim(d: unknown): d is number {
  return typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
}

/** Code-unit order, which for the ASCII names we use matches the reference writer's byte order. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function encodeSafetensors(tensors: TensorDict, metadata?: Record<string, string>): Uint8Array {
  const entries = entriesOf(tensors).sort(([a], [b]) => byName(a, b));
  const header: Record<string, unknown> = {};
  // The reference writer emits __metadata__ first and omits it when absent.
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors encode: metadata '${k}' must be a string, got ${typeof v}`);
    }
    header[METADATA_KEY] = metadata;
  }
  let offset = 0;
  for (const [name, { shape, data }] of entries) {
    if (name === '' || name === METADATA_KEY) throw new Error(`safetensors encode: invalid tensor name '${name}'`);
    if (!Array.isArray(shape) || !shape.every(isDim)) {
      throw new Error(`safetensors encode: tensor '${name}' has invalid shape ${JSON.stringify(shape)}`);
    }
    if (!(data instanceof Float32Array)) throw new Error(`safetensors encode: tensor '${name}' data must be a Float32Array`);
    if (sizeOf(shape) !== data.length) {
      throw new Error(
        `safetensors encode: tensor '${name}' shape ${fmt(shape)} holds ${sizeOf(shape)} values but data has ${data.length}`,
      );
    }
    const end = offset + data.length * 4;
    header[name] = { dtype: 'F32', shape: [...shape], data_offsets: [offset, end] };
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Pad so the data section starts 8-byte aligned, as the reference writer does.
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  let pos = 8 + headerLen;
  for (const [, { data }] of entries) {
    for (let i = 0; i < data.length; i++, pos += 4) view.setFloat32(pos, data[i], true);
  }
  return out;
}

export function decodeSafetensors(buf: Uint8Array, source = '<buffer>'): DecodedSafetensors {
  const fail = (reason: string): never => {
    throw new Error(`safetensors ${source}: ${reason}`);
  };
  if (buf.byteLength < 8) fail(`file is ${buf.byteLength} bytes, too short for the 8-byte header length`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLen = Number(n);
  if (8 + headerLen > buf.byteLength) {
    fail(`header length ${headerLen} runs past the end of the file (${buf.byteLength} bytes; truncated?)`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLen));
  } catch {
    return fail('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail('header does not start with a JSON object');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');

  const metadata: Record<string, string> = {};
  const infos: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (typeof value !== 'object' || value === null) fail(`tensor '${name}' entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (dtype !== 'F32') fail(`tensor '${name}' has dtype ${JSON.stringify(dtype)}; only F32 is supported`);
    if (!Array.isArray(shape) || !shape.every(isDim)) fail(`tensor '${name}' has invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDim)) {
      fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (end < begin) fail(`tensor '${name}' data_offsets [${begin}, ${end}] end before they begin`);
    const expected = sizeOf(shape as number[]) * 4;
    if (end - begin !== expected) {
      fail(`tensor '${name}' shape ${fmt(shape as number[])} needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    infos.push({ name, shape: shape as number[], begin, end });
  }

  // Like the reference reader: the tensors must tile the data section exactly, no gaps or overlaps.
  const dataStart = 8 + headerLen;
  const dataLen = buf.byteLength - dataStart;
  let cursor = 0;
  for (const info of [...infos].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (info.begin !== cursor) {
      fail(`tensor '${info.name}' data_offsets [${info.begin}, ${info.end}] are not contiguous (expected begin ${cursor})`);
    }
    cursor = info.end;
  }
  if (cursor !== dataLen) {
    fail(`tensors cover ${cursor} data bytes but the file holds ${dataLen} (truncated or trailing bytes)`);
  }

  const tensors = new Map<string, SafeTensor>();
  for (const { name, shape, begin, end } of infos) {
    // A fresh Float32Array: the source bytes need not be 4-byte aligned in memory.
    const data = new Float32Array((end - begin) / 4);
    for (let i = 0, pos = dataStart + begin; i < data.length; i++, pos += 4) data[i] = view.getFloat32(pos, true);
    tensors.set(name, { dtype: 'F32', shape, data });
  }
  return { tensors, metadata };
}
