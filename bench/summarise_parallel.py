"""Tables for docs/benchmarks.md from bench/parallel.sh's files, and the scaling model.

Usage: summarise_parallel.py WORK_DIR   (prints Markdown; writes bench/results/parallel.json)

Scaling model (weak scaling: every node keeps its per-worker batch, so compute per step stays
as measured): a step is compute plus a ring allreduce of the gradient, not overlapped,
    t_sync(N) = 2 (N - 1) / N * S / B + 2 (N - 1) * alpha
with S the gradient's bytes, B the link's payload bandwidth and alpha the per-message latency.
10 GbE: B = 1.17 GB/s (1.25 GB/s at 94% TCP payload efficiency), alpha = 50 us.
"""
import json
import os
import statistics
import sys

import torch

B_10GBE = 1.25e9 * 0.94
ALPHA_S = 50e-6
SEED_STEP_S = 300.0  # the original pipeline's Timer waited 5 minutes per step


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def ring_allreduce_s(nodes, nbytes, bandwidth=B_10GBE, alpha=ALPHA_S):
    return 2 * (nodes - 1) / nodes * nbytes / bandwidth + 2 * (nodes - 1) * alpha


def trainable_bytes(model_path, last3):
    params = dict(torch.jit.load(model_path).named_parameters())
    names = [n for n in params if n.startswith("classifier_")] if last3 else list(params)
    return 4 * sum(params[n].numel() for n in names)


def main(work):
    steps = read_jsonl(os.path.join(work, "steps.jsonl"))
    allreduce = read_jsonl(os.path.join(work, "allreduce.jsonl"))
    rss = read_jsonl(os.path.join(work, "rss.jsonl"))
    out = {"steps": [], "allreduce": allreduce, "rss": rss, "model": []}
    labels = {"threads": "threads", "ranks": "MPI ranks"}
    lines = ["### Step time: compute vs synchronisation (median of runs, global batch 32)", "",
             "| model | workers | compute ms/step | waiting for the other rank ms/step | sync ms/step | sync % of step |",
             "|---|---|---|---|---|---|"]
    measured = {}
    for model in ("cnn", "alexnet"):
        for config, workers in (("threads", 1), ("threads", 2), ("ranks", 2)):
            runs = [r for r in steps if r["model"] == model and r["config"] == config
                    and r["workers"] == workers and r.get("sync_bn", "true") == "true"]
            if not runs:
                continue
            compute = statistics.median(r["compute_s"] / r["steps"] for r in runs) * 1e3
            sync = statistics.median(r["sync_s"] / r["steps"] for r in runs) * 1e3
            wait = statistics.median(r.get("wait_s", 0) / r["steps"] for r in runs) * 1e3
            share = 100 * sync / (compute + wait + sync)
            label = "1 (2 threads)" if workers == 1 else f"2 {labels[config]} (1 thread each)"
            lines.append(f"| {model} | {label} | {compute:.1f} | {wait:.2f} | {sync:.2f} | {share:.1f}% |")
            out["steps"].append({"model": model, "config": config, "workers": workers, "compute_ms": compute,
                                 "wait_ms": wait, "sync_ms": sync, "sync_share": share, "runs": len(runs)})
            measured[(model, config, workers)] = (compute, sync)
    lines += ["", "### Synchronised batch norm: its cost per step (CNN, 2 workers, median of runs)", "",
              "Batch-norm statistics exchanged in every forward and backward pass (sync_batch_norm "
              "true, the default) against each worker's own (false). The exchange runs inside the "
              "forward and backward passes, so it shows in the whole step.", "",
              "| workers | step ms, synchronised | step ms, each worker's own | cost |", "|---|---|---|---|"]
    for config in ("threads", "ranks"):
        def step_ms(sync_bn):
            runs = [r for r in steps if r["model"] == "cnn" and r["config"] == config
                    and r["workers"] == 2 and r.get("sync_bn", "true") == sync_bn]
            if not runs:
                return None
            return statistics.median((r["compute_s"] + r["sync_s"] + r.get("wait_s", 0)) / r["steps"]
                                     for r in runs) * 1e3
        synced, local = step_ms("true"), step_ms("false")
        if synced is None or local is None:
            continue
        lines.append(f"| 2 {labels[config]} (1 thread each) | {synced:.1f} | {local:.1f} | "
                     f"{100 * (synced / local - 1):+.1f}% |")
        out["sync_batch_norm"] = out.get("sync_batch_norm", []) + [
            {"config": config, "synchronised_ms": synced, "local_ms": local}]
    lines += ["", "### Allreduce between 2 ranks (medpipe's communicator, median of 5)", "",
              "| transport | MB | ms | GB/s |", "|---|---|---|---|"]
    for r in allreduce:
        lines.append(f"| {r['transport']} | {r['bytes'] / 1e6:.1f} | {r['median_s'] * 1e3:.2f} | "
                     f"{r['bytes'] / r['median_s'] / 1e9:.2f} |")
    lines += ["", "### Peak RSS per worker", "", "| images | configuration | peak RSS MB |", "|---|---|---|"]
    for r in rss:
        lines.append(f"| {r['images']} | {r['config']} | {r['peak_rss_kb'] / 1024:.0f} |")

    lines += ["", "### Scaling model: 10 GbE, ring allreduce, weak scaling (per-worker batch 16)", "",
              f"B = {B_10GBE / 1e9:.2f} GB/s, alpha = {ALPHA_S * 1e6:.0f} us; compute per step as measured "
              "with 2 ranks of 1 thread each.", "",
              "| model | gradient MB | nodes | compute s | allreduce s | step s | efficiency | vs the seed's 300 s step |",
              "|---|---|---|---|---|---|---|---|"]
    for model, path, last3 in (("cnn", "models/cnn_r2/model.pt", False),
                               ("alexnet last3", "models/alexnet_r2/model.pt", True)):
        key = ("alexnet" if last3 else "cnn", "ranks", 2)
        if key not in measured or not os.path.exists(os.path.join(work, path)):
            continue
        nbytes = trainable_bytes(os.path.join(work, path), last3)
        compute_s = measured[key][0] / 1e3
        for nodes in (8, 64, 256):
            sync_s = ring_allreduce_s(nodes, nbytes)
            step = compute_s + sync_s
            lines.append(f"| {model} | {nbytes / 1e6:.1f} | {nodes} | {compute_s:.3f} | {sync_s:.3f} | "
                         f"{step:.3f} | {100 * compute_s / step:.0f}% | {SEED_STEP_S / step:.0f}x faster |")
            out["model"].append({"model": model, "bytes": nbytes, "nodes": nodes, "compute_s": compute_s,
                                 "allreduce_s": sync_s, "step_s": step, "efficiency": compute_s / step})
    print("\n".join(lines))
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "results", "parallel.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
