"""The command line itself: help with defaults, synth's layout, convert, status."""
import json
import os

import numpy as np

from medpipe_testlib import MedpipeTestCase, make_separable_set, read_csv_rows, write_event


class Cli(MedpipeTestCase):
    def test_help_lists_every_event_key_with_its_default(self):
        result = self.medpipe("run", "--help")
        self.assertDone(result)
        for text in ("images_bucket", "is_train (bool, default true)", "optimizer (string, default planned, else sgd)",
                     "model_bucket_name (string, default model)", "--set"):
            self.assertIn(text, result.stdout)
        train_help = self.medpipe("train", "--help").stdout
        self.assertIn("--images-bucket", train_help)
        self.assertIn("[default: planned, else 30]", train_help)  # epochs

    def test_no_subcommand_is_a_usage_error(self):
        result = self.medpipe()
        self.assertNoCrash(result)
        self.assertEqual(result.returncode, 2)

    def test_synth_writes_the_input_layout(self):
        self.assertDone(self.medpipe("synth", "--task", "classify", "--out", "s", "--count", "10", "--size", "32", "--format", "dicom"))
        rows = read_csv_rows(self.path("s", "labels.csv"))
        self.assertEqual(len(rows), 10)
        self.assertEqual(sorted({r["level"] for r in rows}), ["0", "1"])
        self.assertTrue(all(os.path.exists(self.path("s", "images", r["image"] + ".dcm")) for r in rows))
        info = json.loads(self.medpipe("convert", "--info", self.path("s", "images", rows[0]["image"] + ".dcm")).stdout)
        self.assertEqual((info["height"], info["width"]), (32, 32))
        self.assertLess(info["min"], -500)  # HU: air is about -1000
        self.assertEqual(self.medpipe("synth", "--task", "tumour-growth", "--out", "x").returncode, 2)
        self.assertDone(self.medpipe("synth", "--task", "segment", "--out", "m", "--count", "4", "--size", "32"))
        masks = [np.load(self.path("m", "masks", f"case_{i:05d}.npy")) for i in range(4)]
        self.assertTrue(all(m.shape == (32, 32) and m.dtype == np.uint8 for m in masks))
        self.assertEqual([int(m.max()) for m in masks], [1, 1, 1, 0])  # every fourth slice is empty

    def test_convert_png_to_npy_and_back(self):
        make_separable_set(self.path("d"), 2, size=12)
        src = self.path("d", "images", "img_0001.png")
        self.assertDone(self.medpipe("convert", src, "a.npy"))
        array = np.load(self.path("a.npy"))
        self.assertEqual(array.dtype, np.float32)
        from PIL import Image
        np.testing.assert_array_equal(array, np.asarray(Image.open(src), dtype=np.float32))
        self.assertDone(self.medpipe("convert", "a.npy", "b.png"))
        np.testing.assert_array_equal(np.asarray(Image.open(self.path("b.png"))), np.asarray(Image.open(src)))
        self.assertUsageError(self.medpipe("convert", src, "c.xyz"), "c.xyz")
        self.assertUsageError(self.medpipe("convert", "missing.png", "c.npy"), "missing.png")

    def test_status_of_a_finished_run(self):
        make_separable_set(self.path("d"), 12, size=16)
        write_event(self.path("e.json"), {"images_bucket": "d", "epochs": 2, "batch_size": 4, "cnn_width": 4, "cnn_blocks": 1})
        self.assertDone(self.medpipe("run", "e.json"))
        self.assertDone(self.medpipe("run", "e.json", "--set", "is_train=false"))
        # evaluate alone, from predictions.csv, gives the same metrics
        first = json.load(open(self.path("results", "model", "metrics.json")))
        os.remove(self.path("results", "model", "metrics.json"))
        self.assertDone(self.medpipe("evaluate", "--images-bucket", "d"))
        self.assertEqual(json.load(open(self.path("results", "model", "metrics.json"))), first)
        # a prediction for an image the labels do not know is listed, not silently dropped
        with open(self.path("results", "model", "predictions.csv")) as f:
            lines = f.read().splitlines()
        stranger = "stranger," + lines[1].split(",", 1)[1]
        with open(self.path("results", "model", "predictions.csv"), "w") as f:
            f.write("\n".join(lines + [stranger]) + "\n")
        extra = self.medpipe("evaluate", "--images-bucket", "d")
        self.assertDone(extra)
        self.assertIn("not evaluated: stranger", extra.stderr)
        self.assertIn("stranger", open(self.path("results", "model", "report.html")).read())
        with open(self.path("results", "model", "metrics.json")) as f:
            self.assertEqual(json.load(f)["n"], first["n"])
        # a damaged predictions.csv is a clear exit 2 naming the file and line
        with open(self.path("results", "model", "predictions.csv")) as f:
            lines = f.read().splitlines()
        lines[2] = lines[2].rsplit(",", 1)[0] + ",oops"
        with open(self.path("results", "model", "predictions.csv"), "w") as f:
            f.write("\n".join(lines) + "\n")
        self.assertUsageError(self.medpipe("evaluate", "--images-bucket", "d"), "predictions.csv line 3", "'oops'")
        status = self.medpipe("status", "results/model")
        self.assertDone(status)
        self.assertIn("state: done", status.stdout)
        self.assertRegex(status.stdout, r"metrics: n \d+, accuracy [0-9.]+, balanced_accuracy")
        train_status = self.medpipe("status", "models/model")
        self.assertIn("last epoch", train_status.stdout)
        self.assertIn("validation metrics (best epoch", train_status.stdout)
        self.assertUsageError(self.medpipe("status", "nowhere"), "nowhere")
