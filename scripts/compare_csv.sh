#!/usr/bin/env bash
# The in-memory CSV read (CsvReader::read) against pandas.read_csv on the tables of issue 24,
# time and peak RSS (/usr/bin/time -v), runs alternating, medians printed side by side; then
# one training epoch (20-64-3 MLP, batch 256, shuffled) on the numeric table read in memory,
# streamed from the CSV file (CsvStream, prefetched; exactly shuffled, and in a shuffle buffer
# of BUFFER rows: Order::ShuffleBuffer) and memory-mapped from .npy files (NpyDataset): the
# epoch's time, the peak RSS and the peak anonymous RSS (a memory map's file pages are page
# cache, counted in RSS but not in anonymous memory).
# Run it on an idle machine, from the repository:
#
#   scripts/compare_csv.sh                 # 2,000,000 rows (344 MB and 11 MB files), 5 runs each
#   ROWS=200000 RUNS=1 scripts/compare_csv.sh   # a quick check that it works
#   ROWS=20000000 RUNS=1 NO_READ=1 EPOCHS="stream stream-window npy" scripts/compare_csv.sh
#                                          # ten times larger (3.4 GB): the epochs' memory only
#   NO_READ=1 EPOCHS="memory stream-window" scripts/compare_csv.sh
#                                          # the shuffle buffer's epoch against the in-memory one
#
# Settings (environment): ROWS (default 2000000), RUNS (5), DIR (where the tables are written,
# default target/csv-bench), VENV (a Python venv with pandas, created in target/pandas-venv on
# first use), NO_PANDAS=1 to time this crate alone, NO_READ=1 to skip the read comparison
# (ours against pandas), EPOCHS (the epochs to run, among memory, memory-window, stream,
# stream-window, npy and npy-window: default "memory stream stream-window npy"), BUFFER (the shuffle
# buffer's rows for the -window epochs, default 65536). The .npy
# files are written from the table read in memory (about 1.7 times the decoded f32 matrix:
# 2.7 GB at 20,000,000 rows); delete DIR afterwards (20,000,000 rows: 3.4 GB of CSV, 1.8 GB
# of .npy).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_common.sh

rows=${ROWS:-2000000}
runs=${RUNS:-5}
dir=${DIR:-target/csv-bench}
mkdir -p "$dir"

python=""
epochs=${EPOCHS:-memory stream stream-window npy}
buffer=${BUFFER:-65536}
if [[ -z ${NO_PANDAS:-} && -z ${NO_READ:-} ]]; then
  venv="${VENV:-target/pandas-venv}"
  if [[ ! -x $venv/bin/python ]]; then
    echo "creating $venv with pandas from PyPI..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet pandas numpy
  fi
  python="$venv/bin/python"
  echo "pandas $("$python" -c 'import pandas; print(pandas.__version__)')" >&2
fi

cargo build --release --quiet --example csv_benchmark --features csv,npy
bench=target/release/examples/csv_benchmark

# measure COMMAND...: prints "SECONDS PEAK_MB" for one run (wall clock and maximum RSS).
measure() {
  local log
  log=$(mktemp)
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || { cat "$log" >&2; rm -f "$log"; return 1; }
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i] }
    /Maximum resident set size/ { kb = $2 }
    END { printf "%.3f %.1f\n", s, kb / 1024 }' "$log"
  rm -f "$log"
}

