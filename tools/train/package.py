#!/usr/bin/python3
"""Turn trained ONNX exports into the bundled models and their cards.

For every models/onnx/NAME.onnx (written by train.py): `sieve import` it into
models/NAME.sieve with labels and preprocessing, measure validation and test
accuracy with libsieve's own engine (`sieve eval`), and record everything in
models/cards.json, which tests/test_models.c checks against.

usage: tools/train/package.py --sieve build/sieve [--models lenet5,...]
Needs no PyTorch.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = "/usr/share/datasets/fashion-mnist"
VALIDATION = f"idx:{DATA}/train[50000:60000]"
TEST = f"idx:{DATA}/t10k"


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sieve", required=True, help="path of the sieve binary")
    ap.add_argument("--models", default="", help="comma-separated names (default: all exported)")
    args = ap.parse_args()

    onnx_dir = os.path.join(ROOT, "models", "onnx")
    names = [n for n in args.models.split(",") if n] or sorted(
        f[:-5] for f in os.listdir(onnx_dir) if f.endswith(".onnx"))
    cards_path = os.path.join(ROOT, "models", "cards.json")
    cards = {}
    if os.path.exists(cards_path):
        with open(cards_path) as f:
            cards = json.load(f)
    for name in names:
        side = {}
        side_path = os.path.join(onnx_dir, name + ".json")
        if os.path.exists(side_path):
            with open(side_path) as f:
                side = json.load(f)
        mean, std = side.get("mean", 0.2855), side.get("std", 0.3528)
        out = os.path.join(ROOT, "models", name + ".sieve")
        subprocess.run([args.sieve, "import", os.path.join(onnx_dir, name + ".onnx"), "-o", out,
                        "--labels", os.path.join(ROOT, "models", "labels.txt"),
                        "--mean", str(mean), "--std", str(std),
                        "--meta", f"name={name}",
                        "--meta", "dataset=Fashion-MNIST train[0:50000]"], check=True)
        info = run_json([args.sieve, "info", out, "--json"])
        val = run_json([args.sieve, "eval", out, "--data", VALIDATION, "--json"])
        test = run_json([args.sieve, "eval", out, "--data", TEST, "--json"])
        totals = info.get("totals", {})
        cards[name] = {
            "file": f"models/{name}.sieve",
            "params": totals.get("parameters", side.get("params")),
            "macs": totals.get("macs", side.get("macs")),
            "file_bytes": os.path.getsize(out),
            "train_seconds": side.get("train_seconds"),
            "epochs": side.get("epochs"),
            "seed": side.get("seed"),
            "torch_val_accuracy": side.get("val_acc"),
            "torch_test_accuracy": side.get("test_acc"),
            "val_accuracy": round(val["accuracy"], 4),
            "test_accuracy": round(test["accuracy"], 4),
            "images_per_s_1thread": round(test["images_per_s"], 1),
            "train_command": side.get("command"),
        }
        print(f"{name}: val {val['accuracy']:.4f} test {test['accuracy']:.4f} "
              f"{os.path.getsize(out) / 2**20:.2f} MiB", flush=True)
        with open(cards_path, "w") as f:
            json.dump(cards, f, indent=2, sort_keys=True)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
