"""label_style survival: the Cox model, its predictions and the survival metrics of the real
binary against R's survival package (coxph, survfit, survdiff, concordance), computed at test
time, and IPCW metrics against a direct computation of their definitions; bad inputs."""
import json
import os
import shutil
import subprocess
import unittest

import numpy as np

from medpipe_testlib import MedpipeTestCase, SHARED_DATA, read_csv_rows, write_event

SURVIVAL = os.path.join(SHARED_DATA, "survival")
RSCRIPT = shutil.which("Rscript")


def need_r_and_data(test):
    test = unittest.skipUnless(os.path.isdir(SURVIVAL), f"no survival data at {SURVIVAL}")(test)
    return unittest.skipUnless(RSCRIPT, "Rscript not installed (r-base-core r-cran-survival)")(test)


def r_values(script):
    """Runs R with library(survival) and `out(key, values)`; returns {key: np.array}."""
    prelude = ('suppressMessages(library(survival))\n'
               'out <- function(k, v) cat(k, sprintf("%.17g", as.numeric(v)), "\\n")\n')
    done = subprocess.run([RSCRIPT, "-e", prelude + script], capture_output=True, text=True,
                          timeout=300)
    if done.returncode != 0:
        raise AssertionError("R failed:\n" + done.stderr)
    values = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if parts:
            values[parts[0]] = np.array([float("nan") if p == "NA" else float(p) for p in parts[1:]])
    return values


def write_cohort(folder, name, rows, covariates, time, event, event_of=lambda v: v):
    """features_table and labels CSVs of `rows` (dicts), subjects named s0, s1, ..."""
    table, labels = os.path.join(folder, name + "_cov.csv"), os.path.join(folder, name + "_labels.csv")
    with open(table, "w") as f:
        f.write("image," + ",".join(covariates) + "\n")
        for i, r in enumerate(rows):
            f.write(f"s{i}," + ",".join(r[c] for c in covariates) + "\n")
    with open(labels, "w") as f:
        f.write("image,time,event\n")
        for i, r in enumerate(rows):
            f.write(f"s{i},{r[time]},{event_of(int(float(r[event])))}\n")
    return table, labels


def read_rows(path):
    import csv
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def assert_rel(test, ours, ref, rel, what):
    ours, ref = np.asarray(ours, float), np.asarray(ref, float)
    err = np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-300))
    test.assertLessEqual(err, rel, f"{what}: ours {ours} R {ref} (relative error {err:.3g})")


class SurvivalRuns(MedpipeTestCase):
    """Training and prediction runs of a features_table cohort (no tests of its own)."""

    def train(self, name, table, labels, **keys):
        event = {"label_style": "survival", "features_table": table, "labels": labels,
                 "model_bucket_name": name, "models_bucket": self.path("models")}
        event.update(keys)
        self.assertDone(self.medpipe("run", write_event(self.path(name + ".json"), event)))
        with open(self.path("models", name, "model.json")) as f:
            return json.load(f)

    def predict(self, name, table, labels):
        event = {"label_style": "survival", "features_table": table, "labels": labels,
                 "model_bucket_name": name, "models_bucket": self.path("models"),
                 "is_train": False, "results_bucket": self.path("results", name)}
        self.assertDone(self.medpipe("run", write_event(self.path(name + "_predict.json"), event)))
        with open(self.path("results", name, "metrics.json")) as f:
            return json.load(f), read_rows(self.path("results", name, "predictions.csv"))


