"""Inference speed in PyTorch: the same run as `cargo run --release --example bench_predict`.

Usage: python predict_torch.py --hidden H --batch B --rows N [--seed S]
    784-H-10 (nn.Linear, ReLU, nn.Linear, softmax over the classes: the probabilities, as our
    `predict` returns them), PyTorch's default initialisation, under torch.inference_mode(), on
    10,000 synthetic rows (uniform [0, 1) images) walked in order, batch after batch, until N rows
    are classified; one warm-up call, then only this loop is timed. Prints `predict X.XXs`, the
    images per second and the microseconds per call.

TORCH_THREADS sets torch.set_num_threads (default 1).
"""
import argparse
import os
import sys
import time

import torch

DATA_ROWS = 10_000

torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))

p = argparse.ArgumentParser(prog="predict_torch.py")
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--batch", type=int, default=1000)
p.add_argument("--rows", type=int, default=1_000_000)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
if a.rows % a.batch:
    sys.exit(f"--rows {a.rows} is not a multiple of --batch {a.batch}")
if a.batch > DATA_ROWS:
    sys.exit(f"--batch must be at most {DATA_ROWS}")
h, b = a.hidden, a.batch
torch.manual_seed(a.seed)
x = torch.rand(DATA_ROWS, 784)
model = torch.nn.Sequential(torch.nn.Linear(784, h), torch.nn.ReLU(), torch.nn.Linear(h, 10),
                            torch.nn.Softmax(dim=1))
model.eval()
calls = a.rows // b
print(f"784-{h}-10, batch {b}, {a.rows} rows ({calls} calls) over {DATA_ROWS} synthetic rows")
with torch.inference_mode():
    model(x[0:b])
    checksum = 0.0
    row = 0
    start = time.perf_counter()
    for _ in range(calls):
        if row + b > DATA_ROWS:
            row = 0
        probabilities = model(x[row:row + b])
        checksum += float(probabilities[0, 0])
        row += b
    seconds = time.perf_counter() - start
print(f"predict {seconds:.2f}s  {a.rows / seconds:.0f} images/s  "
      f"{seconds / calls * 1e6:.2f} us per call  checksum {checksum:.4f}")
