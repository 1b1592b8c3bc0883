#!/usr/bin/env bash
# Sampled mode (`foom run --sample-bytes N`, issue 18): accuracy against exact mode, and overhead.
#
#   bench/hook/sampled.sh accuracy [RUNS]   (default 20)
#     bench/hook/held_sites.c (ten call sites holding 64 KiB to 16 MiB at exit, in blocks of 16 B
#     to 1 MiB, amid 2 M malloc/free pairs) once exact, then RUNS times at each of 64 KiB, 512 KiB
#     and 2 MiB. For each site and rate: how often it is found (in the report's caller view), the
#     median relative error of its estimated bytes against the exact run, and how often the exact
#     bytes fall within the estimate's stated 95 % bound. The program is deterministic, so the
#     exact run is the truth of every sampled one.
#   bench/hook/sampled.sh overhead [ROUNDS] (default 5)
#     gawk building an array, jq over a 300 000-element JSON array, sqlite3 inserting 200 000 rows,
#     python3 building a dict, and the churn program (bench/hook/alloc_heavy.c), each plain, under
#     `foom run` (exact) and under `foom run --sample-bytes 512K`, interleaved, ROUNDS rounds,
#     medians of the wall time; and `foom run -- /bin/true` (the fixed cost).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mode="${1:-accuracy}"
work="$(mktemp -d /tmp/foom-sampled-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$repo/foom" --help >/dev/null   # builds .foom/bin and .foom/native when the sources changed
foom=("$repo/.foom/native/foom")
[ -x "${foom[0]}" ] || foom=("$repo/foom")
export FOOM_DATA="$work/data"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), commit $(git -C "$repo" rev-parse --short HEAD)"