class CoxMatchesR(SurvivalRuns):
    def check_fit(self, model, r, ties):
        cox = model["survival"]["cox"]
        coef = [c["coef"] for c in model["coefficients"]]
        se = [c["se"] for c in model["coefficients"]]
        assert_rel(self, coef, r[f"{ties}_coef"], 1e-6, f"{ties} coefficients")
        assert_rel(self, se, r[f"{ties}_se"], 1e-5, f"{ties} standard errors")
        assert_rel(self, cox["loglik"], r[f"{ties}_loglik"], 1e-6, f"{ties} log partial likelihood")
        tests = [cox["likelihood_ratio_test"]["statistic"], cox["wald_test"]["statistic"],
                 cox["score_test"]["statistic"]]
        assert_rel(self, tests, r[f"{ties}_tests"], 1e-5, f"{ties} LR, Wald and score tests")
        ci = [[c["ci_low"], c["ci_high"]] for c in model["coefficients"]]
        assert_rel(self, np.ravel(ci), r[f"{ties}_ci"], 1e-5, f"{ties} hazard ratio CIs")

    @need_r_and_data
    def test_lung_and_gbsg_efron_and_breslow(self):
        cohorts = {
            "lung": ("lung.csv", ["age", "sex", "ph.ecog"], "time", "status", lambda v: v - 1),
            "gbsg": ("gbsg.csv", ["age", "meno", "size", "grade", "nodes", "pgr", "er", "hormon"],
                     "rfstime", "status", lambda v: v),
        }
        for name, (file, covariates, time, status, coding) in cohorts.items():
            rows = read_rows(os.path.join(SURVIVAL, file))
            rows_ok = [r for r in rows if all(r[c] != "" for c in covariates)]
            table, labels = write_cohort(self.tmp, name, rows, covariates, time, status, coding)
            status_r = "status - 1" if name == "lung" else "status"
            formula = f"Surv({time}, {status_r}) ~ " + " + ".join(f"`{c}`" for c in covariates)
            r = r_values(f"""
d <- read.csv("{os.path.join(SURVIVAL, file)}", check.names = FALSE)
for (ties in c("efron", "breslow")) {{
  f <- coxph({formula}, data = d, ties = ties)
  s <- summary(f)
  out(paste0(ties, "_coef"), coef(f)); out(paste0(ties, "_se"), sqrt(diag(vcov(f))))
  out(paste0(ties, "_loglik"), f$loglik)
  out(paste0(ties, "_tests"), c(2 * diff(f$loglik), f$wald.test, f$score))
  out(paste0(ties, "_ci"), t(s$conf.int[, 3:4]))
}}""")
            for ties in ("efron", "breslow"):
                model = self.train(f"{name}_{ties}", table, labels, ties=ties)
                self.check_fit(model, r, ties)
                self.assertEqual(model["survival"]["cox"]["subjects"], len(rows_ok))
            self.check_predictions(name, table, labels, covariates, time, status_r, file)

    def check_predictions(self, name, table, labels, covariates, time, status_r, file):
        """S(t | x), Harrell's C counts and the log-rank test of the efron model, against R on
        medpipe's own risk scores (so that ties in the risk are the same ties)."""
        metrics, predictions = self.predict(f"{name}_efron", table, labels)
        times = [float(k[len("surv_"):]) for k in predictions[0] if k.startswith("surv_")]
        with open(self.path("models", f"{name}_efron", "model.json")) as f:
            cutoff = json.load(f)["survival"]["risk_cutoff"]
        risk = os.path.join(self.tmp, f"{name}_risk.csv")
        with open(risk, "w") as f:
            f.write("image,risk\n")
            for p in predictions:
                f.write(f"{p['image']},{p['risk']}\n")
        formula = f"Surv({time}, {status_r}) ~ " + " + ".join(f"`{c}`" for c in covariates)
        r = r_values(f"""
d <- read.csv("{os.path.join(SURVIVAL, file)}", check.names = FALSE)
d$image <- paste0("s", seq_len(nrow(d)) - 1)
f <- coxph({formula}, data = d)
used <- d[complete.cases(d[, c({", ".join(repr(c) for c in covariates)})]), ]
sf <- survfit(f, newdata = used)
out("surv", (summary(sf, times = c({", ".join(repr(t) for t in times)}), extend = TRUE)$surv))
m <- merge(used, read.csv("{risk}"), by = "image")
m <- m[order(as.integer(sub("s", "", m$image))), ]
k <- concordance(Surv({time}, {status_r}) ~ risk, data = m, reverse = TRUE)
out("c", k$concordance); out("counts", k$count[1:5])
lr <- survdiff(Surv({time}, {status_r}) ~ I(risk > {cutoff!r}), data = m)
out("logrank", lr$chisq)""")
        ours_surv = [[float(p[f"surv_{k}"]) for k in [c[len('surv_'):] for c in predictions[0]
                                                        if c.startswith('surv_')]] for p in predictions]
        assert_rel(self, np.ravel(ours_surv), r["surv"], 1e-6, f"{name}: S(t | x) at {times}")
        c = metrics["concordance"]
        self.assertEqual([c["concordant"], c["discordant"], c["tied_risk"], c["tied_time"],
                          c["tied_both"]], [int(v) for v in r["counts"]], f"{name}: C's pair counts")
        self.assertAlmostEqual(metrics["harrell_c"], r["c"][0], places=12)
        assert_rel(self, metrics["logrank"]["chisq"], r["logrank"], 1e-6, f"{name}: log-rank")

    @need_r_and_data
    def test_a_categorical_covariate_is_coded_as_r_codes_a_factor(self):
        """colon (deaths): rx (Obs, Lev, Lev+5FU) one-hot against its first level in sorted
        order, as R's treatment contrasts of factor(rx)."""
        rows = [r for r in read_rows(os.path.join(SURVIVAL, "colon.csv")) if r["etype"] == "2"]
        table, labels = write_cohort(self.tmp, "colon", rows, ["rx", "age", "nodes"], "time",
                                     "status")
        model = self.train("colon", table, labels)
        names = [c["name"] for c in model["coefficients"]]
        self.assertEqual(names, ["rx=Lev+5FU", "rx=Obs", "age", "nodes"])
        r = r_values(f"""
d <- read.csv("{os.path.join(SURVIVAL, 'colon.csv')}")
d <- d[d$etype == 2, ]
f <- coxph(Surv(time, status) ~ factor(rx) + age + nodes, data = d)
out("coef", coef(f)); out("se", sqrt(diag(vcov(f)))); out("n", f$n)""")
        assert_rel(self, [c["coef"] for c in model["coefficients"]], r["coef"], 1e-6,
                   "colon coefficients")
        assert_rel(self, [c["se"] for c in model["coefficients"]], r["se"], 1e-5, "colon se")
        self.assertEqual(model["survival"]["cox"]["subjects"], int(r["n"][0]))

    @need_r_and_data
    def test_kaplan_meier_of_lung(self):
        rows = read_rows(os.path.join(SURVIVAL, "lung.csv"))
        table, labels = write_cohort(self.tmp, "lung", rows, ["age", "sex"], "time", "status",
                                     lambda v: v - 1)
        self.train("lung_km", table, labels)
        metrics, _ = self.predict("lung_km", table, labels)
        with open(self.path("results", "lung_km", "report.html")) as f:
            report = f.read()
        for plot in ("id='km'", "id='forest'", "id='td-auc'", "id='brier'", "id='at-risk'"):
            self.assertIn(plot, report)
        km = metrics["kaplan_meier"]["all"]
        r = r_values(f"""
d <- read.csv("{os.path.join(SURVIVAL, 'lung.csv')}")
for (type in c("log", "log-log")) {{
  s <- survfit(Surv(time, status) ~ 1, data = d, conf.type = type)
  out("time", s$time); out("surv", s$surv); out("std_err", s$std.err)
  out(paste0("lower_", type), s$lower); out(paste0("upper_", type), s$upper)
  out("n_risk", s$n.risk)
}}""")
        nums = lambda v: np.array([np.nan if x is None else x for x in v], float)
        np.testing.assert_array_equal(km["time"], r["time"])
        np.testing.assert_array_equal(km["n_risk"], r["n_risk"])
        for ours, ref in (("surv", "surv"), ("std_err", "std_err"), ("lower", "lower_log"),
                          ("upper", "upper_log"), ("lower_loglog", "lower_log-log"),
                          ("upper_loglog", "upper_log-log")):
            np.testing.assert_allclose(nums(km[ours]), r[ref], rtol=0, atol=1e-8, err_msg=ours)


