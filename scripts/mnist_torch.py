"""The tutorial's MNIST model in PyTorch, on the same rows and split as the numpy reference.

nn.Linear(784, 10) with the tutorial's initialisation, softmax + cross-entropy (as
F.cross_entropy on the logits), optim.SGD lr 0.1, batch 32 in order, 20 epochs on the 56,000
training rows of scikit-learn's 80/20 split (seed 42). Prints the same lines as
mnist_seed_numpy.py so that scripts/compare.py reads both. Usage: python mnist_torch.py DATA_DIR
"""
import gzip
import os
import sys
import time

import numpy as np
import torch
from sklearn.model_selection import train_test_split


def idx(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


d = sys.argv[1]
torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
t0 = time.perf_counter()
imgs = np.concatenate([idx(os.path.join(d, "train-images-idx3-ubyte.gz")),
                       idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))]).reshape(70000, 784)
labs = np.concatenate([idx(os.path.join(d, "train-labels-idx1-ubyte.gz")),
                       idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))]).astype(np.int64)
X = torch.from_numpy(imgs.astype(np.float32) / 255.0)
y = torch.from_numpy(labs)
tr, te = train_test_split(np.arange(70000), test_size=0.2, random_state=42)
Xtr, Xte, ytr, yte = X[tr], X[te], y[tr], y[te]
t1 = time.perf_counter()

np.random.seed(0)
model = torch.nn.Linear(784, 10)
with torch.no_grad():
    model.weight.copy_(torch.from_numpy((np.random.randn(784, 10) * 0.01).T.astype(np.float32)))
    model.bias.zero_()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
epochs = int(os.environ.get("EPOCHS", 20))
for epoch in range(epochs):
    losses = []
    for i in range(0, Xtr.shape[0], 32):
        loss = torch.nn.functional.cross_entropy(model(Xtr[i:i + 32]), ytr[i:i + 32])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    print(f"Epoch {epoch + 1}/{epochs}, Average Loss: {np.mean(losses):.4f}", flush=True)
t2 = time.perf_counter()
with torch.no_grad():
    acc = (model(Xte).argmax(1) == yte).float().mean().item()
print(f"Accuracy on test set: {acc:.4f}")
print(f"load+split {t1 - t0:.2f}s  train {t2 - t1:.2f}s  per-epoch {(t2 - t1) / epochs:.3f}s")
