"""Plain-Python safetensors writer and reader (struct + json only, no numpy or
torch), written from the format description at
https://github.com/huggingface/safetensors so the TypeScript codec in
packages/nn/src/safetensors.ts is checked against an independent
implementation.

Format: u64 little-endian header length N; N bytes of UTF-8 JSON mapping each
tensor name to {"dtype", "shape", "data_offsets": [begin, end]} plus an optional
"__metadata__" object of string values, padded with spaces to a multiple of 8;
then the raw little-endian tensor bytes, laid out in sorted-name order.
"""
import json
import struct

_FORMATS = {"F32": ("<%df", 4)}


def encode(tensors, metadata=None):
    """tensors: {name: (shape, flat sequence of floats)} -> bytes (F32)."""
    names = sorted(tensors)
    header = {}
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks = []
    offset = 0
    for name in names:
        shape, values = tensors[name]
        count = 1
        for d in shape:
            count *= d
        if count != len(values):
            raise ValueError("%s: shape %r holds %d values, got %d" % (name, shape, count, len(values)))
        raw = struct.pack("<%df" % count, *values)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def write(path, tensors, metadata=None):
    with open(path, "wb") as f:
        f.write(encode(tensors, metadata))


def read(path):
    """-> (header_len, {name: (dtype, shape, [floats])} in data-offset order, metadata);
    raises ValueError on a malformed file."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise ValueError("file too short")
    (n,) = struct.unpack_from("<Q", buf, 0)
    if 8 + n > len(buf):
        raise ValueError("header length %d past end of file" % n)
    header = json.loads(buf[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = buf[8 + n :]
    tensors = {}
    cursor = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, end = info["data_offsets"]
        if begin != cursor:
            raise ValueError("%s: data not contiguous" % name)
        fmt, size = _FORMATS[info["dtype"]]
        count = 1
        for d in info["shape"]:
            count *= d
        if end - begin != count * size:
            raise ValueError("%s: byte length does not match shape" % name)
        tensors[name] = (info["dtype"], info["shape"], list(struct.unpack_from(fmt % count, data, begin)))
        cursor = end
    if cursor != len(data):
        raise ValueError("data section has %d bytes, tensors cover %d" % (len(data), cursor))
    return n, tensors, metadata
