#!/usr/bin/env bash
# The hook's per-event cost, one libfoomhook.so against another: bench/hook/alloc_heavy.c
# (PAIRS malloc/free pairs) under each library with the C# drain (tests/Foom.RingDrain), the
# libraries interleaved, ROUNDS rounds; the target's own wall time and CPU (user + system,
# getrusage) per library, medians. The CPU is the figure to trust on a loaded machine.
#
#   bench/hook/compare-hooks.sh ROUNDS PAIRS NAME=LIBRARY...
#   e.g. compare-hooks.sh 11 1000000 before=/tmp/old/libfoomhook.so after=native/build/libfoomhook.so
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="$1"; pairs="$2"; shift 2
work="$(mktemp -d /tmp/foom-compare-hooks.XXXXXX)"
trap 'rm -rf "$work"' EXIT

gcc -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls "$repo/bench/hook/alloc_heavy.c" -o "$work/alloc_heavy"
dotnet build "$repo/tests/Foom.RingDrain" -c Release -o "$work/drain" -nologo -v quiet >/dev/null
names=()
for pair in "$@"; do
  name="${pair%%=*}"; names+=("$name")
  cp -r "$work/drain" "$work/drain-$name"
  cp "${pair#*=}" "$work/drain-$name/libfoomhook.so"
done

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  for name in "${names[@]}"; do
    out=$(DOTNET_TieredCompilation=0 dotnet "$work/drain-$name/Foom.RingDrain.dll" run -- "$work/alloc_heavy" "$pairs" 2>&1)
    echo "$name $(echo "$out" | awk '/^wall /{print $2}') $(echo "$out" | awk '/^cpu /{print $2 + $5}')" >>"$work/results"
  done
done
echo "load after the rounds: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf '%-12s %14s %14s\n' library "target wall s" "target CPU s"
for name in "${names[@]}"; do
  printf '%-12s %14s %14s\n' "$name" "$(awk -v n="$name" '$1==n {print $2}' "$work/results" | median)" "$(awk -v n="$name" '$1==n {print $3}' "$work/results" | median)"
done
