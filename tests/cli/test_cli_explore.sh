#!/bin/sh
# sieve explore end to end on the bundled LeNet-5 and a small slice of the
# Fashion-MNIST validation split: the package it writes, its reports, and
# its command-line errors. (The search itself is tested in test_explore.c.)
#
# usage: test_cli_explore.sh SIEVE_BINARY SOURCE_DIR
. "$(dirname "$0")/lib.sh"

model="$src/models/lenet5.sieve"
val='idx:/usr/share/datasets/fashion-mnist/train[50000:50200]'

# ---- command-line errors: exit 2, one line, nothing written ----
run explore "$model"
expect_status 2
expect_one_error_line "sieve explore: "
for bad in "--max-replay 0" "--max-replay 1.5" "--select-margin 11" "--sweep-margin -1" \
    "--subset -3" "--target 0"; do
    # shellcheck disable=SC2086 # the option and its value are two words
    run explore "$model" -o "$tmp/bad.sieve" $bad
    expect_status 2
    expect_one_error_line "sieve explore: "
    [ -e "$tmp/bad.sieve" ] && fail "$last: wrote $tmp/bad.sieve"
done
run explore --help
expect_status 0
expect_out "--max-replay F"
expect_out "--sweep-margin Z"

if [ ! -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    echo "$0: dataset-fashion-mnist not installed, search not run"
    finish
fi

# ---- a small search: package, JSON report, Markdown report ----
run explore "$model" -o "$tmp/lenet5.pkg.sieve" --data "$val" --subset 50 --threads 2 \
    --max-replay 0.2 --report "$tmp/report.md" --json --quiet
expect_status 0
expect_json
[ -s "$tmp/err" ] && fail "$last: --quiet printed: $(head -c 300 "$tmp/err")"
[ -f "$tmp/lenet5.pkg.sieve" ] || fail "$last: wrote no package"
checks=$((checks + 1))
python3 - "$tmp/out" <<'PY' || fail "$last: JSON report lacks what was asked: $(head -c 600 "$tmp/out")"
import json, sys
r = json.load(open(sys.argv[1]))
near = lambda a, b: abs(a - b) < 1e-6  # single-precision command-line values
o = r["options"]
assert r["validation_items"] == 200 and r["calibration_items"] == 100, r
assert r["subset_items"] == 50 and len(r["tensors"]) == 16
assert near(o["max_replay_accurate"], 0.2) and near(o["max_replay_approximate"], 0.4), o
assert near(o["select_margin"], -1.645) and near(o["sweep_margin"], 1.645), o
assert sorted(r["variants"]) == ["accurate", "approximate", "exact"]
assert all(0 <= v["val_replay_fraction"] <= 1 for v in r["variants"].values())
PY
grep -qF -- "- goals: sweep margin 1.645, select margin -1.645" "$tmp/report.md" ||
    fail "$last: Markdown report lacks its goals line: $(head -c 600 "$tmp/report.md")"
grep -qF -- "| accurate |" "$tmp/report.md" || fail "$last: Markdown report lacks the variants"

# the package runs: info lists the variants, classify speculates and replays
run info "$tmp/lenet5.pkg.sieve"
expect_status 0
expect_out "accurate"
expect_out "approximate"
run classify "$tmp/lenet5.pkg.sieve" "$src/tests/data/t10k_00000_ankle_boot.png" --json
expect_status 0
expect_json
expect_out '"variant":"accurate"'

finish
