"""The tables of bench/speed.sh for docs/benchmarks.md: medians, ratios, the machine, the BLAS
kernels of each side and the other load during the timings."""
import json
import math
import os
import statistics
import sys

work = sys.argv[1]


def load(name):
    path = os.path.join(work, name)
    return json.load(open(path)) if os.path.exists(path) else None


def lines(name):
    path = os.path.join(work, name)
    return [json.loads(l) for l in open(path) if l.startswith("{")] if os.path.exists(path) else []


def med(values):
    return statistics.median(values) if values else float("nan")


machine, peer_gemm, ours_gemm = load("machine.json"), load("peer_sgemm.json"), load("medpipe_sgemm.json")
timings = lines("load.jsonl") + lines("train_cpp.jsonl") + lines("train_py.jsonl") + \
    lines("train3d_cpp.jsonl") + lines("train3d_py.jsonl") + \
    lines("infer_cpp.jsonl") + lines("infer_py.jsonl") + lines("unet_cpp.jsonl") + \
    lines("sliding_cpp.jsonl") + lines("sliding_py.jsonl")
other = [t["other_load_cores"] for t in timings]
print(f"machine: {machine['cpu']}, {machine['cores']} cores, AVX-512 {machine['avx512']}, AVX2 {machine['avx2']}; "
      f"machine's environment: {machine['machine_env']}; every command below ran with both unset")
print(f"medpipe's BLAS: {machine['medpipe_blas']}; sgemm 2048^2, 2 threads, with that kernel: "
      f"{ours_gemm['sgemm_2048_gflops']:.0f} GFLOP/s")
print(f"the peers' BLAS (python3-torch / numpy): OpenBLAS {peer_gemm['blas_core']}; sgemm 2048^2, 2 threads: "
      f"{peer_gemm['sgemm_2048_gflops']:.0f} GFLOP/s")
if other:
    print(f"other load during the timed commands: median {med(other):.2f}, max {max(other):.2f} of a core; "
          f"{sum(not t['accepted'] for t in timings)} of {len(timings)} kept although shared (all attempts > 0.15)")

print("\n| preprocessing, 200 files 512 x 512 -> 224 | workers | medpipe images/s | pydicom/PIL + numpy images/s | ratio | read-and-touch limit images/s | medpipe / limit |")
print("|---|---|---|---|---|---|---|")
for kind in ("dicom512", "png512"):
    cpp = load(f"pre_cpp_{kind}.json.out")["benchmarks"]
    py = load(f"pre_py_{kind}.json.out")
    for threads in (1, 2):
        def rate(name):
            rows = [b for b in cpp if b.get("aggregate_name", "median") == "median" and b["run_name"].startswith(name + f"/{threads}/")]
            return rows[0]["items_per_second"] if rows else float("nan")
        ours, limit = rate("preprocess_folder"), rate("read_and_touch")
        theirs = [r for r in py if r["workers"] == threads][0]["images_per_s"]
        limit_text = f"{limit:.0f} | {ours / limit:.0%}" if kind == "dicom512" else "- | -"
        print(f"| {kind} | {threads} | {ours:.0f} | {theirs:.0f} | {ours / theirs:.1f}x | {limit_text} |")

train_cpp, train_py = lines("train_cpp.jsonl"), lines("train_py.jsonl")
if train_cpp:
    samples = 546 * 5
    ours_s, theirs_s = med([t["seconds"] for t in train_cpp]), med([t["seconds"] for t in train_py])
    ours_loop = med([t["samples_per_second"] for t in lines("train_cpp_loop.jsonl")])
    theirs_loop = med([t["samples_per_s"] for t in lines("train_py_loop.jsonl")])
    print(f"\n| training, BreastMNIST 546 x 5 epochs, cnn, batch 32 (median of {len(train_cpp)}) | medpipe | python3-torch + DataLoader (in-process) | ratio |")
    print("|---|---|---|---|")
    print(f"| whole command, seconds | {ours_s:.2f} | {theirs_s:.2f} | **{theirs_s / ours_s:.2f}x** |")
    print(f"| whole command, samples/s | {samples / ours_s:.0f} | {samples / theirs_s:.0f} | |")
    print(f"| training loop only, samples/s | {ours_loop:.0f} | {theirs_loop:.0f} | {ours_loop / theirs_loop:.2f}x |")

