"""The Python peer of bench_textures: GLCM with scikit-image (graycomatrix + graycoprops), GLRLM
with numpy and GLSZM with scipy.ndimage.label, on the images bench_textures reads.
`--write DIR` writes them first: a 512 x 512 image and a 128^3 volume of 32 grey levels
(smoothed noise, so that runs and zones have a range of sizes). Both are done in 2D (per slice
for the volume: scikit-image's GLCM is 2D), 4 directions at distance 1, symmetric.
Timing: `textures_peer.py DIR REPEATS` prints medians and a few values to cross-check."""
import json
import sys
import time

import numpy as np
from scipy import ndimage
from skimage.feature import graycomatrix, graycoprops

LEVELS = 32
ANGLES = [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]


def quantised(shape, seed):
    rng = np.random.default_rng(seed)
    smooth = ndimage.gaussian_filter(rng.normal(size=shape), 1.5)
    ranks = smooth.argsort(axis=None).argsort().reshape(shape)
    return (ranks * LEVELS // ranks.size).astype(np.uint8)  # 0..31, equally filled


def glcm_2d(image):
    m = graycomatrix(image, [1], ANGLES, levels=LEVELS, symmetric=True, normed=True)
    return {p: float(graycoprops(m, p).mean()) for p in
            ("contrast", "dissimilarity", "homogeneity", "ASM", "correlation")}


def add_runs(matrix, line):
    """Counts the runs of equal values of a 1D array into matrix[level, length]."""
    if line.size == 0:
        return
    edges = np.flatnonzero(np.diff(line)) + 1
    starts = np.concatenate(([0], edges))
    lengths = np.diff(np.concatenate((starts, [line.size])))
    np.add.at(matrix, (line[starts], lengths), 1)


def glrlm_2d(image):
    """Run length matrix of the 4 in-plane directions merged; returns short run emphasis."""
    n = max(image.shape) + 1
    matrix = np.zeros((LEVELS, n))
    for row in image:
        add_runs(matrix, row)
    for col in image.T:
        add_runs(matrix, col)
    flipped = image[:, ::-1]
    for k in range(-image.shape[0] + 1, image.shape[1]):
        add_runs(matrix, np.diagonal(image, k))
        add_runs(matrix, np.diagonal(flipped, k))
    lengths = np.arange(n)
    runs = matrix.sum()
    return matrix, float((matrix[:, 1:] / lengths[1:] ** 2).sum() / runs)


def glszm(image):
    """Size zone matrix (8- or 26-connected); returns zone percentage and small zone emphasis."""
    structure = np.ones((3,) * image.ndim)
    sizes = []
    for level in range(LEVELS):
        labels, count = ndimage.label(image == level, structure)
        sizes.append(np.bincount(labels.ravel())[1:])
    all_sizes = np.concatenate(sizes)
    return float(all_sizes.size / image.size), float((1.0 / all_sizes ** 2).mean())


def cases(folder):
    image = np.load(f"{folder}/image512.npy").astype(np.uint8)
    volume = np.load(f"{folder}/volume128.npy").astype(np.uint8)
    yield "image_512x512", lambda: {
        "glcm": glcm_2d(image), "glrlm_sre": glrlm_2d(image)[1], "glszm": glszm(image)}
    yield "volume_128x128x128", lambda: {
        # per slice (2D, as scikit-image works), averaged over the slices
        "glcm_contrast": float(np.mean([glcm_2d(s)["contrast"] for s in volume])),
        "glrlm_sre": float(np.mean([glrlm_2d(s)[1] for s in volume])),
        "glszm_zone_percentage": float(np.mean([glszm(s)[0] for s in volume]))}


def main():
    if sys.argv[1] == "--write":
        np.save(f"{sys.argv[2]}/image512.npy", quantised((512, 512), 1).astype(np.float32))
        np.save(f"{sys.argv[2]}/volume128.npy", quantised((128, 128, 128), 2).astype(np.float32))
        return
    folder, repeats = sys.argv[1], int(sys.argv[2])
    out = []
    for name, run in cases(folder):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            values = run()
            times.append(time.perf_counter() - start)
        out.append({"case": name, "median_ms": 1000 * float(np.median(times)), "values": values})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
