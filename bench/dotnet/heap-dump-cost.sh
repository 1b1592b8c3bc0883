#!/usr/bin/env bash
# What the heap at death costs (docs/benchmarks.md, "The heap at death"): samples/ManagedLeaks's
# list shape under foom run with a GC heap hard limit of HEAP MiB (DOTNET_GCHeapHardLimit; the
# cgroup's limit is twice that, so the runtime's OutOfMemoryException ends it), as fast as it can
# leak. For each run, one line: the heap limit, the dump's size, how long the runtime's createdump
# took to write it (its own line in the program's output), how long foom run took to read it
# (managed-dump.json's read_ms), foom run's wall time, and the top type the report names. Each
# heap size is run a second time, interleaved, with the program's own settings asking for the
# crash report only (Foom then asks for nothing): what foom run took before the heap dump.
# Usage: bench/dotnet/heap-dump-cost.sh [RUNS (3)] [HEAP_MIB...] (default 100 300)
# Needs ./foom built (its native foom run) and `dotnet build samples/ManagedLeaks`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-3}
shift || true
heaps=("${@:-100 300}")
[[ $# -eq 0 ]] && heaps=(100 300)
foom_run="$root/.foom/native/foom"
leaks="$root/samples/ManagedLeaks/bin/Debug/net10.0/ManagedLeaks.dll"
for needed in "$foom_run" "$leaks"; do
    [[ -e $needed ]] || { echo "heap-dump-cost: $needed is missing (./foom --version; dotnet build samples/ManagedLeaks)" >&2; exit 2; }
done
data=$(mktemp -d /tmp/foom-heap-dump-cost.XXXXXX)
trap 'rm -rf "$data"' EXIT
for ((run = 1; run <= runs; run++)); do
    for heap in "${heaps[@]}"; do
      for mode in dump report-only; do
        app="$mode-$heap-$run"
        dump_settings=()
        if [[ $mode == report-only ]]; then
            dump_settings=(--)
            export DOTNET_DbgEnableMiniDump=1 DOTNET_EnableCrashReportOnly=1 DOTNET_DbgMiniDumpName="$data/$app-crash.%p"
        else
            unset DOTNET_DbgEnableMiniDump DOTNET_EnableCrashReportOnly DOTNET_DbgMiniDumpName
        fi
        start=$(date +%s.%N)
        status=0
        FOOM_DATA=$data DOTNET_GCHeapHardLimit=$(printf '0x%x' $((heap << 20))) timeout 600 \
            "$foom_run" run --app "$app" --limit "$((heap * 2))M" -- dotnet "$leaks" list >"$data/$app.out" 2>&1 || status=$?
        end=$(date +%s.%N)
        session=$(ls -d "$data/$app/sessions/"* | head -1)
        python3 - "$session/managed-dump.json" "$data/$app.out" "$heap" "$status" "$start" "$end" "$(cut -d' ' -f1 /proc/loadavg)" "$mode" <<'PY'
import json, re, sys
path, out, heap, status, start, end, load, mode = sys.argv[1:]
written = re.search(r"Dump successfully written in (\d+)ms", open(out).read())
if mode == "report-only":
    print(f"heap {heap:>4} MiB  exit {status}  crash report only{'':29}createdump {int(written.group(1)) / 1000 if written else float('nan'):5.2f} s{'':14}foom run {float(end) - float(start):6.2f} s  load {load}")
    sys.exit()
try:
    dump = json.load(open(path))
except Exception as problem:
    print(f"heap {heap:>4} MiB  exit {status}  no managed-dump.json: {problem}"); sys.exit()
types = (dump.get("census") or {}).get("types") or [{}]
print(f"heap {heap:>4} MiB  exit {status}  dump {dump['dump_bytes'] / 2**20:7.1f} MiB  "
      f"createdump {int(written.group(1)) / 1000 if written else float('nan'):5.2f} s  read {dump['read_ms'] / 1000:5.2f} s  "
      f"foom run {float(end) - float(start):6.2f} s  top {types[0].get('name')} x{types[0].get('count')}  load {load}"
      + (f"  problem: {dump['problem']}" if dump.get("problem") else ""))
PY
      done
    done
done
