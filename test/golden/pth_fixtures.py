"""Writes the PyTorch `.pth` fixtures for test/nn/pth.test.ts under
test/golden/fixtures/pth/, and expected.json beside them: what torch itself
reads back from each file (keys in order, shapes, dtypes, and the float32
values as a SHA-256 of their little-endian bytes, a sum, and for tiny
tensors the bit patterns), so the test compares our reader exactly.

Run by hand from the repository root, with Debian's python3-torch (1.13):

    /usr/bin/python3 test/golden/pth_fixtures.py

It first runs test/golden/write_pth_fixture.ts (our writer) to make
written.pth, then loads that with torch.load(weights_only=True).

    /usr/bin/python3 test/golden/pth_fixtures.py --full /tmp/pth-full

instead writes full-size generators (ngf 64, 9 blocks) in both containers
for timing the reader; they are not committed.

Files (all small):
  generator_ngf8.pth             reference ResnetGenerator (ngf 8, 9 blocks) state dict, zip (torch >= 1.6)
  generator_ngf8_2018_legacy.pth the same weights plus InstanceNorm running_mean / running_var /
                                 num_batches_tracked, legacy container (as the 2017-19 official files)
  views.pth, views_legacy.pth    tensors that are views of shared storages: offsets, strides, transposes,
                                 a broadcast (stride 0), an empty slice, a 0-d element
  dtypes.pth, dtypes_legacy.pth  float16 (with subnormals, inf, nan), bfloat16, float64, an f16 view,
                                 and an int64 num_batches_tracked (dropped)
  parameter.pth                  a dict of nn.Parameter (torch._utils._rebuild_parameter)
  wrapped.pth                    {'epoch', 'state_dict', 'optimizer' (Adam state with tensors), 'note'}
  legacy_py2_0.3.pth             hand-built: what torch 0.3 under Python 2 wrote (1.13 cannot): Python 2
                                 strings (SHORT_BINSTRING, BINSTRING), OrderedDict([[k, v], ...]),
                                 torch._utils._rebuild_tensor, torch.cuda.FloatStorage, a storage view
  written.pth                    our writer's output (expected.json's "written" is what torch loaded)
  hostile/                       files the reader must refuse (see HOSTILE below)

pth_parity.py (run separately) adds what PyTorch's reference generator makes of the two
generator files, and what torch loaded from our export: parity*.*, exported.json.
"""
import collections
import functools
import hashlib
import io
import json
import math
import os
import pickle
import pickletools
import re
import struct
import subprocess
import sys
import zipfile

sys.dont_write_bytecode = True
import torch
from torch import nn

from reference_networks import INSTANCE_NORM, ResnetGenerator

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "fixtures", "pth")
# The hostile payloads would create this file; the test asserts it never appears.
MARKER = "/tmp/stripes-pth-pwned"


def generators(ngf):
    """The reference generator's state dict, and the same weights with 2018-style InstanceNorm running stats."""
    torch.manual_seed(0)
    net = ResnetGenerator(3, 3, ngf, INSTANCE_NORM, 9)
    # init_weights('normal', 0.02) for weights; biases get the same (not 0) so a misplaced bias shows.
    for p in net.parameters():
        nn.init.normal_(p, 0.0, 0.02)
    old = ResnetGenerator(3, 3, ngf, functools.partial(nn.InstanceNorm2d, track_running_stats=True), 9)
    old.load_state_dict(net.state_dict(), strict=False)
    with torch.no_grad():
        old.train()(torch.randn(1, 3, 32, 32))  # moves the running stats off zeros/ones, num_batches_tracked to 1
    return net.state_dict(), old.state_dict()


# --- what torch reads back ---

def describe(key, t):
    f = t.detach().to(torch.float32).contiguous()
    raw = f.numpy().astype("<f4").tobytes()
    total = float(f.double().sum())
    entry = {
        "key": key,
        "shape": list(t.shape),
        "dtype": str(t.dtype).replace("torch.", ""),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "sum": total if math.isfinite(total) else None,  # JSON has no inf or nan
    }
    if f.numel() <= 16:
        entry["bits"] = list(struct.unpack("<%dI" % f.numel(), raw))
    return entry


