"""The reference CycleGAN trained on the demo's data, for the range the README states beside the
demo's own numbers. It runs what junyanz/pytorch-CycleGAN-and-pix2pix's train.py runs for
`--model cycle_gan --dataset_mode unaligned --preprocess none --no_dropout --norm instance`
with the demo's settings (DEMO_OPTIONS in packages/cyclegan/src/demo/entries.ts, given here as
arguments): each epoch visits trainA in a shuffled order, pairs every A with a random B, flips
each image horizontally with p 0.5, and decays the learning rate linearly after n_epochs (the
scheduler steps at the end of every epoch). The model is reference_networks.CycleGANModel.

It writes the four networks as the reference saves them (<out>/latest_net_{G_A,G_B,D_A,D_B}.pth),
so stripes scores them with its own metrics:

    stripes-cyclegan import --reference_dir <out> --epoch latest --name <name> --checkpoints_dir <dir>
    stripes-cyclegan test --dataroot <data> --name <name> --checkpoints_dir <dir> --load_size 48 --crop_size 48 ...

Runs on the CPU with one thread (several seeds can run side by side); Debian's /usr/bin/python3
has torch. No image library is needed: the data set's PNGs are decoded here (8-bit, no interlace).
"""
import argparse
import os
import random
import struct
import sys
import time
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
from reference_networks import CycleGANModel  # noqa: E402

CHANNELS = {0: 1, 2: 3, 6: 4}


def read_png(path):
    """An 8-bit gray, RGB or RGBA PNG as an HxWx3 uint8 array (what PIL's convert('RGB') gives)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or color not in CHANNELS or interlace:
        raise ValueError(f"{path}: only 8-bit, non-interlaced gray/RGB/RGBA PNGs are read here")
    c = CHANNELS[color]
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(height, 1 + width * c)
    out = np.zeros((height, width * c), np.int32)
    prev = np.zeros(width * c, np.int32)
    for y in range(height):
        kind, row = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind == 0:
            cur = row
        elif kind == 2:
            cur = (row + prev) & 255
        else:
            cur = np.zeros_like(row)
            for i in range(width * c):
                left = cur[i - c] if i >= c else 0
                up, corner = prev[i], (prev[i - c] if i >= c else 0)
                if kind == 1:
                    pred = left
                elif kind == 3:
                    pred = (left + up) >> 1
                else:  # Paeth
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                cur[i] = (row[i] + pred) & 255
        out[y], prev = cur, cur
    img = out.reshape(height, width, c).astype(np.uint8)
    return np.repeat(img, 3, axis=2) if c == 1 else img[:, :, :3]


def load_folder(folder):
    """ToTensor + Normalize((0.5,) * 3, (0.5,) * 3), in make_dataset's sorted order."""
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(".png"))
    if not names:
        raise ValueError(f"{folder}: no PNG images")
    return [torch.from_numpy(read_png(os.path.join(folder, n))).permute(2, 0, 1).float().div(255).sub(0.5).div(0.5) for n in names]


def maybe_flip(img):
    """transforms.RandomHorizontalFlip()."""
    return img.flip(-1) if torch.rand(1) < 0.5 else img


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataroot", required=True, help="the demo's data set (trainA, trainB)")
    ap.add_argument("--out", required=True, help="folder for latest_net_*.pth")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--ngf", type=int, default=8)
    ap.add_argument("--ndf", type=int, default=16)
    ap.add_argument("--n_blocks", type=int, default=6)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--beta1", type=float, default=0.5)
    ap.add_argument("--lambda_A", type=float, default=20.0)
    ap.add_argument("--lambda_B", type=float, default=20.0)
    ap.add_argument("--lambda_identity", type=float, default=2.0)
    ap.add_argument("--pool_size", type=int, default=50)
    ap.add_argument("--n_epochs", type=int, default=3)
    ap.add_argument("--n_epochs_decay", type=int, default=3)
    a = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    images_A, images_B = load_folder(os.path.join(a.dataroot, "trainA")), load_folder(os.path.join(a.dataroot, "trainB"))
    model = CycleGANModel(
        ngf=a.ngf, ndf=a.ndf, n_blocks=a.n_blocks, lr=a.lr, beta1=a.beta1, lambda_A=a.lambda_A, lambda_B=a.lambda_B,
        lambda_identity=a.lambda_identity, pool_size=a.pool_size,
    )
    decay = lambda epoch: 1.0 - max(0, epoch + 1 - a.n_epochs) / float(a.n_epochs_decay + 1)  # noqa: E731 (networks.get_scheduler, epoch_count 1)
    schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, decay) for opt in (model.opt_G, model.opt_D)]
    length = max(len(images_A), len(images_B))
    started, iterations = time.time(), 0
    for epoch in range(1, a.n_epochs + a.n_epochs_decay + 1):
        for index in torch.randperm(length).tolist():
            real_A = maybe_flip(images_A[index % len(images_A)]).unsqueeze(0)
            real_B = maybe_flip(images_B[random.randint(0, len(images_B) - 1)]).unsqueeze(0)
            model.optimize_parameters(real_A, real_B)
            iterations += 1
        for s in schedulers:
            s.step()
        print(f"seed {a.seed}: epoch {epoch} done, {iterations} iterations, {time.time() - started:.0f} s", flush=True)
    os.makedirs(a.out, exist_ok=True)
    for name, net in model.networks().items():
        torch.save(net.state_dict(), os.path.join(a.out, f"latest_net_{name}.pth"))
    print(f"wrote {a.out}/latest_net_{{G_A,G_B,D_A,D_B}}.pth")


if __name__ == "__main__":
    main()