def ipcw_reference(time, event, risk, surv_at, times, train_time, train_event):
    """Uno's C, cumulative/dynamic AUC and the Brier score from their definitions (O(n^2)),
    G the Kaplan-Meier of the training censoring, taken just before an event time."""
    def censoring_km(t_all, e_all):
        ts = np.unique(t_all)
        g, out = 1.0, []
        for t in ts:
            at_risk = np.sum(t_all >= t)
            cens = np.sum((t_all == t) & (e_all == 0))
            g *= 1 - cens / at_risk
            out.append(g)
        return ts, np.array(out)
    ts, gs = censoring_km(train_time, train_event)
    G = lambda t: 1.0 if not np.any(ts <= t) else gs[np.searchsorted(ts, t, side="right") - 1]
    G_left = lambda t: 1.0 if not np.any(ts < t) else gs[np.searchsorted(ts, t, side="left") - 1]
    n = len(time)
    tau = times[-1]
    num = den = 0.0
    for i in range(n):
        if not event[i] or not time[i] < tau:
            continue
        w = 1 / G_left(time[i]) ** 2
        for j in range(n):
            later = time[j] > time[i] or (time[j] == time[i] and not event[j])
            if later:
                den += w
                num += w * (1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0)
    uno = num / den
    aucs, briers = [], []
    for k, t in enumerate(times):
        cases = [i for i in range(n) if time[i] <= t and event[i]]
        controls = [j for j in range(n) if time[j] > t]
        num = sum((1 / G_left(time[i])) * sum(1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j]
                                               else 0.0 for j in controls) for i in cases)
        aucs.append(num / (sum(1 / G_left(time[i]) for i in cases) * len(controls)))
        b = 0.0
        for i in range(n):
            s = surv_at[i][k]
            if time[i] <= t and event[i]:
                b += s * s / G_left(time[i])
            elif time[i] > t:
                b += (1 - s) ** 2 / G(t)
        briers.append(b / n)
    area = sum(0.5 * (briers[k] + briers[k - 1]) * (times[k] - times[k - 1]) for k in range(1, len(times)))
    return uno, aucs, briers, area / (times[-1] - times[0])


class IpcwMetrics(SurvivalRuns):
    @unittest.skipUnless(os.path.isdir(SURVIVAL), "no survival data")
    def test_uno_c_td_auc_and_brier_match_their_definitions(self):
        """The DeepSurv split: trained on Rotterdam, scored on GBSG."""
        train = read_rows(os.path.join(SURVIVAL, "rgbsg_train_rotterdam_nodepos.csv"))
        test = read_rows(os.path.join(SURVIVAL, "rgbsg_test_gbsg.csv"))
        cov = ["hormon", "size", "meno", "age", "nodes", "pgr", "er"]
        ttable, tlabels = write_cohort(self.tmp, "rott", train, cov, "time", "event")
        gtable, glabels = write_cohort(self.tmp, "gbsg", test, cov, "time", "event")
        self.train("rgbsg", ttable, tlabels, survival_times="12,24,36,48,60", time_unit="months")
        metrics, predictions = self.predict("rgbsg", gtable, glabels)
        times = [12.0, 24.0, 36.0, 48.0, 60.0]
        time = np.array([float(r["time"]) for r in test])
        event = np.array([int(float(r["event"])) for r in test])
        risk = np.array([float(p["risk"]) for p in predictions])
        surv = [[float(p[f"surv_{t}"]) for t in (12, 24, 36, 48, 60)] for p in predictions]
        uno, aucs, briers, ibs = ipcw_reference(
            time, event, risk, surv, times, np.array([float(r["time"]) for r in train]),
            np.array([int(float(r["event"])) for r in train]))
        self.assertAlmostEqual(metrics["uno_c"], uno, places=10)
        np.testing.assert_allclose([a["value"] for a in metrics["td_auc"]], aucs, rtol=1e-10)
        np.testing.assert_allclose([b["value"] for b in metrics["brier"]], briers, rtol=1e-10)
        self.assertAlmostEqual(metrics["integrated_brier_score"], ibs, places=10)
        # calibration at the middle time: 5 groups by predicted S(36), each group's Kaplan-Meier
        s36 = np.array([row[2] for row in surv])
        order = np.argsort(s36, kind="stable")
        groups, begin = [], 0
        for g in range(5):
            size = len(order) // 5 + (1 if g < len(order) % 5 else 0)
            idx = order[begin:begin + size]
            begin += size
            km = 1.0
            for t in np.unique(time[idx][event[idx] == 1]):
                if t > 36:
                    break
                at_risk = np.sum(time[idx] >= t)
                km *= 1 - np.sum((time[idx] == t) & (event[idx] == 1)) / at_risk
            groups.append((s36[idx].mean(), km))
        cal = metrics["calibration"]
        self.assertEqual(cal["horizon"], 36)
        np.testing.assert_allclose([[g["predicted"], g["observed"]] for g in cal["groups"]], groups,
                                   rtol=1e-10)
        if RSCRIPT:  # the linear Cox model's C on the test split equals R's
            r = r_values(f"""
tr <- read.csv("{os.path.join(SURVIVAL, 'rgbsg_train_rotterdam_nodepos.csv')}")
te <- read.csv("{os.path.join(SURVIVAL, 'rgbsg_test_gbsg.csv')}")
f <- coxph(Surv(time, event) ~ hormon + size + meno + age + nodes + pgr + er, data = tr)
out("c", concordance(f, newdata = te)$concordance)""")
            self.assertAlmostEqual(metrics["harrell_c"], r["c"][0], places=9)


