"""Acceptance on real data: ISBI 2012 EM membranes (../shared/data/isbi2012_em): train on the
first 20 images, validate on the last 4, then predict those 4 with the saved model and check
the membrane Dice of the written masks, with defaults only (docs/benchmarks.md). Skipped without the data."""
import json
import os
import unittest

import numpy as np

from medpipe_testlib import SHARED_DATA, MedpipeTestCase, read_csv_rows, write_event

RECIPE = {"label_style": "array"}  # defaults only: the planner's recipe (docs/planning.md)
ISBI = os.path.join(SHARED_DATA, "isbi2012_em", "train")


class IsbiMembranes(MedpipeTestCase):
    def split(self):
        names = sorted(n[:-4] for n in os.listdir(os.path.join(ISBI, "images")))
        for part, chosen in (("train", names[:20]), ("val", names[20:])):
            for sub, ext in (("images", ".png"), ("masks", ".npy")):
                os.makedirs(self.path(part, sub))
                for n in chosen:
                    os.symlink(os.path.join(ISBI, sub, n + ext), self.path(part, sub, n + ext))
        return names[20:]

    def test_membrane_dice(self):
        if not os.path.isdir(ISBI):
            self.skipTest(f"{ISBI} is absent (shared data not checked out)")
        val_names = self.split()
        write_event(self.path("e.json"), {"images_bucket": "train", "val_images_bucket": "val",
                                          "model_bucket_name": "isbi", **RECIPE})
        self.assertDone(self.medpipe("run", "e.json", timeout=1800))
        self.assertDone(self.medpipe("run", "e.json", "--set", "is_train=false", "--set", "images_bucket=val"))
        metrics = json.load(open(self.path("results", "isbi", "metrics.json")))
        rows = read_csv_rows(self.path("results", "isbi", "predictions.csv"))
        self.assertEqual([r["image"] for r in rows], val_names)
        dices = []
        for r in rows:  # recomputed from the written masks
            truth = np.load(os.path.join(ISBI, "masks", r["image"] + ".npy")) == 1
            pred = np.load(self.path("results", "isbi", r["mask"])) == 1
            dices.append(2 * (truth & pred).sum() / (truth.sum() + pred.sum()))
        print("ISBI val membrane Dice", metrics["dice"], "per image", dices)
        self.assertAlmostEqual(metrics["dice"], float(np.mean(dices)), delta=1e-9)
        self.assertGreaterEqual(metrics["dice"], 0.82)


if __name__ == "__main__":
    unittest.main()