train3d_cpp, train3d_py = lines("train3d_cpp.jsonl"), lines("train3d_py.jsonl")
if train3d_cpp and train3d_py:
    samples = 1188 * 3
    ours_s, theirs_s = med([t["seconds"] for t in train3d_cpp]), med([t["seconds"] for t in train3d_py])
    print(f"\n| 3D training, AdrenalMNIST3D 1188 x 3 epochs, cnn3d, batch 32 (median of {len(train3d_cpp)}) | medpipe | python3-torch + nibabel DataLoader (in-process) | ratio |")
    print("|---|---|---|---|")
    print(f"| whole command, seconds | {ours_s:.2f} | {theirs_s:.2f} | **{theirs_s / ours_s:.2f}x** |")
    print(f"| whole command, samples/s | {samples / ours_s:.0f} | {samples / theirs_s:.0f} | |")

sliding_cpp, sliding_py = lines("sliding_cpp.jsonl"), lines("sliding_py.jsonl")
if sliding_cpp and sliding_py:
    agreement = load("sliding_agreement.json")
    ours_s, theirs_s = med([t["seconds"] for t in sliding_cpp]), med([t["seconds"] for t in sliding_py])
    ours_mb = max(t["peak_rss_mb"] for t in sliding_cpp)
    theirs_mb = max(t["peak_rss_mb"] for t in sliding_py)
    print(f"\n| 3D sliding window, 512 x 512 x 300, unet3d width 8, patch 64^3, overlap 0.5, mirror, "
          f"{agreement['tiles']} tiles (median of {len(sliding_cpp)}) | medpipe `run` | python3-torch script | ratio |")
    print("|---|---|---|---|")
    print(f"| whole command, seconds | {ours_s:.1f} | {theirs_s:.1f} | **{theirs_s / ours_s:.2f}x** |")
    print(f"| peak resident memory, MB | {ours_mb:.0f} | {theirs_mb:.0f} | |")
    print(f"| voxels labelled alike | {agreement['agreement']:.6f} | | |")

infer_cpp, infer_py = lines("infer_cpp.jsonl"), lines("infer_py.jsonl")
if infer_cpp:
    print(f"\n| inference, 10,000 PNGs 28 px, whole command (median of {REPEATS if (REPEATS := len(infer_cpp) // 2) else 0}) | medpipe s | python3-torch script s | ratio |")
    print("|---|---|---|---|")
    for tta in ("true", "false"):
        ours = med([t["seconds"] for t in infer_cpp if t["label"].endswith(tta)])
        theirs = med([t["seconds"] for t in infer_py if t["label"].endswith(tta)])
        print(f"| mirror TTA {tta} | {ours:.2f} | {theirs:.2f} | **{theirs / ours:.2f}x** |")

alex = lines("alexnet.jsonl")
if alex:
    print("\n| AlexNet last3 fine-tuning, 224 px, batch 16 | BLAS kernels | samples/s (median) |")
    print("|---|---|---|")
    for label in ("alexnet_Prescott", "alexnet_default"):
        rows = [a for a in alex if a["label"] == label]
        blas = rows[0]["blas"]
        how = "OPENBLAS_CORETYPE=Prescott (what OpenBLAS 0.3.21 picks on a CPU it does not know)" \
            if label.endswith("Prescott") else f"nothing set: {blas['core']} ({blas['source']})"
        print(f"| {how} | {blas['core']} | {med([a['samples_per_second'] for a in rows]):.2f} |")

cnn, unet = load("cnn_flops.json"), load("unet_flops.json")
peak = ours_gemm["sgemm_2048_gflops"]
if cnn or unet:
    print(f"\n| distance to the limit (sgemm peak {peak:.0f} GFLOP/s) | GFLOP per batch | medpipe GFLOP/s | share of peak | python3-torch GFLOP/s (random tensors) | share |")
    print("|---|---|---|---|---|---|")
if cnn and lines("train_cpp_loop.jsonl"):
    ours = ours_loop / cnn["batch"] * cnn["gflop_per_batch"]
    print(f"| cnn training step, batch 32, 28 px (3 x forward) | {cnn['gflop_per_batch']:.2f} | {ours:.0f} (training loop) | {ours / peak:.0%} | {cnn['peer_gflops']:.0f} | {cnn['peer_gflops'] / peak:.0%} |")
if unet:
    tiles = 2 * (math.ceil((2048 - 128) / 64) + 1) ** 2  # overlap 0.5, mirror TTA
    seconds = med([t["seconds"] for t in lines("unet_cpp.jsonl")])
    ours = tiles / unet["batch"] * unet["gflop_per_batch"] / seconds
    print(f"| U-Net tiles 128 px, batch 8 (2048^2 image: {tiles} tiles with the mirror) | {unet['gflop_per_batch']:.2f} | {ours:.0f} (whole command, {seconds:.1f} s) | {ours / peak:.0%} | {unet['peer_gflops']:.0f} | {unet['peer_gflops'] / peak:.0%} |")
