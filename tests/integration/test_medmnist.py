"""Acceptance on real data: BreastMNIST and RetinaMNIST (../shared/data), train on `train`,
validate on `val`, with the recipes recorded in docs/benchmarks.md. Skipped without the data."""
import json
import os
import unittest

from medpipe_testlib import SHARED_DATA, MedpipeTestCase, write_event

RECIPE = {"epochs": 60, "optimizer": "adam", "learning_rate": 0.001, "seed": 1}


def dataset(name):
    return os.path.join(SHARED_DATA, name)


class MedMnist(MedpipeTestCase):
    def train(self, name, **extra):
        if not os.path.isdir(dataset(name)):
            self.skipTest(f"{dataset(name)} is absent (shared data not checked out)")
        event = {"images_bucket": os.path.join(dataset(name), "train"),
                 "val_images_bucket": os.path.join(dataset(name), "val"), "model_bucket_name": name, **RECIPE, **extra}
        write_event(self.path("e.json"), event)
        self.assertDone(self.medpipe("run", "e.json", timeout=1500))
        meta = json.load(open(self.path("models", name, "model.json")))
        print(name, "best epoch", meta["best_epoch"], "val", {k: meta["validation_metrics"][k] for k in ("accuracy", "roc_auc")})
        return meta["validation_metrics"]

    def test_breastmnist(self):
        metrics = self.train("breastmnist", ensemble=3)
        self.assertGreaterEqual(metrics["roc_auc"], 0.90)
        self.assertGreaterEqual(metrics["accuracy"], 0.86)

    def test_breastmnist_features(self):
        # the original pipeline's non-deep path: IBSI radiomics of the whole image + the MLP
        metrics = self.train("breastmnist", pipeline="features", hidden_units=64, dropout=0.5)
        self.assertGreaterEqual(metrics["roc_auc"], 0.83)

    def test_retinamnist(self):
        metrics = self.train("retinamnist", num_channels=3, select_metric="accuracy")
        self.assertGreaterEqual(metrics["accuracy"], 0.52)


if __name__ == "__main__":
    unittest.main()
