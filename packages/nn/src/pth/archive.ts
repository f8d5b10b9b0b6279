/**
 * The torch >= 1.6 layout inside the zip: `<stem>/data.pkl` (the pickled
 * object), one raw little-endian record per storage at `<stem>/data/<key>`,
 * `<stem>/version`, and from torch 2 `<stem>/byteorder` and a few
 * bookkeeping records (ignored). `<stem>` is the file name torch wrote to,
 * or `archive`.
 */
import { declareStorage, ITEM_SIZE, type StorageRef } from './tensors.ts';
import type { Fail } from './fail.ts';
import { unpickle, type Unpickled } from './pickle.ts';
import { readZip } from './zip.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function readArchive(bytes: Uint8Array, fail: Fail): Unpickled {
  const entries = readZip(bytes, fail);
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    fail(
      pickles.length === 0
        ? 'the zip archive has no <name>/data.pkl entry, so torch.save did not write it'
        : `the zip archive has ${pickles.length} data.pkl entries (${pickles.join(', ')}); torch.save writes one`,
    );
  }
  const stem = pickles[0].slice(0, -'/data.pkl'.length);
  if (entries.has(`${stem}/constants.pkl`) || [...entries.keys()].some((name) => name.startsWith(`${stem}/code/`))) {
    fail('it is a TorchScript archive (torch.jit.save), which holds code; save the weights with torch.save(model.state_dict(), path)');
  }
  for (const [name, { method }] of entries) {
    if (method !== 0) fail(`zip entry '${name}' is compressed (method ${method}${method === 8 ? ', deflate' : ''}); torch.save stores entries uncompressed`);
  }
  const order = entries.get(`${stem}/byteorder`)?.data;
  if (order !== undefined) {
    let text: string;
    try {
      text = utf8.decode(order);
    } catch {
      return fail(`${stem}/byteorder is not text`);
    }
    if (text === 'big') fail(`its storages are big-endian (${stem}/byteorder is "big"); only little-endian files are supported`);
    if (text !== 'little') fail(`${stem}/byteorder says ${JSON.stringify(text)}, not "little" or "big"`);
  }

  const declared = new Map<string, StorageRef>();
  const storages = new Map<string, Uint8Array>();
  const { value } = unpickle(entries.get(pickles[0])!.data, 0, pickles[0], fail, (ref) => {
    if (!declareStorage(declared, ref, fail)) return;
    const name = `${stem}/data/${ref.key}`;
    const data = entries.get(name)?.data;
    if (data === undefined) fail(`storage '${ref.key}' has no entry ${name}`);
    const expected = ref.numel * ITEM_SIZE[ref.dtype];
    if (data.length !== expected) {
      fail(`storage '${ref.key}' holds ${ref.numel} ${ref.dtype} values (${expected} bytes) but its entry ${name} has ${data.length} bytes`);
    }
    storages.set(ref.key, data);
  });
  return { root: value, storages };
}
