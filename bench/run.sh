#!/usr/bin/env bash
# make bench: medpipe next to its Python peers, in one run, on the same files.
#   1. preprocessing images/s: bench_preprocess vs pydicom + numpy + PIL (1 and 2 workers)
#   2. training samples/s end to end: `medpipe train` vs python3-torch + DataLoader, same
#      TorchScript network, batch 32, SGD, augmentation
# Results: bench/results/latest.json and a table on stdout (paste into docs/benchmarks.md).
set -euo pipefail
BUILD_DIR="$(cd "${1:-build}" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${BENCH_WORK:-/tmp/medpipe-bench}"
PY=/usr/bin/python3
REPEATS="${REPEATS:-5}"
mkdir -p "$WORK" "$HERE/results"
cd "$WORK"

echo "== data"
[ -d dicom512 ] || "$BUILD_DIR/medpipe" synth --out dicom512 --count 200 --size 512 --format dicom --seed 11 2>/dev/null
[ -d png512 ] || "$BUILD_DIR/medpipe" synth --out png512 --count 200 --size 512 --format png --seed 11 2>/dev/null
BREAST="${MEDPIPE_SHARED_DATA:-$HERE/../../shared/data}/breastmnist/train"

echo "== preprocessing (decode, rescale, resize to 224, z-score)"
for kind in dicom512 png512; do
  MEDPIPE_BENCH_DIR="$WORK/$kind/images" SIZE=224 "$BUILD_DIR/bench/bench_preprocess" \
    --benchmark_format=json --benchmark_repetitions="$REPEATS" --benchmark_report_aggregates_only=true > "pre_cpp_$kind.json"
  SIZE=224 $PY "$HERE/preprocess_peer.py" "$WORK/$kind/images" > "pre_py_$kind.json"
done

echo "== training (BreastMNIST train, 546 images 28 px, cnn, batch 32, 5 epochs, 2 threads)"
TRAIN_RESULTS=""
if [ -d "$BREAST" ]; then
  cat > train.json <<JSON
{"images_bucket": "$BREAST", "epochs": 5, "val_fraction": 0, "threads": 2, "num_machines": 2,
 "model_bucket_name": "bench", "cache_dir": "$WORK/cache", "ema_decay": 0}
JSON
  for i in $(seq "$REPEATS"); do
    rm -rf "$WORK/cache" models/bench
    start=$(date +%s.%N)
    "$BUILD_DIR/medpipe" run train.json 2>/dev/null
    end=$(date +%s.%N)
    echo "{\"seconds\": $($PY -c "print($end - $start)"), \"samples\": $((546 * 5))}" >> train_cpp.jsonl
  done
  for i in $(seq "$REPEATS"); do
    $PY "$HERE/train_peer.py" "$BREAST" models/bench/model.pt 5 2 0 >> train_py_w0.jsonl
    $PY "$HERE/train_peer.py" "$BREAST" models/bench/model.pt 5 1 1 >> train_py_w1.jsonl
  done
  TRAIN_RESULTS=yes
fi

$PY "$HERE/summarise.py" "$WORK" "$TRAIN_RESULTS" | tee "$HERE/results/latest.md"
