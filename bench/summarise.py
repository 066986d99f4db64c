"""Turns bench/run.sh's raw results into the table for docs/benchmarks.md (medians, ratios)."""
import glob
import json
import os
import platform
import statistics
import subprocess
import sys

work, have_train = sys.argv[1], sys.argv[2] == "yes"
cpu = subprocess.run(["sh", "-c", "lscpu | grep 'Model name' | sed 's/.*: *//'"], capture_output=True, text=True).stdout.strip()
print(f"machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}\n")
print("| preprocessing (200 images 512x512 -> 224) | medpipe images/s | Python images/s | ratio |")
print("|---|---|---|---|")
for kind in ("dicom512", "png512"):
    cpp = json.load(open(os.path.join(work, f"pre_cpp_{kind}.json")))["benchmarks"]
    py = json.load(open(os.path.join(work, f"pre_py_{kind}.json")))
    for threads in (1, 2):
        median = [b for b in cpp if b["aggregate_name"] == "median" and b["run_name"].endswith(f"/{threads}/min_time:2.000/real_time")]
        ours = median[0]["items_per_second"] if median else float("nan")
        theirs = [r for r in py if r["workers"] == threads][0]["images_per_s"]
        print(f"| {kind}, {threads} worker(s) | {ours:.0f} | {theirs:.0f} | {ours / theirs:.1f}x |")
if have_train:
    def median_rate(path):
        rows = [json.loads(l) for l in open(path)]
        return statistics.median(r["samples"] / r["seconds"] for r in rows), len(rows)
    ours, n = median_rate(os.path.join(work, "train_cpp.jsonl"))
    print("\n| training, BreastMNIST 28 px, cnn, batch 32, 5 epochs (incl. decode) | samples/s (median of %d) | medpipe ratio |" % n)
    print("|---|---|---|")
    print(f"| medpipe train, 2 compute threads + 2 decode workers | {ours:.0f} | 1.0x |")
    for name, label in (("train_py_w0", "python3-torch, 2 threads, DataLoader in-process"),
                        ("train_py_w1", "python3-torch, 1 thread + 1 DataLoader worker")):
        theirs, _ = median_rate(os.path.join(work, name + ".jsonl"))
        print(f"| {label} | {theirs:.0f} | {ours / theirs:.2f}x |")
