#!/usr/bin/env python3
"""The cost model of data-parallel training's all-reduce (src/distributed/), for the README.

A ring all-reduce (Patarasuk and Yuan 2009; what Horovod and NCCL use for large messages) moves
2 (N - 1) / N x 4 bytes x P per process per step (P f32 parameters, N processes), in 2 (N - 1)
messages, each paying the link's latency alpha:

    T_comm(N) = 2 (N - 1) / N * 4 P / bandwidth + 2 (N - 1) * alpha

Communication is hidden when it overlaps a computation at least as long: with PyTorch DDP's
gradient buckets, when each process's step (its backward pass) lasts at least T_comm(N); that
step time is the table's "hidden at" column. feedforward's step sums the gradients once, after
the backward pass (no overlap), so a step on N processes takes T_compute(B / N) + T_comm(N).
Two ways to scale:
- the same global batch B split N ways (strong scaling): speed-up T(B) / (T(B) / N + T_comm),
  taking T(B / N) = T(B) / N (optimistic for small shards);
- B rows per process, a global batch of N B (weak scaling, what Horovod reports): images per
  second N B / (T(B) + T_comm), a speed-up of N T(B) / (T(B) + T_comm).

Usage:
    python3 scripts/allreduce_cost.py --step-ms 784-128-10=MS --step-ms 784-4096-4096-10=MS

prints the README's Markdown table. MS: the measured compute time of one training step at a
batch of 256 rows in one process, on an idle machine:

    cargo build --release --example bench_mlp
    target/release/examples/bench_mlp --hidden 128 --hidden-layers 1 --batch 256 --samples 358400
    target/release/examples/bench_mlp --hidden 4096 --batch 256 --samples 3072

(`ms per step` in their last line). Without --step-ms, the README grid's earlier figures
stand in (784-H-H-10 at batch 256, 2 threads, the 2-core Xeon of the README: 1.02 s for 359,424
samples at H = 128, standing in for 784-128-10, which does less work; 1.41 s for 3,072 at
H = 4,096).
"""

import argparse

MODELS = {
    "784-128-10": [784, 128, 10],
    "784-4096-4096-10": [784, 4096, 4096, 10],
}

DEFAULT_STEP_MS = {
    "784-128-10": 1.02 / (359_424 / 256) * 1e3,
    "784-4096-4096-10": 1.41 / (3_072 / 256) * 1e3,
}

LINKS_GBITS = (10, 25)
PROCESSES = (2, 8, 32)


def parameters(widths):
    """Weights and biases of a Dense chain through `widths`."""
    return sum(a * b + b for a, b in zip(widths, widths[1:]))


def comm_seconds(p, n, gbits, alpha):
    """T_comm(N): a ring all-reduce of p f32 values among n processes."""
    return 2 * (n - 1) / n * 4 * p / (gbits * 1e9 / 8) + 2 * (n - 1) * alpha


def table(step_ms, alpha):
    """The Markdown table, one row per model and link."""
    ns = " / ".join(str(n) for n in PROCESSES)
    lines = [
        f"| model (parameters) | link | all-reduce per step, N = {ns} (ms): hidden at a step "
        f"this long | measured step, batch 256 (ms) | speed-up, N = {ns}, global batch 256 "
        f"| speed-up, N = {ns}, 256 rows per process |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, widths in MODELS.items():
        p = parameters(widths)
        t = step_ms[name] * 1e-3
        for gbits in LINKS_GBITS:
            comm = [comm_seconds(p, n, gbits, alpha) for n in PROCESSES]
            strong = [t / (t / n + c) for n, c in zip(PROCESSES, comm)]
            weak = [n * t / (t + c) for n, c in zip(PROCESSES, comm)]
            lines.append(
                f"| {name} ({p:,}) | {gbits} Gbit/s "
                f"| {' / '.join(f'{c * 1e3:.2f}' for c in comm)} | {t * 1e3:.2f} "
                f"| {' / '.join(f'{s:.2f}x' for s in strong)} "
                f"| {' / '.join(f'{w:.2f}x' for w in weak)} |"
            )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alpha-us", type=float, default=25.0,
                        help="latency of one message, microseconds (TCP over Ethernet: 10-50)")
    parser.add_argument("--step-ms", action="append", default=[],
                        help="NAME=MS: measured step time of a model at batch 256, in ms "
                             f"(NAME one of {', '.join(MODELS)})")
    args = parser.parse_args()
    step_ms = dict(DEFAULT_STEP_MS)
    for item in args.step_ms:
        name, _, ms = item.partition("=")
        if name not in MODELS or not ms:
            parser.error(f"--step-ms {item}: expected NAME=MS with NAME one of {', '.join(MODELS)}")
        step_ms[name] = float(ms)
    print(table(step_ms, args.alpha_us * 1e-6))


if __name__ == "__main__":
    main()
