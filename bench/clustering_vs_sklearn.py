"""Issue 21: medpipe's k-means and Gaussian mixture against scikit-learn's KMeans and
GaussianMixture from the same start on synthetic tables (2000 x 8, 5 clusters; 5000 x 16, 8),
one column on another scale: prints the differences in inertia, log-likelihood, BIC, centres and
assignments.

  /usr/bin/python3 bench/clustering_vs_sklearn.py build/medpipe   (run in an empty folder)
"""
import csv, json, subprocess, sys, os
import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from medpipe_testlib import gmm_start  # noqa: E402
exe = sys.argv[1]
def table(x):
    with open("f.csv", "w", newline="") as f:
        w = csv.writer(f); w.writerow(["image"] + [f"f{j}" for j in range(x.shape[1])])
        for i, r in enumerate(x): w.writerow([f"s{i:04d}"] + [repr(float(v)) for v in r])
def init(c):
    with open("init.csv", "w", newline="") as f:
        w = csv.writer(f); w.writerow([f"f{j}" for j in range(c.shape[1])]); w.writerows(c.tolist())
def run(method):
    json.dump({"has_labels": False, "features_table": "f.csv", "cluster_init": "init.csv", "cluster_pca": -1,
               "cluster_method": method, "models_bucket": "m", "model_bucket_name": method,
               "results_bucket": "r_" + method, "log_level": "warn"}, open("e.json", "w"))
    subprocess.run([exe, "run", "e.json"], check=True, capture_output=True)
    rows = list(csv.DictReader(open(f"r_{method}/predictions.csv")))
    return json.load(open(f"m/{method}/model.json"))["cluster"], np.array([int(r["cluster"]) for r in rows])
rng = np.random.default_rng(7)
for n, d, k in [(2000, 8, 5), (5000, 16, 8)]:
    centres = rng.normal(0, 4, (k, d))
    x = centres[rng.integers(0, k, n)] + rng.normal(0, 1.5, (n, d)) * rng.uniform(0.5, 2, d)
    x[:, 0] = x[:, 0] * 100 + 7
    table(x)
    z = (x - x.mean(0)) / x.std(0)
    c0 = z[rng.choice(n, k, replace=False)]
    init(c0)
    model, lab = run("kmeans")
    ref = KMeans(k, init=c0, n_init=1, tol=1e-4, algorithm="lloyd").fit(z)
    cen = np.array(model["centres"]).reshape(k, d)
    print(f"kmeans n={n} d={d} k={k}: inertia rel diff {abs(model['statistics']['inertia']-ref.inertia_)/ref.inertia_:.2e}, "
          f"labels differ {int((lab != ref.labels_).sum())}, centres max abs diff {np.abs(cen-ref.cluster_centers_).max():.2e}")
    w, p = gmm_start(z, c0)
    model, lab = run("gmm")
    ref = GaussianMixture(k, covariance_type="full", tol=1e-3, reg_covar=1e-6, max_iter=100,
                          weights_init=w, means_init=c0, precisions_init=p).fit(z)
    print(f"gmm    n={n} d={d} k={k}: mean log-likelihood abs diff {abs(model['statistics']['log_likelihood']-ref.score(z)):.2e}, "
          f"BIC rel diff {abs(model['statistics']['bic']-ref.bic(z))/abs(ref.bic(z)):.2e}, labels differ {int((lab != ref.predict(z)).sum())}")
