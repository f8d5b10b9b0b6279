"""Writes test/golden/fixtures/independent.safetensors with the plain-Python
writer in safetensors_io.py, for test/nn/safetensors.test.ts to load.

Run from the repository root: python3 test/golden/safetensors_fixture.py
The values follow simple formulas that the test recomputes; they cover a 4-D
tensor, a scalar (shape []), an empty tensor, names with dots, non-ASCII
metadata, and names given out of sorted order.
"""
import math
import os
import sys

# Keep test/golden free of __pycache__ folders that git would otherwise see.
sys.dont_write_bytecode = True
from safetensors_io import write

HERE = os.path.dirname(os.path.abspath(__file__))

tensors = {
    "model.1.weight": ([2, 3, 1, 2], [(i - 5) / 8 for i in range(12)]),
    "model.1.bias": ([2], [0.1, -0.2]),
    "scalar": ([], [3.5]),
    "empty": ([0, 4], []),
    "a.sin": ([5, 7], [math.sin(i) for i in range(35)]),
}
metadata = {"format": "pt", "note": "written by an independent writer \u2713", "options": '{"stride": 2}'}
write(os.path.join(HERE, "fixtures", "independent.safetensors"), tensors, metadata)
