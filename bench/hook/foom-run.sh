#!/usr/bin/env bash
# Issue 3's targets, measured with whole-process runs of `foom run` itself (the native build
# ./foom makes in .foom/native and runs for `run`), side by side in one run:
#   - bench/hook/alloc_heavy.c (PAIRS malloc/free pairs) plain, under `foom run`, and under
#     `heaptrack -o FILE`, interleaved, ROUNDS rounds, medians: wall time; the target's own CPU
#     time and memory (it prints /proc/self/status and getrusage at exit);
#   - the recorder's CPU per event: foom run's CPU (its own and the target's, from
#     /usr/bin/time) minus the target's own, minus what `foom run -- /bin/true` costs (start-up);
#   - the state on disk per live allocation: `foom run` of bench/hook/hold_many.c, which exits
#     holding BLOCKS blocks from 1024 stacks, and the sizes of its session's files;
#   - the recorder's applier alone: tests/Programs/Foom.RingDrain lets the target fill a 256 MiB ring, then
#     drains it applying every event to a session's tables (wall and per CPU second).
#
#   bench/hook/foom-run.sh [ROUNDS] [PAIRS] [BLOCKS]      (defaults: 5, 2000000, 1000000)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="${1:-5}"
pairs="${2:-2000000}"
blocks="${3:-1000000}"
work="$(mktemp -d /tmp/foom-run-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

gcc -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls "$repo/bench/hook/alloc_heavy.c" -o "$work/alloc_heavy"
gcc -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls "$repo/bench/hook/hold_many.c" -o "$work/hold_many"
"$repo/foom" --help >/dev/null   # builds .foom/bin and .foom/native when the sources changed
dotnet build "$repo/tests/Programs/Foom.RingDrain" -c Release -o "$work/drain" -nologo -v quiet >/dev/null
[ -x "$repo/.foom/native/foom" ] || { echo "no native foom run: see $repo/.foom/native-build.log"; exit 1; }
foom=("$repo/.foom/native/foom")
export FOOM_DATA="$work/data"

