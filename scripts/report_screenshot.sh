#!/usr/bin/env bash
# A screenshot of a report in headless Chromium (how docs/report.png is made):
#   scripts/report_screenshot.sh demo/results/demo/report.html docs/report.png [WIDTHxHEIGHT]
set -euo pipefail
REPORT="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
OUT="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
SIZE="${3:-1280x2200}"
PROFILE="$(mktemp -d)"
trap 'rm -rf "$PROFILE"' EXIT
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --disable-quic --user-data-dir="$PROFILE" \
  --hide-scrollbars --window-size="${SIZE/x/,}" --screenshot="$OUT" "file://$REPORT" 2>/dev/null
echo "screenshot: $OUT"
