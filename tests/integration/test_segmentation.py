"""Segmentation end to end through the real binary: metrics against scipy, training and
prediction on synthetic slices, NIfTI volume geometry, and bad label arrays."""
import json
import os
import shutil
import stat
import struct
import unittest

import numpy as np
from PIL import Image
from scipy import ndimage

from medpipe_testlib import CRASH_MARKERS, SHARED_DATA, MedpipeTestCase, read_csv_rows, run, write_event


def surface(mask):
    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    return mask & ~ndimage.binary_erosion(mask, structure, border_value=0)


def directed(a, b, sampling):
    """Distances from a's surface voxels to b's surface (scipy's exact EDT)."""
    return ndimage.distance_transform_edt(~surface(b), sampling=sampling)[surface(a)]


def reference_scores(truth, pred, cls, sampling):
    a, b = truth == cls, pred == cls
    if not a.any() and not b.any():
        return 1.0, 1.0, 0.0, 0.0
    inter = np.logical_and(a, b).sum()
    dice = 2 * inter / (a.sum() + b.sum())
    jaccard = inter / np.logical_or(a, b).sum()
    if not a.any() or not b.any():
        return dice, jaccard, float("nan"), float("nan")
    ab, ba = directed(a, b, sampling), directed(b, a, sampling)
    return dice, jaccard, max(np.percentile(ab, 95), np.percentile(ba, 95)), (ab.mean() + ba.mean()) / 2


def write_nifti1(path, volume_zyx, spacing_xyz, origin_xyz, dtype=np.int16):
    """A minimal NIfTI-1 (.nii) with an sform: x fastest, as the format stores voxels."""
    header = bytearray(348)
    struct.pack_into("<i", header, 0, 348)
    nz, ny, nx = volume_zyx.shape
    struct.pack_into("<8h", header, 40, 3, nx, ny, nz, 1, 1, 1, 1)
    code, bits = {np.int16: (4, 16), np.uint8: (2, 8)}[dtype]
    struct.pack_into("<hh", header, 70, code, bits)
    struct.pack_into("<8f", header, 76, 1.0, *spacing_xyz, 1.0, 1.0, 1.0, 1.0)
    struct.pack_into("<f", header, 108, 352.0)
    struct.pack_into("<ff", header, 112, 1.0, 0.0)  # scl_slope, scl_inter
    struct.pack_into("<hh", header, 252, 0, 1)  # qform_code 0, sform_code 1
    sx, sy, sz = spacing_xyz
    # a direction with a flipped y axis, so orientation is really carried through
    rows = [(sx, 0, 0, origin_xyz[0]), (0, -sy, 0, origin_xyz[1]), (0, 0, sz, origin_xyz[2])]
    for r, row in enumerate(rows):
        struct.pack_into("<4f", header, 280 + 16 * r, *row)
    header[344:348] = b"n+1\0"
    with open(path, "wb") as f:
        f.write(bytes(header) + b"\0" * 4 + volume_zyx.astype(dtype).tobytes())


