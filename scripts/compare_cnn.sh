#!/usr/bin/env bash
# Convolutional networks' speed (issue 23): LeNet-5 and the small convnet trained for SAMPLES
# samples on synthetic 28 x 28 images, then inference at batch 1 and 1,000, with this crate
# (examples/bench_cnn.rs) and with PyTorch (scripts/cnn_torch.py, the same runs), each on 1 and
# on 2 threads, alternating the runs; prints the medians and the ratios (PyTorch's time over
# ours: above 1, this crate is faster).
#
#   scripts/compare_cnn.sh [RUNS]    RUNS default 5
#
# SAMPLES (default 60032, one MNIST epoch in whole batches of 64), SINGLE (predictions of one
# image timed per run, default 200) and MODELS (default "lenet5 convnet") override the
# settings; a quick check of the script itself: SAMPLES=128 SINGLE=5 scripts/compare_cnn.sh 1.
# VENV and NO_TORCH as in scripts/compare_grid.sh (scripts/bench_common.sh).
#
# Measure on an idle machine: a build running beside a benchmark makes its numbers worthless.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_common.sh
runs=${1:-5}
samples=${SAMPLES:-60032}
single=${SINGLE:-200}
read -r -a models <<<"${MODELS:-lenet5 convnet}"

cargo build --release --quiet --example bench_cnn
ours=target/release/examples/bench_cnn
torch_python

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One run: appends its three figures (train s, predict 1 ms, predict 1000 s) to FILE.{train,one,thousand}.
record() {
  local file=$1
  shift
  local out
  out=$("$@")
  sed -n 's/^train \([0-9.]*\)s.*/\1/p' <<<"$out" >>"$file.train"
  sed -n 's/^predict 1: \([0-9.]*\)ms/\1/p' <<<"$out" >>"$file.one"
  sed -n 's/^predict 1000: \([0-9.]*\)s/\1/p' <<<"$out" >>"$file.thousand"
}

# ratio THEIRS OURS: "1.25x" (THEIRS / OURS), "-" when THEIRS is "-".
ratio() { [[ $1 == - ]] && echo - || awk -v t="$1" -v o="$2" 'BEGIN { printf "%.2fx", t / o }'; }

echo "$(processor); $samples training samples at batch 64, medians of $runs alternating runs"
lines=()
for model in "${models[@]}"; do
  args=(--model "$model" --samples "$samples" --single "$single")
  for run in $(seq "$runs"); do
    for threads in 1 2; do
      record "$tmp/ours-$model-$threads" "$ours" "${args[@]}" --threads "$threads"
      if [[ -n $torch ]]; then
        record "$tmp/torch-$model-$threads" "$torch" scripts/cnn_torch.py "${args[@]}" --threads "$threads"
      fi
    done
    echo "  $model run $run/$runs: ours $(tail -1 "$tmp/ours-$model-1.train") s (1 thread)," \
      "$(tail -1 "$tmp/ours-$model-2.train") s (2)" \
      "${torch:+; PyTorch $(tail -1 "$tmp/torch-$model-1.train") s (1), $(tail -1 "$tmp/torch-$model-2.train") s (2)}" >&2
  done
  for threads in 1 2; do
    # Per figure (train s, predict 1 ms, predict 1000 s): "ours | PyTorch | ratio".
    line="| $model | $threads |"
    for what in train one thousand; do
      o=$(median <"$tmp/ours-$model-$threads.$what")
      t=-
      [[ -z $torch ]] || t=$(median <"$tmp/torch-$model-$threads.$what")
      line+=" $o | $t | $(ratio "$t" "$o") |"
    done
    lines+=("$line")
  done
done
echo
echo "| model | threads | train s, ours | train s, PyTorch | PyTorch / ours | predict 1 ms, ours | predict 1 ms, PyTorch | PyTorch / ours | predict 1000 s, ours | predict 1000 s, PyTorch | PyTorch / ours |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${lines[@]}"