def record(expected, name, container, wrapper=None, **load_args):
    """Loads a fixture with torch and records the state dict our reader must produce from it."""
    obj = torch.load(os.path.join(OUT, name), map_location="cpu", **load_args)
    sd = obj[wrapper] if wrapper else obj
    tensors, dropped = [], []
    for key, t in sd.items():
        if t.dtype == torch.int64:
            dropped.append(key)
        else:
            tensors.append(describe(key, t))
    expected[name] = {"container": container, "wrapper": wrapper, "dropped": dropped, "tensors": tensors}


def save(obj, name, legacy=False):
    torch.save(obj, os.path.join(OUT, name), _use_new_zipfile_serialization=not legacy)


# --- fixtures torch 1.13 writes ---

def views():
    base = torch.arange(60, dtype=torch.float32).reshape(3, 4, 5) * 0.25 - 3
    alone = torch.arange(10, dtype=torch.float32) / 7
    return collections.OrderedDict([
        ("base", base),
        ("transposed", base.permute(2, 0, 1)),
        ("sliced", base[1:, ::2, 1:4]),
        ("row", base[2, 1]),
        ("element", base[1, 2, 3]),
        ("column", base[:, :, 4]),
        ("empty", base[:, :0]),
        ("expanded", torch.tensor([1.5, -2.0]).expand(3, 2)),
        ("narrowed", alone[3:7]),
    ])


def dtypes():
    half = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6.103515625e-05, 5.960464477539063e-08, 1e-06,
                         float("inf"), float("-inf"), float("nan"), 0.1], dtype=torch.float16)
    return collections.OrderedDict([
        ("half", half),
        ("half_view", half.reshape(3, 4).t()),
        ("bfloat16", torch.tensor([1.0, -3.140625, 1e-38, 3e38, 0.0078125], dtype=torch.bfloat16)),
        ("double", torch.tensor([1 / 3, 1e-40, 1e39, -2.5, 0.1, 2 ** -149, 2 ** -150], dtype=torch.float64)),
        ("float", torch.tensor([[1.0, 2.0], [3.0, 4.0]])),
        ("norm.num_batches_tracked", torch.tensor(7)),
    ])


def parameters():
    torch.manual_seed(1)
    return collections.OrderedDict([
        ("weight", nn.Parameter(torch.randn(2, 3))),
        ("bias", nn.Parameter(torch.randn(2), requires_grad=False)),
    ])


def wrapped():
    torch.manual_seed(2)
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.InstanceNorm2d(3), nn.Conv2d(3, 1, 1))
    opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))
    net(torch.randn(1, 2, 5, 5)).sum().backward()
    opt.step()
    return {"epoch": 3, "state_dict": net.state_dict(), "optimizer": opt.state_dict(), "note": "a training checkpoint"}


# --- a hand-built 0.3-era Python 2 file ---

class Pickle:
    """A few protocol-2 opcodes, for what torch 1.13 cannot write; str2 is a Python 2 str (SHORT_BINSTRING / BINSTRING)."""

    def __init__(self):
        self.out = bytearray(b"\x80\x02")

    def op(self, code):
        self.out += code
        return self

    def str2(self, s, long=False):
        b = s.encode("ascii")
        self.out += (b"T" + struct.pack("<i", len(b)) if long else b"U" + bytes([len(b)])) + b
        return self

    def text(self, s):
        b = s.encode()
        self.out += b"X" + struct.pack("<I", len(b)) + b
        return self

    def int(self, n):
        self.out += b"K" + bytes([n]) if n < 256 else b"J" + struct.pack("<i", n)
        return self

    def glob(self, module, name):
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        return self

    def ints(self, values):
        self.op(b"(")
        for v in values:
            self.int(v)
        return self.op(b"t")

    def done(self):
        self.out += b"."
        pickletools.dis(bytes(self.out), out=io.StringIO())  # raises if malformed
        return bytes(self.out)


