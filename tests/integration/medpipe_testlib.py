"""Helpers for the integration tests: run the real medpipe binary in a temporary folder."""
import csv
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MEDPIPE = os.environ.get("MEDPIPE_BIN") or os.path.join(HERE, "..", "..", "build", "medpipe")
SHARED_DATA = os.environ.get("MEDPIPE_SHARED_DATA") or os.path.join(HERE, "..", "..", "..", "shared", "data")

# Signs that an error escaped as a crash instead of a message.
CRASH_MARKERS = ("Traceback", "terminate called", "Exception raised from", "Segmentation fault",
                 "Aborted", "core dumped", "frame #")


def run(args, cwd, timeout=900, env=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([MEDPIPE] + [str(a) for a in args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def write_event(path, event):
    with open(path, "w") as f:
        json.dump(event, f)
    return path


def write_labels(path, rows, header=("image", "level")):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        if header:
            w.writerow(header)
        w.writerows(rows)
    return path


def make_separable_set(folder, count, size=16, seed=0, channels=1):
    """Images whose class is where a bright square is; labels.csv beside images/."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    rows = []
    for i in range(count):
        level = i % 2
        img = rng.normal(60, 10, (size, size)).clip(0, 255)
        half = size // 2
        if level:
            img[:half, :half] += 120
        else:
            img[half:, half:] += 120
        img = img.clip(0, 255).astype(np.uint8)
        if channels == 3:
            img = np.stack([img, img // 2, 255 - img], axis=-1)
        name = f"img_{i:04d}"
        Image.fromarray(img).save(os.path.join(folder, "images", name + ".png"))
        rows.append((name, level))
    write_labels(os.path.join(folder, "labels.csv"), rows)
    return rows


def read_csv_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class MedpipeTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="medpipe_it_")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def medpipe(self, *args, **kwargs):
        return run(list(args), cwd=self.tmp, **kwargs)

    def assertNoCrash(self, result):
        text = result.stdout + result.stderr
        for marker in CRASH_MARKERS:
            self.assertNotIn(marker, text, f"crash marker {marker!r} in output:\n{text}")
        self.assertGreaterEqual(result.returncode, 0, f"killed by a signal:\n{text}")

    def assertUsageError(self, result, *needles):
        self.assertNoCrash(result)
        self.assertEqual(result.returncode, 2, f"expected exit 2, got {result.returncode}:\n{result.stderr}")
        self.assertIn("medpipe: error:", result.stderr)
        for needle in needles:
            self.assertIn(needle, result.stderr)

    def assertResumableFailure(self, result, *needles):
        """Exit 1 (the run failed part-way and can be resumed), its message naming `needles`."""
        self.assertNoCrash(result)
        self.assertEqual(result.returncode, 1, f"expected exit 1, got {result.returncode}:\n{result.stderr}")
        for needle in needles:
            self.assertIn(needle, result.stderr)

    def assertDone(self, result):
        self.assertNoCrash(result)
        self.assertEqual(result.returncode, 0, f"exit {result.returncode}:\n{result.stderr[-3000:]}")


def gmm_start(z, means, reg_covar=1e-6):
    """medpipe's Gaussian-mixture start from given means, as scikit-learn's weights_init and
    precisions_init: each row to its nearest mean, then the weights and full covariances of that
    hard assignment (around the assignment's own means, as scikit-learn's M-step)."""
    nearest = ((z[:, None, :] - means[None]) ** 2).sum(2).argmin(1)
    weights, precisions = [], []
    for c in range(len(means)):
        member = z[nearest == c]
        nk = len(member) + 10 * np.finfo(float).eps
        weights.append(nk)
        d = member - member.mean(0)
        precisions.append(np.linalg.inv(d.T @ d / nk + reg_covar * np.eye(z.shape[1])))
    return np.array(weights) / np.sum(weights), np.array(precisions)
