#!/usr/bin/env bash
# Rebuild the edge packages of the bundled models: for every models/NAME.sieve
# (the fp32 originals), `sieve explore` searches the custom float formats on the
# validation split, calibrates the detectors and writes models/NAME.pkg.sieve;
# the test split is only measured. Reports (Markdown + JSON) go to REPORT_DIR.
#
#   tools/train/explore_all.sh [BUILD_DIR] [NAME ...]
#
# BUILD_DIR defaults to build-explore (configured and built if needed); NAMEs
# default to every original in models/. Environment: THREADS (default: all
# CPUs), SUBSET (validation items of the per-tensor sweeps, default 2000),
# REPORT_DIR (default BUILD_DIR/explore).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-explore}
shift || true
case $build in /*) ;; *) build=$PWD/$build ;; esac
if [ ! -x "$build/sieve" ]; then
    cmake -S "$root" -B "$build" -DSIEVE_WERROR=OFF >/dev/null
    cmake --build "$build" -j"$(nproc)" --target sieve_cli >/dev/null
fi
threads=${THREADS:-$(nproc)}
subset=${SUBSET:-2000}
reports=${REPORT_DIR:-$build/explore}
mkdir -p "$reports"
val='idx:/usr/share/datasets/fashion-mnist/train[50000:60000]'
test='idx:/usr/share/datasets/fashion-mnist/t10k'

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in "$root"/models/*.sieve; do
        case $f in *.pkg.sieve) continue ;; esac
        names+=("$(basename "$f" .sieve)")
    done
fi
for name in "${names[@]}"; do
    model=$root/models/$name.sieve
    [ -f "$model" ] || { echo "explore_all: no $model" >&2; exit 1; }
    echo "== $name" >&2
    "$build/sieve" explore "$model" -o "$root/models/$name.pkg.sieve" --data "$val" \
        --test "$test" --threads "$threads" --subset "$subset" \
        --report "$reports/$name.md" --json >"$reports/$name.json"
    "$build/sieve" info "$root/models/$name.pkg.sieve" >"$reports/$name.info.txt" || true
done
