#!/usr/bin/env python3
"""The `bench_cnn` example's runs in PyTorch: LeNet-5 or issue 23's small convnet, trained on
synthetic 28 x 28 images, then inference timed at batch 1 and 1,000.

Usage: python cnn_torch.py [--model lenet5|convnet] [--batch B] [--samples N] [--rows R]
                           [--threads T] [--single K] [--seed S]

The same run as `cargo run --release --example bench_cnn -- (same options)`:
scripts/compare_cnn.sh runs both in turn. The networks as `torch.nn.Sequential`:
    lenet5:  Conv2d(1, 6, 5, padding=2), ReLU, MaxPool2d(2), Conv2d(6, 16, 5), ReLU,
             MaxPool2d(2), Flatten, Linear(400, 120), ReLU, Linear(120, 84), ReLU, Linear(84, 10)
    convnet: Conv2d(1, 32, 3), ReLU, MaxPool2d(2), Conv2d(32, 64, 3), ReLU, MaxPool2d(2),
             Flatten, Linear(1600, 10)
trained with F.cross_entropy on the logits (our Softmax + CrossEntropy), optim.SGD lr 0.01
momentum 0.9, PyTorch's default initialisation; R images uniform in [0, 1) (default: the
smaller of N and 10,048, cut to whole batches), labels 0 to 9 in turn, walked in order batch
after batch until N samples are seen (only that loop is timed). Inference: torch.no_grad(),
eval mode, softmax applied, on one image K times and on 1,000 images 5 times (medians).

Prints `train X.XXs`, `predict 1: X.XXXms` and `predict 1000: X.XXXs`, as bench_cnn does.
--threads sets torch.set_num_threads (default: PyTorch's own choice).
"""
import argparse
import statistics
import sys
import time

import torch
from torch import nn


def network(name: str) -> nn.Sequential:
    if name == "lenet5":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
        )
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1600, 10),
    )


def main(argv) -> int:
    p = argparse.ArgumentParser(prog="cnn_torch.py")
    p.add_argument("--model", choices=["lenet5", "convnet"], default="lenet5")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--samples", type=int, default=60032)
    p.add_argument("--rows", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--single", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.samples % a.batch:
        sys.exit(f"--samples {a.samples} is not a multiple of --batch {a.batch}")
    if a.threads:
        torch.set_num_threads(a.threads)
    b = a.batch
    rows = (a.rows or min(a.samples, 10048)) // b * b
    torch.manual_seed(a.seed)
    model = network(a.model)
    x = torch.rand(max(rows, 1000), 1, 28, 28)
    y = torch.arange(rows) % 10
    sgd = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    steps = a.samples // b
    tail = max(steps // 10, 1)
    tail_loss = 0.0
    print(
        f"{a.model}, batch {b}, {a.samples} samples ({steps} steps) over {rows} synthetic "
        f"images, {torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    model.train()
    start = time.perf_counter()
    row = 0
    for step in range(steps):
        if row + b > rows:
            row = 0
        sgd.zero_grad()
        loss = nn.functional.cross_entropy(model(x[row:row + b]), y[row:row + b])
        loss.backward()
        sgd.step()
        if step >= steps - tail:
            tail_loss += loss.item()
        row += b
    seconds = time.perf_counter() - start
    print(f"train {seconds:.2f}s  {a.samples / seconds:.0f} samples/s  loss {tail_loss / tail:.4f}")

    model.eval()
    single = []
    with torch.no_grad():
        for k in range(a.single):
            image = x[k % rows:k % rows + 1]
            start = time.perf_counter()
            torch.softmax(model(image), dim=1)
            single.append(time.perf_counter() - start)
        thousand = []
        for _ in range(5):
            start = time.perf_counter()
            torch.softmax(model(x[:1000]), dim=1)
            thousand.append(time.perf_counter() - start)
    print(f"predict 1: {statistics.median(single) * 1e3:.3f}ms")
    print(f"predict 1000: {statistics.median(thousand):.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