class NeuralCox(SurvivalRuns):
    @unittest.skipUnless(os.path.isdir(SURVIVAL), "no survival data")
    def test_deepsurv_protocol_rotterdam_to_gbsg(self):
        """DeepSurv's split with medpipe's defaults for arch mlp (chosen by cross-validation on
        Rotterdam only, docs/benchmarks.md): the mean test C of 5 seeds reaches DeepSurv's
        published 0.668."""
        cov = ["hormon", "size", "meno", "age", "nodes", "pgr", "er"]
        train = read_rows(os.path.join(SURVIVAL, "rgbsg_train_rotterdam_nodepos.csv"))
        test = read_rows(os.path.join(SURVIVAL, "rgbsg_test_gbsg.csv"))
        ttable, tlabels = write_cohort(self.tmp, "rott", train, cov, "time", "event")
        gtable, glabels = write_cohort(self.tmp, "gbsg", test, cov, "time", "event")
        cs = []
        for seed in range(1, 6):
            self.train(f"ds{seed}", ttable, tlabels, arch="mlp", seed=seed, time_unit="months")
            metrics, predictions = self.predict(f"ds{seed}", gtable, glabels)
            cs.append(metrics["harrell_c"])
        self.assertEqual(len(predictions), len(test))
        self.assertGreaterEqual(np.mean(cs), 0.668, f"test C of 5 seeds: {cs}")
        self.assertTrue(os.path.exists(self.path("models", "ds1", "model.pt")))


def harrell_c_reference(time, event, risk):
    """Harrell's C from its definition (a censoring at an event's time counts as later)."""
    num = den = 0.0
    for i in range(len(time)):
        if not event[i]:
            continue
        later = (time > time[i]) | ((time == time[i]) & (event == 0))
        den += later.sum()
        num += (risk[i] > risk[later]).sum() + 0.5 * (risk[i] == risk[later]).sum()
    return num / den


class CnnSurvival(MedpipeTestCase):
    def test_cnn_on_synthetic_images_reaches_the_true_hazards_c(self):
        """medpipe synth --task survival: the nodule's size sets the hazard. The CNN trained with
        the Cox loss scores, on unseen images, within 0.03 of the C of the true hazards."""
        for name, seed, count in (("train", 1, 600), ("test", 2, 300)):
            self.assertDone(self.medpipe("synth", "--task", "survival", "--out", self.path(name),
                                         "--count", count, "--size", 64, "--seed", seed))
        event = write_event(self.path("e.json"), {
            "label_style": "survival", "images_bucket": self.path("train"), "epochs": 15,
            "model_bucket_name": "cnn", "models_bucket": self.path("models")})
        self.assertDone(self.medpipe("run", event))
        self.assertDone(self.medpipe("run", event, "--set", "is_train=false", "--set",
                                     "images_bucket=" + self.path("test"), "--set",
                                     "results_bucket=" + self.path("results")))
        with open(self.path("results", "metrics.json")) as f:
            metrics = json.load(f)
        labels = {r["image"]: r for r in read_csv_rows(self.path("test", "labels.csv"))}
        truth = {r["image"]: float(r["true_log_hazard"])
                 for r in read_csv_rows(self.path("test", "truth", "hazards.csv"))}
        predictions = read_csv_rows(self.path("results", "predictions.csv"))
        names = [p["image"] for p in predictions]
        time = np.array([float(labels[n]["time"]) for n in names])
        event_ = np.array([int(labels[n]["event"]) for n in names])
        ours = np.array([float(p["risk"]) for p in predictions])
        self.assertAlmostEqual(metrics["harrell_c"], harrell_c_reference(time, event_, ours), places=10)
        # medpipe evaluate finds the bucket's labels.csv itself and scores the same predictions
        self.assertDone(self.medpipe("evaluate", event, "--set", "images_bucket=" + self.path("test"),
                                     "--set", "results_bucket=" + self.path("results")))
        with open(self.path("results", "metrics.json")) as f:
            self.assertAlmostEqual(json.load(f)["harrell_c"], metrics["harrell_c"], places=12)
        best = harrell_c_reference(time, event_, np.array([truth[n] for n in names]))
        self.assertLess(abs(metrics["harrell_c"] - best), 0.03,
                        f"CNN C {metrics['harrell_c']:.4f}, true hazards' C {best:.4f}")
        with open(self.path("models", "cnn", "model.json")) as f:
            model = json.load(f)
        self.assertEqual(model["survival"]["model"], "cnn_cox")
        self.assertIn("val_c", model["history"][-1])
        # radiomics + Cox on the same images, beside it (docs/benchmarks.md)
        self.assertDone(self.medpipe("run", event, "--set", "pipeline=features", "--set",
                                     "model_bucket_name=radiomics"))
        self.assertDone(self.medpipe("run", event, "--set", "is_train=false", "--set",
                                     "model_bucket_name=radiomics", "--set",
                                     "images_bucket=" + self.path("test"), "--set",
                                     "results_bucket=" + self.path("radiomics")))
        with open(self.path("radiomics", "metrics.json")) as f:
            radiomics = json.load(f)
        self.assertGreater(radiomics["harrell_c"], 0.6)
        with open(self.path("models", "radiomics", "model.json")) as f:
            self.assertIn("radiomics", json.load(f)["survival"])
        print(f"\nsynthetic survival: true hazards C {best:.4f}, CNN {metrics['harrell_c']:.4f}, "
              f"radiomics + Cox {radiomics['harrell_c']:.4f}")


