"""The Python peer of bench_preprocess: pydicom + numpy + PIL doing the same decode, rescale,
resize (area/bilinear) and z-score on the same files; 1 and 2 worker processes."""
import json
import multiprocessing
import os
import statistics
import sys
import time

import numpy as np
import pydicom
from PIL import Image

SIZE = int(os.environ.get("SIZE", "224"))


def preprocess(path):
    if path.endswith(".dcm"):
        ds = pydicom.dcmread(path)
        img = ds.pixel_array.astype(np.float32) * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
    else:
        img = np.asarray(Image.open(path), dtype=np.float32)
    shrinking = img.shape[0] > SIZE
    img = np.asarray(Image.fromarray(img, mode="F").resize((SIZE, SIZE), Image.BOX if shrinking else Image.BILINEAR))
    return float(((img - img.mean()) / (img.std() + 1e-8))[0, 0])


def main(folder, repeats=5):
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith((".dcm", ".png")))
    results = []
    for workers in (1, 2):
        times = []
        with multiprocessing.Pool(workers) as pool:
            pool.map(preprocess, files[:4])  # warm up imports
            for _ in range(repeats):
                start = time.perf_counter()
                pool.map(preprocess, files, chunksize=8) if workers > 1 else [preprocess(f) for f in files]
                times.append(time.perf_counter() - start)
        results.append({"workers": workers, "images": len(files), "median_s": statistics.median(times),
                        "images_per_s": len(files) / statistics.median(times)})
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1])
