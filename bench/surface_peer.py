"""The Python peer of bench_surface: HD95 and ASSD with scipy's exact Euclidean distance
transform, as MedPy and MONAI compute them. `--write DIR` writes the masks both sides time."""
import json
import sys
import time

import numpy as np
from scipy import ndimage


def ball(shape, centre, radius):
    grid = np.ogrid[tuple(slice(0, s) for s in shape)]
    return sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius ** 2


def masks():
    yield "disk512", ball((512, 512), (256, 256), 150), ball((512, 512), (258, 251), 145)
    yield "sphere128", ball((128,) * 3, (64, 64, 64), 40), ball((128,) * 3, (66, 62, 64), 37)


def surface(m):
    return m & ~ndimage.binary_erosion(m, ndimage.generate_binary_structure(m.ndim, 1), border_value=0)


def hd95_assd(a, b):
    sa, sb = surface(a), surface(b)
    ab = ndimage.distance_transform_edt(~sb)[sa]
    ba = ndimage.distance_transform_edt(~sa)[sb]
    return max(np.percentile(ab, 95), np.percentile(ba, 95)), (ab.mean() + ba.mean()) / 2


def main():
    if sys.argv[1] == "--write":
        for name, a, b in masks():
            np.save(f"{sys.argv[2]}/{name}_a.npy", a.astype(np.uint8))
            np.save(f"{sys.argv[2]}/{name}_b.npy", b.astype(np.uint8))
        return
    repeats = int(sys.argv[1])
    out = []
    for name, a, b in masks():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            hd, sd = hd95_assd(a, b)
            times.append(time.perf_counter() - start)
        out.append({"case": name, "median_ms": 1000 * float(np.median(times)), "hd95": hd, "assd": sd})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
