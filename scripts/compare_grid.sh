#!/usr/bin/env bash
# The speed grid: trains the perceptron 784-H-H-10 (ReLU, softmax + cross-entropy, SGD 0.01) for
# the same number of samples with this crate (examples/bench_mlp.rs) and with PyTorch on one and
# on two threads (scripts/mnist_torch.py --hidden H --batch B --samples N), alternating the runs
# so that all see the same machine, and prints the median training times and their ratios.
#
#   scripts/compare_grid.sh [RUNS] [POINT ...]     RUNS default 5; POINT is HIDDENxBATCH
#                                                  (default: 128x32 128x256 1024x32 1024x256
#                                                  4096x32 4096x256)
#
# Samples per point, as in the issue that set the grid: 359,424 (6 x 59,904) at H=128, 30,720 at
# H=1024, 3,072 at H=4096; SAMPLES=N overrides them all.
#
# PyTorch comes from PyPI, in a virtual environment: VENV (default target/grid-venv) is created
# with `pip install torch numpy` on first use (a download of several hundred MB); point VENV at an
# existing one to reuse it. NO_TORCH=1 times this crate only; TORCH_2=0 skips PyTorch on two
# threads (on a machine that other work keeps busy, its threads wait on each other for minutes).
#
# Measure on an idle machine: a build running beside a benchmark makes its numbers worthless.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  runs=$1
  shift
fi
points=("$@")
[[ ${#points[@]} -gt 0 ]] || points=(128x32 128x256 1024x32 1024x256 4096x32 4096x256)
venv="${VENV:-target/grid-venv}"

cargo build --release --quiet --example bench_mlp
ours=target/release/examples/bench_mlp
torch=""
if [[ -z ${NO_TORCH:-} ]]; then
  if [[ ! -x $venv/bin/python ]]; then
    echo "creating $venv with PyTorch from PyPI (large download)..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet torch numpy
  fi
  torch="$venv/bin/python"
  echo "PyTorch $("$torch" -c 'import torch; print(torch.__version__)')" >&2
fi

samples_for() {
  if [[ -n ${SAMPLES:-} ]]; then echo "$SAMPLES"; return; fi
  case $1 in
    128) echo 359424 ;;
    1024) echo 30720 ;;
    4096) echo 3072 ;;
    *) echo 30720 ;;
  esac
}

# The `train X.XXs` figure of a run's output.
train_seconds() { sed -n 's/^train \([0-9.]*\)s.*/\1/p'; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

model="$(lscpu | sed -n 's/^Model name: *//p')"
echo "$(nproc) cores, $model; medians of $runs alternating runs, training time in seconds"
rows=()
for point in "${points[@]}"; do
  h=${point%x*}
  b=${point#*x}
  n=$(samples_for "$h")
  n=$((n / b * b))
  args=(--hidden "$h" --batch "$b" --samples "$n")
  : >/tmp/grid-ours.$$ ; : >/tmp/grid-t1.$$ ; : >/tmp/grid-t2.$$
  for run in $(seq "$runs"); do
    "$ours" "${args[@]}" | train_seconds >>/tmp/grid-ours.$$
    if [[ -n $torch ]]; then
      TORCH_THREADS=1 "$torch" scripts/mnist_torch.py "${args[@]}" | train_seconds >>/tmp/grid-t1.$$
      if [[ ${TORCH_2:-1} != 0 ]]; then
        TORCH_THREADS=2 "$torch" scripts/mnist_torch.py "${args[@]}" | train_seconds >>/tmp/grid-t2.$$
      fi
    fi
    echo "  H=$h batch $b run $run/$runs: ours $(tail -1 /tmp/grid-ours.$$) s" \
      "${torch:+PyTorch 1 thread $(tail -1 /tmp/grid-t1.$$) s, 2 threads $(tail -1 /tmp/grid-t2.$$) s}" >&2
  done
  o=$(median </tmp/grid-ours.$$)
  if [[ -n $torch ]]; then
    t1=$(median </tmp/grid-t1.$$)
    t2=$(median </tmp/grid-t2.$$)
    ratio=$(awk -v o="$o" -v a="$t1" -v b="${t2:-0}" \
      'BEGIN { m = (b > 0 && b < a) ? b : a; printf "%.2fx", m / o }')
    t2=${t2:--}
    rows+=("| $h, $b | $n | $o | $t1 | $t2 | $ratio |")
  else
    rows+=("| $h, $b | $n | $o | - | - | - |")
  fi
  rm -f /tmp/grid-ours.$$ /tmp/grid-t1.$$ /tmp/grid-t2.$$
done
echo
echo "| H, batch | samples | feedforward | PyTorch, 1 thread | PyTorch, 2 threads | fastest PyTorch / feedforward |"
echo "| --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
