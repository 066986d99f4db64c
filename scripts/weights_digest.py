#!/usr/bin/python3
"""SHA-256 of a TorchScript model's parameters and buffers (names and bytes, sorted by name):
equal digests mean bit-identical weights. `scripts/weights_digest.py models/NAME/model.pt`."""
import hashlib
import sys

import torch


def digest(path):
    module = torch.jit.load(path)
    h = hashlib.sha256()
    tensors = sorted(list(module.named_parameters()) + list(module.named_buffers()))
    for name, tensor in tensors:
        h.update(name.encode())
        h.update(tensor.detach().contiguous().numpy().tobytes())
    return h.hexdigest(), len(tensors)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        value, count = digest(path)
        print(f"{value} {count} tensors {path}")
