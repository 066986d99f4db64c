#!/usr/bin/env bash
# make bench: medpipe next to its Python peers, in one run, on the same files.
#   1-2. speed (bench/speed.sh): the machine and the BLAS kernels of each side, preprocessing
#      against pydicom + numpy + PIL and the read-and-touch limit, training and inference end to
#      end against python3-torch, AlexNet last3 with generic and native kernels, FLOPs and the
#      share of the sgemm peak; peers in their default environment (OPENBLAS_* unset)
#   3. HD95 + ASSD: bench_surface vs scipy's distance transforms on the same masks
#   4. peak memory of tiled segmentation inference on 512x512 and 2048x2048 images
#   5. data-parallel training: step time split, allreduce bandwidth, RSS (bench/parallel.sh)
#   6. radiomics textures: GLCM + GLRLM + GLSZM vs scikit-image/numpy/scipy (bench/textures.sh)
#   7. survival: Cox fit and Harrell's C vs R's coxph and concordance (bench/survival.sh)
#   8. remote storage: objects/s from an S3 endpoint (bench/storage.sh) and from Orthanc's
#      DICOMweb (bench/dicomweb.sh), next to boto3 / urllib
# Results: bench/results/latest.json and a table on stdout (paste into docs/benchmarks.md).
set -euo pipefail
# Every side in its default environment: some machines set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
# for older OpenBLAS builds, which slows a current numpy (and pins medpipe's kernels). Noted
# for the record, then unset for this command alone.
export MEDPIPE_BENCH_MACHINE_ENV="OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-unset}"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
BUILD_DIR="$(cd "${1:-build}" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${BENCH_WORK:-/tmp/medpipe-bench}"
PY=/usr/bin/python3
REPEATS="${REPEATS:-5}"
mkdir -p "$WORK" "$HERE/results"
cd "$WORK"

echo "== speed: machine and kernels, preprocessing, training, inference, AlexNet last3, distance to the limit"
BENCH_WORK="$WORK" REPEATS="$REPEATS" bash "$HERE/speed.sh" "$BUILD_DIR"

echo "== segmentation metrics (HD95 + ASSD, 512x512 disks and 128^3 spheres) vs scipy"
mkdir -p surface
$PY "$HERE/surface_peer.py" --write surface
MEDPIPE_BENCH_DIR="$WORK/surface" "$BUILD_DIR/bench/bench_surface" --benchmark_format=json \
  --benchmark_repetitions="$REPEATS" --benchmark_report_aggregates_only=true > surface_cpp.json
$PY "$HERE/surface_peer.py" "$REPEATS" > surface_py.json

echo "== tiled inference: peak memory for 512x512 and 2048x2048 images (unet, patch 128)"
# speed.sh's one-epoch U-Net and its 2048^2 image, in its folder
cd "$WORK/speed"
[ -d tile512 ] || $PY -c "
import os, numpy as np; from PIL import Image; os.makedirs('tile512/images', exist_ok=True)
Image.fromarray(np.random.default_rng(0).integers(0, 255, (512, 512), dtype=np.uint8)).save('tile512/images/img.png')"
rm -f "$WORK/tiled_memory.jsonl"
for n in 512 2048; do
  /usr/bin/time -f "{\"size\": $n, \"peak_rss_kb\": %M, \"seconds\": %e}" -a -o "$WORK/tiled_memory.jsonl" \
    "$BUILD_DIR/medpipe" run seg.json --set is_train=false --set has_labels=false \
    --set images_bucket=tile$n --set results_bucket=tiled$n 2>/dev/null
done
rm -rf tiled512 tiled2048
cd "$WORK"

$PY "$HERE/summarise.py" "$WORK" | tee "$HERE/results/latest.md"

echo "== data-parallel training"
BENCH_WORK="$WORK" REPEATS="$REPEATS" bash "$HERE/parallel.sh" "$BUILD_DIR"

echo "== radiomics textures (GLCM + GLRLM + GLSZM) vs scikit-image / numpy / scipy"
BENCH_WORK="$WORK" REPEATS="$REPEATS" bash "$HERE/textures.sh" "$BUILD_DIR"

echo "== survival: Cox fit and Harrell's C on 10^5 subjects x 20 covariates vs R's survival"
BENCH_WORK="$WORK" REPEATS="$REPEATS" bash "$HERE/survival.sh" "$BUILD_DIR"

echo "== remote storage: 1,000 objects from S3 (moto) and from a PACS (Orthanc DICOMweb)"
BENCH_WORK="$WORK" REPEATS="$REPEATS" bash "$HERE/storage.sh" "$BUILD_DIR" || true
BENCH_WORK="$WORK" REPEATS="$REPEATS" bash "$HERE/dicomweb.sh" "$BUILD_DIR" || true
