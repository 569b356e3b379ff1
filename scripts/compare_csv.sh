#!/usr/bin/env bash
# The in-memory CSV read (CsvReader::read) against pandas.read_csv on the tables of issue 24,
# time and peak RSS (/usr/bin/time -v), runs alternating, medians printed side by side.
# Run it on an idle machine, from the repository:
#
#   scripts/compare_csv.sh                 # 2,000,000 rows (344 MB and 11 MB files), 5 runs each
#   ROWS=200000 RUNS=1 scripts/compare_csv.sh   # a quick check that it works
#
# Settings (environment): ROWS (default 2000000), RUNS (5), DIR (where the tables are written,
# default target/csv-bench), VENV (a Python venv with pandas, created in target/pandas-venv on
# first use), NO_PANDAS=1 to time this crate alone.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_common.sh

rows=${ROWS:-2000000}
runs=${RUNS:-5}
dir=${DIR:-target/csv-bench}
mkdir -p "$dir"

python=""
if [[ -z ${NO_PANDAS:-} ]]; then
  venv="${VENV:-target/pandas-venv}"
  if [[ ! -x $venv/bin/python ]]; then
    echo "creating $venv with pandas from PyPI..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet pandas numpy
  fi
  python="$venv/bin/python"
  echo "pandas $("$python" -c 'import pandas; print(pandas.__version__)')" >&2
fi

cargo build --release --quiet --example csv_benchmark
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
printf '%-34s %10s %10s %12s %12s\n' "table" "ours s" "pandas s" "ours MB" "pandas MB"
for kind in numeric small; do
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
echo "medians of $runs alternating runs; peak RSS of the whole process (pandas: with Python)"
