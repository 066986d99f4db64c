#!/usr/bin/env bash
# Objects/s fetching 1,000 small DICOM files (39 KB) from an S3 endpoint on loopback (moto's
# server), medpipe's mirror (bench_storage) next to boto3 with the same number of threads.
# Needs moto_server and a Python with boto3 (the machine image's). Usage: bench/storage.sh [BUILD]
set -euo pipefail
BUILD_DIR="$(cd "${1:-build}" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="$(command -v python3)"   # the one with moto and boto3
REPEATS="${REPEATS:-5}"
THREADS="${THREADS:-8}"
PORT="${PORT:-5123}"
command -v moto_server >/dev/null || { echo "storage.sh: moto_server not found, skipped"; exit 0; }
moto_server -H 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
MOTO=$!
trap 'kill $MOTO' EXIT
sleep 2
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
export MEDPIPE_CACHE_DIR="${BENCH_WORK:-/tmp/medpipe-bench}/storage-cache"
$PY "$HERE/storage_peer.py" --fill "$AWS_ENDPOINT_URL" bench dicom 1000
MEDPIPE_BENCH_URI=s3://bench/dicom MEDPIPE_BENCH_CONCURRENCY="$THREADS" \
  "$BUILD_DIR/bench/bench_storage" --benchmark_repetitions="$REPEATS" \
  --benchmark_report_aggregates_only=true 2>/dev/null | grep -E "median|mean"
$PY "$HERE/storage_peer.py" "$AWS_ENDPOINT_URL" bench dicom "$THREADS" "$REPEATS"
