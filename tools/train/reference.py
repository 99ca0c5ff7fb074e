#!/usr/bin/python3
"""PyTorch reference outputs for the engine tests.

    /usr/bin/python3 tools/train/reference.py --model NAME
        [--onnx models/onnx/NAME.onnx] [--pt models/onnx/NAME.pt]
        [--out models/onnx/ref/NAME] [--count 16]

Loads the trained weights (NAME.pt, written by train.py next to NAME.onnx),
takes the first COUNT images of the Fashion-MNIST test set (t10k[0:COUNT])
and writes to OUT:

    input.npy          float32 [COUNT, 1, 28, 28], NCHW, normalized
                       ((pixel/255 - mean) / std, mean/std from fmnist.py)
    logits.npy         float32 [COUNT, 10], PyTorch logits
    labels.npy         int64   [COUNT], true classes
    input_NN.npy       float32 [1, 1, 28, 28], image NN alone
    logits_NN.npy      float32 [1, 10], its logits
    reference.json     model, mean, std, t10k indices, labels, PyTorch
                       predictions, and the ONNX check result

With --onnx (default: NAME.onnx next to the .pt, if present), the .onnx file
is also run through onnx_numpy.py (an independent float64 interpreter) and
the largest |onnx - pytorch| logit difference is reported; a difference
above --tol fails the script, so a wrong export cannot go unnoticed.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def main():
    p = argparse.ArgumentParser(description="write PyTorch reference tensors")
    p.add_argument("--model", required=True)
    p.add_argument("--onnx", default=None)
    p.add_argument("--pt", default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--count", type=int, default=16)
    p.add_argument("--tol", type=float, default=1e-3,
                   help="max allowed |onnx - pytorch| logit difference")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    import torch
    sys.path.insert(0, HERE)
    import fmnist
    import models

    torch.set_num_threads(args.threads)
    onnx_dir = os.path.join(REPO, "models", "onnx")
    onnx_path = args.onnx or os.path.join(onnx_dir, args.model + ".onnx")
    pt_path = args.pt or os.path.splitext(onnx_path)[0] + ".pt"
    out = args.out or os.path.join(onnx_dir, "ref", args.model)

    model = models.build(args.model)
    model.load_state_dict(torch.load(pt_path, map_location="cpu"))
    model.eval()

    images, labels = fmnist.load_split("test")
    x = fmnist.normalize(images[:args.count])          # float32 NCHW
    y = labels[:args.count].astype(np.int64)
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).numpy().astype(np.float32)
    pred = logits.argmax(1)

    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "input.npy"), np.ascontiguousarray(x))
    np.save(os.path.join(out, "logits.npy"), np.ascontiguousarray(logits))
    np.save(os.path.join(out, "labels.npy"), y)
    for i in range(args.count):
        np.save(os.path.join(out, "input_%02d.npy" % i),
                np.ascontiguousarray(x[i:i + 1]))
        np.save(os.path.join(out, "logits_%02d.npy" % i),
                np.ascontiguousarray(logits[i:i + 1]))

    info = dict(model=args.model, pt=os.path.relpath(pt_path, REPO),
                mean=fmnist.MEAN, std=fmnist.STD,
                t10k_indices=list(range(args.count)),
                labels=[int(v) for v in y],
                pytorch_pred=[int(v) for v in pred],
                pytorch_correct=int((pred == y).sum()))
    status = 0
    if os.path.exists(onnx_path):
        import onnx_numpy
        ref = onnx_numpy.run(onnx_path, {"input": x})["logits"]
        diff = float(np.abs(ref - logits).max())
        scale = float(np.abs(logits).max())
        info.update(onnx=os.path.relpath(onnx_path, REPO),
                    onnx_max_abs_diff=diff, logits_max_abs=scale,
                    onnx_pred_agree=bool((ref.argmax(1) == pred).all()))
        print("ONNX (numpy float64) vs PyTorch: max |diff| %.3g "
              "(logits up to %.3g), predictions agree: %s"
              % (diff, scale, info["onnx_pred_agree"]))
        if diff > args.tol * max(1.0, scale):
            print("ERROR: exported ONNX disagrees with PyTorch", file=sys.stderr)
            status = 1
    else:
        print("no %s: ONNX check skipped" % onnx_path)
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print("%s: %d/%d of t10k[0:%d] correct; wrote %s"
          % (args.model, info["pytorch_correct"], args.count, args.count, out))
    sys.exit(status)


if __name__ == "__main__":
    main()
