import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@stripes/tensor';
import { readPth } from '@stripes/nn';

const dir = resolve(import.meta.dirname, '../golden/fixtures/pth');
const sources = resolve(import.meta.dirname, '../../packages/nn/src/pth');
/** The file the hostile payloads would create (test/golden/pth_fixtures.py, MARKER). */
const MARKER = '/tmp/stripes-pth-pwned';
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { hostile: { payload_ran_in_python: boolean } };

function readHostile(name: string) {
  return readPth(readFileSync(join(dir, 'hostile', name)), name);
}

/** Hand-built protocol-2 pickles: the opcodes by name, so each test shows exactly what the file says. */
class Pickle {
  private readonly out: number[] = [0x80, 2];

  op(...codes: number[]): this {
    for (const c of codes) this.out.push(c);
    return this;
  }

  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.op(0x58, ...u32(b.length), ...b); // BINUNICODE
  }

  int(n: number): this {
    if (n < 2 ** 31) return this.op(0x4a, ...u32(n)); // BININT
    return this.op(0x8a, 8, ...i64(BigInt(n))); // LONG1
  }

  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`)); // GLOBAL
  }

  ints(values: number[]): this {
    this.op(MARK);
    for (const v of values) this.int(v);
    return this.op(TUPLE);
  }

  /** A `_rebuild_tensor_v2` call over a legacy persistent id ('storage', cls, key, 'cpu', numel, view). */
  tensor(t: { key: string; numel: number; cls?: string; offset?: number; shape: number[]; stride: number[]; view?: [number, number] }): this {
    this.global('torch._utils', '_rebuild_tensor_v2').op(MARK, MARK).str('storage').global('torch', t.cls ?? 'FloatStorage');
    this.str(t.key).str('cpu').int(t.numel);
    if (t.view) this.op(MARK).str(`${t.key}v`).int(t.view[0]).int(t.view[1]).op(TUPLE);
    else this.op(NONE);
    this.op(TUPLE, BINPERSID).int(t.offset ?? 0).ints(t.shape).ints(t.stride).op(NEWFALSE);
    return this.global('collections', 'OrderedDict').op(EMPTY_TUPLE, REDUCE, TUPLE, REDUCE);
  }

  done(): Uint8Array {
    return Uint8Array.from([...this.out, STOP]);
  }
}

const MARK = 0x28, TUPLE = 0x74, EMPTY_TUPLE = 0x29, EMPTY_DICT = 0x7d, EMPTY_LIST = 0x5d, SETITEM = 0x73, SETITEMS = 0x75;
const REDUCE = 0x52, BUILD = 0x62, BINPERSID = 0x51, NONE = 0x4e, NEWFALSE = 0x89, NEWTRUE = 0x88, STOP = 0x2e, APPENDS = 0x65;

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}

function i64(n: bigint): number[] {
  return [...new Uint8Array(new BigInt64Array([n]).buffer)];
}

/** The legacy container around an object pickle: magic, protocol 1001, sys-info, the object, the keys, then count + bytes per storage. */
function legacy(object: Uint8Array, storages: [key: string, count: bigint, bytes: Uint8Array][], littleEndian = true): Uint8Array {
  const magic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, STOP];
  const version = new Pickle().op(0x4d, 0xe9, 0x03).done(); // BININT2 1001
  const sysInfo = new Pickle().op(EMPTY_DICT).str('little_endian').op(littleEndian ? NEWTRUE : NEWFALSE, SETITEM).done();
  const keys = new Pickle().op(EMPTY_LIST, MARK);
  for (const [key] of storages) keys.str(key);
  const data = storages.flatMap(([, count, bytes]) => [...i64(count), ...bytes]);
  return Uint8Array.from([...magic, ...version, ...sysInfo, ...object, ...keys.op(APPENDS).done(), ...data]);
}

function f32(...values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** An OrderedDict of named tensors, as the object pickle of a legacy file. */
function stateDict(entries: [string, (p: Pickle) => Pickle][]): Uint8Array {
  const p = new Pickle().global('collections', 'OrderedDict').op(EMPTY_TUPLE, REDUCE, MARK);
  for (const [name, value] of entries) value(p.str(name));
  return p.op(SETITEMS).done();
}

const oneTensor = (t: Parameters<Pickle['tensor']>[0]): Uint8Array => stateDict([['w', (p) => p.tensor(t)]]);

describe('readPth refuses hostile files and runs nothing', () => {
  beforeAll(() => rmSync(MARKER, { force: true }));

  const cases: [string, RegExp][] = [
    ['os_system.pth', /^pth os_system\.pth: global 'os\.system' is not allowed \(only tensor-rebuilding globals are\); at byte 2 of os_system\/data\.pkl$/],
    ['posix_system_legacy.pth', /^pth posix_system_legacy\.pth: global 'posix\.system' is not allowed .*of the object pickle$/],
    ['builtins_eval.pth', /^pth builtins_eval\.pth: global 'builtins\.eval' is not allowed/],
    ['unknown_opcode.pth', /^pth unknown_opcode\.pth: unknown opcode 0xf0; at byte 5 of unknown_opcode\/data\.pkl$/],
    ['torchscript.pt', /^pth torchscript\.pt: it is a TorchScript archive \(torch\.jit\.save\), which holds code/],
    ['deflated.pth', /^pth deflated\.pth: zip entry 'views\/data\.pkl' is compressed \(method 8, deflate\)/],
    ['byteorder_big.pth', /^pth byteorder_big\.pth: its storages are big-endian/],
    ['big_endian_legacy.pth', /^pth big_endian_legacy\.pth: it was written on a big-endian machine/],
    ['short_storage.pth', /^pth short_storage\.pth: storage '0' holds 60 float32 values \(240 bytes\) but its entry views\/data\/0 has 236 bytes$/],
    ['count_past_end_legacy.pth', /^pth count_past_end_legacy\.pth: storage '\d+' holds 1099511627776 elements but the object pickle says 60$/],
  ];

  it('covers every file in fixtures/pth/hostile', () => {
    expect(cases.map(([name]) => name).sort()).toEqual(readdirSync(join(dir, 'hostile')).sort());
  });

  for (const [name, message] of cases) {
    it(`refuses ${name}, saying why`, () => {
      expect(() => readHostile(name)).toThrow(message);
    });
  }

  it('ran no payload: Python itself runs it (recorded by the fixture script); after reading every file here, its marker file does not exist', () => {
    expect(expected.hostile.payload_ran_in_python).toBe(true);
    for (const [name] of cases) expect(() => readHostile(name)).toThrow();
    expect(existsSync(MARKER)).toBe(false);
  });

  it('has no way to run code: the reader never evaluates, imports or touches the host', () => {
    for (const file of readdirSync(sources)) {
      const text = readFileSync(join(sources, file), 'utf8');
      expect(text, file).not.toMatch(/\beval\b|\bFunction\s*\(|\bimport\s*\(|\brequire\s*\(|node:|\bprocess\b|\bBuffer\b|globalThis|setTimeout/);
    }
  });

  it('refuses INST, OBJ, NEWOBJ and the other opcodes a state dict never needs, by name', () => {
    // [what comes first, the refused opcode and its operands, its name]; the error points at the opcode's byte.
    const refused: [number[], number[], string][] = [
      [[], [0x69, ...new TextEncoder().encode('collections\nOrderedDict\n')], 'INST (0x69)'],
      [[MARK], [0x6f], 'OBJ (0x6f)'],
      [[EMPTY_TUPLE, EMPTY_TUPLE], [0x81], 'NEWOBJ (0x81)'],
      [[], [0x95, ...i64(1n)], 'FRAME (0x95)'],
      [[NONE, NONE], [0x93], 'STACK_GLOBAL (0x93)'],
      [[], [0x50, 0x30, 0x0a], 'PERSID (0x50)'],
    ];
    for (const [before, ops, name] of refused) {
      const file = legacy(new Pickle().op(...before, ...ops).done(), []);
      const at = 2 + before.length; // after PROTO 2
      expect(() => readPth(file, 'x.pth'), name).toThrow(`pth x.pth: opcode ${name} is not allowed (only the opcodes of a tensor state dict are); at byte ${at} of the object pickle`);
    }
  });

  it('refuses calls it does not know, and BUILD on anything but an OrderedDict', () => {
    const storageCall = new Pickle().global('torch', 'FloatStorage').op(EMPTY_TUPLE, REDUCE).done();
    expect(() => readPth(legacy(storageCall, []))).toThrow(/global 'torch\.FloatStorage' is a storage type, which cannot be called/);
    const build = new Pickle().op(EMPTY_DICT, EMPTY_DICT, BUILD).done();
    expect(() => readPth(legacy(build, []))).toThrow(/BUILD on a dict with a dict state is not allowed/);
    const notCallable = new Pickle().op(NONE, EMPTY_TUPLE, REDUCE).done();
    expect(() => readPth(legacy(notCallable, []))).toThrow(/REDUCE calls a None; only allowlisted globals can be called/);
    const otherStorage = new Pickle().global('torch', 'IntStorage').done();
    expect(() => readPth(legacy(otherStorage, []))).toThrow(/storage class 'torch\.IntStorage' is not supported/);
    const module = new Pickle().op(MARK).str('module').op(TUPLE, BINPERSID).done();
    expect(() => readPth(legacy(module, []))).toThrow(/persistent id of kind 'module'; only 'storage' ids are allowed/);
    expect(() => readPth(legacy(new Pickle().op(0x80, 4, NONE).done(), []))).toThrow(/pickle protocol 4 is not supported/);
  });

  it('refuses persistent ids outside the object pickle', () => {
    const file = legacy(new Pickle().done(), []);
    const withPid = Uint8Array.from([...file.subarray(0, 15), ...new Pickle().op(MARK).str('storage').op(TUPLE, BINPERSID).done(), ...file.subarray(21)]);
    expect(() => readPth(withPid)).toThrow(/a persistent id appears where no storage can; at byte \d+ of the protocol-version pickle/);
  });

  it('reads a hand-built legacy file, then refuses each way its tensor or storage can lie', () => {
    const good = legacy(oneTensor({ key: '7', numel: 4, offset: 1, shape: [2], stride: [2] }), [['7', 4n, f32(1, 2, 3, 4)]]);
    expect([...readPth(good).tensors.get('w')!.data]).toEqual([2, 4]);
    const lies: [Uint8Array, RegExp][] = [
      // The view reaches element 4 of a 4-element storage.
      [legacy(oneTensor({ key: '7', numel: 4, offset: 2, shape: [2], stride: [2] }), [['7', 4n, f32(1, 2, 3, 4)]]),
        /tensor 'w' \(shape \[2\], strides \[2\], storage offset 2\) reaches element 4 of storage '7', which holds 4$/],
      // A legacy storage view past its root.
      [legacy(oneTensor({ key: '7', numel: 4, shape: [1], stride: [1], view: [3, 2] }), [['7', 4n, f32(1, 2, 3, 4)]]),
        /storage '7' has a view of 2 elements at 3, past its 4/],
      // Inside the view, past its end (though inside the root storage).
      [legacy(oneTensor({ key: '7', numel: 4, shape: [3], stride: [1], view: [0, 2] }), [['7', 4n, f32(1, 2, 3, 4)]]),
        /reaches element 2 of storage '7', which holds 2$/],
      // The count after the pickles disagrees with the object pickle.
      [legacy(oneTensor({ key: '7', numel: 4, shape: [4], stride: [1] }), [['7', 5n, f32(1, 2, 3, 4, 5)]]), /storage '7' holds 5 elements but the object pickle says 4$/],
      // An absurd storage size: refused before anything is allocated.
      [legacy(oneTensor({ key: '7', numel: 2 ** 40, shape: [4], stride: [1] }), [['7', 2n ** 40n, f32(1)]]), /storage '7' needs 4398046511104 bytes but only 4 remain/],
      // Data that no tensor names, a tensor with no data, and a storage named as two different things.
      [legacy(oneTensor({ key: '7', numel: 1, shape: [], stride: [] }), [['7', 1n, f32(1)], ['8', 1n, f32(1)]]), /storage '8' has data but no tensor names it/],
      [legacy(oneTensor({ key: '7', numel: 1, shape: [], stride: [] }), []), /storage '7' is named by a tensor but has no data/],
      [legacy(stateDict([['a', (p) => p.tensor({ key: '7', numel: 1, shape: [], stride: [] })], ['b', (p) => p.tensor({ key: '7', numel: 2, shape: [], stride: [] })]]), [['7', 1n, f32(1)]]),
        /storage '7' is named as 1 float32 values and as 2 float32 values/],
      // A broadcast view of a billion billion values over one stored float.
      [legacy(oneTensor({ key: '7', numel: 1, shape: [2 ** 30, 2 ** 30], stride: [0, 0] }), [['7', 1n, f32(1)]]), /its tensors would hold \d+ values, more than its \d+ bytes can store without broadcast views; refusing to allocate them$/],
      // Sizes and strides that are not tuples of non-negative integers.
      [legacy(oneTensor({ key: '7', numel: 1, shape: [1, 1], stride: [1] }), [['7', 1n, f32(1)]]), /a tensor has 2 dimensions but 1 strides/],
      [legacy(oneTensor({ key: '7', numel: 1, shape: [-1], stride: [1] }), [['7', 1n, f32(1)]]), /a tensor's size is not a tuple of non-negative integers/],
      // int64 loads only as a dropped num_batches_tracked counter.
      [legacy(oneTensor({ key: '7', numel: 1, cls: 'LongStorage', shape: [], stride: [] }), [['7', 1n, new Uint8Array(8)]]), /tensor 'w' is int64; only floating-point tensors load/],
    ];
    for (const [file, message] of lies) expect(() => readPth(file, 'lie.pth')).toThrow(message);
  });

  it('refuses objects that hold no single state dict', () => {
    const t = (p: Pickle): Pickle => p.tensor({ key: '7', numel: 1, shape: [], stride: [] });
    const data: [string, bigint, Uint8Array][] = [['7', 1n, f32(1)]];
    const bare = new Pickle().tensor({ key: '7', numel: 1, shape: [], stride: [] }).done();
    expect(() => readPth(legacy(bare, data))).toThrow(/it holds a tensor, not a state dict/);
    const mixed = stateDict([['w', t], ['note', (p) => p.str('hi')]]);
    expect(() => readPth(legacy(mixed, data))).toThrow(/entry 'note' of the state dict is a str, not a tensor/);
    const twoDicts = new Pickle().op(EMPTY_DICT, MARK).str('G_A').op(EMPTY_DICT);
    t(twoDicts.str('w')).op(SETITEM).str('G_B').op(EMPTY_DICT);
    t(twoDicts.str('w')).op(SETITEM, SETITEMS);
    expect(() => readPth(legacy(twoDicts.done(), data))).toThrow(/it holds 2 dicts of tensors \(under 'G_A', 'G_B'\), so which one to load is ambiguous/);
    const noTensors = new Pickle().op(EMPTY_DICT).str('epoch').int(3).op(SETITEM).done();
    expect(() => readPth(legacy(noTensors, []))).toThrow(/it holds a dict with no tensors \(keys 'epoch'\) and no dict of tensors under any key/);
  });

  it('bounds nesting, the stack and the memo', () => {
    expect(() => readPth(legacy(new Pickle().op(...new Array(65).fill(MARK)).done(), []))).toThrow(/nesting deeper than 64 levels/);
    const stack = new Pickle();
    for (let i = 0; i <= 2 ** 20; i++) stack.op(NONE);
    expect(() => readPth(legacy(stack.done(), []))).toThrow(/more than 1048576 values on the stack/);
    const memo = new Pickle().op(NONE);
    for (let i = 0; i <= 2 ** 20; i++) memo.op(0x72, ...u32(i)); // LONG_BINPUT
    expect(() => readPth(legacy(memo.done(), []))).toThrow(/more than 1048576 memo entries/);
    expect(() => readPth(legacy(new Pickle().op(0x68, 5).done(), []))).toThrow(/memo entry 5 is read before it is stored/);
  });

  it('refuses files that are not PyTorch files', () => {
    expect(() => readPth(new Uint8Array(0), 'e.pth')).toThrow('pth e.pth: the file is empty');
    expect(() => readPth(new TextEncoder().encode('{"a": 1}'), 'j.pth')).toThrow(/it starts with bytes 7b 22 61 22: neither a zip archive .* nor a legacy pickle/);
    expect(() => readPth(new Pickle().int(1).done())).toThrow(/not the torch\.save magic number/);
  });

  for (const name of ['views.pth', 'views_legacy.pth']) {
    it(`${name}: every truncation is refused with a reason`, () => {
      const file = readFileSync(join(dir, name));
      for (let cut = 0; cut < file.length; cut++) {
        expect(() => readPth(file.subarray(0, cut), name), `cut at ${cut}`).toThrow(new RegExp(`^pth ${name.replace('.', '\\.')}: `));
      }
    });

    it(`${name}: corrupted bytes either read or are refused with a reason, never anything else`, () => {
      const file = readFileSync(join(dir, name));
      const rng = new Rng(7);
      for (let trial = 0; trial < 2000; trial++) {
        const bad = Uint8Array.from(file);
        for (let k = 0; k < 3; k++) bad[rng.int(Math.min(bad.length, 700))] = rng.int(256);
        try {
          readPth(bad, name);
        } catch (e) {
          expect((e as Error).message, `trial ${trial}`).toMatch(new RegExp(`^pth ${name.replace('.', '\\.')}: `));
        }
      }
    });
  }
});
