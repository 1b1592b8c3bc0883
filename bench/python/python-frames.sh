#!/usr/bin/env bash
# Python frames' cost (issue 15, item 3): bench/python/alloc_heavy.py (ROWS rows: a dict, a list
# and a 600-999-byte string each) run plain, under `foom run` with Python frames (the default),
# under `foom run` with FOOM_PYTHON_FRAMES=0 (native stacks only), and under heaptrack,
# interleaved, ROUNDS rounds, medians of the whole command's wall time. memray, the Python
# memory profiler, is not measured: it comes from PyPI only, which this machine cannot reach.
#
#   bench/python/python-frames.sh [ROUNDS] [ROWS] [PYTHON]   (defaults: 5, 300000, python3)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="${1:-5}"
rows="${2:-300000}"
python="${3:-python3}"
work="$(mktemp -d /tmp/foom-python-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$repo/foom" --help >/dev/null   # builds .foom/bin and .foom/native when the sources changed
[ -x "$repo/.foom/native/foom" ] || { echo "no native foom run: see $repo/.foom/native-build.log"; exit 1; }
foom="$repo/.foom/native/foom"
export FOOM_DATA="$work/data"
program="$repo/bench/python/alloc_heavy.py"

# timed NAME COMMAND...: appends "NAME wall user sys" (the command's, children included)
timed() {
  local name="$1"; shift
  /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" >"$work/$name.out" 2>"$work/$name.err" \
    || { echo "$name failed:"; cat "$work/$name.err"; exit 1; }
  grep -qx "$rows" "$work/$name.out" || { echo "$name printed $(cat "$work/$name.out"), not $rows"; exit 1; }
  echo "$name $(cat "$work/time")" >>"$work/results"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $($python --version), $(heaptrack --version 2>/dev/null | head -1)"
for round in $(seq "$rounds"); do
  timed plain "$python" "$program" "$rows"
  timed foom "$foom" run --app bench-python -- "$python" "$program" "$rows"
  timed foom-native-only env FOOM_PYTHON_FRAMES=0 "$foom" run --app bench-native -- "$python" "$program" "$rows"
  timed heaptrack heaptrack -o "$work/heaptrack.$round" "$python" "$program" "$rows"
done
echo "load after the rounds: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
column_of() { awk -v n="$1" -v c="$2" '$1==n {print $c}' "$work/results" | median; }
printf '\n%-18s %8s %8s %8s %10s\n' variant "wall s" "user s" "sys s" "× plain"
plain=$(column_of plain 2)
for name in plain foom foom-native-only heaptrack; do
  wall=$(column_of $name 2)
  printf '%-18s %8s %8s %8s %10s\n' "$name" "$wall" "$(column_of $name 3)" "$(column_of $name 4)" "$(echo "scale=2; $wall / $plain" | bc)"
done
# What the last Python-frames session recorded: its Python frames' note and the map's size.
session=$(ls -d "$FOOM_DATA"/bench-python/sessions/*/ | tail -1)
echo
echo "last session: $(cat "$session"/python-frames-*.txt | cut -f2); $(wc -l <"$session"/perf-python-*.map) map lines, $(du -k "$session"/perf-python-*.map | cut -f1) KiB"
