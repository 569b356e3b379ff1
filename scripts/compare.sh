#!/usr/bin/env bash
# Side-by-side timing of the tutorial's MNIST training: our `mnist` example against the
# tutorial's numpy code on numpy arrays (reference/mnist_seed_numpy.py --arrays), and PyTorch
# when it is installed in the virtual environment. Runs alternate so that both see the same
# machine; medians and ratios are printed at the end.
#
#   scripts/compare.sh [RUNS]        (default 5; the data: $MNIST_DIR, else data/mnist)
#
# Needs python3 with its venv module, GNU time (/usr/bin/time) and, the first time, PyPI: numpy,
# pandas and scikit-learn are installed into target/compare-venv (VENV=DIR picks another
# environment, e.g. one that also has torch). The crate itself never needs Python.
#
# Measure on an idle machine: a build running beside a benchmark makes its numbers worthless.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
data="${MNIST_DIR:-data/mnist}"
venv="${VENV:-target/compare-venv}"

need() {
  echo "scripts/compare.sh: $*" >&2
  exit 1
}
command -v python3 >/dev/null 2>&1 || need "needs python3 (with its venv module) to run the numpy reference"
[ -x /usr/bin/time ] || need "needs GNU time at /usr/bin/time for peak memory (Debian/Ubuntu: apt-get install time)"

cargo build --release --quiet --example mnist
if ! "$venv/bin/python" -c "import numpy, pandas, sklearn" >/dev/null 2>&1; then
  echo "Setting up $venv (numpy, pandas, scikit-learn from PyPI)..." >&2
  mkdir -p "$(dirname "$venv")"
  { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet numpy pandas scikit-learn; } \
    >"$venv.log" 2>&1 \
    || need "could not install numpy, pandas and scikit-learn into $venv: needs python3-venv and access to PyPI (details in $venv.log)"
fi
exec "$venv/bin/python" scripts/compare.py --runs "$runs" --data-dir "$data"
