"""How the neural Cox model's defaults (cox_hidden_units 64, cox_dropout 0.4, cox_weight_decay
1e-4, cox_learning_rate 0.01, cox_epochs 600, SELU) were chosen: 5-fold cross-validation on the
DeepSurv training cohort (Rotterdam) alone, with a python3-torch model of the same form (one
hidden layer, dropout, full-batch Adam on the Breslow partial likelihood, standardised
covariates), Harrell's C on each held-out fold. The test cohort (GBSG) is never read here.
  /usr/bin/python3 scripts/survival_mlp_selection.py cv   (about 10 minutes on 2 cores)"""
import csv, sys, itertools, os, numpy as np, torch
DATA = os.environ.get("MEDPIPE_SHARED_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
torch.set_num_threads(2)
def load(p):
    r = list(csv.DictReader(open(p)))
    cov = ["hormon","size","meno","age","nodes","pgr","er"]
    X = np.array([[float(x[c]) for c in cov] for x in r]); T = np.array([float(x["time"]) for x in r]); E = np.array([int(float(x["event"])) for x in r])
    return X, T, E
def cindex(T, E, risk):
    n = len(T); num = den = 0
    order = np.argsort(T)
    # O(n^2) vectorised
    for i in range(n):
        if not E[i]: continue
        later = (T > T[i]) | ((T == T[i]) & (E == 0))
        den += later.sum(); num += (risk[i] > risk[later]).sum() + 0.5 * (risk[i] == risk[later]).sum()
    return num / den
def cox_loss(risk, T, E):
    order = torch.argsort(T, descending=True)
    r = risk[order]; e = E[order]
    lse = torch.logcumsumexp(r, 0)
    return -((r - lse) * e).sum() / e.sum()
def train(X, T, E, hidden, dropout, wd, lr, epochs, seed, act):
    torch.manual_seed(seed)
    mu, sd = X.mean(0), X.std(0)
    Xt = torch.tensor((X - mu) / sd, dtype=torch.float32); Tt = torch.tensor(T); Et = torch.tensor(E, dtype=torch.float32)
    A = {"relu": torch.nn.ReLU, "selu": torch.nn.SELU}[act]
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], hidden), A(), torch.nn.Dropout(dropout), torch.nn.Linear(hidden, 1))
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=wd)
    for ep in range(epochs):
        net.train(); opt.zero_grad()
        loss = cox_loss(net(Xt).squeeze(1), Tt, Et); loss.backward(); opt.step()
    net.eval()
    return lambda Xn: net(torch.tensor((Xn - mu) / sd, dtype=torch.float32)).squeeze(1).detach().numpy()
X, T, E = load(os.path.join(DATA, "survival", "rgbsg_train_rotterdam_nodepos.csv"))
rng = np.random.default_rng(0); folds = rng.integers(0, 5, len(T))
configs = list(itertools.product([16, 64], [0.1, 0.4], [1e-4, 1e-2], [1e-2, 3e-3], [200, 600], ["relu", "selu"]))
mode = sys.argv[1]
if mode == "cv":
    res = []
    for cfg in configs:
        cs = []
        for k in range(5):
            tr, va = folds != k, folds == k
            f = train(X[tr], T[tr], E[tr], *cfg[:5], seed=k, act=cfg[5])
            cs.append(cindex(T[va], E[va], f(X[va])))
        res.append((np.mean(cs), cfg)); print(round(np.mean(cs), 4), cfg, flush=True)
    res.sort(reverse=True); print("best", res[:3])
