#!/usr/bin/env bash
# Data-parallel training, measured (bench/run.sh calls this; or `bash bench/parallel.sh build`):
#   1. time per step split into compute, waiting for the slower rank and synchronisation
#      (the exchange itself) for 1 worker (2 threads), 2 worker
#      threads (1 thread each) and 2 MPI ranks (1 thread each), for the small CNN (BreastMNIST,
#      28 px) and AlexNet's last-3-FC fine-tune (58.6 M parameters to average; 224 px);
#      the same global batch of 32 in every configuration; the CNN's 2 workers also with
#      sync_batch_norm false, for the cost of synchronised batch norm
#   2. allreduce time and bandwidth between 2 ranks, shared memory and TCP over loopback
#   3. peak RSS per worker training on 1,000 and 10,000 synthetic images
# Then the scaling model (summarise_parallel.py). Results: bench/results/parallel.json and .md.
set -euo pipefail
BUILD_DIR="$(cd "${1:-build}" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${BENCH_WORK:-/tmp/medpipe-bench}/parallel"
PY=/usr/bin/python3
REPEATS="${REPEATS:-3}"
MEDPIPE="$BUILD_DIR/medpipe"
mkdir -p "$WORK" "$HERE/results"
cd "$WORK"
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
MPIRUN=(mpirun --oversubscribe --bind-to none -np 2)
BREAST="${MEDPIPE_SHARED_DATA:-$HERE/../../shared/data}/breastmnist/train"
[ -d "$BREAST" ] || { "$MEDPIPE" synth --out breast --count 546 --size 28 --seed 3 2>/dev/null; BREAST="$WORK/breast"; }
[ -d alex ] || "$MEDPIPE" synth --out alex --count 128 --size 224 --seed 4 2>/dev/null
rm -f steps.jsonl

# run NAME MODEL LAUNCH WORKERS THREADS [SYNC_BN]: one training run, its model.json's split
# appended
run() {
  local name=$1 model=$2 launch=$3 workers=$4 threads=$5 sync_bn=${6:-true}
  local keys="\"val_fraction\": 0, \"ema_decay\": 0, \"checkpoint_every\": 0, \"augment\": false, \"sync_batch_norm\": $sync_bn"
  local images="$BREAST" extra='"epochs": 3, "arch": "cnn"'
  if [ "$model" = alexnet ]; then
    images="$WORK/alex"; extra='"epochs": 2, "arch": "alexnet", "finetune": "last3", "image_size": 224'
  fi
  local per_worker=$((32 / workers))
  local machines=""; [ "$launch" = threads ] && machines="\"num_machines\": $workers,"
  cat > "$name.json" <<JSON
{"images_bucket": "$images", "model_bucket_name": "$name", "cache_dir": "$WORK/cache",
 "batch_size": $per_worker, "threads": $threads, $machines $keys, $extra}
JSON
  rm -rf "models/$name"
  if [ "$launch" = ranks ]; then "${MPIRUN[@]}" "$MEDPIPE" run "$name.json" 2>/dev/null
  else "$MEDPIPE" run "$name.json" 2>/dev/null; fi
  $PY -c "
import json, sys
p = json.load(open('models/$name/model.json'))['parallel']
print(json.dumps({'model': '$model', 'config': '$launch', 'workers': $workers, 'sync_bn': '$sync_bn',
                  'compute_s': p['compute_seconds'], 'wait_s': p.get('wait_seconds', 0),
                  'sync_s': p['sync_seconds'], 'steps': p['steps']}))" >> steps.jsonl
}

echo "== step time: compute vs synchronisation (global batch 32)"
for model in ${PARALLEL_MODELS:-cnn alexnet}; do
  for i in $(seq "$REPEATS"); do
    run "${model}_1" $model threads 1 2
    run "${model}_t2" $model threads 2 1
    run "${model}_r2" $model ranks 2 1
    if [ "$model" = cnn ]; then
      run "${model}_t2_local_bn" $model threads 2 1 false
      run "${model}_r2_local_bn" $model ranks 2 1 false
    fi
  done
done

echo "== allreduce between 2 ranks: shared memory, then TCP over loopback"
"${MPIRUN[@]}" "$BUILD_DIR/bench/bench_allreduce" 5 | sed 's/^{/{"transport": "shm", /' > allreduce.jsonl
"${MPIRUN[@]}" --mca btl self,tcp "$BUILD_DIR/bench/bench_allreduce" 5 | sed 's/^{/{"transport": "tcp", /' >> allreduce.jsonl

echo "== peak RSS per worker: 1,000 vs 10,000 images (28 px, cnn, 1 epoch)"
rm -f rss.jsonl
for n in 1000 10000; do
  [ -d "rss$n" ] || "$MEDPIPE" synth --out "rss$n" --count $n --size 28 --seed 5 2>/dev/null
  cat > "rss$n.json" <<JSON
{"images_bucket": "$WORK/rss$n", "model_bucket_name": "rss$n", "cache_dir": "$WORK/cache",
 "epochs": 1, "val_fraction": 0.1, "checkpoint_every": 0}
JSON
  /usr/bin/time -f "{\"images\": $n, \"config\": \"2 threads\", \"peak_rss_kb\": %M}" -a -o rss.jsonl \
    "$MEDPIPE" run "rss$n.json" 2>/dev/null
  rm -rf "models/rss$n"
  "${MPIRUN[@]}" /usr/bin/time -f "{\"images\": $n, \"config\": \"2 ranks\", \"peak_rss_kb\": %M}" \
    -a -o rss.jsonl "$MEDPIPE" run "rss$n.json" 2>/dev/null
  rm -rf "models/rss$n"
done

$PY "$HERE/summarise_parallel.py" "$WORK" | tee "$HERE/results/parallel.md"
