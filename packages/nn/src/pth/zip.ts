/**
 * The zip container of torch >= 1.6 files: reading the stored (uncompressed)
 * entries of an archive through its central directory, and writing one the
 * way torch.save does, each entry's data 64-byte aligned by a padding extra
 * field in its local header. No zip64: state dicts that fit in a browser's
 * memory stay far below 4 GiB and 65535 entries.
 */
import type { Fail } from './fail.ts';

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const END_SIG = 0x06054b50;
const LOCAL_SIZE = 30;
const CENTRAL_SIZE = 46;
const END_SIZE = 22;
/** torch aligns every record's data to 64 bytes (caffe2/serialize/inline_container.cc, kFieldAlignment). */
const ALIGNMENT = 64;
/** The extra-field id torch pads with ("FB"). */
const PADDING_ID = 0x4246;
const VERSION = 20;
/** DOS date 1980-01-01, time 00:00: a fixed stamp so the same tensors give the same bytes. */
const DOS_DATE = 0x21;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** An entry's compression method (0: stored) and its bytes as stored, a view into the archive (nothing is copied). */
export interface ZipEntry {
  method: number;
  data: Uint8Array;
}

/** The archive's entries by name. Encrypted entries are refused; compressed ones are left to the caller to refuse. */
export function readZip(bytes: Uint8Array, fail: Fail): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end record sits at the very end, after a comment of at most 65535 bytes.
  let end = -1;
  for (let p = bytes.length - END_SIZE; p >= Math.max(0, bytes.length - END_SIZE - 0xffff); p--) {
    if (view.getUint32(p, true) === END_SIG && p + END_SIZE + view.getUint16(p + 20, true) === bytes.length) {
      end = p;
      break;
    }
  }
  if (end < 0) fail('zip: no end-of-central-directory record at the end of the file (truncated?)');
  const count = view.getUint16(end + 10, true);
  const cdSize = view.getUint32(end + 12, true);
  const cdOffset = view.getUint32(end + 16, true);
  if (view.getUint16(end + 4, true) !== 0 || view.getUint16(end + 6, true) !== 0 || view.getUint16(end + 8, true) !== count) {
    fail('zip: multi-disk archives are not supported');
  }
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) fail('zip: zip64 archives (over 4 GiB or 65535 entries) are not supported');
  if (cdOffset + cdSize > end) fail(`zip: the central directory (${cdSize} bytes at ${cdOffset}) overlaps the end record at ${end}`);

  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_SIZE > cdOffset + cdSize || view.getUint32(p, true) !== CENTRAL_SIG) fail(`zip: central directory entry ${i} is missing or corrupt`);
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const compressed = view.getUint32(p + 20, true);
    const size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const next = p + CENTRAL_SIZE + nameLen + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    if (next > cdOffset + cdSize) fail(`zip: central directory entry ${i} runs past the directory`);
    const nameBytes = bytes.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLen);
    let name: string;
    try {
      name = utf8.decode(nameBytes);
    } catch {
      return fail(`zip: central directory entry ${i} has a name that is not UTF-8`);
    }
    if (flags & 1) fail(`zip: entry '${name}' is encrypted`);
    if (method === 0 && compressed !== size) fail(`zip: stored entry '${name}' has compressed size ${compressed} but size ${size}`);
    if (entries.has(name)) fail(`zip: entry '${name}' appears twice`);
    if (local + LOCAL_SIZE > bytes.length || view.getUint32(local, true) !== LOCAL_SIG) fail(`zip: entry '${name}' has no local header at ${local}`);
    const localNameLen = view.getUint16(local + 26, true);
    const data = local + LOCAL_SIZE + localNameLen + view.getUint16(local + 28, true);
    const localName = bytes.subarray(local + LOCAL_SIZE, local + LOCAL_SIZE + localNameLen);
    if (localName.length !== nameBytes.length || !localName.every((b, j) => b === nameBytes[j])) {
      fail(`zip: entry '${name}' has a different name in its local header`);
    }
    // Sizes come from the central directory: torch writes zeros in local headers and a data descriptor after the data.
    if (data + compressed > bytes.length) fail(`zip: entry '${name}' (${compressed} bytes at ${data}) runs past the end of the file (truncated?)`);
    entries.set(name, { method, data: bytes.subarray(data, data + compressed) });
    p = next;
  }
  return entries;
}

let crcTable: Uint32Array | undefined;

function crc32(data: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip of stored entries, in the given order, with every entry's data starting at a multiple of 64 bytes. */
export function writeZip(entries: readonly (readonly [string, Uint8Array])[], fail: Fail): Uint8Array {
  const encoder = new TextEncoder();
  const layout = entries.map(([name, data]) => ({ name: encoder.encode(name), data, crc: crc32(data), local: 0, padding: 0 }));
  let size = 0;
  for (const e of layout) {
    e.local = size;
    // As torch computes it: the padding field's own 4-byte header comes first, then filler up to the boundary.
    const unpadded = size + LOCAL_SIZE + e.name.length + 4;
    e.padding = (ALIGNMENT - (unpadded % ALIGNMENT)) % ALIGNMENT;
    size = unpadded + e.padding + e.data.length;
  }
  const cdOffset = size;
  for (const e of layout) size += CENTRAL_SIZE + e.name.length;
  const cdSize = size - cdOffset;
  size += END_SIZE;
  if (layout.length >= 0xffff || size > 0xffffffff) fail(`the archive would need zip64 (${layout.length} entries, ${size} bytes), which is not supported`);

  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const common = (p: number, e: (typeof layout)[number]): void => {
    view.setUint16(p, VERSION, true); // version needed to extract
    view.setUint16(p + 2, 0, true); // flags
    view.setUint16(p + 4, 0, true); // method: stored
    view.setUint16(p + 6, 0, true); // time
    view.setUint16(p + 8, DOS_DATE, true);
    view.setUint32(p + 10, e.crc, true);
    view.setUint32(p + 14, e.data.length, true); // compressed size
    view.setUint32(p + 18, e.data.length, true);
    view.setUint16(p + 22, e.name.length, true);
  };
  for (const e of layout) {
    view.setUint32(e.local, LOCAL_SIG, true);
    common(e.local + 4, e);
    view.setUint16(e.local + 28, 4 + e.padding, true);
    out.set(e.name, e.local + LOCAL_SIZE);
    const extra = e.local + LOCAL_SIZE + e.name.length;
    view.setUint16(extra, PADDING_ID, true);
    view.setUint16(extra + 2, e.padding, true);
    out.fill(0x5a, extra + 4, extra + 4 + e.padding); // 'Z', torch's filler
    out.set(e.data, extra + 4 + e.padding);
  }
  let p = cdOffset;
  for (const e of layout) {
    view.setUint32(p, CENTRAL_SIG, true);
    view.setUint16(p + 4, VERSION, true); // version made by
    common(p + 6, e);
    // Extra and comment lengths, disk number, attributes: zero.
    view.setUint32(p + 42, e.local, true);
    out.set(e.name, p + CENTRAL_SIZE);
    p += CENTRAL_SIZE + e.name.length;
  }
  view.setUint32(p, END_SIG, true);
  view.setUint16(p + 8, layout.length, true);
  view.setUint16(p + 10, layout.length, true);
  view.setUint32(p + 12, cdSize, true);
  view.setUint32(p + 16, cdOffset, true);
  return out;
}
