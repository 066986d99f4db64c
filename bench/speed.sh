#!/usr/bin/env bash
# The speed sections of make bench, medpipe and its Python peers in one run on the same files,
# each side in its default environment: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (some
# machines set them for older OpenBLAS builds; they slow a current one), so OpenBLAS, or
# medpipe's own choice, picks the kernels. Every whole-command timing goes through timed.py,
# which reruns a timing that shared the CPU and records the other load.
#   1. machine: CPU, instruction sets, the BLAS kernels of each side, sgemm peak of each
#   2. DICOM and 16-bit PNG preprocessing vs pydicom + numpy + PIL, and the read-and-touch limit
#   3. training end to end: `medpipe run` vs python3-torch + DataLoader (whole script)
#   4. inference of 10,000 images: `medpipe run` (is_train false) vs a python3-torch script
#   5. AlexNet last3 fine-tuning with generic (Prescott) and the machine's kernels
#   6. distance to the limit: FLOPs of a CNN step and a U-Net tile, GFLOP/s, share of the peak
# Usage: speed.sh BUILD_DIR (BENCH_WORK, REPEATS, MEDPIPE_SHARED_DATA as run.sh)
set -euo pipefail
BUILD_DIR="$(cd "${1:-build}" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${BENCH_WORK:-/tmp/medpipe-bench}"
REPEATS="${REPEATS:-5}"
PY=/usr/bin/python3
MEDPIPE="$BUILD_DIR/medpipe"
DEFAULT_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE -u MEDPIPE_BLAS_CHOICE)
TIMED=("${DEFAULT_ENV[@]}" "$PY" "$HERE/timed.py")
BREAST="${MEDPIPE_SHARED_DATA:-$HERE/../../shared/data}/breastmnist/train"
mkdir -p "$WORK/speed"
cd "$WORK/speed"
rm -f ./*.jsonl ./*.json.out

echo "== machine"
{
  echo "{\"cpu\": \"$(lscpu | sed -n 's/^Model name: *//p') (family $(sed -n 's/^cpu family\t*: //p' /proc/cpuinfo | head -1) model $(sed -n 's/^model\t*: //p' /proc/cpuinfo | head -1))\", \"cores\": $(nproc),"
  echo " \"avx512\": $(grep -qw avx512f /proc/cpuinfo && echo true || echo false),"
  echo " \"avx2\": $(grep -qw avx2 /proc/cpuinfo && echo true || echo false),"
  echo " \"machine_env\": \"${MEDPIPE_BENCH_MACHINE_ENV:-OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-unset}}\","
  echo " \"medpipe_blas\": \"$("${DEFAULT_ENV[@]}" "$MEDPIPE" --version | sed -n 's/^BLAS: //p')\"}"
} > machine.json
"${DEFAULT_ENV[@]}" $PY "$HERE/flops_peer.py" > peer_sgemm.json
MEDPIPE_CORE=$("${DEFAULT_ENV[@]}" "$MEDPIPE" --version | sed -n 's/^BLAS: OpenBLAS, \([A-Za-z0-9]*\) kernels.*/\1/p')
"${DEFAULT_ENV[@]}" OPENBLAS_CORETYPE="${MEDPIPE_CORE:-Prescott}" $PY "$HERE/flops_peer.py" > medpipe_sgemm.json
cat machine.json peer_sgemm.json medpipe_sgemm.json

echo "== preprocessing (decode, rescale, resize to 224, z-score; 200 files 512 x 512)"
[ -d dicom512 ] || "$MEDPIPE" synth --out dicom512 --count 200 --size 512 --format dicom --seed 11 2>/dev/null
[ -d png512 ] || "$MEDPIPE" synth --out png512 --count 200 --size 512 --format png --seed 11 2>/dev/null
for kind in dicom512 png512; do
  MEDPIPE_BENCH_DIR="$PWD/$kind/images" SIZE=224 "${TIMED[@]}" --label "pre_cpp_$kind" \
    --stdout "pre_cpp_$kind.json.out" -- "$BUILD_DIR/bench/bench_preprocess" --benchmark_format=json \
    --benchmark_repetitions="$REPEATS" --benchmark_report_aggregates_only=true >> load.jsonl
  SIZE=224 "${TIMED[@]}" --label "pre_py_$kind" --stdout "pre_py_$kind.json.out" -- \
    $PY "$HERE/preprocess_peer.py" "$PWD/$kind/images" >> load.jsonl
