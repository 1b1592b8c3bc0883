#!/usr/bin/env bash
# Issue 15's target "recording a child costs no more per event than recording the parent":
# bench/hook/alloc_heavy.c (PAIRS malloc/free pairs, 2 events each) run plain, under `foom run`
# as the program itself, and under `foom run` as a child (`sh -c "alloc_heavy PAIRS; true"`: sh
# forks and execs it, so it records into a spare ring of the pool and a session of its own),
# interleaved, ROUNDS rounds, medians of the target's own wall and CPU time (it prints them at exit).
# Each run's session is checked to hold the target's events (its live set ends empty, the events
# applied are counted in its ring-drain figure via session.json's dropped_events = 0).
#
#   bench/hook/child-vs-parent.sh [ROUNDS] [PAIRS]      (defaults: 7, 2000000)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="${1:-7}"
pairs="${2:-2000000}"
work="$(mktemp -d /tmp/foom-child-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

gcc -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls "$repo/bench/hook/alloc_heavy.c" -o "$work/alloc_heavy"
"$repo/foom" --help >/dev/null   # builds .foom/bin and .foom/native when the sources changed
[ -x "$repo/.foom/native/foom" ] || { echo "no native foom run: see $repo/.foom/native-build.log"; exit 1; }
foom=("$repo/.foom/native/foom")
export FOOM_DATA="$work/data"

# timed NAME COMMAND...: appends "NAME target_wall target_user target_sys"
timed() {
  local name="$1"; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" || { echo "$name failed:"; cat "$work/$name.err"; exit 1; }
  echo "$name $(awk '/^wall /{print $2}' "$work/$name.err") $(awk '/^cpu /{print $2}' "$work/$name.err") $(awk '/^cpu /{print $5}' "$work/$name.err")" >>"$work/results"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  timed plain "$work/alloc_heavy" "$pairs"
  timed parent "${foom[@]}" run --app parent -- "$work/alloc_heavy" "$pairs"
  timed child "${foom[@]}" run --app child -- sh -c "$work/alloc_heavy $pairs; true"
done
echo "load after the rounds: $(cut -d' ' -f1-3 /proc/loadavg)"

# The child really was recorded, in a session of its own, with nothing dropped.
for session in "$FOOM_DATA"/child/sessions/*/; do
  python3 - "$session" <<'PY'
import json, sys
info = json.load(open(sys.argv[1] + "session.json"))
children = [p for p in info.get("processes") or [] if "alloc_heavy" in " ".join(p["command"])]
assert len(children) == 1 and children[0]["session"], f"alloc_heavy was not recorded as a child: {info.get('processes')}"
child = json.load(open(sys.argv[1] + children[0]["session"] + "/session.json"))
assert child["dropped_events"] == 0, child["dropped_events"]
PY
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
column_of() { awk -v n="$1" -v c="$2" '$1==n && $c!="-" {print $c}' "$work/results" | median; }
printf '\n%-8s %14s %14s %14s\n' variant "target wall s" "target user s" "target sys s"
for name in plain parent child; do
  printf '%-8s %14s %14s %14s\n' "$name" "$(column_of $name 2)" "$(column_of $name 3)" "$(column_of $name 4)"
done
events=$((pairs * 2))
for name in parent child; do
  echo "$name: $(echo "scale=1; ($(column_of $name 2) - $(column_of plain 2)) * 1000000000 / $events" | bc) ns added per event (target wall, median)"
done
