#!/usr/bin/python3
"""Train one model of the bundled suite on Fashion-MNIST and export ONNX.

    /usr/bin/python3 tools/train/train.py --model lenet5 [--epochs N]
        [--seed 0] [--threads 1] [--out models/onnx]

Writes, under --out:
    NAME.onnx   opset 13, input "input" (N x 1 x 28 x 28 float32, normalized
                as fmnist.MEAN/STD say, batch dim dynamic), output "logits"
                (N x 10, no softmax)
    NAME.pt     the trained state_dict (tools/train/reference.py loads it)
    NAME.json   the model card sidecar: params, macs, train_seconds, val_acc,
                test_acc, mean, std, labels, epochs, seed, command, ...
and models/labels.txt (one label per line, class index order).

Splits: train = train[0:50000], validation = train[50000:60000],
test = t10k. Validation accuracy is reported, never used to pick weights:
the weights after the last epoch are exported.
"""
import argparse
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# Per-model defaults, chosen so that each model trains in about ten minutes or
# less on one core of the build machine (2 x86-64 cores, AVX-512) when the
# machine is otherwise idle; epochs were cut for the models trained while
# other jobs were loading both cores.
DEFAULTS = {
    #                epochs  lr      optimizer  channels_last
    "lenet5":        dict(epochs=15, lr=1e-3, opt="adam", channels_last=False),
    "cifar10_quick": dict(epochs=8,  lr=2e-3, opt="adam", channels_last=True),
    "resnet18":      dict(epochs=7,  lr=2e-3, opt="adam", channels_last=True),
    "squeezenet":    dict(epochs=5,  lr=2e-3, opt="adam", channels_last=True),
    "nin":           dict(epochs=4,  lr=2e-3, opt="adam", channels_last=True),
    "alexnet":       dict(epochs=5,  lr=1e-3, opt="adam", channels_last=True),
    "googlenet":     dict(epochs=3,  lr=2e-3, opt="adam", channels_last=False),
    "vgg16":         dict(epochs=6,  lr=1e-3, opt="adam", channels_last=True),
}