class RadiomicsWithCovariates(MedpipeTestCase):
    def test_clinical_covariates_join_the_radiomics_features(self):
        """pipeline features + features_table: a covariate that carries part of the true hazard
        (and a category) joins the radiomics of each image; the C on unseen images rises (with
        the ridge chosen by cross-validation: 0.671 -> 0.683 when recorded)."""
        rng = np.random.default_rng(3)
        for name, seed, count in (("train", 1, 300), ("test", 2, 200)):
            self.assertDone(self.medpipe("synth", "--task", "survival", "--out", self.path(name),
                                         "--count", count, "--size", 48, "--seed", seed))
            truth = read_csv_rows(self.path(name, "truth", "hazards.csv"))
            with open(self.path(name, "clinical.csv"), "w") as f:
                f.write("image,score,site\n")
                for r in truth:
                    score = float(r["true_log_hazard"]) + rng.normal(0, 0.3)
                    f.write(f"{r['image']},{score:.4f},{rng.choice(['A', 'B'])}\n")
        c = {}
        for label, keys in (("radiomics", {}), ("joined", {"features_table": "train/clinical.csv"})):
            event = {"label_style": "survival", "pipeline": "features", "images_bucket": "train",
                     "labels": "train/labels.csv", "model_bucket_name": label,
                     "models_bucket": self.path("models")}
            event.update(keys)
            self.assertDone(self.medpipe("run", write_event(self.path(label + ".json"), event)))
            predict = ["run", self.path(label + ".json"), "--set", "is_train=false", "--set",
                       "images_bucket=test", "--set", "labels=test/labels.csv", "--set",
                       "results_bucket=" + self.path("results", label)]
            if keys:
                predict += ["--set", "features_table=test/clinical.csv"]
            self.assertDone(self.medpipe(*predict))
            with open(self.path("results", label, "metrics.json")) as f:
                c[label] = json.load(f)["harrell_c"]
        with open(self.path("models", "joined", "model.json")) as f:
            coefficients = json.load(f)["coefficients"]
        names = [k["name"] for k in coefficients]
        ranked = sorted(coefficients, key=lambda k: -abs(k["coef"]))
        self.assertIn("clinical.score", names)
        self.assertIn("clinical.site=B", names)
        # the covariate that carries the hazard weighs most, and the C rises with it
        self.assertEqual(ranked[0]["name"], "clinical.score")
        self.assertGreater(ranked[0]["coef"], 0)
        self.assertGreater(c["joined"], c["radiomics"] + 0.005, c)