echo "processor: $(processor)"
[[ -n ${NO_READ:-} ]] || printf '%-34s %10s %10s %12s %12s\n' "table" "ours s" "pandas s" "ours MB" "pandas MB"
for kind in numeric small; do
  [[ -z ${NO_READ:-} ]] || break
  file="$dir/$kind-$rows.csv"
  [[ -f $file ]] || "$bench" generate "$kind" "$file" "$rows"
  "$bench" read "$file" target >&2  # warms the page cache, prints the decoded size
  : >"$dir/ours.txt"
  : >"$dir/pandas.txt"
  for ((run = 0; run < runs; run++)); do
    measure "$bench" read "$file" target >>"$dir/ours.txt"
    if [[ -n $python ]]; then
      measure "$python" -c "import pandas, sys; pandas.read_csv(sys.argv[1])" "$file" \
        >>"$dir/pandas.txt"
    fi
  done
  ours_s=$(cut -d' ' -f1 "$dir/ours.txt" | median)
  ours_mb=$(cut -d' ' -f2 "$dir/ours.txt" | median)
  pandas_s=$(cut -d' ' -f1 "$dir/pandas.txt" | median)
  pandas_mb=$(cut -d' ' -f2 "$dir/pandas.txt" | median)
  size=$(du -m "$file" | cut -f1)
  printf '%-34s %10s %10s %12s %12s\n' "$kind, $rows rows, ${size} MB" \
    "$ours_s" "${pandas_s:--}" "$ours_mb" "${pandas_mb:--}"
done
[[ -n ${NO_READ:-} ]] || echo "medians of $runs alternating runs; peak RSS of the whole process (pandas: with Python)"

# measure_epoch COMMAND...: prints "EPOCH_SECONDS PEAK_MB ANON_PEAK_MB" for one run: the
# epoch's time and the anonymous peak as the program prints them, the peak RSS from time -v.
measure_epoch() {
  local log out
  log=$(mktemp)
  out=$(/usr/bin/time -v "$@" 2>"$log") || { cat "$log" >&2; rm -f "$log"; return 1; }
  local kb
  kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
  rm -f "$log"
  local s anon
  s=$(sed -n 's/.*epoch_seconds=\([0-9.]*\).*/\1/p' <<<"$out")
  anon=$(sed -n 's/.*anon_peak_mb=\([0-9.]*\).*/\1/p' <<<"$out")
  echo "$s $(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }') $anon"
}

file="$dir/numeric-$rows.csv"
x="$dir/numeric-$rows.x.npy"
y="$dir/numeric-$rows.y.npy"
[[ -f $file ]] || "$bench" generate numeric "$file" "$rows"
if [[ " $epochs " == *" npy "* || " $epochs " == *" npy-window "* ]]; then
  [[ -f $x && -f $y ]] || "$bench" to-npy "$file" target "$x" "$y"
fi
echo
printf '%-34s %10s %12s %12s\n' "one epoch, numeric, $rows rows" "epoch s" "peak MB" "anon MB"
for mode in $epochs; do
  : >"$dir/epoch-$mode.txt"
done
for ((run = 0; run < runs; run++)); do
  for mode in $epochs; do
    case $mode in
      memory | stream) measure_epoch "$bench" "epoch-$mode" "$file" target ;;
      memory-window | stream-window) measure_epoch "$bench" "epoch-$mode" "$file" target "$buffer" ;;
      npy) measure_epoch "$bench" epoch-npy "$x" "$y" ;;
      npy-window) measure_epoch "$bench" epoch-npy-window "$x" "$y" "$buffer" ;;
      *) echo "unknown epoch $mode: memory, memory-window, stream, stream-window, npy or npy-window" >&2; exit 2 ;;
    esac >>"$dir/epoch-$mode.txt"
  done
done
for mode in $epochs; do
  case $mode in
    memory) what="in memory (CsvReader::read)" ;;
    stream) what="streamed (CsvReader::stream)" ;;
    memory-window) what="in memory, buffer of $buffer" ;;
    stream-window) what="streamed, buffer of $buffer" ;;
    npy) what="memory-mapped .npy (NpyDataset)" ;;
    npy-window) what=".npy, buffer of $buffer" ;;
  esac
  printf '%-34s %10s %12s %12s\n' "$what" \
    "$(cut -d' ' -f1 "$dir/epoch-$mode.txt" | median)" \
    "$(cut -d' ' -f2 "$dir/epoch-$mode.txt" | median)" \
    "$(cut -d' ' -f3 "$dir/epoch-$mode.txt" | median)"
done
echo "medians of $runs alternating runs; the in-memory peak includes reading the table"
