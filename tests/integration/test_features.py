"""medpipe features: IBSI conformance on the digital and CT phantoms, RTSTRUCT masks, a
cross-check of GLCM features with scikit-image, and bad inputs."""
import csv
import json
import math
import os
import sys
import unittest

import numpy as np
from PIL import Image

from medpipe_testlib import MedpipeTestCase, SHARED_DATA, read_csv_rows

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import ibsi_compare  # noqa: E402
import ibsi_reference_from_docs  # noqa: E402

IBSI = os.path.join(SHARED_DATA, "ibsi")
CONFIGS = os.path.join(REPO, "configs", "ibsi")


def need_ibsi(test):
    return unittest.skipUnless(os.path.isdir(IBSI), f"IBSI data not found at {IBSI}")(test)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def features_row(path):
    rows = read_csv_rows(path)
    return {k: float(v) for k, v in rows[0].items() if k != "image"}


class IbsiConformance(MedpipeTestCase):
    def compute(self, image, mask, config, out):
        r = self.medpipe("features", "--image", image, "--mask", mask, "--out", self.path(out),
                         "--config", os.path.join(CONFIGS, config))
        self.assertDone(r)
        return self.path(out)

    @need_ibsi
    def test_digital_phantom_matches_every_reference_value(self):
        out = self.compute(os.path.join(IBSI, "digital_phantom", "image", "phantom.nii.gz"),
                           os.path.join(IBSI, "digital_phantom", "mask", "mask.nii.gz"),
                           "digital_phantom.json", "phantom.csv")
        results = ibsi_compare.compare(os.path.join(IBSI, "reference_values_digital_phantom.csv"), out)
        self.assertEqual(len(results), 482)
        missed = [f"{r['feature']} {r['aggregation']}: {r['value']} vs {r['reference']}"
                  for r in results if not r["ok"]]
        print(f"digital phantom: {len(results) - len(missed)} of {len(results)} within tolerance")
        self.assertEqual(missed, [])

    @need_ibsi
    def test_ct_phantom_configurations_a_to_e_match_the_manual(self):
        docs = os.path.join(IBSI, "docs", "ibsi-doc_03_Image_features.rst")
        reference = self.path("reference.csv")
        sys.argv = ["x", docs, reference]
        ibsi_reference_from_docs.main()
        image = os.path.join(IBSI, "ct_phantom", "nifti", "image", "phantom.nii.gz")
        mask = os.path.join(IBSI, "ct_phantom", "nifti", "mask", "mask.nii.gz")
        for config in "ABCDE":
            out = self.compute(image, mask, f"config_{config}.json", f"ct_{config}.csv")
            results = ibsi_compare.compare(reference, out, f"config. {config}")
            missed = [f"{r['feature']} {r['aggregation']}: {r['value']} vs {r['reference']}"
                      f" +- {r['tolerance']}" for r in results if not r["ok"]]
            print(f"CT phantom config {config}: {len(results) - len(missed)} of {len(results)}")
            self.assertGreater(len(results), 200)
            self.assertEqual(missed, [], f"config {config}")

    @need_ibsi
    def test_rtstruct_mask_equals_the_nifti_mask(self):
        import nibabel as nib
        dicom = os.path.join(IBSI, "ct_phantom", "dicom")
        rtstruct = os.path.join(dicom, "mask", "DCM_RS_00060.dcm")
        r = self.medpipe("convert", rtstruct, self.path("gtv.nii.gz"), "--reference",
                         os.path.join(dicom, "image"))
        self.assertDone(r)
        ours = nib.as_closest_canonical(nib.load(self.path("gtv.nii.gz")))
        theirs = nib.as_closest_canonical(
            nib.load(os.path.join(IBSI, "ct_phantom", "nifti", "mask", "mask.nii.gz")))
        np.testing.assert_allclose(ours.affine, theirs.affine, atol=1e-3)
        a = np.asarray(ours.dataobj) > 0.5
        b = np.asarray(theirs.dataobj) > 0.5
        self.assertEqual(int(a.sum()), int(b.sum()))
        self.assertEqual(int((a != b).sum()), 0)
        # the RTSTRUCT itself as the features mask, on the DICOM series
        out = self.compute(os.path.join(dicom, "image"), rtstruct, "config_A.json", "dicom_A.csv")
        nifti = self.compute(os.path.join(IBSI, "ct_phantom", "nifti", "image", "phantom.nii.gz"),
                             os.path.join(IBSI, "ct_phantom", "nifti", "mask", "mask.nii.gz"),
                             "config_A.json", "nifti_A.csv")
        ours_dicom, ours_nifti = features_row(out), features_row(nifti)
        self.assertEqual(list(ours_dicom), list(ours_nifti))
        for name, value in ours_nifti.items():  # equal but for the last of 15 digits
            if math.isnan(value):
                self.assertTrue(math.isnan(ours_dicom[name]), name)
            else:
                self.assertAlmostEqual(ours_dicom[name], value, delta=1e-9 * max(1.0, abs(value)),
                                       msg=name)
        r = self.medpipe("convert", rtstruct, self.path("x.nii.gz"), "--reference",
                         os.path.join(dicom, "image"), "--roi", "GTV-2")
        self.assertUsageError(r, "no ROI named 'GTV-2'", "'GTV-1'")


