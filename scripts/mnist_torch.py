"""The tutorial's MNIST model in PyTorch, and the speed grid's perceptron.

Usage: python mnist_torch.py DATA_DIR
    nn.Linear(784, 10) with the tutorial's initialisation, softmax + cross-entropy (as
    F.cross_entropy on the logits), optim.SGD lr 0.1, batch 32 in order, 20 epochs on the 56,000
    training rows of scikit-learn's 80/20 split (seed 42), on the same rows and split as the numpy
    reference. Prints the same lines as mnist_seed_numpy.py so that scripts/compare.py reads both.

Usage: python mnist_torch.py --hidden H --batch B --samples N [--rows R] [--seed S]
    The same run as `cargo run --release --example bench_mlp -- --hidden H --batch B --samples N`
    (scripts/compare_grid.sh runs both): 784-H-H-10 with ReLU, F.cross_entropy on the logits,
    optim.SGD lr 0.01, PyTorch's default initialisation (--hidden 0: the tutorial's single
    nn.Linear(784, 10)), on R synthetic rows (uniform [0, 1)
    images, labels 0 to 9 in turn; R defaults to the smaller of N and 59,904) walked in order
    batch after batch until N samples are seen. Prints `train X.XXs` and the samples per second.

TORCH_THREADS sets torch.set_num_threads (default 1).
"""
import gzip
import os
import sys
import time

import numpy as np
import torch


def idx(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))


def grid(argv):
    """The speed grid's run: see the module's docstring."""
    import argparse
    p = argparse.ArgumentParser(prog="mnist_torch.py")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--samples", type=int, default=59904)
    p.add_argument("--rows", type=int)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.samples % a.batch:
        sys.exit(f"--samples {a.samples} is not a multiple of --batch {a.batch}")
    h, b = a.hidden, a.batch
    rows = (a.rows or min(a.samples, 59904)) // b * b
    torch.manual_seed(a.seed)
    x = torch.rand(rows, 784)
    y = torch.arange(rows) % 10
    if h == 0:
        # The tutorial's model: --hidden 0, as bench_mlp.
        model = torch.nn.Sequential(torch.nn.Linear(784, 10))
    else:
        model = torch.nn.Sequential(torch.nn.Linear(784, h), torch.nn.ReLU(),
                                    torch.nn.Linear(h, h), torch.nn.ReLU(),
                                    torch.nn.Linear(h, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    steps = a.samples // b
    tail = max(steps // 10, 1)
    tail_loss = 0.0
    layers = "784-10" if h == 0 else f"784-{h}-{h}-10"
    print(f"{layers}, batch {b}, {a.samples} samples ({steps} steps) over {rows} synthetic "
          f"rows, {torch.get_num_threads()} thread(s)")
    t0 = time.perf_counter()
    row = 0
    for step in range(steps):
        if row + b > rows:
            row = 0
        loss = torch.nn.functional.cross_entropy(model(x[row:row + b]), y[row:row + b])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step >= steps - tail:
            tail_loss += loss.item()
        row += b
    seconds = time.perf_counter() - t0
    print(f"train {seconds:.2f}s  {a.samples / seconds:.0f} samples/s  loss {tail_loss / tail:.4f}")


if len(sys.argv) > 1 and sys.argv[1].startswith("--"):
    grid(sys.argv[1:])
    sys.exit(0)

from sklearn.model_selection import train_test_split  # noqa: E402 (the tutorial's run only)

d = sys.argv[1]
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
