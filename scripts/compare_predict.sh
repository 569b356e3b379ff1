#!/usr/bin/env bash
# Inference speed: classifies synthetic rows with a 784-H-10 perceptron (ReLU, softmax), a batch
# at a time, with this crate (examples/bench_predict.rs) and with PyTorch on one and on two
# threads (scripts/predict_torch.py, under torch.inference_mode()), alternating the runs, and
# prints the median images per second, microseconds per call and ratios.
#
#   scripts/compare_predict.sh [RUNS] [BATCH ...]   RUNS default 5; BATCH default: 1 1000
#
# Rows per point: 100,000 at a batch of 1, 1,000,000 otherwise (ROWS=N overrides); H=128
# (HIDDEN=H overrides). VENV, NO_TORCH and BURN as in scripts/compare_grid.sh (BURN's binary is
# run with --predict and the same options).
#
# Measure on an idle machine: a build running beside a benchmark makes its numbers worthless.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_common.sh
runs=5
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ && $# -gt 0 ]]; then
  runs=$1
  shift
fi
batches=("$@")
[[ ${#batches[@]} -gt 0 ]] || batches=(1 1000)
hidden=${HIDDEN:-128}

cargo build --release --quiet --example bench_predict
ours=target/release/examples/bench_predict
torch_python

# The `predict X.XXs` figure of a run's output.
seconds() { sed -n 's/^predict \([0-9.]*\)s.*/\1/p'; }

# "images/s (us per call)" of a median time in seconds.
cell() {
  if [[ $1 == - ]]; then echo "-"; return; fi
  awk -v s="$1" -v n="$2" -v b="$3" 'BEGIN { printf "%.0f K/s (%.2f us)", n / s / 1000, s / (n / b) * 1e6 }'
}

echo "$(processor); 784-$hidden-10, medians of $runs alternating runs"
rows=()
for b in "${batches[@]}"; do
  n=${ROWS:-$([[ $b == 1 ]] && echo 100000 || echo 1000000)}
  n=$((n / b * b))
  args=(--hidden "$hidden" --batch "$b" --rows "$n")
  : >/tmp/pred-ours.$$ ; : >/tmp/pred-t1.$$ ; : >/tmp/pred-t2.$$ ; : >/tmp/pred-burn.$$
  for run in $(seq "$runs"); do
    "$ours" "${args[@]}" | seconds >>/tmp/pred-ours.$$
    if [[ -n $torch ]]; then
      TORCH_THREADS=1 "$torch" scripts/predict_torch.py "${args[@]}" | seconds >>/tmp/pred-t1.$$
      TORCH_THREADS=2 "$torch" scripts/predict_torch.py "${args[@]}" | seconds >>/tmp/pred-t2.$$
    fi
    if [[ -n ${BURN:-} ]]; then
      "$BURN" --predict "${args[@]}" | seconds >>/tmp/pred-burn.$$
    fi
    echo "  batch $b run $run/$runs: ours $(tail -1 /tmp/pred-ours.$$) s" \
      "${torch:+PyTorch 1 thread $(tail -1 /tmp/pred-t1.$$) s, 2 threads $(tail -1 /tmp/pred-t2.$$) s}" \
      "${BURN:+burn $(tail -1 /tmp/pred-burn.$$) s}" >&2
  done
  o=$(median </tmp/pred-ours.$$)
  t1=- ; t2=- ; bu=-
  if [[ -n $torch ]]; then
    t1=$(median </tmp/pred-t1.$$)
    t2=$(median </tmp/pred-t2.$$)
  fi
  [[ -n ${BURN:-} ]] && bu=$(median </tmp/pred-burn.$$)
  ratio=$(fastest_ratio "$o" "$t1" "$t2" "$bu")
  rows+=("| $b | $n | $(cell "$o" "$n" "$b") | $(cell "$t1" "$n" "$b") | $(cell "$t2" "$n" "$b") | $(cell "$bu" "$n" "$b") | $ratio |")
  rm -f /tmp/pred-ours.$$ /tmp/pred-t1.$$ /tmp/pred-t2.$$ /tmp/pred-burn.$$
done
echo
echo "| batch | rows | feedforward | PyTorch, 1 thread | PyTorch, 2 threads | burn (Flex) | fastest peer / feedforward |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
