"""Issue 21 acceptance: BreastMNIST with 10% of the training labels (55 images, stratified per
seed). SimCLR pretraining (has_labels false, unsupervised simclr) on all 546 training images,
then fine-tuning on the 55 with `pretrained:`, against the same network trained from scratch on
the 55 (planner defaults for both); the validation AUC of each arm from `medpipe run` on the val
split. About 14 minutes a seed on 2 cores.

  /usr/bin/python3 bench/ssl_breastmnist.py MEDPIPE WORK_DIR SEEDS SSL_EPOCHS [FINE_TUNE_KEYS_JSON
                                            [BOTH_ARMS_KEYS_JSON [SSL_KEYS_JSON]]]
  e.g. bench/ssl_breastmnist.py build/medpipe /tmp/ssl 1,2,3 200
       bench/ssl_breastmnist.py build/medpipe /tmp/ssl1 1,2,3 200 {} '{"ensemble": 1}'
Models already in WORK_DIR (ssl<seed>, scratch<seed>) are reused: one WORK_DIR per setting (a
scratch model whose config.json differs from this run in the seed, in pretrained or in a key of
BOTH_ARMS_KEYS is refused; a key it was given that this run leaves out is not seen).
"""
import csv, json, os, subprocess, sys, time
import numpy as np

exe, out, seeds, ssl_epochs = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")], int(sys.argv[4])
extra_fine, extra_both, extra_ssl = [json.loads(a) for a in (sys.argv[5:] + ["{}"] * 3)[:3]]
data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "breastmnist")
os.makedirs(out, exist_ok=True)
rows = list(csv.DictReader(open(f"{data}/train/labels.csv")))

def run(event, name):
    path = os.path.join(out, name + ".json")
    json.dump(event, open(path, "w"))
    t = time.time()
    r = subprocess.run([exe, "run", path], capture_output=True, text=True)
    if r.returncode:
        print(r.stderr[-3000:]); sys.exit(1)
    return time.time() - t

def val_auc(model_dir, name):
    res = os.path.join(out, "res_" + name)
    run({"is_train": False, "images_bucket": f"{data}/val", "models_bucket": out,
         "model_bucket_name": model_dir, "results_bucket": res}, "pred_" + name)
    return json.load(open(os.path.join(res, "metrics.json")))["roc_auc"]

results = []
for seed in seeds:
    rng = np.random.default_rng(seed)
    subset = []
    for level in ("0", "1"):
        names = [r["image"] for r in rows if r["level"] == level]
        k = round(0.1 * len(names))  # stratified: 10% of each class
        subset += list(rng.choice(names, k, replace=False))
    sub = os.path.join(out, f"sub{seed}")
    os.makedirs(os.path.join(sub, "images"), exist_ok=True)
    with open(os.path.join(sub, "labels.csv"), "w") as f:
        f.write("image,level\n")
        for r in rows:
            if r["image"] in subset:
                f.write(f"{r['image']},{r['level']}\n")
                dst = os.path.join(sub, "images", r["image"] + ".png")
                if not os.path.exists(dst):
                    os.symlink(f"{data}/train/images/{r['image']}.png", dst)
    ssl = f"ssl{seed}"
    if not os.path.exists(os.path.join(out, ssl, "model.pt")):
        t = run({"images_bucket": f"{data}/train", "has_labels": False, "unsupervised": "simclr",
                 "models_bucket": out, "model_bucket_name": ssl, "epochs": ssl_epochs,
                 "seed": seed, **extra_ssl}, ssl)
        print(f"seed {seed}: simclr {ssl_epochs} epochs {t:.0f} s", flush=True)
    base = {"images_bucket": sub, "val_images_bucket": f"{data}/val", "models_bucket": out,
            "seed": seed, **extra_both}
    scratch = os.path.join(out, f"scratch{seed}")
    if not os.path.exists(os.path.join(scratch, "model.pt")):  # reused: no SSL in it
        run(dict(base, model_bucket_name=f"scratch{seed}"), f"scratch{seed}")
    else:  # a reused scratch model must have been trained with this seed and these keys
        was = json.load(open(os.path.join(scratch, "config.json")))
        differ = {k: was.get(k) for k, v in dict(extra_both, seed=seed, pretrained="").items()
                  if was.get(k) != v}
        if differ:
            sys.exit(f"{scratch} was trained with {differ}: use another WORK_DIR")
    run(dict(base, **extra_fine, model_bucket_name=f"fine{seed}",
             pretrained=os.path.join(out, ssl, "model.pt")), f"fine{seed}")
    a, b = val_auc(f"scratch{seed}", f"scratch{seed}"), val_auc(f"fine{seed}", f"fine{seed}")
    results.append((a, b))
    print(f"seed {seed}: n {len(subset)} scratch {a:.4f} pretrained {b:.4f} gain {b - a:+.4f}", flush=True)
r = np.array(results)
print(f"mean scratch {r[:,0].mean():.4f} pretrained {r[:,1].mean():.4f} gain {(r[:,1]-r[:,0]).mean():+.4f}")
