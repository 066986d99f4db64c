"""The Python peer of `medpipe run` with is_train false: python3-torch loads medpipe's
TorchScript model, decodes every PNG of a folder with PIL, z-scores it, predicts in batches of
256 (with the mirror test-time augmentation medpipe applies by default, unless TTA=0) and
writes predictions.csv with one row per image. Prints the wall time of the whole script,
imports included, as the peer of the whole medpipe command."""
import time

START = time.perf_counter()
import csv  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402


def load(path):
    img = np.asarray(Image.open(path), dtype=np.float32)
    return (img - img.mean()) / (img.std() + 1e-8)


def main(folder, model_pt, out_csv, threads, tta):
    torch.set_num_threads(threads)
    model = torch.jit.load(model_pt).eval()
    names = sorted(f for f in os.listdir(folder) if f.endswith(".png"))
    rows = []
    with torch.inference_mode():
        for i in range(0, len(names), 256):
            chunk = names[i:i + 256]
            x = torch.from_numpy(np.stack([load(os.path.join(folder, n)) for n in chunk]))[:, None]
            p = torch.softmax(model(x), 1)
            if tta:
                p = (p + torch.softmax(model(torch.flip(x, [3])), 1)) / 2
            for name, probs in zip(chunk, p.tolist()):
                rows.append([name[:-4], int(np.argmax(probs))] + probs)
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "prediction"] + [f"prob_{k}" for k in range(len(rows[0]) - 2)])
        w.writerows(rows)
    print(json.dumps({"images": len(rows), "seconds": time.perf_counter() - START, "threads": threads,
                      "tta": bool(tta)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(os.environ.get("TTA", "1")))
