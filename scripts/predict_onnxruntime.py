"""Inference speed in onnxruntime: the same run as `cargo run --release --example bench_predict`,
on the very model that run timed (its `--onnx FILE`).

Usage: python predict_onnxruntime.py --model FILE --batch B --rows N [--seed S]
    Loads FILE (written by bench_predict --onnx FILE: 784-...-10, ReLU, softmax, the
    probabilities as our `predict` returns them) into an onnxruntime InferenceSession (CPU,
    all graph optimisations), and classifies the same 10,000 synthetic rows as bench_predict
    (numpy's RandomState(S).rand(10000, 784), the values our numpy-compatible RandomState draws,
    as float32), walked in order, batch after batch, until N rows are classified; one warm-up
    call, then only this loop is timed (Python's call into onnxruntime included, as a Python user
    pays it). Prints `predict X.XXs`, the images per second, the microseconds per call and the
    checksum bench_predict prints (the first probability of every call's first row, summed):
    equal checksums to the 4th decimal say both ran the same weights on the same rows.

ORT_THREADS sets the session's intra_op_num_threads (default 1); inter-op is 1 thread.
"""
import argparse
import os
import sys
import time

import numpy as np
import onnxruntime as ort

DATA_ROWS = 10_000

p = argparse.ArgumentParser(prog="predict_onnxruntime.py")
p.add_argument("--model", required=True)
p.add_argument("--batch", type=int, default=1000)
p.add_argument("--rows", type=int, default=1_000_000)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
if a.rows % a.batch:
    sys.exit(f"--rows {a.rows} is not a multiple of --batch {a.batch}")
if a.batch > DATA_ROWS:
    sys.exit(f"--batch must be at most {DATA_ROWS}")
b = a.batch
options = ort.SessionOptions()
options.intra_op_num_threads = int(os.environ.get("ORT_THREADS", "1"))
options.inter_op_num_threads = 1
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
session = ort.InferenceSession(a.model, options, providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
x = np.random.RandomState(a.seed).rand(DATA_ROWS, 784).astype(np.float32)
calls = a.rows // b
print(f"onnxruntime {ort.__version__} {a.model}, batch {b}, {a.rows} rows ({calls} calls) "
      f"over {DATA_ROWS} synthetic rows")
session.run(None, {name: x[0:b]})
checksum = 0.0
row = 0
start = time.perf_counter()
for _ in range(calls):
    if row + b > DATA_ROWS:
        row = 0
    probabilities = session.run(None, {name: x[row:row + b]})[0]
    checksum += float(probabilities[0, 0])
    row += b
seconds = time.perf_counter() - start
print(f"predict {seconds:.2f}s  {a.rows / seconds:.0f} images/s  "
      f"{seconds / calls * 1e6:.2f} us per call  checksum {checksum:.4f}")
