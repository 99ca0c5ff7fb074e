#!/usr/bin/env python3
"""Summarize `sieve explore --json` reports of the bundled models as Markdown.

    tools/train/explore_table.py REPORT_DIR [NAME ...]

Reads REPORT_DIR/NAME.json (written by tools/train/explore_all.sh) and
prints, per variant, one row per model: bits per weight and per activation,
weights vs fp32, test accuracy alone and with replay at the calibrated
threshold against the original's, the replay fraction and the search wall
time; then the averages over the models of the accurate variant against the
product's targets. Standard library only.
"""
import json
import os
import sys

VARIANTS = ("exact", "accurate", "approximate")


def load(report_dir, names):
    if not names:
        names = sorted(f[:-5] for f in os.listdir(report_dir)
                       if f.endswith(".json") and not f.endswith(".info.json"))
    reports = []
    for name in names:
        path = os.path.join(report_dir, name + ".json")
        try:
            with open(path) as f:
                reports.append((name, json.load(f)))
        except (OSError, ValueError) as e:  # a search still running writes it last
            print("explore_table: skipping %s: %s" % (path, e), file=sys.stderr)
    return reports


def pct(x):
    return "%.2f %%" % (100 * x)


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    reports = load(argv[1], argv[2:])
    if not reports:
        print("explore_table: no reports in %s" % argv[1], file=sys.stderr)
        return 1
    for v in VARIANTS:
        print("### %s\n" % v)
        print("| model | bits/weight | bits/activation | weights vs fp32 | test acc | "
              "test acc + replay | original test | test replay | search |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name, r in reports:
            x = r["variants"][v]
            print("| %s | %.2f | %.2f | %s | %.4f | %.4f | %.4f | %s | %.0f s |" % (
                name, x["weight_bits"], x["activation_bits"],
                pct(x["weight_bytes"] / x["weight_bytes_fp32"]), x["test_accuracy"],
                x["test_accuracy_with_replay"], r["original_test_accuracy"],
                pct(x["test_replay_fraction"]), r["search_seconds"]))
        print()
    acc = [r["variants"]["accurate"] for _, r in reports]
    n = len(acc)
    wbits = sum(x["weight_bits"] for x in acc) / n
    abits = sum(x["activation_bits"] for x in acc) / n
    replay = sum(x["test_replay_fraction"] for x in acc) / n
    kept = sum(1 for (_, r), x in zip(reports, acc)
               if x["test_accuracy_with_replay"] >= r["original_test_accuracy"])
    print("Accurate variant over %d models: %.2f bits/weight, %.2f bits/activation on "
          "average (target <= 6); replay %s on average, at most %s (target <= 10 %%); "
          "accuracy with replay >= the original's on the test split for %d of %d." % (
              n, wbits, abits, pct(replay), pct(max(x["test_replay_fraction"] for x in acc)),
              kept, n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
