"""Volumes (issue 20): a 3D CNN classifies NIfTI volumes end to end. The saved model.pt, run by
python3-torch on volumes read by nibabel and z-scored in numpy, gives medpipe's probabilities;
volumes of different spacings are resampled to the median one; a 2D network for volumes is a
usage error; broken DICOM series (a missing slice, mixed orientations, two series in one folder,
more voxels than max_image_pixels) are refused with messages that say what to do."""
import json
import os
import unittest

import numpy as np

from medpipe_testlib import SHARED_DATA, MedpipeTestCase, read_csv_rows, write_event, write_labels

try:
    import nibabel as nib
    import torch
except ImportError:  # pragma: no cover
    nib = torch = None

ADRENAL = os.path.join(SHARED_DATA, "adrenalmnist3d")
CT_SERIES = os.path.join(SHARED_DATA, "ibsi", "ct_phantom", "dicom", "image")


def load_json(path):
    with open(path) as f:
        return json.load(f)


def write_ball_volumes(folder, count, spacing_mm, seed):
    """Class 1: a large ball, class 0: a small one, at random places, 1 mm or 0.5 mm voxels."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    rows = []
    for i in range(count):
        level = i % 2
        spacing = spacing_mm[i % len(spacing_mm)]
        n = int(round(16 / spacing))
        z, y, x = np.mgrid[0:n, 0:n, 0:n] * spacing
        c = 8 + rng.uniform(-2, 2, 3)
        r = 5.0 if level else 2.5
        v = ((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 < r * r) * 100.0
        v = v + rng.normal(0, 5, v.shape)
        img = nib.Nifti1Image(v.transpose(2, 1, 0).astype(np.float32), np.diag([spacing] * 3 + [1]))
        name = f"vol_{i:03d}"
        nib.save(img, os.path.join(folder, "images", name + ".nii.gz"))
        rows.append((name, level))
    write_labels(os.path.join(folder, "labels.csv"), rows)


@unittest.skipIf(nib is None, "python3-nibabel or python3-torch is not installed")
class SyntheticVolumes(MedpipeTestCase):
    def test_spacings_are_resampled_and_the_model_is_separable(self):
        write_ball_volumes(self.path("train"), 24, [1.0, 0.5], seed=1)
        write_ball_volumes(self.path("val"), 12, [0.5, 1.0], seed=2)
        write_event(self.path("e.json"), {"images_bucket": "train", "val_images_bucket": "val",
                                          "epochs": 12, "batch_size": 8, "seed": 1})
        self.assertDone(self.medpipe("run", "e.json"))
        meta = load_json(self.path("models", "model", "model.json"))
        self.assertEqual(meta["arch"], "cnn3d")
        spec = meta["preprocessing"]
        self.assertEqual(spec["spacing_mm"], [0.75, 0.75, 0.75])  # the median of 0.5 and 1
        self.assertEqual(spec["depth_px"], spec["size_px"])
        self.assertEqual(meta["input_size"], [spec["depth_px"], spec["size_px"], spec["size_px"]])
        # the balls' sizes, not their fields of view, decide: separable at either spacing
        self.assertGreaterEqual(meta["validation_metrics"]["roc_auc"], 0.95)

    def test_a_2d_network_for_volumes_is_a_usage_error(self):
        write_ball_volumes(self.path("train"), 4, [1.0], seed=1)
        write_event(self.path("e.json"), {"images_bucket": "train", "arch": "cnn"})
        self.assertUsageError(self.medpipe("run", "e.json"), "volumes", "cnn3d")


@unittest.skipUnless(os.path.isdir(ADRENAL), "../shared/data/adrenalmnist3d is absent")
@unittest.skipIf(nib is None, "python3-nibabel or python3-torch is not installed")
class AdrenalMNIST3D(MedpipeTestCase):
    """A short run (its full defaults are recorded in docs/benchmarks.md): it learns, and the
    saved model is the model medpipe predicts with."""

    def test_trains_predicts_and_python_reproduces_the_probabilities(self):
        write_event(self.path("train.json"), {"images_bucket": os.path.join(ADRENAL, "train"),
                                              "val_images_bucket": os.path.join(ADRENAL, "val"),
                                              "model_bucket_name": "adrenal", "epochs": 8})
        self.assertDone(self.medpipe("run", "train.json"))
        meta = load_json(self.path("models", "adrenal", "model.json"))
        self.assertEqual(meta["input_size"], [28, 28, 28])
        self.assertGreaterEqual(meta["validation_metrics"]["roc_auc"], 0.75)
        write_event(self.path("predict.json"), {"images_bucket": os.path.join(ADRENAL, "val"),
                                                "model_bucket_name": "adrenal", "is_train": False,
                                                "tta": False})
        self.assertDone(self.medpipe("run", "predict.json"))
        preds = read_csv_rows(self.path("results", "adrenal", "predictions.csv"))
        self.assertEqual(len(preds), 98)
        model = torch.jit.load(self.path("models", "adrenal", "model.pt"))
        model.eval()
        batch, expected = [], []
        for row in preds[:16]:
            path = os.path.join(ADRENAL, "val", "images", row["image"] + ".nii.gz")
            v = np.asarray(nib.load(path).dataobj, dtype=np.float64).transpose(2, 1, 0)
            batch.append(((v - v.mean()) / v.std())[None].astype(np.float32))
            expected.append(float(row["prob_1"]))
        with torch.no_grad():
            probs = torch.softmax(model(torch.from_numpy(np.stack(batch))), 1)[:, 1].numpy()
        np.testing.assert_allclose(probs, expected, atol=1e-4)
        metrics = load_json(self.path("results", "adrenal", "metrics.json"))
        self.assertGreaterEqual(metrics["roc_auc"], 0.75)


@unittest.skipUnless(os.path.isdir(CT_SERIES), f"IBSI CT series not found at {CT_SERIES}")
class BadSeries(MedpipeTestCase):
    """The IBSI CT phantom's 60 slices, copied and broken one way per folder with pydicom."""

    def broken_copy(self, name, change):
        import pydicom
        folder = self.path("images", name)
        os.makedirs(folder)
        files = sorted(os.listdir(CT_SERIES))
        for k, f in enumerate(files):
            ds = pydicom.dcmread(os.path.join(CT_SERIES, f))
            if change(k, ds) is not False:
                ds.save_as(os.path.join(folder, f))
        return folder

    def assertRefused(self, folder, *needles):
        r = self.medpipe("convert", "--info", folder)
        self.assertUsageError(r, *needles)
        for identifier in ("PatientName", "PatientID"):
            self.assertNotIn(identifier, r.stderr)

    def test_each_broken_series_is_named_with_its_fault(self):
        missing = self.broken_copy("missing", lambda k, ds: k != 30)
        self.assertRefused(missing, "unevenly spaced", "a slice is missing")

        def tilt(k, ds):
            if k == 12:
                ds.ImageOrientationPatient = [1, 0, 0, 0, 0.8, -0.6]
        self.assertRefused(self.broken_copy("tilted", tilt), "different orientations", "own folder")

        def second_series(k, ds):
            if k >= 40:
                ds.SeriesInstanceUID = ds.SeriesInstanceUID[:-2] + ".2"
        self.assertRefused(self.broken_copy("two", second_series), "2 series", "own folder")

    def test_a_series_larger_than_max_image_pixels_is_skipped_with_the_reason(self):
        os.makedirs(self.path("images"))
        for name in ("a", "b"):
            os.symlink(CT_SERIES, self.path("images", name))
        write_labels(self.path("labels.csv"), [("a", 0), ("b", 1)])
        r = self.medpipe("train", "--images-bucket", self.path("images"), "--labels",
                         self.path("labels.csv"), "--model-bucket-name", "m",
                         "--max-image-pixels", "1000000", "--epochs", "1")
        self.assertUsageError(r, "the series of 60 slices", "max_image_pixels")


if __name__ == "__main__":
    unittest.main()
