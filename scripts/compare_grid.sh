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
# H=1024, 3,072 at H=4096; SAMPLES=N overrides them all. H=0 is the tutorial's model (784-10
# softmax regression, `0x32`): 1,120,000 samples, its 20 epochs of 56,000 rows.
#
# PyTorch comes from PyPI, in a virtual environment: VENV (default target/grid-venv) is created
# with `pip install torch numpy` on first use (a download of several hundred MB); point VENV at an
# existing one to reuse it. NO_TORCH=1 times this crate only; TORCH_2=0 skips PyTorch on two
# threads (on a machine that other work keeps busy, its threads wait on each other for minutes).
#
# BURN=PATH adds burn on its Flex CPU backend: PATH is the binary of scripts/burn_mlp (build it
# with `cargo build --release --manifest-path scripts/burn_mlp/Cargo.toml`; see its README), run
# with the same options; the ratio is then against the fastest of PyTorch and burn.
#
# Measure on an idle machine: a build running beside a benchmark makes its numbers worthless.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_common.sh
runs=5
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  runs=$1
  shift
fi
points=("$@")
[[ ${#points[@]} -gt 0 ]] || points=(128x32 128x256 1024x32 1024x256 4096x32 4096x256)

cargo build --release --quiet --example bench_mlp
ours=target/release/examples/bench_mlp
torch_python

samples_for() {
  if [[ -n ${SAMPLES:-} ]]; then echo "$SAMPLES"; return; fi
  case $1 in
    128) echo 359424 ;;
    1024) echo 30720 ;;
    4096) echo 3072 ;;
    0) echo 1120000 ;;
    *) echo 30720 ;;
  esac
}

# The `train X.XXs` figure of a run's output.
train_seconds() { sed -n 's/^train \([0-9.]*\)s.*/\1/p'; }

echo "$(processor); medians of $runs alternating runs, training time in seconds"
rows=()
for point in "${points[@]}"; do
  h=${point%x*}
  b=${point#*x}
  n=$(samples_for "$h")
  n=$((n / b * b))
  args=(--hidden "$h" --batch "$b" --samples "$n")
  : >/tmp/grid-ours.$$ ; : >/tmp/grid-t1.$$ ; : >/tmp/grid-t2.$$ ; : >/tmp/grid-burn.$$
  for run in $(seq "$runs"); do
    "$ours" "${args[@]}" | train_seconds >>/tmp/grid-ours.$$
    if [[ -n $torch ]]; then
      TORCH_THREADS=1 "$torch" scripts/mnist_torch.py "${args[@]}" | train_seconds >>/tmp/grid-t1.$$
      if [[ ${TORCH_2:-1} != 0 ]]; then
        TORCH_THREADS=2 "$torch" scripts/mnist_torch.py "${args[@]}" | train_seconds >>/tmp/grid-t2.$$
      fi
    fi
    if [[ -n ${BURN:-} ]]; then
      "$BURN" "${args[@]}" | train_seconds >>/tmp/grid-burn.$$
    fi
    echo "  H=$h batch $b run $run/$runs: ours $(tail -1 /tmp/grid-ours.$$) s" \
      "${torch:+PyTorch 1 thread $(tail -1 /tmp/grid-t1.$$) s, 2 threads $(tail -1 /tmp/grid-t2.$$) s}" \
      "${BURN:+burn $(tail -1 /tmp/grid-burn.$$) s}" >&2
  done
  o=$(median </tmp/grid-ours.$$)
  t1=- ; t2=- ; bu=-
  if [[ -n $torch ]]; then
    t1=$(median </tmp/grid-t1.$$)
    t2=$(median </tmp/grid-t2.$$)
    t2=${t2:--}
  fi
  [[ -n ${BURN:-} ]] && bu=$(median </tmp/grid-burn.$$)
  ratio=$(fastest_ratio "$o" "$t1" "$t2" "$bu")
  rows+=("| $h, $b | $n | $o | $t1 | $t2 | $bu | $ratio |")
  rm -f /tmp/grid-ours.$$ /tmp/grid-t1.$$ /tmp/grid-t2.$$ /tmp/grid-burn.$$
done
echo
echo "| H, batch | samples | feedforward | PyTorch, 1 thread | PyTorch, 2 threads | burn (Flex) | fastest peer / feedforward |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
