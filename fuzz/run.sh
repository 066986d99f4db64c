#!/usr/bin/env bash
# make fuzz: builds the harnesses of fuzz/ with clang, libFuzzer, ASan and UBSan in build-fuzz/,
# seeds them (fuzz/make_seeds.py) and runs each for FUZZ_SECONDS (60) or FUZZ_RUNS executions,
# whichever comes first. What a run finds that adds coverage is merged, minimised, into the
# saved corpus fuzz/corpus/<harness> (replayed by CI); a crash stops that harness and is left in
# build-fuzz/crashes/<harness>/ (fix it, then keep the reproducer in fuzz/crashes/<harness>/).
# GDCM decodes in a child process; an abort or sanitizer report there is written as a crash
# artifact by the child, though the harness goes on: artifacts that replay cleanly are moved to
# build-fuzz/contained/<harness>/ and counted as "contained" (a library's fault, one image lost).
# Prints one line per harness: executions, rate, corpus size, crashes, contained.
#   make fuzz FUZZ_SECONDS=1800 FUZZ_RUNS=1000000 FUZZ_HARNESSES="dicom npy"
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
RUNS=${FUZZ_RUNS:--1}
ALL="dicom nifti volume npy raster labels_csv event set rtstruct multipart s3_listing qido"
HARNESSES=${FUZZ_HARNESSES:-$ALL}

CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DMEDPIPE_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=()
for h in $HARNESSES; do targets+=("fuzz_$h"); done
cmake --build "$BUILD" -j"$(nproc)" --target "${targets[@]}"
/usr/bin/python3 fuzz/make_seeds.py "$BUILD/seeds" >/dev/null

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
export LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
printf '%-12s %12s %10s %8s %8s %10s\n' harness execs "execs/s" corpus crashes contained
for h in $HARNESSES; do
  work="$BUILD/corpus/$h" crashes="$BUILD/crashes/$h" saved="fuzz/corpus/$h"
  mkdir -p "$work" "$crashes" "$saved" "$BUILD/logs"
  status=0
  "$BUILD/fuzz/fuzz_$h" -max_len=65536 -rss_limit_mb=2560 -timeout=20 -print_final_stats=1 \
    -max_total_time="$SECONDS_EACH" -runs="$RUNS" -artifact_prefix="$crashes/" \
    "$work" "$saved" "$BUILD/seeds/$h" >"$BUILD/logs/$h.log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$BUILD/logs/$h.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$BUILD/logs/$h.log" | tail -1)
  merged="$BUILD/merged/$h"
  rm -rf "$merged" && mkdir -p "$merged"
  "$BUILD/fuzz/fuzz_$h" -merge=1 -max_len=65536 -rss_limit_mb=2560 -timeout=20 \
    -artifact_prefix="$BUILD/merge-artifacts-" "$merged" \
    "$saved" "$work" "$BUILD/seeds/$h" >"$BUILD/logs/$h.merge.log" 2>&1 || true
  if [ -n "$(ls -A "$merged")" ]; then rm -rf "$saved" && mv "$merged" "$saved"; fi
  mkdir -p "$BUILD/contained/$h"
  # a fuzzer that stopped was stopped by its newest artifact: that one is the harness's own
  newest=""
  [ "$status" -ne 0 ] && newest=$(ls -t "$crashes" | head -1)
  for artifact in "$crashes"/*; do
    [ -f "$artifact" ] || continue
    [ "$(basename "$artifact")" = "$newest" ] && continue
    if "$BUILD/fuzz/fuzz_$h" -rss_limit_mb=2560 "$artifact" >/dev/null 2>&1; then
      mv "$artifact" "$BUILD/contained/$h/"
    fi
  done
  found=$(find "$crashes" -type f | wc -l)
  [ "$status" -ne 0 ] && [ "$found" -eq 0 ] && found="exit $status"
  printf '%-12s %12s %10s %8s %8s %10s\n' "$h" "${execs:-?}" "${rate:-?}" "$(ls "$saved" | wc -l)" \
    "$found" "$(ls "$BUILD/contained/$h" | wc -l)"
done