class GlcmAgainstScikitImage(MedpipeTestCase):
    def test_2d_averaged_glcm_features_equal_graycoprops(self):
        from skimage.feature import graycomatrix, graycoprops
        rng = np.random.default_rng(5)
        image = rng.integers(0, 8, (48, 40)).astype(np.float32)
        image[0, 0], image[0, 1] = 0, 7  # every level present: our levels are value + 1
        np.save(self.path("img.npy"), image)
        r = self.medpipe("features", "--image", self.path("img.npy"), "--out", self.path("f.csv"),
                         "--config", os.path.join(CONFIGS, "digital_phantom.json"))
        self.assertDone(r)
        ours = features_row(self.path("f.csv"))
        glcm = graycomatrix(image.astype(np.uint8), [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4],
                            levels=8, symmetric=True, normed=True)
        expected = {
            "cm_contrast_ACUI_BTW3": "contrast", "cm_dissimilarity_8S9J_BTW3": "dissimilarity",
            "cm_inv_diff_mom_WF0Z_BTW3": "homogeneity", "cm_energy_8ZQL_BTW3": "ASM",
            "cm_corr_NI2N_BTW3": "correlation"}
        for column, prop in expected.items():
            theirs = float(graycoprops(glcm, prop).mean())
            self.assertAlmostEqual(ours[column], theirs, delta=1e-12 * max(1.0, abs(theirs)),
                                   msg=column)


