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

surface_cpp = os.path.join(work, "surface_cpp.json")
if os.path.exists(surface_cpp):
    cpp = json.load(open(surface_cpp))["benchmarks"]
    py = {r["case"]: r for r in json.load(open(os.path.join(work, "surface_py.json")))}
    print("\n| HD95 + ASSD | medpipe ms (median) | scipy ms (median) | ratio | HD95 / ASSD (both) |")
    print("|---|---|---|---|---|")
    for case, label in (("disk512", "disk_512x512"), ("sphere128", "sphere_128x128x128")):
        row = [b for b in cpp if b["aggregate_name"] == "median" and label in b["run_name"]][0]
        ours = row["real_time"]
        theirs = py[case]["median_ms"]
        print(f"| {case} | {ours:.1f} | {theirs:.1f} | {theirs / ours:.1f}x | "
              f"{row['hd95']:.4f} / {row['assd']:.4f} vs {py[case]['hd95']:.4f} / {py[case]['assd']:.4f} |")
tiled = os.path.join(work, "tiled_memory.jsonl")
if os.path.exists(tiled):
    print("\n| tiled inference (unet, patch 128, overlap 0.5, mirror TTA) | peak RSS | wall time |")
    print("|---|---|---|")
    for line in open(tiled):
        if line.startswith("{"):
            r = json.loads(line)
            print(f"| {r['size']} x {r['size']} image | {r['peak_rss_kb'] / 1024:.0f} MiB | {r['seconds']:.1f} s |")
