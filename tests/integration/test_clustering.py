"""Clustering (has_labels false at training): k-means and the Gaussian mixture against
scikit-learn from the same start, model.pt in Python's torch, images clustered on radiomics and
on a SimCLR network's embeddings, the adjusted Rand index against sklearn, and bad input."""
import csv
import json
import math
import os
import sys

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture

from medpipe_testlib import (MedpipeTestCase, gmm_start, make_separable_set, read_csv_rows,
                             write_event)


def blobs(n, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0, 0], [6, 1, 0, 3], [1, 7, 4, -2]], float)
    truth = np.arange(n) % 3
    x = centres[truth] + rng.normal(0, 1.3, (n, 4)) * [1, 2, 0.5, 1]
    x[:, 3] = x[:, 3] * 100 + 40  # another scale: standardisation matters
    return x, truth


def standardise(x):
    return (x - x.mean(0)) / x.std(0)


class ClusteringTest(MedpipeTestCase):
    def write_table(self, x, name="features.csv", columns=None):
        columns = columns or [f"f{j}" for j in range(x.shape[1])]
        path = self.path(name)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["image"] + columns)
            for i, row in enumerate(x):
                w.writerow([f"s{i:03d}"] + [repr(float(v)) for v in row])
        return path

    def write_init(self, centres):
        path = self.path("init.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([f"f{j}" for j in range(centres.shape[1])])
            w.writerows([[repr(float(v)) for v in row] for row in centres])
        return path

    def cluster_table(self, x, init, method):
        event = {"has_labels": False, "features_table": self.write_table(x),
                 "cluster_init": self.write_init(init), "cluster_pca": -1,
                 "cluster_method": method, "model_bucket_name": method,
                 "models_bucket": self.path("models"), "results_bucket": self.path("results")}
        result = self.medpipe("run", write_event(self.path(method + ".json"), event))
        self.assertEqual(result.returncode, 0, result.stderr)
        model = json.load(open(self.path("models", method, "model.json")))
        rows = read_csv_rows(self.path("results", "predictions.csv"))
        self.assertEqual(list(rows[0].keys()), ["image", "cluster"])
        return model, np.array([int(r["cluster"]) for r in rows])

    def test_kmeans_equals_sklearn_from_the_same_centres(self):
        x, _ = blobs(150)
        z = standardise(x)
        init = z[[0, 1, 2]] + 0.3
        model, labels = self.cluster_table(x, init, "kmeans")
        ref = KMeans(3, init=init, n_init=1, tol=1e-4, algorithm="lloyd").fit(z)
        stats = model["cluster"]["statistics"]
        self.assertAlmostEqual(stats["inertia"], ref.inertia_, delta=1e-6 * ref.inertia_)
        np.testing.assert_array_equal(labels, ref.labels_)
        centres = np.array(model["cluster"]["centres"]).reshape(3, 4)
        np.testing.assert_allclose(centres, ref.cluster_centers_, atol=1e-9)
        self.assertAlmostEqual(stats["silhouette"], silhouette_score(z, ref.labels_), places=9)
        # model.pt assigns the raw rows in Python's torch as medpipe does
        script = ("import sys, torch, numpy as np\n"
                  "m = torch.jit.load(sys.argv[1])\n"
                  "x = torch.tensor(np.loadtxt(sys.argv[2], delimiter=',', skiprows=1, "
                  "usecols=range(1, 5)))\n"
                  "print(','.join(str(int(v)) for v in m(x).argmax(1)))\n")
        import subprocess
        out = subprocess.run(["/usr/bin/python3", "-c", script,
                              self.path("models", "kmeans", "model.pt"), self.path("features.csv")],
                             capture_output=True, text=True, check=True).stdout
        np.testing.assert_array_equal(np.array(out.strip().split(","), int), labels)

    def test_gaussian_mixture_equals_sklearn_from_the_same_start(self):
        x, _ = blobs(180, seed=3)
        z = standardise(x)
        means = z[[0, 1, 2]] + 0.2
        model, labels = self.cluster_table(x, means, "gmm")
        weights, precisions = gmm_start(z, means)
        ref = GaussianMixture(3, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100,
                              weights_init=weights, means_init=means,
                              precisions_init=precisions).fit(z)
        stats = model["cluster"]["statistics"]
        self.assertLess(abs(stats["log_likelihood"] - ref.score(z)), 1e-6)
        self.assertLess(abs(stats["bic"] - ref.bic(z)), 1e-6 * abs(ref.bic(z)))
        np.testing.assert_array_equal(labels, ref.predict(z))

    def test_images_on_radiomics_then_new_images_with_labels(self):
        make_separable_set(self.path("train"), 24, size=24, seed=1)
        make_separable_set(self.path("new"), 16, size=24, seed=2)
        common = {"models_bucket": self.path("models"), "model_bucket_name": "groups"}
        train = dict(common, images_bucket=self.path("train"), has_labels=False,
                     results_bucket=self.path("train_results"))
        result = self.medpipe("run", write_event(self.path("train.json"), train))
        self.assertEqual(result.returncode, 0, result.stderr)
        metrics = json.load(open(self.path("train_results", "metrics.json")))
        self.assertGreaterEqual(metrics["num_clusters"], 2)
        self.assertEqual(metrics["features"], "radiomics")
        self.assertEqual(sum(metrics["sizes"]), 24)
        report = open(self.path("train_results", "report.html")).read()
        for part in ("cluster-map", "cluster-examples", "cluster-sizes"):
            self.assertIn(part, report)
        self.assertTrue(os.path.exists(self.path("train_results", "img_0000.json")))
        predict = dict(common, images_bucket=self.path("new"), is_train=False,
                       results_bucket=self.path("new_results"))
        result = self.medpipe("run", write_event(self.path("predict.json"), predict))
        self.assertEqual(result.returncode, 0, result.stderr)
        rows = read_csv_rows(self.path("new_results", "predictions.csv"))
        truth = {r["image"]: int(r["level"]) for r in read_csv_rows(self.path("new", "labels.csv"))}
        clusters = [int(r["cluster"]) for r in rows]
        metrics = json.load(open(self.path("new_results", "metrics.json")))
        expected = adjusted_rand_score([truth[r["image"]] for r in rows], clusters)
        self.assertAlmostEqual(metrics["adjusted_rand_index"], expected, places=12)
        self.assertIn("contingency", open(self.path("new_results", "report.html")).read())

    def test_simclr_pretraining_feeds_fine_tuning_and_clustering(self):
        make_separable_set(self.path("data"), 24, size=16, seed=4)
        base = {"models_bucket": self.path("models"), "images_bucket": self.path("data")}
        pre = dict(base, has_labels=False, unsupervised="simclr", model_bucket_name="ssl",
                   epochs=2, batch_size=12)
        result = self.medpipe("run", write_event(self.path("pre.json"), pre))
        self.assertEqual(result.returncode, 0, result.stderr)
        ssl = self.path("models", "ssl", "model.pt")
        saved = json.load(open(self.path("models", "ssl", "model.json")))
        self.assertEqual(saved["task"], "pretrain")
        # one worker on all the cores: every view's negatives are the whole step
        self.assertEqual(saved["parallel"]["workers"], 1)
        self.assertEqual(saved["pretraining"]["negatives"], "the whole step")
        # data-parallel workers when asked: each contrasts its own slice of the step
        two = dict(pre, model_bucket_name="ssl2", num_machines=2)
        result = self.medpipe("run", write_event(self.path("pre2.json"), two))
        self.assertEqual(result.returncode, 0, result.stderr)
        saved = json.load(open(self.path("models", "ssl2", "model.json")))
        self.assertEqual(saved["parallel"]["workers"], 2)
        self.assertEqual(saved["pretraining"]["negatives"], "each worker's slice of the step")
        self.assertTrue(all(math.isfinite(r["train_loss"]) for r in saved["history"]))
        fine = dict(base, pretrained=ssl, model_bucket_name="fine", epochs=2)
        result = self.medpipe("run", write_event(self.path("fine.json"), fine))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("pretrained: loaded", result.stderr + result.stdout)
        self.assertEqual(json.load(open(self.path("models", "fine", "model.json")))["arch"], "cnn")
        groups = dict(base, pretrained=ssl, has_labels=False, model_bucket_name="emb",
                      num_clusters=2, results_bucket=self.path("emb_results"))
        result = self.medpipe("run", write_event(self.path("emb.json"), groups))
        self.assertEqual(result.returncode, 0, result.stderr)
        metrics = json.load(open(self.path("emb_results", "metrics.json")))
        self.assertEqual(metrics["features"], "embeddings")
        self.assertTrue(os.path.exists(self.path("models", "emb", "embedder.pt")))
        # a pretrained network predicts nothing by itself
        result = self.medpipe("run", write_event(self.path("p.json"), dict(
            base, is_train=False, model_bucket_name="ssl", results_bucket=self.path("r"))))
        self.assertUsageError(result, "pretrained network", "as pretrained")
        # another input size or channel count than the pretraining's
        result = self.medpipe("run", write_event(self.path("big.json"), dict(
            fine, image_size=32, model_bucket_name="big")))
        self.assertUsageError(result, "16 px inputs", "image_size")
        make_separable_set(self.path("rgb"), 12, size=16, seed=5, channels=3)
        result = self.medpipe("run", write_event(self.path("rgb.json"), dict(
            fine, images_bucket=self.path("rgb"), model_bucket_name="rgb")))
        self.assertUsageError(result, "1-channel inputs", "num_channels")

    def test_bad_input(self):
        x, _ = blobs(12)
        table = self.write_table(x)
        out = {"models_bucket": self.path("models"), "results_bucket": self.path("results"),
               "has_labels": False}
        result = self.medpipe("run", write_event(self.path("k.json"), dict(
            out, features_table=table, num_clusters=20)))
        self.assertUsageError(result, "num_clusters", "20 clusters", "12 images")
        constant = self.write_table(np.ones((10, 3)), "constant.csv")
        result = self.medpipe("run", write_event(self.path("c.json"), dict(
            out, features_table=constant, num_clusters=2)))
        self.assertUsageError(result, "none of the 3 features varies")
        result = self.medpipe("run", write_event(self.path("r.json"), dict(
            out, features_table=table, num_clusters="5-2")))
        self.assertUsageError(result, "num_clusters", "a range such as 2-8")
        result = self.medpipe("run", write_event(self.path("s.json"), dict(
            out, features_table=table, label_style="array")))
        self.assertUsageError(result, "has_labels")


if __name__ == "__main__":
    sys.exit(__import__("unittest").main())
