#!/usr/bin/env bash
# Before and after: trains with examples/bench_mlp.rs built at two git revisions of this crate,
# alternating the runs so that both see the same machine, and prints the median training times
# and their ratio per point (above 1: AFTER is faster).
#
#   scripts/compare_revisions.sh BEFORE AFTER [RUNS] [POINT ...]
#       BEFORE, AFTER   git revisions (main, a branch, a commit)
#       RUNS            runs per binary and point [default: 5]
#       POINT           HIDDENxBATCH [default: 4096x32 1024x32 128x32 4096x256 0x32]
#
# Samples per point as scripts/compare_grid.sh: 359,424 at H=128, 30,720 at H=1024, 3,072 at
# H=4096, the tutorial's 20 epochs (1,120,000) at H=0; SAMPLES=N overrides them all. Each
# revision's files are exported (`git archive`) to target/revisions/COMMIT/ and built there with
# their own target directory (the first build of each takes minutes).
#
# Written for issue #27 (the step taken in the weight gradient's sweep: 4096x32 is the point it
# targets, the others check that nothing else got slower). Measure on an idle machine: a build
# running beside a benchmark makes its numbers worthless.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_common.sh
[[ $# -ge 2 ]] || { sed -n '2,17p' "$0" >&2; exit 2; }
before=$1 after=$2
shift 2
runs=5
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  runs=$1
  shift
fi
points=("$@")
[[ ${#points[@]} -gt 0 ]] || points=(4096x32 1024x32 128x32 4096x256 0x32)

# build REVISION: prints the path of bench_mlp built at REVISION.
build() {
  local sha dir
  sha=$(git rev-parse --short=12 "$1^{commit}")
  dir=target/revisions/$sha
  if [[ ! -d $dir ]]; then
    mkdir -p "$dir"
    git archive "$sha" | tar -x -C "$dir"
  fi
  (cd "$dir" && CARGO_TARGET_DIR=target cargo build --release --quiet --example bench_mlp) >&2
  echo "$dir/target/release/examples/bench_mlp"
}

samples_for() {
  if [[ -n ${SAMPLES:-} ]]; then echo "$SAMPLES"; return; fi
  case $1 in
    0) echo 1120000 ;;
    128) echo 359424 ;;
    1024) echo 30720 ;;
    4096) echo 3072 ;;
    *) echo 30720 ;;
  esac
}

# seconds BINARY HIDDEN BATCH SAMPLES: the training time bench_mlp prints (`train X.XXs`).
seconds() {
  "$1" --hidden "$2" --batch "$3" --samples "$4" | sed -n 's/.*train \([0-9.]*\)s.*/\1/p' | head -1
}

bin_before=$(build "$before")
bin_after=$(build "$after")
echo "$(processor); before $before ($bin_before), after $after ($bin_after), $runs runs each"
printf '| H, batch | before (s) | after (s) | before / after |\n| --- | --- | --- | --- |\n'
for point in "${points[@]}"; do
  hidden=${point%x*} batch=${point#*x}
  samples=$(samples_for "$hidden")
  times_before=() times_after=()
  for ((i = 0; i < runs; i++)); do
    times_before+=("$(seconds "$bin_before" "$hidden" "$batch" "$samples")")
    times_after+=("$(seconds "$bin_after" "$hidden" "$batch" "$samples")")
  done
  b=$(printf '%s\n' "${times_before[@]}" | median)
  a=$(printf '%s\n' "${times_after[@]}" | median)
  printf '| %s, %s | %s | %s | %s |\n' "$hidden" "$batch" "$b" "$a" \
    "$(awk -v b="$b" -v a="$a" 'BEGIN { printf "%.2fx", b / a }')"
done
