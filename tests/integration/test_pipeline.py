"""End to end: synth -> train -> predict -> evaluate, checked against independent references:
scikit-learn for every metric, python3-torch running model.pt for the predictions."""
import json
import os
import stat
import unittest

import numpy as np
from PIL import Image

from medpipe_testlib import MedpipeTestCase, make_separable_set, read_csv_rows, write_event

try:
    from sklearn import metrics as skm
    from sklearn.calibration import calibration_curve
except ImportError:  # pragma: no cover
    skm = None
try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


class Pipeline(MedpipeTestCase):
    @classmethod
    def setUpClass(cls):
        # One trained model shared by the tests of this class.
        cls.shared = Pipeline("run")
        cls.shared.setUp()
        s = cls.shared
        make_separable_set(s.path("train"), 60, size=24, seed=1)
        make_separable_set(s.path("test"), 30, size=24, seed=2)
        write_event(s.path("train.json"), {"images_bucket": "train", "epochs": 4, "batch_size": 8,
                                          "cnn_width": 8, "cnn_blocks": 1, "seed": 3})
        cls.train_result = s.medpipe("run", "train.json")
        write_event(s.path("predict.json"), {"images_bucket": "test", "is_train": "false"})
        cls.predict_result = s.medpipe("run", "predict.json")

    @classmethod
    def tearDownClass(cls):
        cls.shared.tearDown()

    def p(self, *parts):
        return self.shared.path(*parts)

    def test_runs_succeed_and_write_the_contract_files(self):
        self.assertDone(self.train_result)
        self.assertDone(self.predict_result)
        for name in ("model.pt", "model.json", "config.json", "events.jsonl", "skipped.csv"):
            self.assertTrue(os.path.exists(self.p("models", "model", name)), name)
        for name in ("predictions.csv", "metrics.json", "report.html", "skipped.csv", "img_0000.json"):
            self.assertTrue(os.path.exists(self.p("results", "model", name)), name)
        result = json.load(open(self.p("results", "model", "img_0001.json")))
        self.assertEqual(set(result), {"image", "prediction", "probabilities"})
        self.assertEqual(result["image"], "img_0001")
        self.assertAlmostEqual(sum(result["probabilities"]), 1.0, places=9)
        self.assertIn(self.p("results", "model", "report.html").split(self.shared.tmp)[1].lstrip("/"),
                      self.predict_result.stderr)

    def test_outputs_are_not_world_readable(self):
        for folder in ("models/model", "results/model"):
            for name in os.listdir(self.p(folder)):
                mode = os.stat(self.p(folder, name)).st_mode
                self.assertFalse(mode & stat.S_IROTH, f"{folder}/{name} is world-readable")

    def test_event_log_lines_are_json(self):
        for folder in ("models/model", "results/model"):
            with open(self.p(folder, "events.jsonl")) as f:
                events = [json.loads(line) for line in f]
            self.assertTrue(all("time" in e and "event" in e for e in events))
        self.assertTrue(any(e["event"] == "epoch_end" for e in map(json.loads, open(self.p("models", "model", "events.jsonl")))))

    def test_model_json_holds_preprocessing_and_history(self):
        meta = json.load(open(self.p("models", "model", "model.json")))
        self.assertEqual(meta["num_classes"], 2)
        self.assertEqual(meta["preprocessing"]["normalize"], "zscore")
        self.assertEqual(meta["preprocessing"]["size_px"], 24)
        self.assertEqual(len(meta["history"]), 4)
        self.assertIn("validation_metrics", meta)

    @unittest.skipIf(skm is None, "python3-sklearn is not installed")
    def test_metrics_match_scikit_learn(self):
        preds = read_csv_rows(self.p("results", "model", "predictions.csv"))
        truth = {r["image"]: int(r["level"]) for r in read_csv_rows(self.p("test", "labels.csv"))}
        y = np.array([truth[r["image"]] for r in preds])
        probs = np.array([[float(r["prob_0"]), float(r["prob_1"])] for r in preds])
        y_pred = np.array([int(r["prediction"]) for r in preds])
        np.testing.assert_array_equal(y_pred, probs.argmax(1))
        m = json.load(open(self.p("results", "model", "metrics.json")))
        tol = 1e-9
        self.assertEqual(m["n"], len(y))
        self.assertAlmostEqual(m["accuracy"], skm.accuracy_score(y, y_pred), delta=tol)
        self.assertAlmostEqual(m["balanced_accuracy"], skm.balanced_accuracy_score(y, y_pred), delta=tol)
        self.assertEqual(m["confusion_matrix"], skm.confusion_matrix(y, y_pred, labels=[0, 1]).tolist())
        p, r, f, s = skm.precision_recall_fscore_support(y, y_pred, labels=[0, 1], zero_division=0)
        for k in range(2):
            self.assertAlmostEqual(m["per_class"][k]["precision"], p[k], delta=tol)
            self.assertAlmostEqual(m["per_class"][k]["recall"], r[k], delta=tol)
            self.assertAlmostEqual(m["per_class"][k]["f1"], f[k], delta=tol)
            self.assertEqual(m["per_class"][k]["support"], s[k])
        self.assertAlmostEqual(m["macro_f1"], skm.f1_score(y, y_pred, average="macro", zero_division=0), delta=tol)
        self.assertAlmostEqual(m["roc_auc"], skm.roc_auc_score(y, probs[:, 1]), delta=tol)
        self.assertAlmostEqual(m["average_precision"], skm.average_precision_score(y, probs[:, 1]), delta=tol)
        precision, recall, thresholds = skm.precision_recall_curve(y, probs[:, 1])
        np.testing.assert_allclose(m["pr_curve"]["precision"], precision, atol=tol)
        np.testing.assert_allclose(m["pr_curve"]["recall"], recall, atol=tol)
        np.testing.assert_allclose(m["pr_curve"]["thresholds"], thresholds, atol=tol)
        self.assertAlmostEqual(m["log_loss"], skm.log_loss(y, probs), delta=1e-9)
        fpr, tpr, roc_thresholds = skm.roc_curve(y, probs[:, 1])  # drop_intermediate, as ours
        np.testing.assert_allclose(m["roc_curve"]["fpr"], fpr, atol=tol)
        np.testing.assert_allclose(m["roc_curve"]["tpr"], tpr, atol=tol)
        np.testing.assert_allclose(m["roc_curve"]["thresholds"][1:], roc_thresholds[1:], atol=tol)
        fraction, mean = calibration_curve(y, probs[:, 1], n_bins=10, strategy="uniform")
        np.testing.assert_allclose(m["calibration"]["fraction_positive"], fraction, atol=tol)
        np.testing.assert_allclose(m["calibration"]["mean_predicted"], mean, atol=tol)

    @unittest.skipIf(torch is None, "python3-torch is not installed")
    def test_model_pt_runs_in_python_torch(self):
        model = torch.jit.load(self.p("models", "model", "model.pt"))
        model.eval()
        meta = json.load(open(self.p("models", "model", "model.json")))
        self.assertEqual(meta["preprocessing"]["size_px"], 24)  # no resize: inputs are 24 px
        preds = {r["image"]: r for r in read_csv_rows(self.p("results", "model", "predictions.csv"))}
        for name in ("img_0000", "img_0007", "img_0012"):
            img = np.asarray(Image.open(self.p("test", "images", name + ".png")), dtype=np.float64)
            x = (img - img.mean()) / img.std()
            batch = torch.from_numpy(x[None, None].astype(np.float32))
            with torch.no_grad():
                probs = torch.softmax(model(batch).double(), 1)
                mirrored = torch.softmax(model(torch.flip(batch, [3])).double(), 1)
            expected = ((probs + mirrored) / 2)[0].numpy()  # tta: image and its mirror
            ours = np.array([float(preds[name]["prob_0"]), float(preds[name]["prob_1"])])
            np.testing.assert_allclose(ours, expected, atol=1e-5)


