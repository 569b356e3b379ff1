# What scripts/compare_grid.sh and scripts/compare_predict.sh share; sourced by both (not run on
# its own). Expects the repository as the current directory.

# torch_python: sets `torch` to the Python of the virtual environment VENV (default
# target/grid-venv), creating it with `pip install torch numpy` on first use, and prints the
# PyTorch version on stderr; leaves `torch` empty when NO_TORCH is set.
torch_python() {
  torch=""
  [[ -z ${NO_TORCH:-} ]] || return 0
  local venv="${VENV:-target/grid-venv}"
  if [[ ! -x $venv/bin/python ]]; then
    echo "creating $venv with PyTorch from PyPI (large download)..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet torch numpy
  fi
  torch="$venv/bin/python"
  echo "PyTorch $("$torch" -c 'import torch; print(torch.__version__)')" >&2
}

# median: the median of the numbers on stdin, one per line (nothing for no input).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# fastest_ratio OURS PEER...: the fastest peer's time over ours ("1.25x": above 1, this crate is
# faster); peers given as "-" were not run; "-" when none was.
fastest_ratio() {
  local ours=$1
  shift
  awk -v o="$ours" -v peers="$*" 'BEGIN {
    n = split(peers, p, " "); m = 0
    for (i = 1; i <= n; i++) if (p[i] != "-" && (m == 0 || p[i] < m)) m = p[i]
    if (m > 0) printf "%.2fx", m / o; else printf "-" }'
}

# The processor line that every comparison prints first.
processor() { echo "$(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"; }
