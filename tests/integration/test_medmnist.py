"""Acceptance on real data: BreastMNIST and RetinaMNIST (../shared/data), train on `train`,
validate on `val`, with defaults only (the planner's recipe: docs/planning.md); the radiomics
path with its recipe recorded in docs/benchmarks.md. Skipped without the data."""
import json
import os
import unittest

from medpipe_testlib import SHARED_DATA, MedpipeTestCase, write_event

FEATURES_RECIPE = {"epochs": 60, "optimizer": "adam", "learning_rate": 0.001, "seed": 1,
                   "pipeline": "features", "hidden_units": 64, "dropout": 0.5}


def dataset(name):
    return os.path.join(SHARED_DATA, name)


class MedMnist(MedpipeTestCase):
    def train(self, name, **extra):
        if not os.path.isdir(dataset(name)):
            self.skipTest(f"{dataset(name)} is absent (shared data not checked out)")
        event = {"images_bucket": os.path.join(dataset(name), "train"),
                 "val_images_bucket": os.path.join(dataset(name), "val"), "model_bucket_name": name, **extra}
        write_event(self.path("e.json"), event)
        self.assertDone(self.medpipe("run", "e.json", timeout=1500))
        meta = json.load(open(self.path("models", name, "model.json")))
        print(name, "best epoch", meta["best_epoch"], "val", {k: meta["validation_metrics"][k] for k in ("accuracy", "roc_auc")})
        return meta

    def test_breastmnist(self):
        meta = self.train("breastmnist")  # the minimal event: images, validation, a name
        metrics = meta["validation_metrics"]
        self.assertGreaterEqual(metrics["roc_auc"], 0.91)
        self.assertGreaterEqual(metrics["accuracy"], 0.88)
        planned = {c["key"]: c["value"] for c in meta["plan"]["choices"]}
        self.assertEqual((planned["optimizer"], planned["ensemble"]), ("adam", 3))
        self.assertLess(meta["train_seconds"], 60 * meta["plan"]["time_budget_min"])

    def test_breastmnist_features(self):
        # the original pipeline's non-deep path: IBSI radiomics of the whole image + the MLP
        metrics = self.train("breastmnist", **FEATURES_RECIPE)["validation_metrics"]
        self.assertGreaterEqual(metrics["roc_auc"], 0.83)

    def test_retinamnist(self):
        meta = self.train("retinamnist")  # RGB found from the images, accuracy chosen for 5 classes
        self.assertGreaterEqual(meta["validation_metrics"]["accuracy"], 0.58)
        self.assertLess(meta["train_seconds"], 60 * meta["plan"]["time_budget_min"])


if __name__ == "__main__":
    unittest.main()