done

if [ -d "$BREAST" ]; then
  echo "== training end to end (BreastMNIST train, 546 images 28 px, cnn, batch 32, 5 epochs)"
  cat > train.json <<JSON
{"images_bucket": "$BREAST", "epochs": 5, "val_fraction": 0, "threads": 2, "num_machines": 1,
 "model_bucket_name": "bench", "cache_dir": "$PWD/train_cache", "ema_decay": 0}
JSON
  for i in $(seq "$REPEATS"); do
    rm -rf train_cache models/bench
    "${TIMED[@]}" --label train_cpp -- "$MEDPIPE" run train.json >> train_cpp.jsonl
    $PY -c "import json; m = json.load(open('models/bench/model.json')); print(json.dumps({'samples_per_second': m['samples_per_second'], 'blas': m['blas']}))" >> train_cpp_loop.jsonl
  done
  for i in $(seq "$REPEATS"); do
    "${TIMED[@]}" --label train_py --stdout train_py_loop.json.out -- \
      $PY "$HERE/train_peer.py" "$BREAST" models/bench/model.pt 5 2 0 >> train_py.jsonl
    cat train_py_loop.json.out >> train_py_loop.jsonl
  done

  echo "== inference of 10,000 images (28 px PNG, the model above, mirror TTA and none)"
  [ -d png10k ] || "$MEDPIPE" synth --out png10k --count 10000 --size 28 --format png --seed 5 2>/dev/null
  cp train.json infer.json
  for tta in true false; do
    for i in $(seq "$REPEATS"); do  # fresh folders; deleted only at the end (ext4 slows creating
      # files where many were just deleted: recently_deleted() in its inode allocator)
      "${TIMED[@]}" --label "infer_cpp_tta_$tta" -- "$MEDPIPE" run infer.json --set is_train=false \
        --set has_labels=false --set images_bucket=png10k --set tta=$tta \
        --set "results_bucket=results_${tta}_$i" --set "cache_dir=$PWD/infer_cache_${tta}_$i" >> infer_cpp.jsonl
      TTA=$([ $tta = true ] && echo 1 || echo 0) "${TIMED[@]}" --label "infer_py_tta_$tta" -- \
        $PY "$HERE/infer_peer.py" png10k/images models/bench/model.pt "peer_${tta}_$i.csv" 2 >> infer_py.jsonl
    done
  done
  rm -rf results_* infer_cache_* peer_*.csv
fi

ADRENAL="${MEDPIPE_SHARED_DATA:-$HERE/../../shared/data}/adrenalmnist3d/train"
if [ -d "$ADRENAL" ]; then
  echo "== 3D training end to end (AdrenalMNIST3D train, 1188 volumes 28^3 NIfTI, cnn3d, batch 32, 3 epochs)"
  cat > train3d.json <<JSON
{"images_bucket": "$ADRENAL", "epochs": 3, "val_fraction": 0, "threads": 2, "num_machines": 1,
 "model_bucket_name": "bench3d", "cache_dir": "$PWD/train3d_cache", "ema_decay": 0}
JSON
  for i in $(seq "$REPEATS"); do
    rm -rf train3d_cache models/bench3d
    "${TIMED[@]}" --label train3d_cpp -- "$MEDPIPE" run train3d.json >> train3d_cpp.jsonl
  done
  for i in $(seq "$REPEATS"); do
    "${TIMED[@]}" --label train3d_py -- \
      $PY "$HERE/train3d_peer.py" "$ADRENAL" models/bench3d/model.pt 3 2 >> train3d_py.jsonl
  done
fi

echo "== 3D sliding window (a 512 x 512 x 300 CT-like volume, unet3d width 8, patch 64^3, overlap 0.5, mirror)"
# The model: a 3D U-Net trained 5 epochs on four 64^3 synthetic volumes (enough to label nodules
# rather than everything, so that the voxels' agreement means something; the weights do not
# matter to the timing); each side predicts the big volume once per repeat (SLIDING_REPEATS, default 1:
# a run is minutes), its peak resident memory recorded by timed.py.
[ -d vol64 ] || $PY "$HERE/../scripts/synth_volumes.py" vol64 4 1 --size 64
[ -d big3d ] || { $PY "$HERE/../scripts/synth_volumes.py" big3d 1 2 --size 512 --depth 300 --spacing 0.8,0.8,1; rm -rf big3d/masks; }
cat > sliding.json <<JSON
{"images_bucket": "vol64", "label_style": "array", "arch": "unet3d", "unet_width": 8,
 "patch_size": 64, "epochs": 5, "val_fraction": 0, "patches_per_image": 4, "normalize": "ct",
 "model_bucket_name": "bench3dseg", "threads": 2, "num_machines": 1}
