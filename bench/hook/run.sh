#!/usr/bin/env bash
# The hook's whole-process overhead: bench/hook/alloc_heavy.c (2 M malloc/free pairs) plain,
# under the hook with the C# consumer (tests/Programs/Foom.RingDrain), and under heaptrack, interleaved
# in one run; medians of ROUNDS runs. Also the consumer's drain rate, the unwinders (frame
# pointers, the table walk with --options 4, libunwind with --options 12), and the
# memory the target is charged for (a cgroup v1 memory group per run, when the machine has one).
#
#   bench/hook/run.sh [ROUNDS] [PAIRS]        (defaults: 5 rounds, 2000000 pairs)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="${1:-5}"
pairs="${2:-2000000}"
work="$(mktemp -d /tmp/foom-hook-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

gcc -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls "$repo/bench/hook/alloc_heavy.c" -o "$work/alloc_heavy_fp"
gcc -O2 -g -fomit-frame-pointer -fno-optimize-sibling-calls "$repo/bench/hook/alloc_heavy.c" -o "$work/alloc_heavy_nofp"
dotnet build "$repo/tests/Programs/Foom.RingDrain" -c Release -o "$work/drain" -nologo -v quiet >/dev/null
drain=(dotnet "$work/drain/Foom.RingDrain.dll" run)

cgroup_root=/sys/fs/cgroup/memory
use_cgroup=0
[ -w "$cgroup_root" ] && use_cgroup=1

# run NAME COMMAND...: one timed run; appends "NAME wall cpu_user cpu_sys rss_anon_kb charged_kb target_wall".
# With a cgroup, the target alone goes into a memory group of its own (the consumer stays
# outside) through a shell that moves itself there and execs the target; heaptrack runs without
# one (its preload would have to follow that exec).
run() {
  local name="$1"; shift
  local group="" prefix=()
  if [ "$use_cgroup" = 1 ] && [ "$name" != heaptrack ]; then
    group="$cgroup_root/foom-hook-bench-$$-$name"
    mkdir -p "$group"
    prefix=(sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$group")
  fi
  local log="$work/$name.log"
  local start end
  start=$(date +%s.%N)
  "$@" "${prefix[@]}" "$work/target" "$pairs" >"$log" 2>&1 || { echo "$name failed:"; cat "$log"; exit 1; }
  end=$(date +%s.%N)
  local charged=0
  if [ -n "$group" ]; then
    charged=$(( $(cat "$group/memory.max_usage_in_bytes") / 1024 ))
    rmdir "$group"
  fi
  local cpu_user cpu_sys anon target_wall
  cpu_user=$(awk '/^cpu /{print $2}' "$log")
  cpu_sys=$(awk '/^cpu /{print $5}' "$log")
  anon=$(awk '/^RssAnon/{print $2}' "$log")
  target_wall=$(sed -n 's/^foom-drain: target \([0-9.]*\) s.*/\1/p' "$log")
  echo "$name $(echo "$end - $start" | bc) $cpu_user $cpu_sys $anon $charged ${target_wall:--}" >>"$work/results"
  grep '^foom-drain' "$log" >>"$work/drain.log" || true
}

direct() { "$@"; }

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  cp "$work/alloc_heavy_fp" "$work/target"
  run plain direct
  run foom "${drain[@]}" --
  run foom-table-walk "${drain[@]}" --options 4 --          # no frame-pointer walk: the table walk
  run foom-unwind-only "${drain[@]}" --options 12 --         # and not the table walk either: libunwind
  run heaptrack heaptrack -o "$work/heaptrack.$round"
  cp "$work/alloc_heavy_nofp" "$work/target"
  run plain-nofp direct
  run foom-nofp "${drain[@]}" --
done
cp "$work/alloc_heavy_fp" "$work/target"
DOTNET_TieredCompilation=0 run drain-only "${drain[@]}" --fill-first --size 268435456 --

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
column_of() { awk -v n="$1" -v c="$2" '$1==n {print $c}' "$work/results" | median; }

printf '\n%-18s %10s %10s %10s %10s %12s %12s\n' variant "wall s" "target s" "user s" "sys s" "RssAnon KiB" "charged KiB"
for name in plain foom foom-table-walk foom-unwind-only heaptrack plain-nofp foom-nofp; do
  printf '%-18s %10s %10s %10s %10s %12s %12s\n' "$name" "$(column_of $name 2)" "$(column_of $name 7)" \
    "$(column_of $name 3)" "$(column_of $name 4)" "$(column_of $name 5)" "$(column_of $name 6)"
done
plain=$(column_of plain 2)
echo
echo "wall ratios to plain: foom $(echo "scale=2; $(column_of foom 2) / $plain" | bc)x (target alone $(echo "scale=2; $(column_of foom 7) / $plain" | bc)x)," \
  "foom with the table walk only $(echo "scale=2; $(column_of foom-table-walk 2) / $plain" | bc)x," \
  "foom with libunwind only $(echo "scale=2; $(column_of foom-unwind-only 2) / $plain" | bc)x," \
  "heaptrack $(echo "scale=2; $(column_of heaptrack 2) / $plain" | bc)x;" \
  "foom / heaptrack $(echo "scale=2; $(column_of foom 2) / $(column_of heaptrack 2)" | bc)"
echo "without frame pointers: foom $(echo "scale=2; $(column_of foom-nofp 2) / $(column_of plain-nofp 2)" | bc)x plain"
echo
echo "consumer, draining a full ring after the target ended:"
tail -1 "$work/drain.log"
