#!/usr/bin/env bash
# Objects/s fetching 1,000 CT instances (39 KB) from Orthanc's DICOMweb (QIDO-RS + WADO-RS) on
# loopback, inside a network namespace of its own: medpipe's mirror (bench_storage) next to
# Python's urllib with the same number of threads. Usage: bench/dicomweb.sh [BUILD_DIR]
set -euo pipefail
BUILD_DIR="$(cd "${1:-build}" && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${IN_NAMESPACE:-}" ]; then
  exec env IN_NAMESPACE=1 unshare -n bash "$0" "$BUILD_DIR"
fi
REPEATS="${REPEATS:-5}"
THREADS="${THREADS:-8}"
WORK="${BENCH_WORK:-/tmp/medpipe-bench}/dicomweb"
rm -rf "$WORK" && mkdir -p "$WORK"
ip link set lo up
cat > "$WORK/orthanc.json" <<JSON
{"StorageDirectory": "$WORK/storage", "IndexDirectory": "$WORK/index", "HttpPort": 8042,
 "DicomPort": 4242, "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
 "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
 "DicomWeb": {"Enable": true, "Root": "/dicom-web/"}}
JSON
Orthanc "$WORK/orthanc.json" > "$WORK/orthanc.log" 2>&1 &
PID=$!
trap 'kill $PID' EXIT
for i in $(seq 100); do curl -sf http://127.0.0.1:8042/system >/dev/null && break; sleep 0.1; done
/usr/bin/python3 "$HERE/dicomweb_peer.py" --fill http://127.0.0.1:8042 1000
MEDPIPE_CACHE_DIR="$WORK/cache" MEDPIPE_BENCH_URI=dicomweb://127.0.0.1:8042/dicom-web \
  MEDPIPE_BENCH_CONCURRENCY="$THREADS" "$BUILD_DIR/bench/bench_storage" \
  --benchmark_repetitions="$REPEATS" --benchmark_report_aggregates_only=true 2>/dev/null | grep -E "median"
/usr/bin/python3 "$HERE/dicomweb_peer.py" http://127.0.0.1:8042/dicom-web "$THREADS" "$REPEATS"
