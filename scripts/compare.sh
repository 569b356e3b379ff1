#!/usr/bin/env bash
# Side-by-side timing of the tutorial's MNIST training: our `mnist` example against the
# tutorial's numpy code on numpy arrays (../shared/reference/mnist_seed_numpy.py --arrays), and
# PyTorch when it is installed in the virtual environment. Runs alternate so that both see the
# same machine; medians and ratios are printed at the end.
#
#   scripts/compare.sh [RUNS]        (default 5; MNIST_DIR defaults to ../shared/data/mnist)
#
# Measure on an idle machine: a build running beside a benchmark makes its numbers worthless.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
export MNIST_DIR="${MNIST_DIR:-$(cd .. && pwd)/shared/data/mnist}"
venv="${VENV:-target/compare-venv}"

cargo build --release --quiet --example mnist
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy pandas scikit-learn
fi
exec "$venv/bin/python" scripts/compare.py --runs "$runs" --data-dir "$MNIST_DIR"
