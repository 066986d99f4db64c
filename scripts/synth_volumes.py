#!/usr/bin/python3
"""CT-like synthetic volumes for 3D segmentation (tests and benchmarks): a body, two lungs,
vessels running along z through them at nodule density, and 1 to 3 round nodules in the lungs
(label 1), with noise; HU stored as int16 NIfTI in images/, masks as uint8 NIfTI in masks/. A nodule and a vessel look
alike in one axial slice (a disc of the same density); only their extent along z tells them
apart, which is what a 3D network sees and a 2D one does not.

  synth_volumes.py OUT_DIR COUNT SEED [--size 48] [--depth 48] [--spacing 1,1,1]"""
import argparse
import os

import nibabel as nib
import numpy as np


def volume(rng, size, depth):
    z, y, x = np.mgrid[0:depth, 0:size, 0:size].astype(np.float32)
    c = (size - 1) / 2
    body = ((x - c) / (0.45 * size)) ** 2 + ((y - c) / (0.38 * size)) ** 2 <= 1
    img = np.where(body, 40.0, -1000.0)
    lungs = [(c * side, c) for side in (0.6, 1.4)]  # centres (x, y)
    for lx, ly in lungs:
        lung = ((x - lx) / (0.15 * size)) ** 2 + ((y - ly) / (0.25 * size)) ** 2 <= 1
        img = np.where(lung & body, -850.0, img)
    mask = np.zeros(img.shape, dtype=np.uint8)

    def in_a_lung():  # a point inside one of the lungs' ellipses, at any height
        lx, ly = lungs[rng.integers(2)]
        a, t = np.sqrt(rng.uniform(0, 0.7)), rng.uniform(0, 2 * np.pi)
        return np.array([lx + a * 0.15 * size * np.cos(t), ly + a * 0.25 * size * np.sin(t),
                         rng.uniform(0.2, 0.8) * depth])
    for _ in range(rng.integers(1, 4)):  # nodules in the lungs
        r = rng.uniform(0.05, 0.12) * size
        p = in_a_lung()
        ball = (x - p[0]) ** 2 + (y - p[1]) ** 2 + (z - p[2]) ** 2 <= r * r
        img = np.where(ball, rng.uniform(20, 80), img)
        mask[ball] = 1
    for _ in range(3):  # vessels through the lungs
        p = in_a_lung()[:2]
        tube = (x - p[0]) ** 2 + (y - p[1]) ** 2 <= rng.uniform(0.03, 0.06) ** 2 * size * size
        img = np.where(tube & (mask == 0), rng.uniform(20, 80), img)
    img = img + rng.normal(0, 25, img.shape)
    return img.astype(np.int16), mask


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("count", type=int)
    parser.add_argument("seed", type=int)
    parser.add_argument("--size", type=int, default=48)
    parser.add_argument("--depth", type=int, default=0, help="slices (default: --size)")
    parser.add_argument("--spacing", default="1,1,1", help="x,y,z in mm")
    args = parser.parse_args()
    spacing = [float(v) for v in args.spacing.split(",")]
    rng = np.random.default_rng(args.seed)
    for sub in ("images", "masks"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    affine = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])  # LPS voxel axes in RAS
    for i in range(args.count):
        img, mask = volume(rng, args.size, args.depth or args.size)
        name = f"vol{args.seed}_{i:03d}.nii.gz"
        for sub, data in (("images", img), ("masks", mask)):
            nib.save(nib.Nifti1Image(np.ascontiguousarray(data.transpose(2, 1, 0)), affine),
                     os.path.join(args.out, sub, name))


if __name__ == "__main__":
    main()