def legacy_header(little_endian=True):
    """The three pickles before the object, as Python 2 torch wrote them."""
    p = Pickle().op(b"}").op(b"(").str2("protocol_version").int(1001).str2("little_endian").op(b"\x88" if little_endian else b"\x89")
    p.str2("type_sizes").op(b"}").op(b"(").str2("short").int(2).str2("int").int(4).str2("long").int(8).op(b"u").op(b"u")
    return pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2) + p.done()


def legacy_py2():
    a_key, b_key, view_key = "94083821211520", "94083821260640", "94083821300000"
    a = [k * 0.5 - 3 for k in range(12)]
    b = [10.0, 20.0, 30.0, 40.0]
    p = Pickle().glob("collections", "OrderedDict").op(b"q\x00")
    p.op(b"]").op(b"(")  # OrderedDict([[key, tensor], ...]): Python 2's OrderedDict.__reduce__

    def tensor(key, module, storage_key, numel, view, location, offset, size, stride, long_key=False):
        p.op(b"]").op(b"(").str2(key, long=long_key)
        p.glob("torch._utils", "_rebuild_tensor").op(b"(")
        p.op(b"(").str2("storage").glob(module, "FloatStorage").str2(storage_key).str2(location).int(numel)
        if view:
            p.op(b"(").str2(view[0]).int(view[1]).int(view[2]).op(b"t")
        else:
            p.op(b"N")
        p.op(b"t").op(b"Q").int(offset).ints(size).ints(stride).op(b"t").op(b"R").op(b"e")

    tensor("conv.weight", "torch.cuda", a_key, 12, None, "cuda:0", 0, [2, 2, 3], [6, 3, 1])
    tensor("conv.bias", "torch.cuda", a_key, 12, (view_key, 8, 3), "cuda:0", 0, [3], [1])
    tensor("fc.weight", "torch", b_key, 4, None, "cpu", 1, [3], [1], long_key=True)
    p.op(b"e").op(b"\x85").op(b"R")
    obj = p.done()
    keys = Pickle().op(b"]").op(b"(").str2(a_key).str2(b_key).op(b"e").done()
    data = struct.pack("<q12f", 12, *a) + struct.pack("<q4f", 4, *b)
    return legacy_header() + obj + keys + data


def pickle_ends(data, n):
    """Offsets just past each of the first n pickles in data."""
    f = io.BytesIO(data)
    ends = []
    for _ in range(n):
        for _ in pickletools.genops(f):
            pass
        ends.append(f.tell())
    return ends


# --- hostile files ---

def zip_file(name, records, deflate=()):
    with zipfile.ZipFile(os.path.join(OUT, "hostile", name), "w") as z:
        for record_name, data in records:
            info = zipfile.ZipInfo(record_name, date_time=(1980, 1, 1, 0, 0, 0))  # a fixed stamp: same inputs, same bytes
            z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED if record_name in deflate else zipfile.ZIP_STORED)


def rezip(source, name, extra=(), deflate=(), shorten=None):
    """A copy of a torch zip fixture with records added, deflated, or one storage cut short by 4 bytes."""
    with zipfile.ZipFile(os.path.join(OUT, source)) as z:
        records = [(n, z.read(n)[:-4] if n == shorten else z.read(n)) for n in z.namelist()]
    zip_file(name, records + list(extra), deflate)


class System:
    def __reduce__(self):
        return (os.system, ("touch " + MARKER,))


class Eval:
    def __reduce__(self):
        return (eval, ("open(%r, 'w')" % MARKER,))