# The operators the libsieve engine implements (DESIGN.md, layer kernels).
ALLOWED_OPS = {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "Relu",
               "LRN", "BatchNormalization", "Gemm", "MatMul", "Softmax",
               "Concat", "Add", "Flatten", "Reshape", "Dropout"}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("--model", required=True)
    p.add_argument("--epochs", type=int, default=None,
                   help="default: per model (see DEFAULTS)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (default 1: the machine is "
                        "shared with C compiles)")
    p.add_argument("--out", default=os.path.join(REPO, "models", "onnx"))
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--opt", choices=["adam", "sgd"], default=None)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--augment", choices=["none", "flip", "flipshift"],
                   default="flip",
                   help="training augmentation: horizontal flip, and random "
                        "shifts of up to 2 pixels")
    p.add_argument("--channels-last", choices=["auto", "yes", "no"],
                   default="auto", help="memory format (speed only)")
    p.add_argument("--limit", type=int, default=0,
                   help="use only the first N training images (smoke tests)")
    p.add_argument("--labels-out", default=os.path.join(REPO, "models",
                                                        "labels.txt"))
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Thread counts must be fixed before torch (and its BLAS) start.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, HERE)
    import fmnist
    import models

    if args.model not in models.MODELS:
        sys.exit("unknown model %r; choose from %s"
                 % (args.model, ", ".join(models.ORDER)))
    d = DEFAULTS[args.model]
    epochs = args.epochs if args.epochs is not None else d["epochs"]
    lr = args.lr if args.lr is not None else d["lr"]
    opt_name = args.opt or d["opt"]
    cl = {"auto": d["channels_last"], "yes": True, "no": False}[args.channels_last]

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)

    t0 = time.time()
    data = fmnist.load_all()
    xtr, ytr = (torch.from_numpy(a) for a in data["train"])
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    xva, yva = (torch.from_numpy(a) for a in data["val"])
    xte, yte = (torch.from_numpy(a) for a in data["test"])
    print("data: train %s val %s test %s (%.1fs)" % (tuple(xtr.shape),
          tuple(xva.shape), tuple(xte.shape), time.time() - t0), flush=True)

    model = models.build(args.model)
    n_params = models.count_params(model)
    macs = models.count_macs(model)
    print("model %s: %d params (%.2f MiB fp32), %d MACs"
          % (args.model, n_params, n_params * 4 / 2**20, macs), flush=True)
    mf = torch.channels_last if cl else torch.contiguous_format
    model = model.to(memory_format=mf)

    if opt_name == "adam":
        opt = torch.optim.AdamW(model.parameters(), lr=lr,
                                weight_decay=args.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9,
                              weight_decay=args.weight_decay, nesterov=True)
    steps_per_epoch = (xtr.shape[0] + args.batch - 1) // args.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.15,
        anneal_strategy="cos", div_factor=10.0, final_div_factor=100.0)

    gen = torch.Generator().manual_seed(args.seed)
    background = float((0.0 - fmnist.MEAN) / fmnist.STD)

    def augment(x):
        if args.augment == "none":
            return x
        n = x.shape[0]
        flip = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        if args.augment == "flipshift":
            padded = F.pad(x, (2, 2, 2, 2), value=background)
            dx = torch.randint(0, 5, (n,), generator=gen)
            dy = torch.randint(0, 5, (n,), generator=gen)
            out = torch.empty_like(x)
            for i in range(5):
                for j in range(5):
                    sel = ((dy == i) & (dx == j)).nonzero().flatten()
                    if sel.numel():
                        out[sel] = padded[sel, :, i:i + 28, j:j + 28]
            x = out
        return x

    def evaluate(x, y, bs=500):
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, x.shape[0], bs):
                xb = x[i:i + bs].contiguous(memory_format=mf)
                correct += (model(xb).argmax(1) == y[i:i + bs]).sum().item()
        return correct / x.shape[0]

    history = []
    t_train = time.time()
    for epoch in range(epochs):
        model.train()
        te = time.time()
        perm = torch.randperm(xtr.shape[0], generator=gen)
        loss_sum, correct, seen = 0.0, 0, 0
        for s in range(steps_per_epoch):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            xb = augment(xtr[idx]).contiguous(memory_format=mf)
            yb = ytr[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * yb.shape[0]
            correct += (out.argmax(1) == yb).sum().item()
            seen += yb.shape[0]
        val_acc = evaluate(xva, yva)
        rec = dict(epoch=epoch + 1, loss=loss_sum / seen,
                   train_acc=correct / seen, val_acc=val_acc,
                   seconds=time.time() - te)
        history.append(rec)
        print("epoch %2d/%d  loss %.4f  train %.4f  val %.4f  %.0fs  "
              "(total %.0fs)" % (epoch + 1, epochs, rec["loss"],
                                 rec["train_acc"], val_acc, rec["seconds"],
                                 time.time() - t_train), flush=True)
    # Training time includes the per-epoch validation passes.
    train_seconds = time.time() - t_train

    model = model.to(memory_format=torch.contiguous_format).eval()
    val_acc = evaluate(xva, yva)
    test_acc = evaluate(xte, yte)
    print("final: val %.4f  test %.4f  train time %.0fs"
          % (val_acc, test_acc, train_seconds), flush=True)

    os.makedirs(args.out, exist_ok=True)
    pt_path = os.path.join(args.out, args.model + ".pt")
    onnx_path = os.path.join(args.out, args.model + ".onnx")
    torch.save(model.state_dict(), pt_path)
    ops = export_onnx(model, onnx_path)

    with open(args.labels_out, "w") as f:
        f.write("\n".join(fmnist.LABELS) + "\n")

    cmd_args = ["--model", args.model, "--epochs", str(epochs),
                "--seed", str(args.seed), "--threads", str(args.threads)]
    for flag, val, default in (("--batch", args.batch, 128),
                               ("--augment", args.augment, "flip"),
                               ("--weight-decay", args.weight_decay, 5e-4)):
        if val != default:
            cmd_args += [flag, str(val)]
    if args.lr is not None:
        cmd_args += ["--lr", repr(args.lr)]
    if args.opt is not None:
        cmd_args += ["--opt", args.opt]
    if args.limit:
        cmd_args += ["--limit", str(args.limit)]
    card = dict(
        model=args.model,
        params=n_params,
        fp32_bytes=n_params * 4,
        macs=macs,
        train_seconds=round(train_seconds, 1),
        threads=args.threads,
        val_acc=round(val_acc, 4),
        test_acc=round(test_acc, 4),
        mean=fmnist.MEAN,
        std=fmnist.STD,
        input_shape=[1, 28, 28],
        input_name="input",
        output_name="logits",
        labels=fmnist.LABELS,
        epochs=epochs,
        seed=args.seed,
        batch=args.batch,
        optimizer=("AdamW" if opt_name == "adam" else "SGD-nesterov"),
        lr=lr,
        weight_decay=args.weight_decay,
        schedule="OneCycle cosine, 15% warm-up",
        augment=args.augment,
        splits=dict(train="train[0:50000]", val="train[50000:60000]",
                    test="t10k"),
        onnx_ops=ops,
        opset=13,
        history=history,
        torch_version=torch.__version__,
        command="/usr/bin/python3 tools/train/train.py " + " ".join(cmd_args),
    )
    with open(os.path.join(args.out, args.model + ".json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    print("wrote %s, %s, %s.json" % (onnx_path, pt_path,
                                     os.path.join(args.out, args.model)))


def export_onnx(model, path):
    """Export with a dynamic batch dim; check the graph only uses engine ops."""
    import onnx
    import torch
    x = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(model, x, path, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL)
    m = onnx.load(path)
    # The exporter deduplicates equal initializers (e.g. zero biases) and
    # refers to the copies through Identity nodes; the engine has no Identity
    # op, so give each user its own initializer instead.
    inits = {t.name: t for t in m.graph.initializer}
    keep = []
    for n in m.graph.node:
        if n.op_type == "Identity" and n.input[0] in inits:
            t = onnx.TensorProto()
            t.CopyFrom(inits[n.input[0]])
            t.name = n.output[0]
            m.graph.initializer.append(t)
        else:
            keep.append(n)
    if len(keep) != len(m.graph.node):
        del m.graph.node[:]
        m.graph.node.extend(keep)
        onnx.save(m, path)
    onnx.checker.check_model(m)
    nodes = [n.op_type for n in m.graph.node]
    print("ONNX nodes (%d): %s" % (len(nodes), " ".join(nodes)))
    counts = {}
    for op in nodes:
        counts[op] = counts.get(op, 0) + 1
    print("ONNX op counts: %s" % ", ".join("%s x%d" % kv
                                           for kv in sorted(counts.items())))
    bad = sorted(set(nodes) - ALLOWED_OPS)
    if bad:
        raise SystemExit("exported graph uses ops the engine lacks: %s"
                         % ", ".join(bad))
    if nodes[-1] == "Softmax":
        raise SystemExit("graph must end with logits, not Softmax")
    return counts


if __name__ == "__main__":
    main()
