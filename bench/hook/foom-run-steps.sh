#!/usr/bin/env bash
# Where `foom run`'s fixed cost goes: `foom run -- /bin/true` ROUNDS times with FOOM_TIMING=1, each
# step's time since the command was started (wall, ms) and the process's CPU time by then (ms),
# medians; "exit" is the whole command (wall, and user + sys CPU from /usr/bin/time). Compares
# builds side by side when given several folders, each holding foom.dll (run with dotnet) or a
# native foom (interleaved runs; a build without FOOM_TIMING shows "exit" alone); default: the
# native build ./foom makes in .foom/native.
#
#   bench/hook/foom-run-steps.sh [ROUNDS] [FOLDER...]      (default: 9 .foom/native)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="${1:-9}"
shift || true
if [ $# -eq 0 ]; then "$repo/foom" --help >/dev/null; set -- "$repo/.foom/native"; fi
work="$(mktemp -d /tmp/foom-run-steps.XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$rounds"); do
  for index in $(seq $#); do
    folder="${!index}"
    if [ -f "$folder/foom.dll" ]; then foom=(dotnet "$folder/foom.dll"); else foom=("$folder/foom"); fi
    start=$(date +%s%6N)
    FOOM_TIMING=1 FOOM_DATA="$work/data-$index" /usr/bin/time -f "%U %S" -o "$work/time" \
      "${foom[@]}" run --app steps -- /bin/true 2>"$work/err" >/dev/null
    end=$(date +%s%6N)
    awk -v start="$start" -v i="$index" '/^foom timing:/ {printf "%s %s %.1f %s\n", i, $3, ($4 - start) / 1000, $5}' "$work/err" >>"$work/steps"
    echo "$index exit $(( (end - start) / 1000 )) $(awk '{print ($1 + $2) * 1000}' "$work/time")" >>"$work/steps"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for index in $(seq $#); do
  echo
  echo "${!index}: step, wall ms since started, CPU ms by then (medians of $rounds)"
  awk -v i="$index" '$1==i {print $2}' "$work/steps" | awk '!seen[$0]++' | while read -r step; do
    printf '  %-20s %7s %7s\n' "$step" \
      "$(awk -v i="$index" -v s="$step" '$1==i && $2==s {print $3}' "$work/steps" | median)" \
      "$(awk -v i="$index" -v s="$step" '$1==i && $2==s && $4!="-" {print $4}' "$work/steps" | median)"
  done
done