class RadiomicsTreatment(MedpipeTestCase):
    def test_a_recommender_on_the_images_radiomics_finds_the_truly_best_arm(self):
        """pipeline features + treatment_column: synthetic images whose true log hazard the
        lesion sets; a randomised arm B that lowers the hazard (log HR -1.5) of images above the
        median true hazard and raises it (+1.5) below. On unseen images the recommendation (both
        models) agrees with the truly best arm far above chance (0.855 and 0.87 when recorded),
        and its IPW value beats treating everyone alike."""
        rng = np.random.default_rng(5)
        for name, seed, count in (("train", 1, 300), ("test", 2, 200)):
            self.assertDone(self.medpipe("synth", "--task", "survival", "--out", self.path(name),
                                         "--count", count, "--size", 48, "--seed", seed))
            truth = read_csv_rows(self.path(name, "truth", "hazards.csv"))
            h = np.array([float(r["true_log_hazard"]) for r in truth])
            with open(self.path(name, "arms.csv"), "w") as f, \
                    open(self.path(name, "outcomes.csv"), "w") as g:
                f.write("image,arm,best\n")
                g.write("image,time,event\n")
                for r, hi in zip(truth, h):
                    arm, beta = int(rng.random() < 0.5), -1.5 if hi > np.median(h) else 1.5
                    t, c = rng.exponential(100 * np.exp(-(hi + arm * beta))), rng.uniform(50, 400)
                    f.write(f"{r['image']},{'AB'[arm]},{'B' if beta < 0 else 'A'}\n")
                    g.write(f"{r['image']},{min(t, c):.2f},{int(t <= c)}\n")
        for model in ("interactions", "per_arm"):
            event = write_event(self.path(model + ".json"), {
                "label_style": "survival", "pipeline": "features", "images_bucket": "train",
                "labels": "train/outcomes.csv", "features_table": "train/arms.csv",
                "treatment_column": "arm", "best_arm_column": "best", "treatment_model": model,
                "model_bucket_name": model, "models_bucket": self.path("models")})
            self.assertDone(self.medpipe("run", event))
            self.assertDone(self.medpipe(
                "run", event, "--set", "is_train=false", "--set", "images_bucket=test", "--set",
                "labels=test/outcomes.csv", "--set", "features_table=test/arms.csv", "--set",
                "results_bucket=" + self.path("results", model)))
            with open(self.path("results", model, "metrics.json")) as f:
                metrics = json.load(f)
            self.assertGreaterEqual(metrics["agreement_with_best"], 0.78, (model, metrics))
            values = metrics["policy_value"]
            self.assertGreater(values["recommended"], max(values["all_A"], values["all_B"]), values)
            self.assertEqual(metrics["recommendation_worse_than"], [])
            rows = read_rows(self.path("results", model, "predictions.csv"))
            self.assertEqual(len(rows), 200)
            self.assertEqual({r["recommended"] for r in rows}, {"A", "B"})


