#!/usr/bin/python3
"""PyTorch training speed on the Fashion-MNIST recipe of ../shared/reference/fmnist_reference.py (784-256-64-256-784,
relu, sigmoid out, MSE, Adam 1e-3, batch 256), timed per epoch. Usage: train_speed.py ROWS EPOCHS THREADS"""
import gzip, json, sys, time
import numpy as np, torch

rows, epochs, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads); torch.manual_seed(0)
with gzip.open('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz') as f:
    X = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:rows].astype(np.float32) / 255)
L = torch.nn.Linear
enc = torch.nn.Sequential(L(784, 256), torch.nn.ReLU(), L(256, 64), torch.nn.ReLU())
dec = torch.nn.Sequential(L(64, 256), torch.nn.ReLU(), L(256, 784), torch.nn.Sigmoid())
opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), 1e-3)
speeds = []
for e in range(epochs):
    t = time.time(); perm = torch.randperm(len(X))
    for i in range(0, len(X), 256):
        xb = X[perm[i:i+256]]
        opt.zero_grad(); loss = torch.nn.functional.mse_loss(dec(enc(xb)), xb); loss.backward(); opt.step()
    speeds.append(len(X) / (time.time() - t))
print(json.dumps({'backend': f'pytorch {torch.__version__} ({threads} thread)', 'samples_per_second': float(np.median(speeds)), 'epochs': speeds}))