def blob_mask(rng, shape, classes):
    mask = np.zeros(shape, np.uint8)
    for cls in range(1, classes):
        for _ in range(rng.integers(1, 3)):
            centre = [rng.integers(0, s) for s in shape]
            radius = rng.integers(2, max(3, min(shape) // 3))
            grid = np.ogrid[tuple(slice(0, s) for s in shape)]
            mask[sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius ** 2] = cls
    return mask


class SegmentationMetricsAgainstScipy(MedpipeTestCase):
    def evaluate(self, truths, preds, image_writer, num_classes):
        for d in ("data/images", "data/masks", "res"):
            os.makedirs(os.path.join(self.tmp, d), exist_ok=True)
        rows = ["image,mask"]
        for name in truths:
            image_writer(os.path.join(self.tmp, "data/images", name), truths[name])
            np.save(os.path.join(self.tmp, "data/masks", name + ".npy"), truths[name])
            np.save(os.path.join(self.tmp, "res", name + ".npy"), preds[name])
            rows.append(f"{name},{name}.npy")
        with open(os.path.join(self.tmp, "res/predictions.csv"), "w") as f:
            f.write("\n".join(rows) + "\n")
        r = run(["evaluate", "--images-bucket", "data", "--label-style", "array", "--results-bucket", "res",
                 "--num-classes", num_classes], cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.tmp, "res/metrics.json")) as f:
            return json.load(f)

    def check(self, metrics, truths, preds, num_classes, sampling):
        by_image = {row["image"]: row for row in metrics["per_image"]}
        for name in truths:
            per_class = [reference_scores(truths[name], preds[name], c, sampling) for c in range(1, num_classes)]
            expected = np.array(per_class).mean(axis=0)  # NaN when any class's is
            got = by_image[name]
            for k, key in enumerate(("dice", "jaccard", "hausdorff95", "assd")):
                if np.isnan(expected[k]):
                    self.assertIsNone(got[key], f"{name} {key}")
                else:
                    self.assertAlmostEqual(got[key], expected[k], delta=1e-6, msg=f"{name} {key}")

    def test_random_2d_masks_in_pixels(self):
        rng = np.random.default_rng(5)
        truths, preds = {}, {}
        for i in range(6):
            truth = blob_mask(rng, (48, 56), 3)
            pred = np.roll(truth, rng.integers(-3, 4), axis=1)
            pred[rng.random(pred.shape) < 0.02] = rng.integers(0, 3)
            truths[f"r{i}"], preds[f"r{i}"] = truth, pred
        truths["empty_both"], preds["empty_both"] = np.zeros((48, 56), np.uint8), np.zeros((48, 56), np.uint8)
        truths["missed"], preds["missed"] = blob_mask(rng, (48, 56), 3), np.zeros((48, 56), np.uint8)

        def png(path, mask):
            Image.fromarray((mask * 60).astype(np.uint8)).save(path + ".png")
        m = self.evaluate(truths, preds, png, 3)
        self.assertEqual(m["distance_units"], "pixels")
        self.assertEqual(m["n"], 8)
        self.check(m, truths, preds, 3, (1.0, 1.0))
        self.assertGreaterEqual(m["hausdorff95_undefined"], 1)

    def test_real_isbi_masks(self):
        masks = os.path.join(SHARED_DATA, "isbi2012_em", "train", "masks")
        if not os.path.isdir(masks):
            self.skipTest(f"{masks} is absent")
        names = sorted(os.listdir(masks))[:2]
        truths = {n[:-4]: np.load(os.path.join(masks, n)).astype(np.uint8) for n in names}
        preds = {k: ndimage.binary_dilation(v, iterations=2).astype(np.uint8) for k, v in truths.items()}

        def png(path, mask):
            Image.fromarray((mask * 255).astype(np.uint8)).save(path + ".png")
        self.check(self.evaluate(truths, preds, png, 2), truths, preds, 2, (1.0, 1.0))

    def test_3d_masks_in_mm(self):
        rng = np.random.default_rng(9)
        truths, preds = {}, {}
        for i in range(3):
            truth = blob_mask(rng, (10, 30, 26), 2)
            truths[f"v{i}"] = truth
            preds[f"v{i}"] = np.roll(truth, 1, axis=0) | (rng.random(truth.shape) < 0.005)
            preds[f"v{i}"] = preds[f"v{i}"].astype(np.uint8)
        spacing_xyz = (0.7, 0.9, 2.5)

        def nifti(path, mask):
            write_nifti1(path + ".nii", mask * 100, spacing_xyz, (10.0, -20.0, 5.0))
        m = self.evaluate(truths, preds, nifti, 2)
        self.assertEqual(m["distance_units"], "mm")
        self.check(m, truths, preds, 2, spacing_xyz[::-1])


class SegmentationEndToEnd(MedpipeTestCase):
    def test_synthetic_train_predict_evaluate(self):
        for out, seed in (("train", 3), ("test", 4)):
            r = run(["synth", "--task", "segment", "--out", out, "--count", 24 if out == "train" else 8,
                     "--size", 48, "--seed", seed], cwd=self.tmp)
            self.assertEqual(r.returncode, 0, r.stderr)
        event = {"images_bucket": "train", "label_style": "array", "epochs": 12, "optimizer": "adam",
                 "learning_rate": 0.002, "model_bucket_name": "syn", "seed": 1, "unet_width": 8,
                 "unet_depth": 3}
        write_event(os.path.join(self.tmp, "e.json"), event)
        r = run(["run", "e.json"], cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        meta = json.load(open(os.path.join(self.tmp, "models/syn/model.json")))
        self.assertEqual(meta["task"], "segment")
        self.assertEqual(meta["patch_size"], 48)
        r = run(["run", "e.json", "--set", "is_train=false", "--set", "images_bucket=test"], cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        res = os.path.join(self.tmp, "results/syn")
        rows = read_csv_rows(os.path.join(res, "predictions.csv"))
        self.assertEqual([row["image"] for row in rows], [f"case_{i:05d}" for i in range(8)])
        mask = np.load(os.path.join(res, rows[0]["mask"]))
        self.assertEqual((mask.shape, mask.dtype), ((48, 48), np.uint8))
        preview = Image.open(os.path.join(res, "case_00000.png"))
        self.assertEqual((preview.size, preview.mode), ((48, 48), "RGB"))
        m = json.load(open(os.path.join(res, "metrics.json")))
        self.assertGreater(m["dice"], 0.6, m)
        # recomputed from the written masks with scipy
        dices = []
        for row in rows:
            truth = np.load(os.path.join(self.tmp, "test/masks", row["image"] + ".npy"))
            pred = np.load(os.path.join(res, row["mask"]))
            dices.append(reference_scores(truth, pred, 1, (0.7, 0.7))[0])
        self.assertAlmostEqual(m["dice"], float(np.mean(dices)), delta=1e-9)
        self.assertIn("per-image", open(os.path.join(res, "report.html")).read())
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(res, rows[0]["mask"])).st_mode) & 0o007, 0)

    def test_nifti_volume_keeps_its_geometry(self):
        rng = np.random.default_rng(2)
        os.makedirs(os.path.join(self.tmp, "vol/images"))
        os.makedirs(os.path.join(self.tmp, "vol/masks"))
        for i in range(2):
            volume = rng.normal(100, 20, (6, 40, 36))
            mask = blob_mask(rng, (6, 40, 36), 2)
            volume[mask == 1] += 80
            write_nifti1(os.path.join(self.tmp, f"vol/images/v{i}.nii"), volume, (0.8, 0.6, 3.0), (-12.5, 30.0, 7.0))
            np.save(os.path.join(self.tmp, f"vol/masks/v{i}.npy"), mask)
        write_event(os.path.join(self.tmp, "v.json"),
                    {"images_bucket": "vol", "label_style": "array", "epochs": 1, "val_fraction": 0,
                     "model_bucket_name": "vol", "unet_width": 4, "unet_depth": 2, "patches_per_image": 1})
        r = run(["run", "v.json"], cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run(["run", "v.json", "--set", "is_train=false"], cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = os.path.join(self.tmp, "results/vol/v0.nii.gz")
        info_in = json.loads(run(["convert", "--info", "vol/images/v0.nii"], cwd=self.tmp).stdout)
        info_out = json.loads(run(["convert", "--info", out], cwd=self.tmp).stdout)
        for key in ("shape", "spacing_mm", "origin_mm", "direction"):
            self.assertEqual(np.round(info_in[key], 5).tolist(), np.round(info_out[key], 5).tolist(), key)
        self.assertEqual(np.load(os.path.join(self.tmp, "results/vol/v0.npy")).shape, (6, 40, 36))

    def test_ibsi_ct_phantom_nifti(self):
        image = os.path.join(SHARED_DATA, "ibsi", "ct_phantom", "nifti", "image", "phantom.nii.gz")
        if not os.path.exists(image):
            self.skipTest(f"{image} is absent")
        os.makedirs(os.path.join(self.tmp, "ct/images"))
        os.makedirs(os.path.join(self.tmp, "ct/masks"))
        shutil.copy(image, os.path.join(self.tmp, "ct/images/phantom.nii.gz"))
        shutil.copy(image.replace("image/phantom", "mask/mask"), os.path.join(self.tmp, "ct/masks/phantom.nii.gz"))
        write_event(os.path.join(self.tmp, "c.json"),
                    {"images_bucket": "ct", "label_style": "array", "epochs": 1, "val_fraction": 0,
                     "model_bucket_name": "ct", "unet_width": 4, "unet_depth": 2, "patches_per_image": 1,
                     "normalize": "ct"})
        r = run(["run", "c.json"], cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run(["run", "c.json", "--set", "is_train=false"], cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        info_in = json.loads(run(["convert", "--info", "ct/images/phantom.nii.gz"], cwd=self.tmp).stdout)
        info_out = json.loads(run(["convert", "--info", "results/ct/phantom.nii.gz"], cwd=self.tmp).stdout)
        for key in ("shape", "spacing_mm", "origin_mm", "direction"):
            self.assertEqual(np.round(info_in[key], 4).tolist(), np.round(info_out[key], 4).tolist(), key)
        m = json.load(open(os.path.join(self.tmp, "results/ct/metrics.json")))
        self.assertEqual(m["distance_units"], "mm")


class DicomSeries(MedpipeTestCase):
    def test_ct_phantom_series_equals_pydicom_and_its_nifti(self):
        series = os.path.join(SHARED_DATA, "ibsi", "ct_phantom", "dicom", "image")
        if not os.path.isdir(series):
            self.skipTest(f"{series} is absent")
        import pydicom
        slices = [pydicom.dcmread(os.path.join(series, f)) for f in sorted(os.listdir(series))]
        normal = np.cross(*np.array(slices[0].ImageOrientationPatient, float).reshape(2, 3))
        slices.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), normal)))
        expected = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in slices])
        r = run(["convert", series, "series.npy"], cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        np.testing.assert_array_equal(np.load(os.path.join(self.tmp, "series.npy")), expected.astype(np.float32))
        dicom = json.loads(run(["convert", "--info", series], cwd=self.tmp).stdout)
        positions = [float(np.dot(np.array(d.ImagePositionPatient, float), normal)) for d in slices]
        self.assertAlmostEqual(dicom["spacing_mm"][2], float(np.median(np.diff(positions))), places=6)
        self.assertEqual(dicom["origin_mm"], [float(v) for v in slices[0].ImagePositionPatient])
        # the same phantom as NIfTI (RAS+ on disk) reads to the same LPS+ geometry and values
        nifti = series.replace("dicom/image", "nifti/image/phantom.nii.gz")
        info = json.loads(run(["convert", "--info", nifti], cwd=self.tmp).stdout)
        for key in ("shape", "spacing_mm", "origin_mm", "direction"):
            np.testing.assert_allclose(info[key], dicom[key], atol=1e-4, err_msg=key)
        run(["convert", nifti, "nifti.npy"], cwd=self.tmp)
        np.testing.assert_array_equal(np.load(os.path.join(self.tmp, "nifti.npy")), expected.astype(np.float32))

    def test_series_folder_is_one_image_through_predict(self):
        series = os.path.join(SHARED_DATA, "ibsi", "ct_phantom", "dicom", "image")
        mask = os.path.join(SHARED_DATA, "ibsi", "ct_phantom", "nifti", "mask", "mask.nii.gz")
        if not os.path.isdir(series):
            self.skipTest(f"{series} is absent")
        os.makedirs(os.path.join(self.tmp, "ct/images"))
        os.makedirs(os.path.join(self.tmp, "ct/masks"))
        shutil.copytree(series, os.path.join(self.tmp, "ct/images/phantom"))
        shutil.copy(mask, os.path.join(self.tmp, "ct/masks/phantom.nii.gz"))
        write_event(os.path.join(self.tmp, "c.json"),
                    {"images_bucket": "ct", "label_style": "array", "epochs": 1, "val_fraction": 0,
                     "model_bucket_name": "ct", "unet_width": 4, "unet_depth": 2, "patches_per_image": 1,
                     "normalize": "ct"})
        self.assertEqual(run(["run", "c.json"], cwd=self.tmp).returncode, 0)
        r = run(["run", "c.json", "--set", "is_train=false"], cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = read_csv_rows(os.path.join(self.tmp, "results/ct/predictions.csv"))
        self.assertEqual([row["image"] for row in rows], ["phantom"])
        mask = np.load(os.path.join(self.tmp, "results/ct", rows[0]["mask"]))
        self.assertEqual(mask.shape, (60, 201, 204))
        # the DICOM SEG: read back by pydicom and by DCMTK (medpipe convert), frames = the mask
        import pydicom
        seg_path = os.path.join(self.tmp, "results/ct/phantom.seg.dcm")
        seg = pydicom.dcmread(seg_path)
        source = pydicom.dcmread(os.path.join(series, "DCM_IMG_00000.dcm"))
        self.assertEqual(seg.SOPClassUID, "1.2.840.10008.5.1.4.1.1.66.4")
        self.assertEqual((seg.NumberOfFrames, seg.Rows, seg.Columns), (60, 201, 204))
        np.testing.assert_array_equal(seg.pixel_array, (mask == 1).astype(np.uint8))
        self.assertEqual(seg.FrameOfReferenceUID, source.FrameOfReferenceUID)
        self.assertEqual(seg.StudyInstanceUID, source.StudyInstanceUID)
        referenced = seg.ReferencedSeriesSequence[0]
        self.assertEqual(referenced.SeriesInstanceUID, source.SeriesInstanceUID)
        self.assertEqual(len(referenced.ReferencedInstanceSequence), 60)
        first = seg.PerFrameFunctionalGroupsSequence[0].PlanePositionSequence[0].ImagePositionPatient
        np.testing.assert_allclose([float(v) for v in first], [float(v) for v in source.ImagePositionPatient] [:2] +
                                   [min(float(pydicom.dcmread(os.path.join(series, f)).ImagePositionPatient[2])
                                        for f in os.listdir(series))], atol=1e-4)
        r = run(["convert", seg_path, "seg.npy"], cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        np.testing.assert_array_equal(np.load(os.path.join(self.tmp, "seg.npy")) > 0, mask == 1)


class SegmentationBadInputs(MedpipeTestCase):
    def setUp(self):
        super().setUp()
        os.makedirs(os.path.join(self.tmp, "d/images"))
        os.makedirs(os.path.join(self.tmp, "d/masks"))
        for i in range(3):
            Image.fromarray(np.full((16, 20), 40 * i, np.uint8)).save(os.path.join(self.tmp, f"d/images/im{i}.png"))
            np.save(os.path.join(self.tmp, f"d/masks/im{i}.npy"), np.zeros((16, 20), np.uint8))

    def expect_exit2(self, *needles):
        write_event(os.path.join(self.tmp, "e.json"),
                    {"images_bucket": "d", "label_style": "array", "epochs": 1, "num_classes": 2})
        r = run(["run", "e.json"], cwd=self.tmp)
        self.assertEqual(r.returncode, 2, r.stderr)
        for marker in CRASH_MARKERS:
            self.assertNotIn(marker, r.stderr)
        for needle in needles:
            self.assertIn(needle, r.stderr)

    def test_mask_shape_mismatch(self):
        np.save(os.path.join(self.tmp, "d/masks/im1.npy"), np.zeros((20, 16), np.uint8))
        self.expect_exit2("d/masks/im1.npy is 20 x 16 but its image is 16 x 20")

    def test_label_beyond_num_classes(self):
        np.save(os.path.join(self.tmp, "d/masks/im2.npy"), np.full((16, 20), 2, np.uint8))
        self.expect_exit2("d/masks/im2.npy holds the label 2 but num_classes is 2")

    def test_missing_mask(self):
        os.remove(os.path.join(self.tmp, "d/masks/im0.npy"))
        self.expect_exit2("have no label array", "im0")

    def test_nan_pixels(self):
        # (a float TIFF: niftilib itself turns NaN into 0 when it reads a NIfTI file)
        img = np.zeros((16, 20), np.float32)
        img[3, 4] = np.nan
        os.remove(os.path.join(self.tmp, "d/images/im0.png"))
        Image.fromarray(img, mode="F").save(os.path.join(self.tmp, "d/images/im0.tif"))
        self.expect_exit2("d/images/im0.tif", "NaN")

    def test_3d_mask_for_2d_image(self):
        np.save(os.path.join(self.tmp, "d/masks/im0.npy"), np.zeros((3, 16, 20), np.uint8))
        self.expect_exit2("d/masks/im0.npy", "a 3D mask for a 2D image")

    def test_float_mask(self):
        np.save(os.path.join(self.tmp, "d/masks/im0.npy"), np.zeros((16, 20), np.float32))
        self.expect_exit2("d/masks/im0.npy", "floating-point")


if __name__ == "__main__":
    unittest.main()