class TreatmentRecommendation(SurvivalRuns):
    @need_r_and_data
    def test_recommendations_and_followed_logrank_equal_rs(self):
        """Cox with hormon x covariate interactions on Rotterdam, applied to GBSG: the same arm
        recommended to every patient as by R's coxph, the same log-rank of followed vs not; the
        IPW policy values beside treating everyone with each arm."""
        cov = ["hormon", "size", "meno", "age", "nodes", "pgr", "er"]
        train = read_rows(os.path.join(SURVIVAL, "rgbsg_train_rotterdam_nodepos.csv"))
        test = read_rows(os.path.join(SURVIVAL, "rgbsg_test_gbsg.csv"))
        ttable, tlabels = write_cohort(self.tmp, "rott", train, cov, "time", "event")
        gtable, glabels = write_cohort(self.tmp, "gbsg", test, cov, "time", "event")
        self.train("trt", ttable, tlabels, treatment_column="hormon", time_unit="months",
                   survival_times="12,36,60")
        metrics, predictions = self.predict("trt", gtable, glabels)
        r = r_values(f"""
tr <- read.csv("{os.path.join(SURVIVAL, 'rgbsg_train_rotterdam_nodepos.csv')}")
te <- read.csv("{os.path.join(SURVIVAL, 'rgbsg_test_gbsg.csv')}")
f <- coxph(Surv(time, event) ~ hormon * (size + meno + age + nodes + pgr + er), data = tr)
a <- te; a$hormon <- 1; b <- te; b$hormon <- 0
rec <- as.numeric(predict(f, a, type = "lp") < predict(f, b, type = "lp"))
out("recommended", rec)
out("logrank", survdiff(Surv(time, event) ~ I(hormon == rec), data = te)$chisq)""")
        ours = [int(p["recommended"]) for p in predictions]
        self.assertEqual(ours, [int(v) for v in r["recommended"]])
        assert_rel(self, metrics["followed_logrank"]["chisq"], r["logrank"], 1e-6, "followed log-rank")
        values = metrics["policy_value"]
        self.assertEqual(values["horizon"], 36)
        for key in ("recommended", "observed", "all_0", "all_1"):
            self.assertTrue(0 < values[key] < 1, values)
        with open(self.path("results", "trt", "report.html")) as f:
            self.assertIn("id='policies'", f.read())
        self.check_policy_values(metrics, predictions, test, cov)

    @need_r_and_data
    def test_per_arm_models_recommend_as_rs_per_arm_coxph(self):
        """treatment_model per_arm (the T-learner): one Cox model per hormon arm on Rotterdam,
        each with its own baseline; on GBSG, the arm of higher S(36 months) is recommended to
        every patient as by R's per-arm coxph + survfit, and risk_<arm> is R's log cumulative
        hazard at 36 months."""
        cov = ["hormon", "size", "meno", "age", "nodes", "pgr", "er"]
        train = read_rows(os.path.join(SURVIVAL, "rgbsg_train_rotterdam_nodepos.csv"))
        test = read_rows(os.path.join(SURVIVAL, "rgbsg_test_gbsg.csv"))
        ttable, tlabels = write_cohort(self.tmp, "rott", train, cov, "time", "event")
        gtable, glabels = write_cohort(self.tmp, "gbsg", test, cov, "time", "event")
        model = self.train("tl", ttable, tlabels, treatment_column="hormon", time_unit="months",
                           survival_times="12,36,60", treatment_model="per_arm")
        per_arm = model["survival"]["treatment"]["per_arm"]
        self.assertEqual([a["arm"] for a in per_arm], ["0", "1"])
        metrics, predictions = self.predict("tl", gtable, glabels)
        r = r_values(f"""
tr <- read.csv("{os.path.join(SURVIVAL, 'rgbsg_train_rotterdam_nodepos.csv')}")
te <- read.csv("{os.path.join(SURVIVAL, 'rgbsg_test_gbsg.csv')}")
s <- sapply(0:1, function(k) {{
  d <- tr[tr$hormon == k, ]
  m <- coxph(Surv(time, event) ~ size + meno + age + nodes + pgr + er, data = d, model = TRUE)
  summary(survfit(m, newdata = te), times = 36)$surv }})
out("recommended", as.numeric(s[, 2] > s[, 1]))
out("risk0", log(-log(s[, 1]))); out("risk1", log(-log(s[, 2])))
out("logrank", survdiff(Surv(time, event) ~ I(hormon == as.numeric(s[, 2] > s[, 1])), data = te)$chisq)""")
        self.assertEqual([int(p["recommended"]) for p in predictions],
                         [int(v) for v in r["recommended"]])
        assert_rel(self, [float(p["risk_0"]) for p in predictions], r["risk0"], 1e-6, "risk_0")
        assert_rel(self, [float(p["risk_1"]) for p in predictions], r["risk1"], 1e-6, "risk_1")
        assert_rel(self, metrics["followed_logrank"]["chisq"], r["logrank"], 1e-6, "followed log-rank")
        for p in predictions[:20]:
            self.assertLessEqual(float(p["benefit_low"]), float(p["benefit_high"]))

    def check_policy_values(self, metrics, predictions, test, cov):
        """IPW (weighted Kaplan-Meier) and doubly robust values from their definitions, the
        propensity from scikit-learn's unpenalised logistic regression."""
        from sklearn.linear_model import LogisticRegression
        x = np.array([[float(r[c]) for c in cov if c != "hormon"] for r in test])
        arm = np.array([int(float(r["hormon"])) for r in test])
        time = np.array([float(r["time"]) for r in test])
        event = np.array([int(float(r["event"])) for r in test])
        lr = LogisticRegression(penalty=None, tol=1e-12, max_iter=100000).fit(x, arm)
        p1 = lr.predict_proba(x)[:, 1]
        received = np.where(arm == 1, p1, 1 - p1)
        h = 36.0
        def km_at(w, censoring=False):
            s, ev = 1.0, (1 - event) if censoring else event
            for t in np.unique(time[time <= h]):
                at_risk = w[time >= t].sum()
                if at_risk > 0:
                    s *= 1 - w[(time == t) & (ev == 1)].sum() / at_risk
            return s
        rec = np.array([int(p["recommended"]) for p in predictions])
        ipw = {"recommended": rec, "all_0": np.zeros_like(arm), "all_1": np.ones_like(arm)}
        for key, policy in ipw.items():
            w = np.where(arm == policy, 1 / received, 0.0)
            self.assertAlmostEqual(metrics["policy_value"][key], km_at(w), places=5, msg=key)
        with open(self.path("models", "trt", "model.json")) as f:
            base = json.load(f)["survival"]["cox"]["baseline"]
        h0 = base["cumulative_hazard"][np.searchsorted(base["time"], h, side="right") - 1]
        surv = {k: np.exp(-h0 * np.exp([float(p[f"risk_{k}"]) for p in predictions])) for k in (0, 1)}
        # each patient's benefit: S(36) under the recommended arm less under the other, and
        # its bootstrap interval around it
        benefit = np.where(rec == 1, surv[1] - surv[0], surv[0] - surv[1])
        np.testing.assert_allclose([float(p["benefit"]) for p in predictions], benefit, atol=1e-9)
        low = np.array([float(p["benefit_low"]) for p in predictions])
        high = np.array([float(p["benefit_high"]) for p in predictions])
        self.assertTrue(np.all(low <= high))
        self.assertGreater(np.mean((low <= benefit) & (benefit <= high)), 0.9)
        self.assertGreater(np.mean(high - low), 0)
        g = km_at(np.ones_like(time), censoring=True)
        for key, policy in ipw.items():
            predicted = np.where(policy == 1, surv[1], surv[0])
            outcome = (time > h) / g
            dr = np.mean(predicted + (arm == policy) * (outcome - predicted) / received)
            self.assertAlmostEqual(metrics["policy_value_doubly_robust"][key], dr, places=5, msg=key)
        self.assertIn("risk_0", predictions[0])
        self.assertIn("risk_1", predictions[0])

    def test_bad_arms_get_clear_messages(self):
        rng = np.random.default_rng(1)
        with open(self.path("cov.csv"), "w") as f, open(self.path("lab.csv"), "w") as g:
            f.write("image,x,arm\n")
            g.write("image,time,event\n")
            for i in range(40):
                f.write(f"s{i},{rng.normal():.3f},{'A' if i % 2 else 'B'}\n")
                g.write(f"s{i},{1 + rng.exponential(5):.2f},{int(i % 3 != 0)}\n")
        event = write_event(self.path("e.json"), {"label_style": "survival", "features_table": "cov.csv",
                                                  "labels": "lab.csv", "treatment_column": "arm"})
        r = self.medpipe("run", event, "--set", "treatment_arms=A,B,C")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("arm 'C' has no subject", r.stderr)
        r = self.medpipe("run", event, "--set", "treatment_arms=A")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("treatment 'B' is not one of the arms", r.stderr)
        # a given propensity of 0 or 1 violates positivity: refused, no infinite weight
        with open(self.path("cov.csv")) as f:
            rows = f.read().splitlines()
        with open(self.path("cov_p.csv"), "w") as f:
            f.write(rows[0] + ",p\n")
            for i, row in enumerate(rows[1:]):
                f.write(row + (",1.0\n" if i == 3 else ",0.5\n"))
        self.assertDone(self.medpipe("run", event, "--set", "features_table=cov_p.csv",
                                     "--set", "propensity_column=p", "--set", "model_bucket_name=p"))
        r = self.medpipe("run", event, "--set", "features_table=cov_p.csv", "--set",
                         "propensity_column=p", "--set", "model_bucket_name=p", "--set",
                         "is_train=false")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("positivity is violated", r.stderr)
        self.assertIn("given propensity", r.stderr)
        r = self.medpipe("run", event, "--set", "treatment_column=dose")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("no column 'dose'", r.stderr)
        r = self.medpipe("run", event, "--set", "treatment_model=per_arm", "--set", "arch=mlp")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("treatment_model per_arm fits one Cox model per arm", r.stderr)


