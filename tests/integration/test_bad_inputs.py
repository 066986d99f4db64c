"""Bad inputs: each exits 2 with a message naming the file or key, or is a listed skip.
Never a crash or a stack trace."""
import os
import struct
import unittest

import numpy as np
from PIL import Image

from medpipe_testlib import MedpipeTestCase, make_separable_set, read_csv_rows, write_event, write_labels

FAST = {"epochs": 1, "batch_size": 4, "image_size": 16, "cnn_width": 4, "cnn_blocks": 1, "val_fraction": 0.25}


class BadInputs(MedpipeTestCase):
    def setUp(self):
        super().setUp()
        make_separable_set(self.path("data"), 12)

    def train(self, **event):
        merged = {"images_bucket": "data", **FAST, **event}
        write_event(self.path("event.json"), merged)
        return self.medpipe("run", "event.json")

    def test_empty_folder(self):
        os.makedirs(self.path("empty"))
        self.assertUsageError(self.train(images_bucket="empty"), "empty", "holds no images")

    def test_missing_path(self):
        self.assertUsageError(self.train(images_bucket="nowhere"), "nowhere", "does not exist")

    def test_missing_images_bucket_key(self):
        write_event(self.path("event.json"), {"epochs": 1})
        self.assertUsageError(self.medpipe("run", "event.json"), "images_bucket")

    def test_csv_without_header(self):
        rows = read_csv_rows(self.path("data", "labels.csv"))
        write_labels(self.path("data", "labels.csv"), [(r["image"], r["level"]) for r in rows], header=None)
        self.assertUsageError(self.train(), "labels.csv", "image,level")

    def test_csv_with_other_column_names(self):
        rows = read_csv_rows(self.path("data", "labels.csv"))
        write_labels(self.path("data", "labels.csv"), [(r["image"], r["level"]) for r in rows], header=("file", "label"))
        self.assertUsageError(self.train(), "labels.csv", "file,label")

    def test_level_out_of_range(self):
        rows = read_csv_rows(self.path("data", "labels.csv"))
        rows[3]["level"] = "7"
        write_labels(self.path("data", "labels.csv"), [(r["image"], r["level"]) for r in rows])
        self.assertUsageError(self.train(num_classes=2), "img_0003 has level 7", "num_classes")

    def test_non_integer_level(self):
        rows = read_csv_rows(self.path("data", "labels.csv"))
        rows[2]["level"] = "benign"
        write_labels(self.path("data", "labels.csv"), [(r["image"], r["level"]) for r in rows])
        self.assertUsageError(self.train(), "labels.csv", "line 4", "'benign'")

    def test_image_without_label_and_label_without_image(self):
        rows = read_csv_rows(self.path("data", "labels.csv"))
        rows[0]["image"] = "ghost"
        write_labels(self.path("data", "labels.csv"), [(r["image"], r["level"]) for r in rows])
        self.assertUsageError(self.train(), "without a label", "img_0000", "without an image", "ghost")

    def test_duplicate_rows(self):
        rows = read_csv_rows(self.path("data", "labels.csv"))
        pairs = [(r["image"], r["level"]) for r in rows] + [("img_0005", "1")]
        write_labels(self.path("data", "labels.csv"), pairs)
        self.assertUsageError(self.train(), "img_0005 is listed again")

    def test_duplicate_image_names(self):
        Image.fromarray(np.zeros((16, 16), np.uint8)).save(self.path("data", "images", "img_0001.tif"))
        self.assertUsageError(self.train(), "img_0001.png and img_0001.tif")

    def test_corrupt_files_are_skipped_and_listed(self):
        images = self.path("data", "images")
        with open(os.path.join(images, "img_0002.png"), "w") as f:
            f.write("this is text, not a PNG")
        open(os.path.join(images, "img_0003.png"), "w").close()  # zero bytes
        os.remove(os.path.join(images, "img_0004.png"))
        with open(os.path.join(images, "img_0004.dcm"), "wb") as f:  # truncated DICOM
            f.write(b"\0" * 128 + b"DICM" + struct.pack("<HHHI", 2, 1, 0x4C55, 200) + b"\1" * 10)
        result = self.train()
        self.assertDone(result)
        skipped = {r["image"]: r["reason"] for r in read_csv_rows(self.path("models", "model", "skipped.csv"))}
        self.assertEqual(set(skipped), {"img_0002", "img_0003", "img_0004"}, skipped)
        self.assertIn("empty", skipped["img_0003"])
        for name in skipped:
            self.assertIn(name, result.stderr)

    def test_mixed_channel_counts(self):
        rgb = np.stack([np.full((16, 16), 200, np.uint8)] * 3, axis=-1)
        Image.fromarray(rgb).save(self.path("data", "images", "img_0001.png"))
        self.assertUsageError(self.train(), "mixed channel counts", "num_channels")
        self.assertDone(self.train(num_channels=1))  # converting is the documented fix

    def test_unwritable_output(self):
        with open(self.path("a_file"), "w") as f:
            f.write("x")
        self.assertUsageError(self.train(models_bucket="a_file/models"), "a_file")

    def test_true_is_dropbox(self):
        self.assertUsageError(self.train(is_dropbox="true"), "is_dropbox")

    def test_unknown_event_key(self):
        self.assertUsageError(self.train(num_clases=2), "num_clases", "did you mean 'num_classes'")

    def test_wrong_json_type(self):
        self.assertUsageError(self.train(epochs=[1, 2]), "'epochs'", "whole number")

    def test_invalid_json(self):
        with open(self.path("event.json"), "w") as f:
            f.write('{"images_bucket": "data",')
        self.assertUsageError(self.medpipe("run", "event.json"), "event.json", "not valid JSON")

    def test_event_not_an_object(self):
        write_event(self.path("event.json"), ["images_bucket", "data"])
        self.assertUsageError(self.medpipe("run", "event.json"), "JSON object")

    def test_bad_set_syntax(self):
        write_event(self.path("event.json"), {"images_bucket": "data"})
        self.assertUsageError(self.medpipe("run", "event.json", "--set", "epochs"), "key=value")

    def test_bad_choice(self):
        self.assertUsageError(self.train(optimizer="rmsprop"), "optimizer", "sgd, adam")

    def test_predict_without_a_model(self):
        self.assertUsageError(self.train(is_train=False, model_bucket_name="none"), "no trained model", "none")

    def test_training_without_labels(self):
        # single: clusters (test_clustering); per-pixel or survival labels cannot be done without
        self.assertUsageError(self.train(has_labels=False, label_style="array"), "has_labels",
                              "segmentation and survival models need their labels")

    def test_unknown_flag(self):
        result = self.medpipe("train", "--images-bucket", "data", "--no-such-flag", "1")
        self.assertNoCrash(result)
        self.assertEqual(result.returncode, 2)


if __name__ == "__main__":
    unittest.main()