class MulticlassMetrics(MedpipeTestCase):
    @unittest.skipIf(skm is None, "python3-sklearn is not installed")
    def test_three_classes_macro_auc_matches_scikit_learn(self):
        rng = np.random.default_rng(0)
        os.makedirs(self.path("d", "images"))
        rows = []
        for i in range(45):
            level = i % 3
            img = rng.normal(50 + 60 * level, 25, (12, 12)).clip(0, 255).astype(np.uint8)
            Image.fromarray(img).save(self.path("d", "images", f"m{i:03d}.png"))
            rows.append(f"m{i:03d},{level}")
        with open(self.path("d", "labels.csv"), "w") as f:
            f.write("image,level\n" + "\n".join(rows) + "\n")
        write_event(self.path("e.json"), {"images_bucket": "d", "epochs": 2, "batch_size": 8, "cnn_width": 4,
                                         "cnn_blocks": 1, "val_fraction": 0})
        self.assertDone(self.medpipe("run", "e.json"))
        self.assertDone(self.medpipe("run", "e.json", "--set", "is_train=false"))
        preds = read_csv_rows(self.path("results", "model", "predictions.csv"))
        y = np.array([int(r.split(",")[1]) for r in rows])
        probs = np.array([[float(p[f"prob_{k}"]) for k in range(3)] for p in preds])
        m = json.load(open(self.path("results", "model", "metrics.json")))
        self.assertAlmostEqual(m["roc_auc"], skm.roc_auc_score(y, probs, multi_class="ovr", average="macro"), delta=1e-9)
        self.assertAlmostEqual(m["balanced_accuracy"], skm.balanced_accuracy_score(y, probs.argmax(1)), delta=1e-9)
        self.assertNotIn("pr_curve", m)
        for k in range(3):  # one-vs-rest curves for the report
            fpr, tpr, _ = skm.roc_curve(y == k, probs[:, k])
            np.testing.assert_allclose(m["roc_curves"][k]["fpr"], fpr, atol=1e-9)
            np.testing.assert_allclose(m["roc_curves"][k]["tpr"], tpr, atol=1e-9)
            self.assertAlmostEqual(m["pr_curves"][k]["average_precision"],
                                   skm.average_precision_score(y == k, probs[:, k]), delta=1e-9)


if __name__ == "__main__":
    unittest.main()