class FeatureInputs(MedpipeTestCase):
    def nifti(self, name, data, spacing=(2.0, 2.0, 2.0), origin=(0.0, 0.0, 0.0)):
        import nibabel as nib
        affine = np.diag(list(spacing) + [1.0])
        affine[:3, 3] = origin
        nib.save(nib.Nifti1Image(np.asarray(data, np.float32), affine), self.path(name))
        return self.path(name)

    def test_empty_mask_is_a_clear_error(self):
        image = self.nifti("img.nii.gz", np.arange(60).reshape(5, 4, 3))
        mask = self.nifti("mask.nii.gz", np.zeros((5, 4, 3)))
        r = self.medpipe("features", "--image", image, "--mask", mask, "--out", self.path("f.csv"))
        self.assertUsageError(r, "mask.nii.gz", "mask is empty")
        self.assertFalse(os.path.exists(self.path("f.csv")))

    def test_mask_outside_the_image_is_a_clear_error(self):
        image = self.nifti("img.nii.gz", np.arange(60).reshape(5, 4, 3))
        mask = self.nifti("mask.nii.gz", np.ones((5, 4, 3)), origin=(500.0, 0.0, 0.0))
        r = self.medpipe("features", "--image", image, "--mask", mask, "--out", self.path("f.csv"))
        self.assertUsageError(r, "the mask lies outside the image")

    def test_geometry_mismatch_gives_both_geometries_and_the_tolerance(self):
        image = self.nifti("img.nii.gz", np.arange(60).reshape(5, 4, 3))
        mask = self.nifti("mask.nii.gz", np.ones((5, 4, 3)), spacing=(2.0, 2.0, 2.5))
        r = self.medpipe("features", "--image", image, "--mask", mask, "--out", self.path("f.csv"))
        self.assertUsageError(r, "do not share a voxel grid", "spacing 2 x 2 x 2 mm",
                              "spacing 2 x 2 x 2.5 mm", "tolerance")

    def test_single_valued_region_warns_and_writes_nan_not_silently(self):
        image = self.nifti("img.nii.gz", np.full((5, 4, 3), 40.0))
        r = self.medpipe("features", "--image", image, "--out", self.path("f.csv"))
        self.assertDone(r)
        self.assertIn("single intensity", r.stderr)
        self.assertIn("undefined", r.stderr)
        row = features_row(self.path("f.csv"))
        self.assertEqual(row["stat_mean_Q4LE"], 40.0)
        self.assertTrue(math.isnan(row["stat_skew_KE2A"]))

    def test_folder_with_a_corrupt_image_skips_and_lists_it(self):
        os.makedirs(self.path("images"))
        os.makedirs(self.path("masks"))
        rng = np.random.default_rng(0)
        for name in ("a", "b"):
            Image.fromarray(rng.integers(0, 255, (20, 24)).astype(np.uint8)).save(
                self.path("images", name + ".png"))
            m = np.zeros((20, 24), np.uint8)
            m[5:15, 4:20] = 1
            np.save(self.path("masks", name + ".npy"), m)
        with open(self.path("images", "c.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\nnot really")
        np.save(self.path("masks", "c.npy"), np.ones((20, 24), np.uint8))
        r = self.medpipe("features", "--image", self.path("images"), "--mask", self.path("masks"),
                         "--out", self.path("out", "features.csv"))
        self.assertDone(r)
        rows = read_csv_rows(self.path("out", "features.csv"))
        self.assertEqual([row["image"] for row in rows], ["a", "b"])
        self.assertIn("morph2d_area_pixels_NOIBSI", rows[0])  # 2D images: 2D shape features
        self.assertIn("cm_joint_max_GYBY_BTW3", rows[0])
        skipped = read_csv_rows(self.path("out", "skipped.csv"))
        self.assertEqual([s["image"] for s in skipped], ["c"])
        self.assertIn("c.png", skipped[0]["reason"])
        mode = os.stat(self.path("out", "features.csv")).st_mode & 0o777
        self.assertEqual(mode & 0o007, 0, "features.csv must not be world-readable")


class FeaturesPipeline(MedpipeTestCase):
    """pipeline features: radiomics vectors, a normaliser fitted on training images only, the MLP."""

    def make_set(self, folder, count, seed):
        # class 1: rough texture (high-variance noise); class 0: smooth; same mean brightness
        rng = np.random.default_rng(seed)
        os.makedirs(self.path(folder, "images"))
        rows = []
        for i in range(count):
            level = i % 2
            noise = rng.normal(0, 40 if level else 8, (32, 32))
            img = (120 + noise).clip(0, 255).astype(np.uint8)
            name = f"{folder}_{i:03d}"
            Image.fromarray(img).save(self.path(folder, "images", name + ".png"))
            rows.append((name, level))
        with open(self.path(folder, "labels.csv"), "w") as f:
            f.write("image,level\n" + "".join(f"{n},{l}\n" for n, l in rows))
        return rows

    def test_train_predict_and_the_normaliser_sees_training_images_only(self):
        train = self.make_set("train", 40, 1)
        self.make_set("val", 12, 2)
        self.make_set("test", 16, 3)
        event = {"images_bucket": self.path("train"), "val_images_bucket": self.path("val"),
                 "pipeline": "features", "epochs": 30, "optimizer": "adam",
                 "learning_rate": 0.003, "model_bucket_name": "radiomics"}
        with open(self.path("e.json"), "w") as f:
            json.dump(event, f)
        self.assertDone(self.medpipe("run", "e.json"))
        model = self.path("models", "radiomics")
        meta = load_json(os.path.join(model, "model.json"))
        self.assertEqual(meta["pipeline"], "features")
        norm = meta["features"]["normaliser"]
        self.assertEqual(meta["model"]["in_channels"], len(norm["columns"]))
        # recompute the normaliser from features.csv's training rows only
        table = read_csv_rows(os.path.join(model, "features.csv"))
        self.assertEqual(len(table), 40 + 12)  # training and validation images
        names = {n for n, _ in train}
        for k, column in enumerate(norm["columns"][:40]):
            values = np.array([float(r[column]) for r in table if r["image"] in names])
            self.assertAlmostEqual(norm["mean"][k], values.mean(), delta=1e-9 * max(1, abs(values.mean())))
            self.assertAlmostEqual(norm["sd"][k], values.std(), delta=1e-9 * max(1, values.std()))
        # the image size is the same for all: the whole-image area cannot vary and is dropped
        self.assertIn("morph2d_area_pixels_NOIBSI", norm["dropped_constant"])
        self.assertNotIn("morph2d_area_pixels_NOIBSI", norm["columns"])
        self.assertGreaterEqual(meta["validation_metrics"]["roc_auc"], 0.95)
        # inference on unseen images with the stored settings and normaliser
        predict = {"is_train": False, "images_bucket": self.path("test"),
                   "model_bucket_name": "radiomics", "results_bucket": self.path("results")}
        with open(self.path("p.json"), "w") as f:
            json.dump(predict, f)
        self.assertDone(self.medpipe("run", "p.json"))
        metrics = load_json(self.path("results", "metrics.json"))
        self.assertGreaterEqual(metrics["accuracy"], 0.9)
        self.assertEqual(len(read_csv_rows(self.path("results", "features.csv"))), 16)

    def test_features_pipeline_refuses_segmentation_and_other_archs(self):
        self.make_set("train", 4, 1)
        for extra, needle in (({"arch": "cnn"}, "trains an mlp"),
                              ({"label_style": "array"}, "classifies images")):
            event = {"images_bucket": self.path("train"), "pipeline": "features", **extra}
            with open(self.path("e.json"), "w") as f:
                json.dump(event, f)
            self.assertUsageError(self.medpipe("run", "e.json"), needle)


if __name__ == "__main__":
    unittest.main()
