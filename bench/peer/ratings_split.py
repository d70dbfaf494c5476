"""The held-out part of ../shared/reference/ratings_reference.py's split, so that latentflow is measured on the very
ratings the peer's figures are: same parse (every non-empty line, in file order), same numpy RandomState(0)
permutation, same 90/10 cut. Prints the test entries' 0-based line numbers as one JSON array.
Run: /usr/bin/python3 ratings_split.py ratings.tsv.gz
"""
import gzip, json, sys
import numpy as np

path = sys.argv[1]
op = gzip.open if path.endswith('.gz') else open
with op(path, 'rt') as f:
    n = sum(1 for l in f if l.strip())
perm = np.random.RandomState(0).permutation(n)
print(json.dumps(sorted(int(k) for k in perm[int(0.9 * n):])))