def hostile(expected):
    h = {}
    os_system = Pickle().glob("os", "system").text("touch " + MARKER).op(b"\x85R").done()
    # Show the payload is live: Python's own unpickler runs it.
    if os.path.exists(MARKER):
        os.remove(MARKER)
    pickle.loads(os_system)
    h["payload_ran_in_python"] = os.path.exists(MARKER)
    os.remove(MARKER)
    zip_file("os_system.pth", [("os_system/data.pkl", os_system), ("os_system/version", b"3\n")])
    posix = pickle.dumps(System(), protocol=2)
    assert b"cposix\nsystem\n" in posix
    with open(os.path.join(OUT, "hostile", "posix_system_legacy.pth"), "wb") as f:
        f.write(legacy_header() + posix + pickle.dumps([], protocol=2))
    builtins_eval = pickle.dumps(Eval(), protocol=2, fix_imports=False)
    assert b"cbuiltins\neval\n" in builtins_eval
    zip_file("builtins_eval.pth", [("builtins_eval/data.pkl", builtins_eval), ("builtins_eval/version", b"3\n")])
    zip_file("unknown_opcode.pth", [("unknown_opcode/data.pkl", b"\x80\x02}q\x00\xf0."), ("unknown_opcode/version", b"3\n")])
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), os.path.join(OUT, "hostile", "torchscript.pt"))
    rezip("views.pth", "deflated.pth", deflate=("views/data.pkl",))
    rezip("views.pth", "byteorder_big.pth", extra=[("views/byteorder", b"big")])
    rezip("views.pth", "short_storage.pth", shorten="views/data/0")
    with open(os.path.join(OUT, "views_legacy.pth"), "rb") as f:
        legacy = f.read()
    ends = pickle_ends(legacy, 5)
    header_end, data_start = ends[2], ends[4]
    # The first storage's element count runs far past the end of the file.
    with open(os.path.join(OUT, "hostile", "count_past_end_legacy.pth"), "wb") as f:
        f.write(legacy[:data_start] + struct.pack("<q", 1 << 40) + legacy[data_start + 8:])
    with open(os.path.join(OUT, "hostile", "big_endian_legacy.pth"), "wb") as f:
        f.write(legacy_header(little_endian=False) + legacy[header_end:])
    expected["hostile"] = h


def written(expected):
    subprocess.run(["pnpm", "exec", "tsx", "--conditions=@stripes/source", "test/golden/write_pth_fixture.ts"], cwd=ROOT, check=True)
    path = os.path.join(OUT, "written.pth")
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    obj = torch.load(path, weights_only=True)
    expected["written"] = {"type": type(obj).__name__, "tensors": [describe(k, t) for k, t in obj.items()]}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--full":
        os.makedirs(sys.argv[2], exist_ok=True)
        new, old = generators(64)
        torch.save(new, os.path.join(sys.argv[2], "generator_ngf64.pth"))
        torch.save(old, os.path.join(sys.argv[2], "generator_ngf64_legacy.pth"), _use_new_zipfile_serialization=False)
        return
    os.makedirs(os.path.join(OUT, "hostile"), exist_ok=True)
    expected = {"torch": torch.__version__}
    new, old = generators(8)
    save(new, "generator_ngf8.pth")
    record(expected, "generator_ngf8.pth", "zip")
    save(old, "generator_ngf8_2018_legacy.pth", legacy=True)
    record(expected, "generator_ngf8_2018_legacy.pth", "legacy")
    for legacy, suffix in ((False, ""), (True, "_legacy")):
        save(views(), "views%s.pth" % suffix, legacy)
        record(expected, "views%s.pth" % suffix, "legacy" if legacy else "zip")
        save(dtypes(), "dtypes%s.pth" % suffix, legacy)
        record(expected, "dtypes%s.pth" % suffix, "legacy" if legacy else "zip")
    save(parameters(), "parameter.pth")
    record(expected, "parameter.pth", "zip")
    save(wrapped(), "wrapped.pth")
    record(expected, "wrapped.pth", "zip", wrapper="state_dict")
    with open(os.path.join(OUT, "legacy_py2_0.3.pth"), "wb") as f:
        f.write(legacy_py2())
    record(expected, "legacy_py2_0.3.pth", "legacy")
    hostile(expected)
    written(expected)
    # One line per tensor keeps the record short and its diffs readable (JSON strings hold no raw newlines).
    text = re.sub(r"\{[^{}]*\}", lambda m: re.sub(r"\n\s*", " ", m.group(0)), json.dumps(expected, indent=1, allow_nan=False))
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
