#!/usr/bin/python3
"""umap-learn + scikit-learn K-means on latentflow's own test codes: the peer of our manifold + K-means step.
Usage: umap_codes.py DIR THREADS METRIC:SEED ..., where DIR is as bench/codes-file.ts writes it. UMAP as our cluster
stage sets it (10 components, 20 neighbours, min_dist 0, umap-learn's default epochs), K-means with 10 restarts.
Prints JSON: [{metric, seed, acc, nmi, ari, seconds}] (seconds: UMAP + K-means)."""
import json, sys, time
from threadpoolctl import threadpool_limits
import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score as nmi, adjusted_rand_score as ari
from scipy.optimize import linear_sum_assignment
import umap

d, threads, specs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
w = json.load(open(f'{d}/meta.json'))['width']
Z = np.fromfile(f'{d}/test_codes.f32', '<f4').reshape(-1, w)
y = np.unique(np.array(json.load(open(f'{d}/test_labels.json'))), return_inverse=True)[1]

def acc(y, c):
    k = max(y.max(), c.max()) + 1; m = np.zeros((k, k))
    for a, b in zip(c, y): m[a, b] += 1
    r, s = linear_sum_assignment(-m); return m[r, s].sum() / len(y)

out = []
with threadpool_limits(threads):
    for metric in {s.split(':')[0] for s in specs}:  # numba compiles on first use: not timed
        umap.UMAP(n_components=10, n_neighbors=20, min_dist=0.0, metric=metric, n_epochs=5).fit_transform(Z[:500])
    for spec in specs:
        metric, seed = spec.split(':')
        t = time.time()
        e = umap.UMAP(n_components=10, n_neighbors=20, min_dist=0.0, metric=metric, random_state=int(seed)).fit_transform(Z)
        c = KMeans(10, n_init=10, random_state=0).fit_predict(e)
        out.append({'metric': metric, 'seed': int(seed), 'acc': acc(y, c), 'nmi': nmi(y, c), 'ari': ari(y, c), 'seconds': time.time() - t})
print(json.dumps(out))
