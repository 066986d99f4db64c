"""Issue 21: how good a SimCLR pretraining's representation is, without fine-tuning. For each
pretrained model.pt, a logistic regression (scikit-learn, C 0.1, standardised) on the embeddings
(embed(), averaged with the mirror image's) of each seed's 55 labelled BreastMNIST images, its
ROC AUC on the 78 val images. The label subsets are bench/ssl_breastmnist.py's (WORK_DIR/sub<seed>).

  /usr/bin/python3 bench/ssl_linear_probe.py WORK_DIR SEEDS MODEL.pt [MODEL.pt ...]
  e.g. bench/ssl_linear_probe.py /tmp/ssl 1,2,3 /tmp/ssl/ssl1/model.pt /tmp/ssl/ssl2/model.pt
"""
import csv, os, sys
import numpy as np
import torch
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

work, seeds, models = sys.argv[1], [int(s) for s in sys.argv[2].split(",")], sys.argv[3:]
data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "breastmnist")
torch.set_num_threads(1)

def load(split, names=None):
    """The images as medpipe's `normalize: zscore` gives them (each image to mean 0, sd 1)."""
    rows = [r for r in csv.DictReader(open(f"{data}/{split}/labels.csv")) if names is None or r["image"] in names]
    x = np.stack([np.asarray(Image.open(f"{data}/{split}/images/{r['image']}.png"), np.float32) for r in rows])
    x = (x - x.mean(axis=(1, 2), keepdims=True)) / (x.std(axis=(1, 2), keepdims=True) + 1e-8)
    return torch.from_numpy(x[:, None]), np.array([int(r["level"]) for r in rows])

def embeddings(model, x):
    with torch.no_grad():
        return ((model.embed(x) + model.embed(torch.flip(x, [3]))) / 2).numpy()

x_val, y_val = load("val")
for path in models:
    model = torch.jit.load(path).eval()
    e_val, aucs = embeddings(model, x_val), []
    for seed in seeds:
        names = {r["image"] for r in csv.DictReader(open(os.path.join(work, f"sub{seed}", "labels.csv")))}
        x, y = load("train", names)
        e = embeddings(model, x)
        scale = StandardScaler().fit(e)
        probe = LogisticRegression(C=0.1, max_iter=5000).fit(scale.transform(e), y)
        aucs.append(roc_auc_score(y_val, probe.predict_proba(scale.transform(e_val))[:, 1]))
    print(path, " ".join(f"subset {s}: {a:.4f}" for s, a in zip(seeds, aucs)), f"mean {np.mean(aucs):.4f}", flush=True)