accuracy() {
  local runs="${1:-20}"
  gcc -O2 -g -fno-ipa-icf "$repo/bench/hook/held_sites.c" -o "$work/held_sites"
  report() { # APP: the newest session's report as JSON
    local session; session=$(ls -d "$FOOM_DATA/$1"/sessions/* | tail -1)
    "$repo/foom" report "$session" --format json >"$work/$1.$2.json"
  }
  "${foom[@]}" run --keep 1 --app exact -- "$work/held_sites" >/dev/null 2>&1
  report exact 0
  for rate in 64K 512K 2M; do
    for run in $(seq "$runs"); do
      "${foom[@]}" run --keep 1 --sample-bytes "$rate" --app "s$rate" -- "$work/held_sites" >/dev/null 2>&1
      report "s$rate" "$run"
    done
  done
  python3 - "$work" "$runs" <<'PY'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
def callers(path):
    r = json.load(open(path))
    return r, {c.get("function"): c for c in r["callers"]["bottom_up"] if c.get("function", "").startswith("site_")}
exact_report, exact = callers(f"{work}/exact.0.json")
sites = sorted(exact, key=lambda s: exact[s]["size"])
print(f"exact run: live {exact_report['head']['live_bytes']} bytes in {exact_report['head']['live_count']} blocks; sites {len(sites)}")
print(f"{'site':16} {'exact bytes':>12} | " + " | ".join(f"{r:>5}: found  med.err  max.err  in bound  samples" for r in ("64K", "512K", "2M")))
summary = {}
for site in sites:
    truth = exact[site]["size"]
    cells = []
    for rate in ("64K", "512K", "2M"):
        found, errors, within, samples = 0, [], 0, []
        for run in range(1, runs + 1):
            _, sampled = callers(f"{work}/s{rate}.{run}.json")
            c = sampled.get(site)
            if c is None:
                errors.append(1.0)
                continue
            found += 1
            errors.append(abs(c["size"] - truth) / truth)
            bound = c.get("size_bound")
            within += 1 if bound is None and c["size"] == truth or bound is not None and abs(c["size"] - truth) <= bound else 0
            samples.append(c.get("samples", 0))
        summary.setdefault(rate, []).append((site, truth, found, within))
        cells.append(f"{found:>5}/{runs:<2} {statistics.median(errors):>7.1%} {max(errors):>8.1%} {within:>5}/{runs:<2} {statistics.median(samples) if samples else 0:>8}")
    print(f"{site:16} {truth:>12} | " + " | ".join(cells))
for rate, rows in summary.items():
    big = [(s, f) for s, t, f, w in rows if t > 2 * 1024 * 1024]
    # Coverage of the stated bound, over the runs in which the site was found (a missed site has no estimate).
    covered = sum(w for s, t, f, w in rows)
    found = sum(f for s, t, f, w in rows)
    print(f"{rate}: sites over 2 MiB found in {sum(f for s, f in big)} of {runs * len(big)} site-runs ({min(f for s, f in big)}/{runs} for the worst site); "
          f"exact bytes within the stated 95 % bound in {covered} of the {found} site-runs that found the site ({covered / found:.1%}; exact sites count as within)")
PY
}

overhead() {
  local rounds="${1:-5}"
  gcc -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls "$repo/bench/hook/alloc_heavy.c" -o "$work/churn"
  python3 -c 'import json; print(json.dumps([{"id": i, "name": "item %d" % i, "tags": ["a", "b"], "v": i * 0.5} for i in range(300000)]))' >"$work/big.json"
  local -A cmd
  cmd[gawk]="gawk 'BEGIN { for (i = 0; i < 1500000; i++) a[i] = i \"x\"; print length(a) }'"
  cmd[jq]="jq 'map(.v + 1) | add' $work/big.json"
  cmd[sqlite3]="sqlite3 :memory: 'create table t(a, b); with recursive c(x) as (select 1 union all select x + 1 from c where x < 200000) insert into t select x, hex(randomblob(16)) from c; create index i on t(b); select count(*) from t;'"
  cmd[python3]="python3 -c 'd = {i: str(i) for i in range(1500000)}; print(len(d))'"
  cmd[churn]="$work/churn 2000000"
  local names=(gawk jq sqlite3 python3 churn)
  for round in $(seq "$rounds"); do
    for name in "${names[@]}"; do
      for variant in plain exact sampled; do
        case $variant in
          plain) prefix=() ;;
          exact) prefix=("${foom[@]}" run --keep 1 --app "b-$name" --) ;;
          sampled) prefix=("${foom[@]}" run --keep 1 --sample-bytes 512K --app "b-$name" --) ;;
        esac
        # The workload itself, not through a shell: a shell's child would not be recorded.
        eval "set -- ${cmd[$name]}"
        /usr/bin/time -f "%e" -o "$work/time" "${prefix[@]}" "$@" >/dev/null 2>"$work/err" \
          || { echo "$name $variant failed:"; cat "$work/err"; exit 1; }
        echo "$name $variant $(cat "$work/time")" >>"$work/results"
        [ "$variant" = plain ] || grep -o 'live [^;]*' "$work/err" >>"$work/live.$name.$variant"
      done
    done
    /usr/bin/time -f "%e" -o "$work/time" "${foom[@]}" run --keep 1 --app startup -- /bin/true >/dev/null 2>&1
    echo "startup sampled $(cat "$work/time")" >>"$work/results"
  done
  echo "load after the rounds: $(cut -d' ' -f1-3 /proc/loadavg)"
  median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
  of() { awk -v n="$1" -v v="$2" '$1==n && $2==v {print $3}' "$work/results" | median; }
  printf '\n%-8s %8s %8s %8s %10s %10s\n' workload "plain s" "exact s" "512K s" "exact/pl" "512K/pl"
  for name in "${names[@]}"; do
    p=$(of "$name" plain); e=$(of "$name" exact); s=$(of "$name" sampled)
    printf '%-8s %8s %8s %8s %10s %10s\n' "$name" "$p" "$e" "$s" "$(echo "scale=2; $e / $p" | bc)" "$(echo "scale=2; $s / $p" | bc)"
  done
  echo "foom run -- /bin/true (fixed cost): $(of startup sampled) s"
  for name in "${names[@]}"; do echo "$name: exact $(tail -1 "$work/live.$name.exact"); sampled $(tail -1 "$work/live.$name.sampled")"; done
}

case "$mode" in
  accuracy) accuracy "${2:-20}" ;;
  overhead) overhead "${2:-5}" ;;
  *) echo "usage: bench/hook/sampled.sh accuracy [RUNS] | overhead [ROUNDS]" >&2; exit 64 ;;
esac
