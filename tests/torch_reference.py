#!/usr/bin/python3
"""libsieve against PyTorch: every architecture of the bundled suite is
exported to ONNX by torch, imported by `sieve import`, run by `sieve run` on
real Fashion-MNIST test images, and compared with PyTorch's forward pass.

Weights: the trained state_dict models/onnx/NAME.pt when it is there (a
machine that trained the suite), else a seeded random initialisation, so
that a clean clone tests the same code paths.

Tolerance, derived rather than guessed: fp32 accumulation of a reduction of
length K errs by at most about K * eps * sum|terms|; along the network the
errors add, so max|ours - torch| <= eps * sum_l(K_l) * max(1, max|logit|),
with K_l the reduction length of layer l (in_channels/groups * kh * kw for
a convolution, in_features for a dense layer). Top-1 must agree unless the
top-2 margin of PyTorch's logits is itself within that tolerance.

usage: torch_reference.py SIEVE_BINARY SOURCE_DIR [--models a,b] [--images N]
Exit status 77 (skipped) when torch or the dataset is missing.
"""
import argparse
import os
import subprocess
import sys
import tempfile

SKIP = 77

try:
    import numpy as np
    import torch
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"skipped: PyTorch is not installed for {sys.executable} ({e})")
    sys.exit(SKIP)


def reduction_lengths(model):
    lengths = []
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            lengths.append(m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, torch.nn.Linear):
            lengths.append(m.in_features)
    return lengths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sieve")
    ap.add_argument("source")
    ap.add_argument("--models", default="")
    ap.add_argument("--images", type=int, default=8)
    args = ap.parse_args()

    sys.path.insert(0, os.path.join(args.source, "tools", "train"))
    import fmnist  # noqa: E402
    import models  # noqa: E402

    prefix = os.path.join(fmnist.DATA_DIR, "t10k")
    if not os.path.exists(prefix + "-images-idx3-ubyte.gz"):
        print(f"skipped: {prefix}-images-idx3-ubyte.gz not found (install dataset-fashion-mnist)")
        sys.exit(SKIP)
    images, labels = fmnist.load_raw(prefix)
    x_all = fmnist.normalize(images[: args.images])
    x_all = torch.as_tensor(np.asarray(x_all, dtype=np.float32)).reshape(-1, 1, 28, 28)

    torch.set_num_threads(1)
    names = [n for n in args.models.split(",") if n] or list(models.ORDER)
    eps = float(np.finfo(np.float32).eps)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            torch.manual_seed(0)
            model = models.build(name).eval()
            trained = os.path.join(args.source, "models", "onnx", name + ".pt")
            source = "random init (seed 0)"
            if os.path.exists(trained):
                model.load_state_dict(torch.load(trained, map_location="cpu"))
                source = "trained weights"
            onnx_path = os.path.join(tmp, name + ".onnx")
            sieve_path = os.path.join(tmp, name + ".sieve")
            with torch.no_grad():
                torch.onnx.export(model, x_all[:1], onnx_path, opset_version=13,
                                  input_names=["input"], output_names=["logits"])
            subprocess.run([args.sieve, "import", onnx_path, "-o", sieve_path],
                           check=True, stdout=subprocess.DEVNULL)
            tol_scale = eps * sum(reduction_lengths(model))
            worst = 0.0
            ok = True
            for i in range(x_all.shape[0]):
                x = x_all[i:i + 1]
                with torch.no_grad():
                    ref = model(x).numpy().astype(np.float32)
                in_path = os.path.join(tmp, "x.npy")
                np.save(in_path, x.numpy())
                out_dir = os.path.join(tmp, "out")
                subprocess.run([args.sieve, "run", sieve_path, "--input", in_path,
                                "--output-dir", out_dir], check=True, stdout=subprocess.DEVNULL)
                ours = np.load(os.path.join(out_dir, "logits.npy")).reshape(ref.shape)
                tol = tol_scale * max(1.0, float(np.abs(ref).max()))
                diff = float(np.abs(ours - ref).max())
                worst = max(worst, diff / tol)
                top = np.sort(ref.ravel())[::-1]
                if diff > tol:
                    print(f"  {name} image {i}: max|diff| {diff:.3g} > tolerance {tol:.3g}")
                    ok = False
                if top[0] - top[1] > tol and int(ours.argmax()) != int(ref.argmax()):
                    print(f"  {name} image {i}: top-1 {int(ours.argmax())} != torch {int(ref.argmax())}")
                    ok = False
            print(f"{name:14s} {source:22s} {x_all.shape[0]} images  worst diff/tolerance "
                  f"{worst:.3f}  {'ok' if ok else 'FAIL'}")
            failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