JSON
[ -f models/bench3dseg/model.pt ] || "$MEDPIPE" run sliding.json 2>/dev/null
for i in $(seq "${SLIDING_REPEATS:-1}"); do
  rm -rf sliding_cpp sliding_py
  "${TIMED[@]}" --label sliding_cpp -- "$MEDPIPE" run sliding.json --set is_train=false \
    --set has_labels=false --set images_bucket=big3d --set results_bucket=sliding_cpp >> sliding_cpp.jsonl
  "${TIMED[@]}" --label sliding_py --stdout sliding_agreement.json -- $PY "$HERE/sliding3d_peer.py" \
    models/bench3dseg big3d/images/vol2_000.nii.gz sliding_py 2 \
    --compare sliding_cpp/vol2_000.npy >> sliding_py.jsonl
done

echo "== AlexNet last3 fine-tuning (64 images 224 px, batch 16, 2 epochs): generic vs the machine's kernels"
[ -f alexnet.pt ] || $PY -c "
import torch, torchvision; torch.manual_seed(0); torch.jit.script(torchvision.models.alexnet().eval()).save('alexnet.pt')"
[ -d png224 ] || "$MEDPIPE" synth --out png224 --count 64 --size 224 --format png --seed 3 2>/dev/null
cat > alexnet.json <<JSON
{"images_bucket": "png224", "arch": "alexnet", "pretrained": "alexnet.pt", "finetune": "last3",
 "num_channels": 3, "image_size": 224, "epochs": 2, "batch_size": 16, "val_fraction": 0,
 "num_machines": 1, "threads": 2, "model_bucket_name": "alexnet", "cache_dir": "$PWD/alexnet_cache"}
JSON
for i in $(seq "$REPEATS"); do
  for core in Prescott default; do
    rm -rf models/alexnet
    if [ $core = default ]; then
      "${TIMED[@]}" --label "alexnet_$core" -- "$MEDPIPE" run alexnet.json > /dev/null
    else
      "${DEFAULT_ENV[@]}" OPENBLAS_CORETYPE=$core "$PY" "$HERE/timed.py" --label "alexnet_$core" -- "$MEDPIPE" run alexnet.json > /dev/null
    fi
    $PY -c "import json; m = json.load(open('models/alexnet/model.json')); print(json.dumps({'label': 'alexnet_$core', 'samples_per_second': m['samples_per_second'], 'blas': m['blas']}))" >> alexnet.jsonl
  done
done

echo "== distance to the limit (FLOPs per batch, python3-torch's rate on random tensors)"
[ -d segsynth ] || "$MEDPIPE" synth --task segment --out segsynth --count 8 --size 128 2>/dev/null
cat > seg.json <<JSON
{"images_bucket": "segsynth", "label_style": "array", "epochs": 1, "val_fraction": 0,
 "model_bucket_name": "benchseg", "patches_per_image": 1}
JSON
[ -f models/benchseg/model.pt ] || "$MEDPIPE" run seg.json 2>/dev/null
[ -d models/bench ] && "${DEFAULT_ENV[@]}" $PY "$HERE/flops_peer.py" models/bench/model.pt 1,28,28 32 train > cnn_flops.json
"${DEFAULT_ENV[@]}" $PY "$HERE/flops_peer.py" models/benchseg/model.pt 1,128,128 8 infer > unet_flops.json
[ -d tile2048 ] || $PY -c "
import os, numpy as np; from PIL import Image; os.makedirs('tile2048/images', exist_ok=True)
Image.fromarray(np.random.default_rng(0).integers(0, 255, (2048, 2048), dtype=np.uint8)).save('tile2048/images/img.png')"
for i in $(seq "$REPEATS"); do
  "${TIMED[@]}" --label unet_2048 -- "$MEDPIPE" run seg.json --set is_train=false --set has_labels=false \
    --set images_bucket=tile2048 --set "results_bucket=tiled_$i" >> unet_cpp.jsonl
done
rm -rf tiled_*

$PY "$HERE/summarise_speed.py" "$PWD" | tee "$HERE/results/speed.md"
