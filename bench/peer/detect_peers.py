#!/usr/bin/python3
"""The peers of `npm run bench -- detect`: scikit-learn's IsolationForest and a PyTorch autoencoder on the very rows
latentflow used (bench/detect.ts writes them), preprocessed and built as ../shared/reference does:
digits pixels / 16 and AE d-32-10-32-d (sigmoid out, 300 epochs, batch 64); Fashion-MNIST pixels / 255 and
784-256-64-256-784 (sigmoid out, batch 256, the run's epochs); other tables min-max scaled by the training rows,
clipped to [-1, 2], AE d-16-4-16-d (linear out, 300 epochs, batch 32). MSE, Adam 1e-3, relu, torch seed 0, one thread.
IsolationForest(random_state=0) on the same scaled rows.
Usage: detect_peers.py DIR, where DIR/tasks.json lists {name, dataset, width, epochs} and DIR/NAME.train.f32,
NAME.test.f32 (row-major little-endian float32), NAME.labels.json (1 = anomaly) hold each task. Prints JSON lines."""
import json, sys
import numpy as np, torch
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score, average_precision_score

torch.set_num_threads(1)
d = sys.argv[1]

def train(X, units, epochs, bs, out):
    torch.manual_seed(0); L = torch.nn.Linear; layers = []; prev = X.shape[1]
    for u in units: layers += [L(prev, u), torch.nn.ReLU()]; prev = u
    enc = torch.nn.Sequential(*layers); layers = []
    for u in list(reversed(units[:-1])) + [X.shape[1]]:
        layers += [L(prev, u), torch.nn.ReLU() if u != X.shape[1] else (torch.nn.Sigmoid() if out == 'sigmoid' else torch.nn.Identity())]; prev = u
    dec = torch.nn.Sequential(*layers); opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), 1e-3)
    Xt = torch.from_numpy(X)
    for _ in range(epochs):
        p = torch.randperm(len(X))
        for i in range(0, len(X), bs):
            xb = Xt[p[i:i + bs]]; opt.zero_grad(); l = ((dec(enc(xb)) - xb) ** 2).mean(); l.backward(); opt.step()
    return enc, dec

for task in json.load(open(f'{d}/tasks.json')):
    w = task['width']; name = task['name']
    Xtr = np.fromfile(f'{d}/{name}.train.f32', '<f4').reshape(-1, w)
    Xte = np.fromfile(f'{d}/{name}.test.f32', '<f4').reshape(-1, w)
    y = np.array(json.load(open(f'{d}/{name}.labels.json')))
    if task['dataset'] == 'digits':
        sc = lambda A: A / 16.0; units, epochs, bs, out = [32, 10], 300, 64, 'sigmoid'
    elif task['dataset'] == 'fmnist':
        sc = lambda A: A; units, epochs, bs, out = [256, 64], task['epochs'], 256, 'sigmoid'
    else:
        lo, hi = Xtr.min(0), Xtr.max(0)
        sc = lambda A: np.clip((A - lo) / (hi - lo + 1e-12), -1, 2); units, epochs, bs, out = [16, 4], 300, 32, 'linear'
    A, T = sc(Xtr).astype(np.float32), sc(Xte).astype(np.float32)
    enc, dec = train(A, units, epochs, bs, out)
    with torch.no_grad():
        Tt = torch.from_numpy(T); err = ((dec(enc(Tt)) - Tt) ** 2).mean(1).numpy()
    iso = -IsolationForest(random_state=0).fit(A).score_samples(T)
    print(json.dumps({'name': name, 'torch_ae': {'auroc': roc_auc_score(y, err), 'auprc': average_precision_score(y, err)},
                      'sklearn_iforest': {'auroc': roc_auc_score(y, iso), 'auprc': average_precision_score(y, iso)}}), flush=True)
