#!/usr/bin/env bash
# Survival: the Cox fit and Harrell's C of medpipe and of R's survival package on the same
# synthetic cohort (10^5 subjects, 20 covariates, ~30% censored), in one run, whole commands
# through timed.py: `medpipe run` (read, fit, baseline, training C) against Rscript reading the
# CSVs and fitting coxph; `medpipe evaluate` (Harrell's and Uno's C, td-AUC, Brier, KM,
# log-rank) against R's concordance, whose own time R reports.
#   survival.sh BUILD_DIR   (BENCH_WORK, REPEATS as run.sh)
set -euo pipefail
BUILD_DIR="$(cd "${1:-build}" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${BENCH_WORK:-/tmp/medpipe-bench}/survival"
REPEATS="${REPEATS:-5}"
PY=/usr/bin/python3
mkdir -p "$WORK"
cd "$WORK"
rm -f ./*.jsonl
[ -f cohort_cov.csv ] || $PY - <<'PY'
import numpy as np
rng = np.random.default_rng(17)
n, p = 100_000, 20
x = rng.normal(size=(n, p)).round(4)
beta = np.linspace(-0.5, 0.5, p)
t = (rng.exponential(1.0, n) / np.exp(x @ beta) * 365).round(1) + 0.1
c = rng.exponential(2.0, n) * 365
time, event = np.minimum(t, c).round(1) + 0.1, (t <= c).astype(int)
with open("cohort_cov.csv", "w") as f:
    f.write("image," + ",".join(f"x{k}" for k in range(p)) + "\n")
    for i in range(n):
        f.write(f"s{i}," + ",".join(f"{v:.4f}" for v in x[i]) + "\n")
with open("cohort_labels.csv", "w") as f:
    f.write("image,time,event\n")
    for i in range(n):
        f.write(f"s{i},{time[i]:.1f},{event[i]}\n")
PY
cat > train.json <<JSON
{"label_style": "survival", "features_table": "cohort_cov.csv", "labels": "cohort_labels.csv",
 "model_bucket_name": "cohort", "models_bucket": "models", "results_bucket": "results"}
JSON
for i in $(seq "$REPEATS"); do
  $PY "$HERE/timed.py" --label fit_cpp -- "$BUILD_DIR/medpipe" run train.json >> fit_cpp.jsonl
  $PY "$HERE/timed.py" --label fit_r --stdout r_internal.json -- \
    Rscript "$HERE/survival_peer.R" cohort_cov.csv cohort_labels.csv >> fit_r.jsonl
  cat r_internal.json >> r_internal.jsonl
done
MEDPIPE_BENCH_DIR="$WORK" $PY "$HERE/timed.py" --label kernels_cpp --stdout kernels_cpp.json -- \
  "$BUILD_DIR/bench/bench_survival" --benchmark_format=json --benchmark_repetitions="$REPEATS" \
  --benchmark_report_aggregates_only=true >> kernels_load.jsonl
# predictions of the training cohort once, then the evaluation alone
"$BUILD_DIR/medpipe" run train.json --set is_train=false --set has_labels=false >/dev/null 2>&1
for i in $(seq "$REPEATS"); do
  $PY "$HERE/timed.py" --label evaluate_cpp -- "$BUILD_DIR/medpipe" evaluate train.json >> evaluate_cpp.jsonl
done
$PY - <<'PY'
import json, statistics
def med(path, key="seconds"):
    return statistics.median(json.loads(l)[key] for l in open(path))
r = [json.loads(l) for l in open("r_internal.jsonl")]
m = json.load(open("results/metrics.json"))
model = json.load(open("models/cohort/model.json"))
out = {"subjects": 100000, "covariates": 20,
       "fit_cpp_s": med("fit_cpp.jsonl"), "fit_r_s": med("fit_r.jsonl"),
       "r_read_s": statistics.median(x["read_s"] for x in r),
       "r_fit_s": statistics.median(x["fit_s"] for x in r),
       "r_concordance_s": statistics.median(x["concordance_s"] for x in r),
       "evaluate_cpp_s": med("evaluate_cpp.jsonl"),
       "harrell_c_cpp": model["survival"]["training_harrell_c"], "harrell_c_r": r[0]["c"],
       "iterations_cpp": model["survival"]["cox"]["iterations"], "iterations_r": r[0]["iterations"],
       "r_versions": {"r": r[0]["r"], "survival": r[0]["survival"]},
       "max_other_load": max(json.loads(l)["other_load_cores"] for f in ("fit_cpp.jsonl", "fit_r.jsonl", "evaluate_cpp.jsonl") for l in open(f))}
kernels = {b["run_name"].split("/")[0]: b["real_time"] / 1000 for b in json.load(open("kernels_cpp.json"))["benchmarks"]
           if b.get("aggregate_name") == "median"}
out["cpp_fit_alone_s"], out["cpp_concordance_alone_s"] = kernels["cox_fit"], kernels["harrell_c"]
out["fit_ratio_whole_command"] = out["fit_r_s"] / out["fit_cpp_s"]
out["fit_ratio_alone"] = out["r_fit_s"] / out["cpp_fit_alone_s"]
out["concordance_ratio_alone"] = out["r_concordance_s"] / out["cpp_concordance_alone_s"]
print(json.dumps(out, indent=1))
json.dump(out, open("survival_summary.json", "w"), indent=1)
PY
