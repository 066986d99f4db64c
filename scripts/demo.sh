#!/usr/bin/env bash
# make demo: synthetic CT-like slices -> train -> predict on a held-out split -> metrics and report.
set -euo pipefail
BUILD_DIR="${1:-build}"
MEDPIPE="$(cd "$BUILD_DIR" && pwd)/medpipe"
DEMO=demo
mkdir -p "$DEMO"
cd "$DEMO"
[ -f train/labels.csv ] || "$MEDPIPE" synth --task classify --out train --count 400 --size 48 --format dicom --seed 1
[ -f test/labels.csv ] || "$MEDPIPE" synth --task classify --out test --count 200 --size 48 --format png --seed 2
cat > train.json <<'JSON'
{"is_train": true, "images_bucket": "train/images", "labels": "train/labels.csv",
 "model_bucket_name": "demo", "epochs": 12, "batch_size": 32, "seed": 1}
JSON
cat > predict.json <<'JSON'
{"is_train": false, "has_labels": true, "images_bucket": "test/images", "labels": "test/labels.csv",
 "model_bucket_name": "demo"}
JSON
"$MEDPIPE" run train.json
"$MEDPIPE" run predict.json
echo
echo "metrics: $(pwd)/results/demo/metrics.json"
/usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print("  accuracy %.3f  balanced accuracy %.3f  ROC AUC %.3f  (n=%d)" % (m["accuracy"], m["balanced_accuracy"], m["roc_auc"], m["n"]))' results/demo/metrics.json
echo "status:  $MEDPIPE status $(pwd)/models/demo"
echo "report:  $(pwd)/results/demo/report.html"
