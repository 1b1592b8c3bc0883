#!/usr/bin/env bash
# Copies the built browser libraries the pages use (d3, d3-flame-graph, uPlot, speedscope) from the npm
# registry into vendor/, which is committed: a build or CI run on a clean clone needs no npm.
# Run it after changing npm/package.json (then `npm install --package-lock-only` there first).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/npm/package.json" "$here/npm/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --silent)
modules="$work/node_modules"
out="$here/vendor"
rm -rf "$out"
mkdir -p "$out"
cp "$modules/d3/dist/d3.min.js" "$out/d3.min.js"
cp "$modules/d3/LICENSE" "$out/d3.LICENSE.txt"
cp "$modules/d3-flame-graph/dist/d3-flamegraph.umd.min.js" "$out/d3-flamegraph.min.js"
cp "$modules/d3-flame-graph/dist/d3-flamegraph.css" "$out/d3-flamegraph.css"
cp "$modules/d3-flame-graph/LICENSE" "$out/d3-flame-graph.LICENSE.txt"
cp "$modules/uplot/dist/uPlot.iife.min.js" "$out/uPlot.min.js"
cp "$modules/uplot/dist/uPlot.min.css" "$out/uPlot.min.css"
cp "$modules/uplot/LICENSE" "$out/uPlot.LICENSE.txt"
# speedscope's whole viewer, served at /static/speedscope/ so that it reads a report's profile
# from this server with the pages' login (its sample profile and JFR reader are left out).
mkdir -p "$out/speedscope"
for file in "$modules"/speedscope/dist/release/*; do
    case "$(basename "$file")" in
        perf-vertx-*|*.wasm|release.txt) ;;
        *) cp "$file" "$out/speedscope/" ;;
    esac
done
cp "$modules/speedscope/LICENSE" "$out/speedscope/speedscope.LICENSE.txt"
for package in d3 d3-flame-graph uplot speedscope; do
    printf '%s %s\n' "$package" "$(node -p "require('$modules/$package/package.json').version")"
done > "$out/VERSIONS.txt"
echo "vendor.sh: $(wc -l < "$out/VERSIONS.txt") packages copied into $out"
