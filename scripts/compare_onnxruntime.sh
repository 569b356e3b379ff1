#!/usr/bin/env bash
# Inference against onnxruntime on identical weights: examples/bench_predict.rs builds a
# 784-...-10 perceptron (ReLU, softmax), writes it with save_onnx and times our `predict`;
# scripts/predict_onnxruntime.py times onnxruntime's CPU session on that file and the same
# synthetic rows, on 1 and on 2 intra-op threads. Runs alternate; prints the medians of the
# microseconds per call, the images per second and the ratio (onnxruntime's fastest time over
# ours: above 1, this crate is faster), with the checksums that show both computed the same.
#
#   scripts/compare_onnxruntime.sh [RUNS] [BATCH ...]   RUNS default 5; BATCH default: 1 1000
#
# HIDDEN=256,128 for 784-256-128-10 (default 128). Rows per point: 100,000 at a batch of 1,
# 1,000,000 otherwise (ROWS=N overrides). ORT_VENV (default target/ort-venv) is created with
# `pip install onnxruntime numpy` on first use.
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
batches=("$@")
[[ ${#batches[@]} -gt 0 ]] || batches=(1 1000)
hidden=${HIDDEN:-128}

venv=${ORT_VENV:-target/ort-venv}
if [[ ! -x $venv/bin/python ]]; then
  echo "creating $venv with onnxruntime from PyPI..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet onnxruntime numpy
fi
python="$venv/bin/python"

cargo build --release --quiet --example bench_predict
ours=target/release/examples/bench_predict
model=$(mktemp --suffix=.onnx)
trap 'rm -f "$model" /tmp/ort-*.$$' EXIT

us() { sed -n 's/.* \([0-9.]*\) us per call.*/\1/p'; }
sum() { sed -n 's/.*checksum \([-0-9.]*\).*/\1/p'; }

echo "$(processor); 784-${hidden//,/-}-10; onnxruntime $("$python" -c 'import onnxruntime; print(onnxruntime.__version__)'); medians of $runs alternating runs"
printf '%-6s | %-26s | %-26s | %-26s | %s\n' batch feedforward "onnxruntime, 1 thread" "onnxruntime, 2 threads" "ratio"
for b in "${batches[@]}"; do
  n=${ROWS:-$([[ $b == 1 ]] && echo 100000 || echo 1000000)}
  n=$((n / b * b))
  args=(--batch "$b" --rows "$n")
  : >/tmp/ort-ours.$$ ; : >/tmp/ort-1.$$ ; : >/tmp/ort-2.$$
  for run in $(seq "$runs"); do
    out=$("$ours" --hidden "$hidden" --onnx "$model" "${args[@]}")
    echo "$out" | us >>/tmp/ort-ours.$$
    ours_sum=$(echo "$out" | sum)
    for t in 1 2; do
      out=$(ORT_THREADS=$t "$python" scripts/predict_onnxruntime.py --model "$model" "${args[@]}")
      echo "$out" | us >>/tmp/ort-$t.$$
      ort_sum=$(echo "$out" | sum)
    done
  done
  o=$(median </tmp/ort-ours.$$); t1=$(median </tmp/ort-1.$$); t2=$(median </tmp/ort-2.$$)
  cell() { awk -v u="$1" -v b="$b" 'BEGIN { printf "%.2f us, %.0f K images/s", u, b / u * 1000 }'; }
  printf '%-6s | %-26s | %-26s | %-26s | %s (checksums %s, %s)\n' "$b" "$(cell "$o")" "$(cell "$t1")" \
    "$(cell "$t2")" "$(fastest_ratio "$o" "$t1" "$t2")" "$ours_sum" "$ort_sum"
done
