#!/usr/bin/env bash
# Regenerates python-stacks.txt.gz: the distinct allocation stacks (innermost pc first, hex) that
# heaptrack records while CPython 3.11 runs python-workload.py (json, sqlite3, xml, decimal,
# difflib, csv, re). Real stacks of a real program, for the stack-table benchmarks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
heaptrack -o "$work/py" /usr/bin/python3 "$here/python-workload.py" >/dev/null
python3 - "$work/py.zst" "$here/python-stacks.txt.gz" <<'PY'
import sys, gzip, subprocess
lines = subprocess.run(['zstd', '-dc', sys.argv[1]], capture_output=True, text=True, check=True).stdout.splitlines()
ips, traces, stacks, seen = [None], [(0, 0)], [], set()
for line in lines:
    if not line: continue
    kind, fields = line[0], line[2:].split()
    if kind == 'i': ips.append(int(fields[0], 16))          # i <ip> <module> ...
    elif kind == 't': traces.append((int(fields[0], 16), int(fields[1], 16)))  # t <ip index> <parent trace>
    elif kind == 'a':                                          # a <size> <trace>
        t = int(fields[1], 16)
        if t in seen: continue
        seen.add(t)
        frames = []
        while t:
            ip, t = traces[t]
            frames.append(ips[ip])
        stacks.append(frames)
with gzip.open(sys.argv[2], 'wt') as out:
    for s in stacks: out.write(' '.join('%x' % ip for ip in s) + '\n')
print(len(stacks), 'stacks')
PY
rm -rf "$work"
