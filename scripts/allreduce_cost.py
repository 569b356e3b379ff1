#!/usr/bin/env python3
"""The cost model of data-parallel training's all-reduce (src/distributed/), for the README.

A ring all-reduce (Patarasuk and Yuan 2009; what Horovod and NCCL use for large messages) moves
2 (N - 1) / N x 4 bytes x P per process per step (P f32 parameters, N processes), in 2 (N - 1)
messages, each paying the link's latency alpha:

    T_comm(N) = 2 (N - 1) / N * 4 P / bandwidth + 2 (N - 1) * alpha

feedforward's step sums the gradients once, after the backward pass (no overlap with it), so a
step on N processes takes T_compute(B / N) + T_comm(N). Two ways to scale:
- the same global batch B split N ways (strong scaling): speed-up T(B) / (T(B) / N + T_comm),
  taking T(B / N) = T(B) / N (optimistic for small shards);
- B rows per process, a global batch of N B (weak scaling, what Horovod reports): images per
  second N B / (T(B) + T_comm), a speed-up of N T(B) / (T(B) + T_comm).
With an overlap of communication and backward pass (DDP's buckets, not done here), the
communication is hidden when the backward pass lasts at least T_comm.

Usage: python3 scripts/allreduce_cost.py [--alpha-us 25] [--step-ms NAME=MS ...]
The default step times are the README grid's (bench_mlp, 2 threads, batch 256, on the 2-core
Xeon of the README): measure them again on an idle machine with
`cargo run --release --example bench_mlp -- --hidden H --batch 256 --samples N`
(seconds / (N / 256) steps). The 784-128-10 model is timed by the 784-128-128-10 one there,
which does slightly more work.
"""

import argparse


def parameters(widths):
    """Weights and biases of a Dense chain through `widths`."""
    return sum(a * b + b for a, b in zip(widths, widths[1:]))


MODELS = {
    "784-128-10": [784, 128, 10],
    "784-4096-4096-10": [784, 4096, 4096, 10],
}

# ms per training step at a batch of 256 on one 2-core process, from the README's grid
# (784-H-H-10: 1.02 s for 359,424 samples at H = 128, 1.41 s for 3,072 at H = 4,096).
DEFAULT_STEP_MS = {
    "784-128-10": 1.02 / (359_424 / 256) * 1e3,
    "784-4096-4096-10": 1.41 / (3_072 / 256) * 1e3,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alpha-us", type=float, default=25.0,
                        help="latency of one message, microseconds (TCP over Ethernet: 10-50)")
    parser.add_argument("--step-ms", action="append", default=[],
                        help="NAME=MS: measured step time of a model at batch 256")
    args = parser.parse_args()
    step_ms = dict(DEFAULT_STEP_MS)
    for item in args.step_ms:
        name, ms = item.split("=")
        step_ms[name] = float(ms)
    alpha = args.alpha_us * 1e-6
    print(f"latency per message: {args.alpha_us} us")
    print("| model | parameters | link | N | bytes per process per step | T_comm (ms) "
          "| step at batch 256 (ms) "
          "| speed-up, same global batch | speed-up, 256 per process |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, widths in MODELS.items():
        p = parameters(widths)
        t = step_ms[name] * 1e-3
        for gbits in (10, 25):
            bandwidth = gbits * 1e9 / 8
            for n in (2, 8, 32):
                moved = 2 * (n - 1) / n * 4 * p
                comm = moved / bandwidth + 2 * (n - 1) * alpha
                strong = t / (t / n + comm)
                weak = n * t / (t + comm)
                print(f"| {name} | {p:,} | {gbits} Gbit/s | {n} | {moved / 1e6:.2f} MB "
                      f"| {comm * 1e3:.2f} | {t * 1e3:.2f} "
                      f"| {strong:.2f}x | {weak:.2f}x |")


if __name__ == "__main__":
    main()
