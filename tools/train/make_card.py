#!/usr/bin/python3
"""Write models/README.md (the model cards) from the train.py sidecars.

    /usr/bin/python3 tools/train/make_card.py [--onnx-dir models/onnx]

Reads models/onnx/NAME.json for every model that has been trained. The
"libsieve test acc" column is measured with --sieve PATH (import + `sieve
eval` on t10k, fp32 model); without it, values already in the existing
README are kept.
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import fmnist  # noqa: E402
import models  # noqa: E402

SUMMARY = {
    "lenet5": "Caffe LeNet: conv20 5x5, maxpool 2, conv50 5x5, maxpool 2, "
              "fc500, ReLU, fc10 (original widths)",
    "cifar10_quick": "Caffe CIFAR-10 quick: conv32 5x5 p2, maxpool 3/2, ReLU, "
                     "conv32 5x5 p2, ReLU, avgpool 3/2, conv64 5x5 p2, ReLU, "
                     "avgpool 3/2, fc64, fc10 (original widths; floor-mode "
                     "pooling)",
    "resnet18": "ResNet-18, CIFAR-style stem (conv 3x3, no max pool), basic "
                "blocks [2,2,2,2] with BatchNorm and residual Add, widths "
                "16-32-64-128, global avg pool, fc10",
    "squeezenet": "SqueezeNet 1.1, conv32 3x3, 2 max pools, 8 fire modules "
                  "(squeeze 1x1, expand 1x1 + 3x3, Concat), widths halved, "
                  "conv 1x1 to 10 classes, ReLU, global avg pool",
    "nin": "Network in Network: 3 mlpconv blocks (5x5/5x5/3x3 conv + two "
           "1x1 convs, 64/48/32, 64/64/64, 64/64/10), max/avg pool, dropout, "
           "global avg pool",
    "alexnet": "AlexNet: 5 convs 3x3 (32, 96 g2, 128, 128 g2, 96 g2), LRN "
               "after pool1/pool2 (CaffeNet order), 3 max pools 3/2, "
               "fc512-fc512-fc10 with dropout",
    "googlenet": "GoogLeNet: conv 3x3 stem with 2 LRN, 6 inception modules "
                 "(1x1 | 1x1-3x3 | 1x1-5x5 | maxpool 3/1-1x1, Concat; 3a,3b, "
                 "4a,4b, 5a,5b) at 1/4 width, max pools, global avg pool, "
                 "dropout, fc10",
    "vgg16": "VGG-16 (config D): 13 conv 3x3 in blocks [2,2,3,3,3] "
             "(16-32-64-128-128), 5 max pools 2/2 (first conv pads 3: "
             "28x28 -> 32x32), fc256-fc256-fc10 with dropout, no BatchNorm",
}


def fmt_int(n):
    return "{:,}".format(n)


def old_libsieve_column(path):
    keep = {}
    if not os.path.exists(path):
        return keep
    for line in open(path):
        m = re.match(r"\| `(\w+)` \|", line)
        if m and line.count("|") >= 10:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            keep[m.group(1)] = cells[-1]
    return keep


def engine_accuracy(sieve, onnx_dir, cards):
    """Import each model with `sieve import` and run `sieve eval` on t10k."""
    import subprocess
    import tempfile
    labels = os.path.join(REPO, "models", "labels.txt")
    test = "idx:%s/t10k" % fmnist.DATA_DIR
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, c in cards.items():
            model = os.path.join(tmp, name + ".sieve")
            subprocess.check_call([sieve, "import",
                                   os.path.join(onnx_dir, name + ".onnx"),
                                   "-o", model, "--labels", labels,
                                   "--mean", "%.4f" % c["mean"],
                                   "--std", "%.4f" % c["std"]],
                                  stdout=subprocess.DEVNULL)
            r = json.loads(subprocess.check_output(
                [sieve, "eval", model, "--data", test, "--json"]))
            out[name] = "%.2f %%" % (100 * r["accuracy"])
            print("%s: libsieve t10k accuracy %s (%d/%d)"
                  % (name, out[name], r["correct"], r["images"]), flush=True)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--onnx-dir", default=os.path.join(REPO, "models", "onnx"))
    p.add_argument("--out", default=os.path.join(REPO, "models", "README.md"))
    p.add_argument("--sieve", default=None,
                   help="a built `sieve` binary: import every trained model "
                        "into a temporary .sieve file and fill the libsieve "
                        "column with `sieve eval` on t10k")
    args = p.parse_args()

    cards = {}
    for name in models.ORDER:
        path = os.path.join(args.onnx_dir, name + ".json")
        if os.path.exists(path):
            cards[name] = json.load(open(path))
    keep = old_libsieve_column(args.out)
    # package.py already measured the engine's test accuracy of the bundled
    # models: reuse it rather than importing and evaluating everything again
    measured = os.path.join(REPO, "models", "cards.json")
    if os.path.exists(measured):
        for name, card in json.load(open(measured)).items():
            if "test_accuracy" in card:
                keep[name] = "%.2f %%" % (100 * card["test_accuracy"])
    if args.sieve:
        keep.update(engine_accuracy(args.sieve, args.onnx_dir, cards))

    L = []
    w = L.append
    w("# Bundled models")
    w("")
    w("Eight classic CNNs, adapted to Fashion-MNIST (1x28x28 grayscale, 10 "
      "classes) and trained with Debian's PyTorch %s on CPU by "
      "`tools/train/`. They are the workloads of libsieve's exploration, "
      "tests, demos and benchmarks." % (
          next(iter(cards.values()))["torch_version"] if cards else "1.13"))
    w("")
    w("- **Data**: Debian `dataset-fashion-mnist` "
      "(`/usr/share/datasets/fashion-mnist/`). Splits: train = "
      "`train[0:50000]`, validation = `train[50000:60000]`, test = `t10k`. "
      "Weights are those after the last epoch; validation was not used to "
      "select them.")
    w("- **Input**: `input`, float32 N x 1 x 28 x 28 (batch dim dynamic), "
      "`x = (pixel/255 - %.4f) / %.4f`. The mean/std are those of the train "
      "split (`fmnist.py --stats`); the often-quoted 0.2860/0.3530 are over "
      "all 60,000 training images, validation included, and are **not** "
      "what these models were trained with." % (fmnist.MEAN, fmnist.STD))
    w("- **Output**: `logits`, float32 N x 10, no softmax. Class order: "
      "`models/labels.txt` (%s)." % ", ".join(fmnist.LABELS))
    w("- **ONNX**: opset 13, only ops the engine implements (checked at "
      "export). BatchNorm is folded into the convolutions by PyTorch's "
      "exporter (resnet18 has no BatchNormalization node); LRN is one "
      "ONNX `LRN` node. Each export is cross-checked against PyTorch with "
      "`tools/train/onnx_numpy.py` by `reference.py`.")
    w("- **Training**: AdamW (weight decay 5e-4), OneCycle cosine schedule, "
      "batch 128, random horizontal flips, seed 0, one thread "
      "(`torch.set_num_threads(1)`, deterministic algorithms). Train time is "
      "wall-clock on one core of a 2-core x86-64 machine that other jobs "
      "(C builds, fuzzers) were sharing, so it varies with the load; it "
      "includes the per-epoch validation pass.")
    w("- **Sizes**: params x 4 bytes = fp32 weight size; MACs count Conv and "
      "Gemm multiply-accumulates for one 28x28 image.")
    w("")
    w("`libsieve test acc` is the engine's top-1 accuracy on t10k with the "
      "fp32 model (`sieve import` then `sieve eval --data "
      "idx:/usr/share/datasets/fashion-mnist/t10k`), filled by "
      "`make_card.py --sieve PATH`.")
    w("")
    w("| model | architecture | params | fp32 | MACs | epochs | train time | "
      "PyTorch val acc | PyTorch test acc | libsieve test acc |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    total = 0
    for name in models.ORDER:
        if name not in cards:
            continue
        c = cards[name]
        total += c["params"]
        w("| `%s` | %s | %s | %.2f MiB | %s | %d | %.0f s | %.2f %% | "
          "%.2f %% | %s |" % (
              name, SUMMARY[name], fmt_int(c["params"]),
              c["params"] * 4 / 2**20, fmt_int(c["macs"]), c["epochs"],
              c["train_seconds"], 100 * c["val_acc"], 100 * c["test_acc"],
              keep.get(name, "")))
    w("")
    w("Total: %s parameters, %.2f MiB as fp32." % (fmt_int(total),
                                                  total * 4 / 2**20))
    missing = [n for n in models.ORDER if n not in cards]
    if missing:
        w("")
        w("Not trained yet: %s (rebuild commands below)." %
          ", ".join("`%s`" % n for n in missing))
    w("")
    w("## Edge packages")
    w("")
    w("Next to each original, `models/NAME.pkg.sieve` is its edge package "
      "from `sieve explore`: the graph once, the original's fp32 tensors and "
      "the exact, accurate and approximate variants with their packed "
      "weights, activation formats and detector calibration. `sieve classify "
      "models/NAME.pkg.sieve IMAGE` speculates with the accurate variant and "
      "replays on the original what its detector does not trust. Method, "
      "per-model bits, accuracy and replay: `models/EXPLORE.md`; rebuild: "
      "`tools/train/explore_all.sh`.")
    w("")
    w("## Exported ONNX operators")
    w("")
    w("| model | ops (count) |")
    w("|---|---|")
    for name in models.ORDER:
        if name in cards:
            ops = cards[name]["onnx_ops"]
            w("| `%s` | %s |" % (name, ", ".join(
                "%s x%d" % (k, v) for k, v in sorted(ops.items()))))
    w("")
    w("## Rebuilding")
    w("")
    w("Use `/usr/bin/python3` (Debian's python3-torch, python3-torchvision, "
      "python3-onnx). Each model is three steps: train and export "
      "(writes `models/onnx/NAME.{onnx,pt,json}` and `models/labels.txt`), "
      "write the reference tensors for the engine tests "
      "(`models/onnx/ref/NAME/`: the first 16 t10k images, normalized, and "
      "PyTorch's logits; the script fails if the ONNX file disagrees with "
      "PyTorch), then import into the engine's format. `models/onnx/` is "
      "git-ignored.")
    w("")
    w("The import step for all trained models at once, with the engine's own "
      "validation and test accuracy recorded in `models/cards.json` (which "
      "`tests/test_models.c` checks): `/usr/bin/python3 tools/train/package.py "
      "--sieve build/sieve`. Then `/usr/bin/python3 tools/train/make_card.py` "
      "rewrites this page from `models/cards.json`.")
    w("")
    w("```sh")
    for name in models.ORDER:
        if name in cards:
            cmd = cards[name]["command"]
        else:
            cmd = "/usr/bin/python3 tools/train/train.py --model %s" % name
        w("# %s" % name)
        w(cmd)
        w("/usr/bin/python3 tools/train/reference.py --model %s" % name)
        w("sieve import models/onnx/%s.onnx -o models/%s.sieve "
          "--labels models/labels.txt --mean %.4f --std %.4f"
          % (name, name, fmnist.MEAN, fmnist.STD))
        w("")
    w("# the test images in tests/data/")
    w("/usr/bin/python3 tools/train/export_images.py")
    w("# this file, from models/onnx/*.json")
    w("/usr/bin/python3 tools/train/make_card.py --sieve build/sieve")
    w("```")
    w("")
    w("`tools/train/train_all.py` runs the training step for every model in "
      "the order above (logs in `/tmp/train_NAME.log`). With the same seed, "
      "thread count, library versions and CPU, training is repeatable; "
      "oneDNN may choose other kernels on another CPU, so weights can "
      "differ in the last bits elsewhere.")
    w("")
    with open(args.out, "w") as f:
        f.write("\n".join(L))
    print("wrote %s (%d models)" % (args.out, len(cards)))


if __name__ == "__main__":
    main()
