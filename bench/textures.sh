#!/usr/bin/env bash
# Radiomics texture speed: GLCM + GLRLM + GLSZM of a 512 x 512 image and a 128^3 volume (32 grey
# levels), medpipe (bench_textures) next to scikit-image's graycomatrix/graycoprops with numpy
# run lengths and scipy.ndimage.label zones (bench/textures_peer.py), on the same .npy files, in
# one run; values are cross-checked. Usage: bench/textures.sh [BUILD_DIR]
set -euo pipefail
BUILD_DIR="$(cd "${1:-build}" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${BENCH_WORK:-/tmp/medpipe-bench}/textures"
PY=/usr/bin/python3
REPEATS="${REPEATS:-5}"
mkdir -p "$WORK" "$HERE/results"
$PY "$HERE/textures_peer.py" --write "$WORK"
MEDPIPE_BENCH_DIR="$WORK" "$BUILD_DIR/bench/bench_textures" --benchmark_format=json \
  --benchmark_repetitions="$REPEATS" --benchmark_report_aggregates_only=true > "$WORK/cpp.json"
$PY "$HERE/textures_peer.py" "$WORK" "$REPEATS" > "$WORK/py.json"
$PY "$HERE/summarise_textures.py" "$WORK/cpp.json" "$WORK/py.json" | tee "$HERE/results/textures.md"
