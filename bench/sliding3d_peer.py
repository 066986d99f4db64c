#!/usr/bin/python3
"""The python3-torch peer of medpipe's 3D sliding-window inference (models/tiled.cpp), the same
work on the same files: the volume read by nibabel, the CT window (level 40, width 400 HU), the
saved model.pt (torch.jit.load), tiles of the model's patch at the same origins (evenly spaced,
the first at 0 and the last at the end), blended with the same Gaussian importance map (sigma
patch/8 per axis, floor 1e-3), batches of 4 tiles, the x-mirrored pass averaged in (tta), the
argmax, and the mask written as .npy and uint8 NIfTI.

  sliding3d_peer.py MODEL_DIR VOLUME.nii.gz OUT_DIR THREADS [--compare MEDPIPE_MASK.npy]

With --compare, prints the share of voxels whose label agrees with medpipe's mask."""
import argparse
import json
import os

import nibabel as nib
import numpy as np
import torch


def origins(extent, patch, overlap):
    if extent <= patch:
        return [0]
    step = max(1.0, patch * (1.0 - overlap))
    n = int(np.ceil((extent - patch) / step)) + 1
    return [int(np.floor((extent - patch) * i / (n - 1) + 0.5)) for i in range(n)]


def gaussian(depth, side):
    def axis(n):
        centre, sigma = (n - 1) / 2.0, n / 8.0
        return np.exp(-((np.arange(n) - centre) ** 2) / (2 * sigma * sigma))
    w = axis(depth)[:, None, None] * axis(side)[None, :, None] * axis(side)[None, None, :]
    return torch.from_numpy(np.maximum(w, 1e-3).astype(np.float32))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("volume")
    parser.add_argument("out_dir")
    parser.add_argument("threads", type=int)
    parser.add_argument("--overlap", type=float, default=0.5)
    parser.add_argument("--compare")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.model_dir, "model.json")) as f:
        meta = json.load(f)
    side, depth = meta["patch_size"], meta["model"]["image_depth"]
    classes = meta["model"]["num_classes"]
    model = torch.jit.load(os.path.join(args.model_dir, "model.pt")).eval()
    image = nib.load(args.volume)
    hu = np.asanyarray(image.dataobj).astype(np.float32).transpose(2, 1, 0)  # z, y, x
    x = torch.from_numpy(np.clip((hu + 160.0) / 400.0, 0.0, 1.0).astype(np.float32))
    d, h, w = x.shape
    sums = torch.zeros((classes, d, h, w))
    weights = gaussian(depth, side)
    tiles = [(z, y, xx) for z in origins(d, depth, args.overlap)
             for y in origins(h, side, args.overlap) for xx in origins(w, side, args.overlap)]
    with torch.no_grad():
        for first in range(0, len(tiles), 4):
            batch = tiles[first:first + 4]
            cut = torch.zeros((len(batch), 1, depth, side, side))
            for i, (z, y, xx) in enumerate(batch):
                part = x[z:z + depth, y:y + side, xx:xx + side]
                cut[i, 0, :part.shape[0], :part.shape[1], :part.shape[2]] = part
            probs = torch.softmax(model(cut), 1)
            probs = (probs + torch.softmax(model(cut.flip(4)), 1).flip(4)) * 0.5
            for i, (z, y, xx) in enumerate(batch):
                dz, dy, dx = min(depth, d - z), min(side, h - y), min(side, w - xx)
                sums[:, z:z + dz, y:y + dy, xx:xx + dx] += \
                    (probs[i] * weights)[:, :dz, :dy, :dx]
    mask = sums.argmax(0).to(torch.uint8).numpy()
    os.makedirs(args.out_dir, exist_ok=True)
    np.save(os.path.join(args.out_dir, "mask.npy"), mask)
    nib.save(nib.Nifti1Image(np.ascontiguousarray(mask.transpose(2, 1, 0)), image.affine),
             os.path.join(args.out_dir, "mask.nii.gz"))
    if args.compare:
        theirs = np.load(args.compare)
        print(json.dumps({"agreement": float((theirs == mask).mean()),
                          "foreground_voxels": int((mask > 0).sum()), "tiles": len(tiles)}))


if __name__ == "__main__":
    main()
