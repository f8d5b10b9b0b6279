"""The PyTorch peer of train.bench.ts: one CycleGAN training step (batch 1) as
junyanz/pytorch-CycleGAN-and-pix2pix runs it (models/networks.py,
models/cycle_gan_model.py, util/image_pool.py); the networks are
test/golden/reference_networks.py.

ResnetGenerator and the 70x70 PatchGAN with InstanceNorm (affine off), conv
weights N(0, 0.02) and zero biases; LSGAN, cycle L1 x 10 each way, identity
L1 x 5; one Adam (lr 2e-4, betas 0.5/0.999) over both generators and one
over both discriminators; discriminators on fakes from 50-image pools.

Prints one JSON line: {"msPerStep", "peer", "peakBytes"} (median of the
timed steps after the warm-up; peak CUDA memory, null on the CPU). Runs on
CUDA when available, else on the CPU with one thread per core.
"""
import argparse
import itertools
import json
import os
import random
import statistics
import time

import sys

import torch
import torch.nn as nn

# The reference networks: beside this file in the bundle, in test/golden in the repository.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "test", "golden")]
sys.dont_write_bytecode = True
from reference_networks import INSTANCE_NORM, NLayerDiscriminator, ResnetGenerator, gan_loss, set_requires_grad  # noqa: E402


def init_normal(net, gain=0.02):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0.0)
    return net


class ImagePool:
    """util/image_pool.py: until full, returns what it stores; then, with p 0.5, a stored image that the new one replaces."""

    def __init__(self, size):
        self.size, self.images = size, []

    def query(self, images):
        out = []
        for image in images:
            image = image.detach().unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.uniform(0, 1) > 0.5:
                i = random.randint(0, self.size - 1)
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


def main():
    ap = argparse.ArgumentParser()
    for name in ("--image-size", "--ngf", "--ndf", "--blocks", "--steps", "--warmup"):
        ap.add_argument(name, type=int, required=True)
    a = ap.parse_args()

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    if not cuda:
        torch.set_num_threads(os.cpu_count())
    torch.manual_seed(1)
    random.seed(1)
    G_A, G_B = (init_normal(ResnetGenerator(3, 3, a.ngf, INSTANCE_NORM, a.blocks)).to(device) for _ in range(2))
    D_A, D_B = (init_normal(NLayerDiscriminator(3, a.ndf, INSTANCE_NORM)).to(device) for _ in range(2))
    opt_G = torch.optim.Adam(itertools.chain(G_A.parameters(), G_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), lr=2e-4, betas=(0.5, 0.999))
    pool_A, pool_B = ImagePool(50), ImagePool(50)
    l1 = nn.L1Loss()
    lam_A = lam_B = 10.0
    lam_idt = 0.5
    real_A = torch.rand(1, 3, a.image_size, a.image_size, device=device) * 2 - 1
    real_B = torch.rand(1, 3, a.image_size, a.image_size, device=device) * 2 - 1

    def backward_D(net, real, fake):
        loss = (gan_loss(net(real), True) + gan_loss(net(fake.detach()), False)) * 0.5
        loss.backward()

    def step():
        # optimize_parameters(), in the reference order.
        fake_B = G_A(real_A)
        rec_A = G_B(fake_B)
        fake_A = G_B(real_B)
        rec_B = G_A(fake_A)
        set_requires_grad([D_A, D_B], False)
        opt_G.zero_grad()
        loss_idt_A = l1(G_A(real_B), real_B) * lam_B * lam_idt
        loss_idt_B = l1(G_B(real_A), real_A) * lam_A * lam_idt
        loss_G = (gan_loss(D_A(fake_B), True) + gan_loss(D_B(fake_A), True)
                  + l1(rec_A, real_A) * lam_A + l1(rec_B, real_B) * lam_B + loss_idt_A + loss_idt_B)
        loss_G.backward()
        opt_G.step()
        set_requires_grad([D_A, D_B], True)
        opt_D.zero_grad()
        backward_D(D_A, real_B, pool_B.query(fake_B))
        backward_D(D_B, real_A, pool_A.query(fake_A))
        opt_D.step()
        if cuda:
            torch.cuda.synchronize()

    for _ in range(a.warmup):
        step()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    where = "CUDA %s" % torch.cuda.get_device_name() if cuda else "CPU, %d threads" % torch.get_num_threads()
    print(json.dumps({
        "msPerStep": statistics.median(times),
        "peer": "PyTorch %s (%s)" % (torch.__version__, where),
        "peakBytes": torch.cuda.max_memory_allocated() if cuda else None,
    }))


if __name__ == "__main__":
    main()
