"""PyTorch's side of the CycleGAN `.pth` parity tests (test/cyclegan/pthParity.test.ts),
written beside the `.pth` fixtures in test/golden/fixtures/pth/:

  parity_input.png     a 32x32 RGB pattern (PNG written here: this Python has no PIL)
  parity.safetensors   the inputs (that PNG as the reference's test transform makes it a tensor,
                       and a 3x24x32 float pattern), and what the reference's ResnetGenerator
                       (pth_fixtures.py's, ngf 8, 9 blocks) makes of them loaded from
                       generator_ngf8.pth and from generator_ngf8_2018_legacy.pth after the
                       reference's __patch_instance_norm_state_dict: the output tensors, and
                       tensor2im's bytes of the PNG's translation (as float32 values, HxWxC);
                       also the pattern through G_A of the exported sample below
  exported.json        what torch.load(path, weights_only=True) read from each of the four
                       files `exportReferenceRun` wrote for test/golden/export_sample.ts (the
                       file's SHA-256, its type, every tensor as pth_fixtures.describe records
                       it), and that the reference's networks load_state_dict it strictly

Run by hand from the repository root with Debian's python3-torch (1.13):

    /usr/bin/python3 test/golden/pth_parity.py

It first runs test/golden/write_export_fixture.ts (our exporter) into a temporary folder.
pth_fixtures.py's own files are left alone (its legacy files get new storage keys each run).
"""
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

sys.dont_write_bytecode = True
import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io
from pth_fixtures import OUT, ROOT, describe
from reference_networks import INSTANCE_NORM, NLayerDiscriminator, ResnetGenerator


# --- the reference's pieces (models/networks.py, models/base_model.py, util/util.py) ---

def patch_instance_norm_state_dict(state_dict, module, keys, i=0):
    """BaseModel.__patch_instance_norm_state_dict, as the reference runs it on every key before load_state_dict."""
    key = keys[i]
    if i + 1 == len(keys):
        if module.__class__.__name__.startswith("InstanceNorm") and key in ("running_mean", "running_var"):
            if getattr(module, key) is None:
                state_dict.pop(".".join(keys))
        if module.__class__.__name__.startswith("InstanceNorm") and key == "num_batches_tracked":
            state_dict.pop(".".join(keys))
    else:
        patch_instance_norm_state_dict(state_dict, getattr(module, key), keys, i + 1)


def load_reference(net, path, **load_args):
    """BaseModel.load_networks for one network: torch.load, the patch, a strict load_state_dict."""
    state_dict = torch.load(path, map_location="cpu", **load_args)
    if hasattr(state_dict, "_metadata"):
        del state_dict._metadata
    for key in list(state_dict.keys()):
        patch_instance_norm_state_dict(state_dict, net, key.split("."))
    net.load_state_dict(state_dict)
    return state_dict


def tensor2im(y):
    """util.tensor2im of a [1, C, H, W] output: float32 arithmetic, then a truncating cast."""
    image = y[0].cpu().float().numpy()
    if image.shape[0] == 1:
        image = np.tile(image, (3, 1, 1))
    image = (np.transpose(image, (1, 2, 0)) + 1) / 2.0 * 255.0
    return image.astype(np.uint8)


# --- inputs ---

def pattern_png():
    """A 32x32 RGB image with gradients, a ring and fine texture."""
    i, j = np.mgrid[0:32, 0:32]
    r = (i * 7 + j * 3) % 256
    g = 128 + 100 * np.sin(i / 5.0) * np.cos(j / 4.0)
    b = np.where((i - 16) ** 2 + (j - 12) ** 2 < 80, 230, ((i ^ j) * 9) % 256)
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def write_png(path, rgb):
    """8-bit RGB, no filtering: the least a decoder needs."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def test_transform(rgb):
    """transforms.ToTensor then Normalize((0.5,) * 3, (0.5,) * 3), as the reference's test loads an image (no resize at 32 px here)."""
    x = torch.from_numpy(rgb).permute(2, 0, 1).contiguous().float().div(255)
    return x.sub(0.5).div(0.5).unsqueeze(0)


def float_pattern():
    c, i, j = np.mgrid[0:3, 0:24, 0:32].astype(np.float32)
    return torch.from_numpy((np.sin(0.37 * i + 0.61 * j + 1.7 * c) * np.cos(0.11 * i * j / 7 + c)).astype(np.float32)).unsqueeze(0)


def entry(t):
    return (list(t.shape), t.detach().float().reshape(-1).tolist())


# --- the exported sample ---

EXPORTED_NETS = {
    "G_A": lambda: ResnetGenerator(3, 3, 4, INSTANCE_NORM, 2),
    "G_B": lambda: ResnetGenerator(3, 3, 4, INSTANCE_NORM, 2),
    "D_A": lambda: NLayerDiscriminator(3, 4, INSTANCE_NORM, 3),
    "D_B": lambda: NLayerDiscriminator(3, 4, INSTANCE_NORM, 3),
}


def exported(tensors, pattern):
    """Exports the sample with our code, then loads each file as the reference would."""
    record = {}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["pnpm", "exec", "tsx", "--conditions=@stripes/source", "test/golden/write_export_fixture.ts", tmp], cwd=ROOT, check=True)
        for name, build in EXPORTED_NETS.items():
            path = os.path.join(tmp, "sample", "latest_net_%s.pth" % name)
            with open(path, "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()
            net = build()
            state_dict = load_reference(net, path, weights_only=True)  # raises unless every key and shape fits
            record[name] = {
                "file_sha256": sha,
                "type": type(state_dict).__name__,
                "load_state_dict": "strict, ok",
                "tensors": [describe(k, t) for k, t in state_dict.items()],
            }
            if name == "G_A":
                with torch.no_grad():
                    tensors["exported.G_A.pattern"] = entry(net(pattern))
    return record


def main():
    rgb = pattern_png()
    write_png(os.path.join(OUT, "parity_input.png"), rgb)
    png = test_transform(rgb)
    pattern = float_pattern()
    tensors = {"png.input": entry(png), "pattern.input": entry(pattern)}
    for label, name in (("zip", "generator_ngf8.pth"), ("legacy", "generator_ngf8_2018_legacy.pth")):
        net = ResnetGenerator(3, 3, 8, INSTANCE_NORM, 9)
        load_reference(net, os.path.join(OUT, name))
        with torch.no_grad():
            y_png = net(png)
            tensors["%s.pattern" % label] = entry(net(pattern))
        tensors["%s.png" % label] = entry(y_png)
        im = tensor2im(y_png)
        tensors["%s.png.tensor2im" % label] = (list(im.shape), im.astype(np.float32).reshape(-1).tolist())
    record = {"torch": torch.__version__, "exported": exported(tensors, pattern)}
    safetensors_io.write(os.path.join(OUT, "parity.safetensors"), tensors)
    # One line per tensor, as pth_fixtures.py writes expected.json.
    text = re.sub(r"\{[^{}]*\}", lambda m: re.sub(r"\n\s*", " ", m.group(0)), json.dumps(record, indent=1, allow_nan=False))
    with open(os.path.join(OUT, "exported.json"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
