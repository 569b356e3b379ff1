"""Runs our `mnist` example and the tutorial's numpy code (and PyTorch if importable) in turn,
and prints the median training time, load time and peak memory of each, with ratios.

Called by scripts/compare.sh, which builds the example and prepares the virtual environment.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REFERENCE = os.path.join(ROOT, "reference", "mnist_seed_numpy.py")
OURS = os.path.join(ROOT, "target", "release", "examples", "mnist")
TORCH = os.path.join(HERE, "mnist_torch.py")


def measure(cmd, env=None):
    """Runs cmd under GNU time; returns (stdout, peak RSS in MB)."""
    with tempfile.NamedTemporaryFile("r") as rss:
        out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name] + cmd,
                             capture_output=True, text=True, env=env, check=True).stdout
        return out, int(rss.read().split()[-1]) / 1024


def number(pattern, text):
    m = re.search(pattern, text)
    if not m:
        sys.exit(f"could not find {pattern!r} in:\n{text}")
    return float(m.group(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--data-dir", required=True)
    a = p.parse_args()
    # OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set on some of these machines to work around old
    # OpenBLAS bugs; they slow a current numpy, so the baseline runs without them.
    numpy_env = {k: v for k, v in os.environ.items()
                 if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    systems = {
        "feedforward (this crate)": (
            [OURS, "--quiet", "--data-dir", a.data_dir, "--out", tempfile.mkdtemp()], None,
            r"Training time: ([\d.]+) s", r"Load and split time: ([\d.]+) s",
            r"Accuracy on test set: ([\d.]+)"),
        "numpy, tutorial code on arrays": (
            [sys.executable, REFERENCE, a.data_dir, "--arrays"], numpy_env,
            r"train ([\d.]+)s", r"load\+split ([\d.]+)s", r"Accuracy on test set: ([\d.]+)"),
    }
    try:
        import torch  # noqa: F401
        systems["PyTorch, nn.Linear + optim.SGD"] = (
            [sys.executable, TORCH, a.data_dir], numpy_env,
            r"train ([\d.]+)s", r"load\+split ([\d.]+)s", r"Accuracy on test set: ([\d.]+)")
    except ImportError:
        print("PyTorch is not installed in this environment: comparing with numpy only.")
    results = {name: {"train": [], "load": [], "rss": [], "acc": []} for name in systems}
    for run in range(a.runs):
        for name, (cmd, env, train, load, acc) in systems.items():
            out, rss = measure(cmd, env)
            r = results[name]
            r["train"].append(number(train, out))
            r["load"].append(number(load, out))
            r["acc"].append(number(acc, out))
            r["rss"].append(rss)
            print(f"run {run + 1}/{a.runs}  {name:34} train {r['train'][-1]:6.2f} s  "
                  f"peak RSS {rss:7.0f} MB", flush=True)
    med = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in results.items()}
    ours = results["feedforward (this crate)"]

    def ratio(name, key):
        """Median of the run-by-run ratios (runs alternate, so each pair saw the same machine)."""
        return statistics.median(o / f for o, f in zip(results[name][key], ours[key]))

    print(f"\nMedians of {a.runs} alternating runs (20 epochs, 56,000 rows, batch 32); "
          f"'x ours' is the median of the run-by-run ratios:")
    print("| system | training time, x ours | peak RSS, x ours | train 20 epochs | load + split "
          "| peak RSS | test accuracy |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, m in med.items():
        print(f"| {name} | {ratio(name, 'train'):.1f}x | {ratio(name, 'rss'):.1f}x | "
              f"{m['train']:.2f} s | {m['load']:.2f} s | {m['rss']:.0f} MB | {m['acc']:.4f} |")

if __name__ == "__main__":
    main()
