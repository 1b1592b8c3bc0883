#!/usr/bin/env bash
# Runs samples/ManagedLeaks's shapes under foom run --limit, fast (as fast as it can) and slow
# (--rate MB/s, dying after 30 s or more), several at once, and prints one line per run: the exit
# status, the verdict and its mechanism, whether a census landed, the report's biggest managed type
# with its count (census, or estimate from samples) and the allocating method its top stack names.
# Usage: bench/dotnet/leak-shapes.sh [LIMIT (200M)] [SLOW_RATE_MB (4)] [PARALLEL (3)]
# Needs ./foom built (its native foom run and foom.dll) and `dotnet build samples/ManagedLeaks`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
limit=${1:-200M}
slow=${2:-4}
parallel=${3:-3}
foom_run="$root/.foom/native/foom"
foom_dll="$root/.foom/bin/foom.dll"
leaks="$root/samples/ManagedLeaks/bin/Debug/net10.0/ManagedLeaks.dll"
for needed in "$foom_run" "$foom_dll" "$leaks"; do
    [[ -e $needed ]] || { echo "leak-shapes: $needed is missing (./foom --version; dotnet build samples/ManagedLeaks)" >&2; exit 2; }
done
data=$(mktemp -d /tmp/foom-leak-shapes.XXXXXX)
one() {
    local shape=$1 speed=$2 rate=0
    [[ $speed == slow ]] && rate=$slow
    local app="$shape-$speed" start=$SECONDS status=0
    FOOM_DATA=$data "$foom_run" run --app "$app" --limit "$limit" -- dotnet "$leaks" "$shape" --rate "$rate" >/dev/null 2>&1 || status=$?
    local seconds=$((SECONDS - start))
    local session
    session=$(ls -d "$data/$app/sessions/"* | head -1)
    FOOM_DATA=$data dotnet "$foom_dll" report "$session" --rebuild --format json 2>/dev/null > "$session/report-shapes.json" || true
    python3 - "$session/report-shapes.json" "$app" "$status" "$seconds" <<'PY'
import json, sys
path, app, status, seconds = sys.argv[1:]
try:
    report = json.load(open(path))
except Exception as problem:
    print(f"{app:16} exit {status:>3} {seconds:>4} s  no report: {problem}"); sys.exit()
head = report["head"]
managed = [i for i in report["items"] if i.get("heap") == "managed" and i["name"] != "Managed: other types"]
census = "census" if (head.get("managed") or {}).get("census") else "no census"
top = max(managed, key=lambda i: i["size"]) if managed else None
method = "-"
if top and top.get("stacks"):
    stack = top["stacks"][0]
    index = stack.get("caller_index")
    names = [f.get("function") or "?" for f in stack["frames"]]
    method = next((n for n in names if n.startswith("ManagedLeaks.")), names[0] if names else "-")
kind = "estimate" if top and top.get("size_measure") == "allocated_estimate" else "live"
what = f"{top['name']} {top['count']:,} ({kind})" if top else "no managed type"
print(f"{app:16} exit {status:>3} {seconds:>4} s  {head.get('exit_reason')}/{head.get('exit_mechanism') or '-'}  {census:9}  {what}  from {method}")
PY
}
export -f one
export data limit slow foom_run foom_dll leaks
for shape in list arrays strings events native; do for speed in fast slow; do echo "$shape $speed"; done; done \
    | xargs -P "$parallel" -L 1 bash -c 'one "$0" "$1"'
echo "sessions in $data"
