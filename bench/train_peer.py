"""The Python peer of `medpipe train`: the same TorchScript network (medpipe's model.pt), the
same batch size, optimizer and augmentation, trained with python3-torch and a DataLoader that
decodes and normalises the PNGs (the usual PyTorch data path). Prints samples/s end to end."""
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image


class Folder(torch.utils.data.Dataset):
    def __init__(self, root):
        with open(os.path.join(root, "labels.csv")) as f:
            self.rows = [(os.path.join(root, "images", r["image"] + ".png"), int(r["level"])) for r in csv.DictReader(f)]

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        path, level = self.rows[i]
        img = np.asarray(Image.open(path), dtype=np.float32)
        img = (img - img.mean()) / (img.std() + 1e-8)
        x = torch.from_numpy(img)[None]
        if torch.rand(()) < 0.5:
            x = TF.hflip(x)
        angle = float(torch.empty(()).uniform_(-10, 10))
        shift = [int(torch.randint(-2, 3, ())), int(torch.randint(-2, 3, ()))]
        x = TF.affine(x, angle=angle, translate=shift, scale=1.0, shear=[0.0])
        return x, level


def main(root, model_pt, epochs, threads, workers):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.jit.load(model_pt)
    model.train()
    loader = torch.utils.data.DataLoader(Folder(root), batch_size=32, shuffle=True, num_workers=workers,
                                         drop_last=False, persistent_workers=workers > 0)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    steps = epochs * len(loader)
    step = 0
    start = time.perf_counter()
    seen = 0
    for _ in range(epochs):
        for x, y in loader:
            for g in opt.param_groups:
                g["lr"] = 0.05 * 0.5 * (1 + math.cos(math.pi * step / steps))
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            seen += len(y)
            step += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"epochs": epochs, "samples": seen, "seconds": seconds, "samples_per_s": seen / seconds,
                      "threads": threads, "loader_workers": workers}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
