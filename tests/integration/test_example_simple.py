"""examples/simple: a whole run through the library (no command line), judged by scikit-learn."""
import csv
import json
import os
import subprocess
import tempfile
import unittest

from sklearn.metrics import accuracy_score, roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.environ.get("MEDPIPE_EXAMPLE_SIMPLE") or os.path.join(
    HERE, "..", "..", "build", "example_simple")


class ExampleSimple(unittest.TestCase):
    def test_trains_predicts_and_evaluates_through_the_library(self):
        with tempfile.TemporaryDirectory() as work:
            r = subprocess.run([EXAMPLE, work], capture_output=True, text=True, timeout=600,
                               env=dict(os.environ, MEDPIPE_CACHE_DIR=os.path.join(work, "c")))
            self.assertEqual(r.returncode, 0, r.stderr[-2000:])
            self.assertIn("ROC AUC", r.stdout)
            meta = json.load(open(os.path.join(work, "models", "nodules", "model.json")))
            self.assertEqual(meta["task"], "classify")
            self.assertEqual(len(meta["history"]), 10)
            truth = {row["image"]: int(row["level"])
                     for row in csv.DictReader(open(os.path.join(work, "test", "labels.csv")))}
            rows = list(csv.DictReader(open(os.path.join(work, "results", "predictions.csv"))))
            self.assertEqual(len(rows), 200)
            y = [truth[row["image"]] for row in rows]
            p1 = [float(row["prob_1"]) for row in rows]
            metrics = json.load(open(os.path.join(work, "results", "metrics.json")))
            self.assertAlmostEqual(metrics["roc_auc"], roc_auc_score(y, p1), places=9)
            self.assertAlmostEqual(metrics["accuracy"],
                                   accuracy_score(y, [int(row["prediction"]) for row in rows]),
                                   places=12)
            # unseen synthetic slices (another seed): the nodule is learnt, not guessed
            self.assertGreater(metrics["roc_auc"], 0.7)
            self.assertTrue(os.path.exists(os.path.join(work, "results", "report.html")))


if __name__ == "__main__":
    unittest.main()
