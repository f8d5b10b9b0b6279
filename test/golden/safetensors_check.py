"""Usage: python3 test/golden/safetensors_check.py FILE

Parses FILE with the plain-Python reader and prints JSON
{"header_len", "order", "metadata", "tensors": {name: {"dtype", "shape", "sum", "first"}}}
where "order" lists the names by data offset; test/nn/safetensors.test.ts runs it
on files written by the TypeScript writer.
"""
import json
import sys

# Keep test/golden free of __pycache__ folders that git would otherwise see.
sys.dont_write_bytecode = True
from safetensors_io import read

header_len, tensors, metadata = read(sys.argv[1])
print(
    json.dumps(
        {
            "header_len": header_len,
            "order": list(tensors),
            "metadata": metadata,
            "tensors": {
                name: {"dtype": dtype, "shape": shape, "sum": sum(values), "first": values[:4]}
                for name, (dtype, shape, values) in tensors.items()
            },
        }
    )
)