class BadSurvivalInput(MedpipeTestCase):
    def attempt(self, cov_rows, label_rows, header="image,a,b", **keys):
        with open(self.path("cov.csv"), "w") as f:
            f.write(header + "\n" + "\n".join(cov_rows) + "\n")
        with open(self.path("labels.csv"), "w") as f:
            f.write("image,time,event\n" + "\n".join(label_rows) + "\n")
        event = {"label_style": "survival", "features_table": "cov.csv", "labels": "labels.csv"}
        event.update(keys)
        return self.medpipe("run", write_event(self.path("e.json"), event))

    def good(self, n=30):
        rng = np.random.default_rng(0)
        cov = [f"s{i},{rng.normal():.4f},{rng.normal():.4f}" for i in range(n)]
        lab = [f"s{i},{1 + rng.exponential(10):.3f},{i % 3 != 0:d}" for i in range(n)]
        return cov, lab

    def test_each_bad_input_gets_a_clear_message(self):
        cov, lab = self.good()
        bad_time = lab[:3] + ["s3,-2,1", "s4,,0"] + lab[5:]
        self.assertUsageError(self.attempt(cov, bad_time), "labels.csv", "column time", "5, 6")
        coded = [r.rsplit(",", 1)[0] + ",2" for r in lab]
        self.assertUsageError(self.attempt(cov, coded), "column event", "status - 1")
        censored = [r.rsplit(",", 1)[0] + ",0" for r in lab]
        self.assertUsageError(self.attempt(cov, censored), "every subject is censored")
        constant = [r.rsplit(",", 1)[0] + ",1" for r in cov]
        self.assertUsageError(self.attempt(constant, lab), "covariate 'b'", "same value")
        collinear = [f"{r},{float(r.split(',')[1]) * 2:.4f}" for r in cov]
        self.assertUsageError(self.attempt(collinear, lab, header="image,a,b,c"), "'c'",
                              "collinear", "cox_ridge")
        self.assertUsageError(self.attempt(cov, lab, survival_times="5000"),
                              "beyond the longest training follow-up", "another unit")

    def test_outputs_never_overlap_the_covariates_table(self):
        cov, lab = self.good()
        os.makedirs(self.path("data"))
        with open(self.path("data", "cov.csv"), "w") as f:
            f.write("image,a,b\n" + "\n".join(cov) + "\n")
        with open(self.path("labels.csv"), "w") as f:
            f.write("image,time,event\n" + "\n".join(lab) + "\n")
        event = write_event(self.path("e.json"), {"label_style": "survival",
                                                  "features_table": "data/cov.csv",
                                                  "labels": "labels.csv"})
        self.assertDone(self.medpipe("run", event))
        r = self.medpipe("run", event, "--set", "is_train=false", "--set", "results_bucket=data")
        self.assertUsageError(r, "overlaps features_table")
        self.assertEqual(sorted(os.listdir(self.path("data"))), ["cov.csv"])  # nothing written

    def test_a_missing_covariate_skips_that_subject_and_lists_it(self):
        cov, lab = self.good()
        cov[2] = "s2,,0.5"
        result = self.attempt(cov, lab)
        self.assertDone(result)
        self.assertIn("s2: covariate 'a' is missing", result.stderr)
        skipped = read_csv_rows(self.path("models", "model", "skipped.csv"))
        self.assertEqual([r["image"] for r in skipped], ["s2"])

    def test_separation_is_refused_with_a_penalty_suggested(self):
        cov, lab = self.good(20)
        # b is above 0 exactly for the subjects with the earliest events
        times = sorted(range(20), key=lambda i: float(lab[i].split(",")[1]))
        early = set(times[:10])
        lab = [f"s{i},{lab[i].split(',')[1]},1" for i in range(20)]
        cov = [f"s{i},{cov[i].split(',')[1]},{1.0 if i in early else 0.0}" for i in range(20)]
        self.assertUsageError(self.attempt(cov, lab), "'b'", "cox_ridge")
        self.assertDone(self.attempt(cov, lab, cox_ridge=1.0))


if __name__ == "__main__":
    unittest.main()
