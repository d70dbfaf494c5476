#!/usr/bin/python3
"""scikit-learn K-means and SVC on latentflow's own codes (the same inputs as our stages), timed as the reference does.
Usage: same_codes.py DIR THREADS, where DIR holds train_codes.f32, test_codes.f32 (little-endian float32, WIDTH
columns), train_labels.json, test_labels.json and meta.json ({"width": W}). Prints JSON."""
import json, sys, time
from threadpoolctl import threadpool_limits
import numpy as np
from sklearn.cluster import KMeans
from sklearn.svm import SVC
from sklearn.metrics import normalized_mutual_info_score as nmi, adjusted_rand_score as ari
from scipy.optimize import linear_sum_assignment

d, threads = sys.argv[1], int(sys.argv[2])
w = json.load(open(f'{d}/meta.json'))['width']
Ztr = np.fromfile(f'{d}/train_codes.f32', '<f4').reshape(-1, w)
Zte = np.fromfile(f'{d}/test_codes.f32', '<f4').reshape(-1, w)
ytr = np.array(json.load(open(f'{d}/train_labels.json')))
yte = np.array(json.load(open(f'{d}/test_labels.json')))

def acc(y, c):
    y = np.unique(y, return_inverse=True)[1]; k = max(y.max(), c.max()) + 1; m = np.zeros((k, k))
    for a, b in zip(c, y): m[a, b] += 1
    r, s = linear_sum_assignment(-m); return m[r, s].sum() / len(y)

with threadpool_limits(threads):
    t = time.time(); km = KMeans(10, n_init=10, random_state=0).fit(Zte); ks = time.time() - t
    t = time.time(); svc = SVC(C=10, gamma='scale').fit(Ztr, ytr); pred = svc.predict(Zte); ss = time.time() - t
print(json.dumps({'kmeans_seconds': ks, 'kmeans_acc': acc(yte, km.labels_), 'kmeans_nmi': nmi(yte, km.labels_), 'kmeans_ari': ari(yte, km.labels_),
                  'svm_seconds': ss, 'svm_acc': float((pred == yte).mean())}))