# timed NAME COMMAND...: appends "NAME wall user sys target_user target_sys rss_anon_kb rss_file_kb hwm_kb target_wall"
# (user and sys: the command's with its children's, the target included).
timed() {
  local name="$1"; shift
  /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" >"$work/$name.out" 2>"$work/$name.err" \
    || { echo "$name failed:"; cat "$work/$name.err"; exit 1; }
  local target_user target_sys anon file hwm
  target_user=$(awk '/^cpu /{print $2}' "$work/$name.err"); target_sys=$(awk '/^cpu /{print $5}' "$work/$name.err")
  anon=$(awk '/^RssAnon/{print $2}' "$work/$name.err"); file=$(awk '/^RssFile/{print $2}' "$work/$name.err")
  hwm=$(awk '/^VmHWM/{print $2}' "$work/$name.err"); target_wall=$(awk '/^wall /{print $2}' "$work/$name.err")
  echo "$name $(cat "$work/time") ${target_user:--} ${target_sys:--} ${anon:--} ${file:--} ${hwm:--} ${target_wall:--}" >>"$work/results"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(heaptrack --version 2>/dev/null | head -1)"
for round in $(seq "$rounds"); do
  timed plain "$work/alloc_heavy" "$pairs"
  timed foom "${foom[@]}" run --app bench -- "$work/alloc_heavy" "$pairs"
  timed heaptrack heaptrack -o "$work/heaptrack.$round" "$work/alloc_heavy" "$pairs"
  timed foom-startup "${foom[@]}" run --app startup -- /bin/true
done
echo "load after the rounds: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
column_of() { awk -v n="$1" -v c="$2" '$1==n && $c!="-" {print $c}' "$work/results" | median; }
ratio() { echo "scale=3; ($1) / ($2)" | bc; }

printf '\n%-14s %8s %9s %8s %8s %11s %11s %12s %12s %10s\n' variant "wall s" "target s" "user s" "sys s" "target usr" "target sys" "RssAnon KiB" "RssFile KiB" "HWM KiB"
for name in plain foom heaptrack foom-startup; do
  printf '%-14s %8s %9s %8s %8s %11s %11s %12s %12s %10s\n' "$name" "$(column_of $name 2)" "$(column_of $name 10)" "$(column_of $name 3)" "$(column_of $name 4)" \
    "$(column_of $name 5)" "$(column_of $name 6)" "$(column_of $name 7)" "$(column_of $name 8)" "$(column_of $name 9)"
done

plain=$(column_of plain 2); foom_wall=$(column_of foom 2); heaptrack_wall=$(column_of heaptrack 2)
echo
echo "wall: foom run $(ratio "$foom_wall" "$plain")x plain (target <= 2), heaptrack $(ratio "$heaptrack_wall" "$plain")x plain," \
  "foom run / heaptrack $(ratio "$foom_wall" "$heaptrack_wall") (target <= 0.5)"
echo "the target's own time (main to exit): under foom run $(ratio "$(column_of foom 10)" "$(column_of plain 10)")x plain," \
  "under heaptrack $(ratio "$(column_of heaptrack 10)" "$(column_of plain 10)")x plain"
echo "CPU of the whole command (target, recorder or interpreter, start-up): foom run $(ratio "$(column_of foom 3) + $(column_of foom 4)" "$(column_of plain 3) + $(column_of plain 4)")x plain," \
  "heaptrack $(ratio "$(column_of heaptrack 3) + $(column_of heaptrack 4)" "$(column_of plain 3) + $(column_of plain 4)")x plain"
# Per round: the recorder's CPU = foom run's CPU - the target's own - the start-up's (same round).
recorder=$(awk '$1=="foom" {f[++n]=$3+$4-$5-$6} $1=="foom-startup" {s[++m]=$3+$4} END {for (i=1;i<=n;i++) print f[i]-s[i]}' "$work/results" | median)
events=$((2 * pairs))
echo "recorder CPU for $events events (start-up taken off): ${recorder} s = $(echo "scale=2; $events / $recorder / 1000000" | bc) M events per CPU second (target >= 3 M/s)"
echo "target's extra memory under foom run: RssAnon +$(( $(column_of foom 7) - $(column_of plain 7) )) KiB, RssFile +$(( $(column_of foom 8) - $(column_of plain 8) )) KiB (the ring, charged to the recorder), VmHWM +$(( $(column_of foom 9) - $(column_of plain 9) )) KiB (target <= 16 MiB)"

echo
"${foom[@]}" run --app hold -- "$work/hold_many" "$blocks" >/dev/null 2>"$work/hold.err" || { cat "$work/hold.err"; exit 1; }
live=$(sed -n 's/.* in \([0-9,]*\) blocks.*/\1/p' "$work/hold.err" | tr -d ,)
session=$(ls -d "$FOOM_DATA"/hold/sessions/* | tail -1)
tables_apparent=0; tables_allocated=0
for file in "$session"/*; do
  [ "$(basename "$file")" = ring.foom ] && continue
  tables_apparent=$((tables_apparent + $(stat -c %s "$file"))); tables_allocated=$((tables_allocated + $(du -B1 "$file" | cut -f1)))
done
ring=$(stat -c %s "$session/ring.foom")
echo "state on disk, $live live allocations from 1024 stacks: $(ls "$session" | tr '\n' ' ')"
for file in "$session"/*; do printf '  %-20s %12s bytes, %12s allocated\n' "$(basename "$file")" "$(stat -c %s "$file")" "$(du -B1 "$file" | cut -f1)"; done
echo "per live allocation: $(echo "scale=1; $tables_apparent / $live" | bc) B ($(echo "scale=1; $tables_allocated / $live" | bc) B allocated) without the ring," \
  "$(echo "scale=1; ($tables_apparent + $ring) / $live" | bc) B with its fixed $ring bytes (target <= 64 B)"

echo
echo "the applier alone (the target fills a 256 MiB ring first, then it is drained into a session's tables):"
DOTNET_TieredCompilation=0 dotnet "$work/drain/Foom.RingDrain.dll" run --fill-first --apply --size 268435456 -- "$work/alloc_heavy" "$pairs" 2>&1 | grep '^foom-drain' | sed 's/, RingCounters.*//'
DOTNET_TieredCompilation=0 dotnet "$work/drain/Foom.RingDrain.dll" run --fill-first --size 268435456 -- "$work/alloc_heavy" "$pairs" 2>&1 | grep '^foom-drain' | sed 's/, RingCounters.*//;s/^/(reading only) /'
