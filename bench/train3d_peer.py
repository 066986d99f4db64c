"""The Python peer of `medpipe run` on volumes: medpipe's own cnn3d (its model.pt, the same
TorchScript network), the same batch size and optimizer (Adam 1e-3), trained with python3-torch
and an in-process DataLoader that decodes the NIfTI files with nibabel, z-scores them and flips
each axis at random (the usual PyTorch / MONAI data path). Prints samples/s of the whole
training loop, end to end."""
import csv
import json
import os
import sys
import time

import nibabel as nib
import numpy as np
import torch


class Volumes(torch.utils.data.Dataset):
    def __init__(self, root):
        with open(os.path.join(root, "labels.csv")) as f:
            self.rows = [(os.path.join(root, "images", r["image"] + ".nii.gz"), int(r["level"]))
                         for r in csv.DictReader(f)]

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        path, level = self.rows[i]
        v = np.asarray(nib.load(path).dataobj, dtype=np.float32).transpose(2, 1, 0)  # z, y, x
        v = (v - v.mean()) / (v.std() + 1e-8)
        x = torch.from_numpy(np.ascontiguousarray(v))[None]
        for axis in (1, 2, 3):
            if torch.rand(()) < 0.5:
                x = x.flip(axis)
        return x, level


def main(root, model_pt, epochs, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.jit.load(model_pt)
    model.train()
    loader = torch.utils.data.DataLoader(Volumes(root), batch_size=32, shuffle=True, num_workers=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    seen = 0
    for _ in range(epochs):
        for x, y in loader:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            seen += len(y)
    seconds = time.perf_counter() - start
    print(json.dumps({"epochs": epochs, "samples": seen, "seconds": seconds,
                      "samples_per_s": seen / seconds, "threads": threads}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
