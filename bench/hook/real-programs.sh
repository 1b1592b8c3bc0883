#!/usr/bin/env bash
# Issue 18's targets: whole-process runs of real Debian programs (built without frame pointers)
# and of bench/hook/alloc_heavy.c, plain, under `foom run` (the native build ./foom makes) and
# under heaptrack, interleaved, ROUNDS rounds, medians of the wall time and of the CPU time of the
# whole command (user + system, children included: foom run's recorder, heaptrack's interpreter).
# Then the hook alone (tests/Programs/Foom.RingDrain, no session tables) with the table walk
# against libunwind (ring option 8, LIBUNWIND_ONLY) on the same workloads, and foom run's fixed
# cost (`foom run -- /bin/true` against /bin/true).
#
#   bench/hook/real-programs.sh [ROUNDS]        (default 3)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="${1:-3}"
work="$(mktemp -d /tmp/foom-real-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

gcc -O2 -g -fomit-frame-pointer -fno-optimize-sibling-calls "$repo/bench/hook/alloc_heavy.c" -o "$work/churn_nofp" -lpthread
gcc -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls "$repo/bench/hook/alloc_heavy.c" -o "$work/churn_fp" -lpthread
python3 -c 'import json; print(json.dumps([{"a": i, "b": str(i), "c": [i, i + 1]} for i in range(300000)]))' >"$work/input.json"
"$repo/foom" --help >/dev/null   # builds .foom/bin and .foom/native when the sources changed
[ -x "$repo/.foom/native/foom" ] || { echo "no native foom run: see $repo/.foom/native-build.log"; exit 1; }
dotnet build "$repo/tests/Programs/Foom.RingDrain" -c Release -o "$work/drain" -nologo -v quiet >/dev/null
foom="$repo/.foom/native/foom"
export FOOM_DATA="$work/data"

# The workloads, as issue 18 measured them: set_command NAME fills the array `command`.
names=(gawk jq sqlite3 python3 churn-nofp threads16-fp)
set_command() {
  case "$1" in
    gawk) command=(gawk 'BEGIN { for (i = 0; i < 300000; i++) a[i] = i "x" }') ;;
    jq) command=(jq -c 'map(.a) | add' "$work/input.json") ;;
    sqlite3) command=(sqlite3 :memory: 'create table t(a, b); with recursive c(x) as (select 1 union all select x + 1 from c where x < 200000) insert into t select x, hex(randomblob(16)) from c; select count(*) from t;') ;;
    python3) command=(python3 -c 'd = {i: str(i) for i in range(1000000)}') ;;
    churn-nofp) command=("$work/churn_nofp" 2000000) ;;
    threads16-fp) command=("$work/churn_fp" 12000000 16) ;;
  esac
}
# run NAME VARIANT PREFIX...: one timed run; appends "NAME VARIANT wall cpu".
run() {
  local name="$1" variant="$2"; shift 2
  local -a command
  set_command "$name"
  /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" "${command[@]}" >"$work/out" 2>"$work/err" \
    || { echo "$name $variant failed:"; tail -5 "$work/err"; exit 1; }
  local wall user sys
  read -r wall user sys <"$work/time"
  echo "$name $variant $wall $(echo "$user + $sys" | bc)" >>"$work/results"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(heaptrack --version 2>/dev/null | head -1)"
for round in $(seq "$rounds"); do
  for name in "${names[@]}"; do
    run "$name" plain
    run "$name" foom "$foom" run --app bench --
    run "$name" heaptrack heaptrack -o "$work/heaptrack.$name.$round"
    run "$name" hook-tables dotnet "$work/drain/Foom.RingDrain.dll" run --dir /dev/shm --
    run "$name" hook-libunwind dotnet "$work/drain/Foom.RingDrain.dll" run --dir /dev/shm --options 8 --
  done
  /usr/bin/time -f "%e %U %S" -o "$work/time" /bin/true && read -r w u s <"$work/time" && echo "true plain $w $(echo "$u + $s" | bc)" >>"$work/results"
  /usr/bin/time -f "%e %U %S" -o "$work/time" "$foom" run --app startup -- /bin/true >/dev/null 2>&1 && read -r w u s <"$work/time" && echo "true foom $w $(echo "$u + $s" | bc)" >>"$work/results"
done
echo "load after the rounds: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
value() { awk -v n="$1" -v v="$2" -v c="$3" '$1==n && $2==v {print $c}' "$work/results" | median; }
ratio() { echo "scale=2; $1 / $2" | bc; }
printf '\n%-13s %8s %8s %8s %7s %7s %7s | %8s %8s %8s %7s %7s | %9s %9s\n' workload "plain s" "foom s" "htrack s" "foom/p" "ht/p" "foom/ht" \
  "cpu p" "cpu foom" "cpu ht" "foom/p" "ht/p" "tables/p" "libunw/p"
for name in "${names[@]}"; do
  p=$(value "$name" plain 3); f=$(value "$name" foom 3); h=$(value "$name" heaptrack 3)
  cp=$(value "$name" plain 4); cf=$(value "$name" foom 4); ch=$(value "$name" heaptrack 4)
  t=$(value "$name" hook-tables 4); l=$(value "$name" hook-libunwind 4)
  printf '%-13s %8s %8s %8s %7s %7s %7s | %8s %8s %8s %7s %7s | %9s %9s\n' "$name" "$p" "$f" "$h" "$(ratio "$f" "$p")" "$(ratio "$h" "$p")" "$(ratio "$f" "$h")" \
    "$cp" "$cf" "$ch" "$(ratio "$cf" "$cp")" "$(ratio "$ch" "$cp")" "$(ratio "$t" "$cp")" "$(ratio "$l" "$cp")"
done
echo "(tables/p, libunw/p: CPU of the hook with the C# drain, which is a .NET process of its own, against plain)"
echo "fixed cost: /bin/true plain $(value true plain 3) s wall, $(value true plain 4) s CPU; under foom run $(value true foom 3) s wall, $(value true foom 4) s CPU"
