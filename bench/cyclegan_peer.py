"""The PyTorch peer of train.bench.ts: one CycleGAN training step (batch 1) as
junyanz/pytorch-CycleGAN-and-pix2pix runs it (models/networks.py,
models/cycle_gan_model.py, util/image_pool.py); the model is
test/golden/reference_networks.py (its CycleGANModel).

ResnetGenerator and the 70x70 PatchGAN with InstanceNorm (affine off), conv
weights N(0, 0.02) and zero biases; LSGAN, cycle L1 x 10 each way, identity
L1 x 5; one Adam (lr 2e-4, betas 0.5/0.999) over both generators and one
over both discriminators; discriminators on fakes from 50-image pools.

Prints one JSON line: {"msPerStep", "peer", "peakBytes"} (median of the
timed steps after the warm-up; peak CUDA memory, null on the CPU). Runs on
CUDA when available, else on the CPU with one thread per core.
"""
import argparse
import json
import os
import random
import statistics
import sys
import time

import torch

# The reference model: beside this file in the bundle, in test/golden in the repository.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "test", "golden")]
sys.dont_write_bytecode = True
from reference_networks import CycleGANModel  # noqa: E402


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
    model = CycleGANModel(ngf=a.ngf, ndf=a.ndf, n_blocks=a.blocks, device=device)
    real_A = torch.rand(1, 3, a.image_size, a.image_size, device=device) * 2 - 1
    real_B = torch.rand(1, 3, a.image_size, a.image_size, device=device) * 2 - 1

    def step():
        model.optimize_parameters(real_A, real_B)
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
