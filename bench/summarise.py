"""Turns bench/run.sh's segmentation-metric and tiled-inference results into the tables for\ndocs/benchmarks.md (medians, ratios); bench/summarise_speed.py does the speed sections."""
import json
import os
import platform
import subprocess
import sys

work = sys.argv[1]
cpu = subprocess.run(["sh", "-c", "lscpu | grep 'Model name' | sed 's/.*: *//'"], capture_output=True, text=True).stdout.strip()
print(f"machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}\n")
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
