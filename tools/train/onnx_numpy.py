"""A small, slow, float64 NumPy interpreter for the ONNX subset libsieve runs.

Used by reference.py to check that an exported .onnx file computes the same
logits as the PyTorch model it came from (LRN symbolic, folded BatchNorm,
deduplicated initializers, pooling attributes), and usable as an
independent statement of each operator's semantics:

    /usr/bin/python3 tools/train/onnx_numpy.py models/onnx/lenet5.onnx input.npy

Ops: Conv, MaxPool, AveragePool, GlobalAveragePool, Relu, LRN,
BatchNormalization, Gemm, MatMul, Softmax, Concat, Add, Flatten, Reshape,
Dropout, Identity, Constant. auto_pad other than NOTSET is not supported.
"""
import math
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _check_auto_pad(a):
    ap = a.get("auto_pad", b"NOTSET")
    if isinstance(ap, bytes):
        ap = ap.decode()
    if ap not in ("NOTSET", ""):
        raise NotImplementedError("auto_pad=%s" % ap)


def _out_size(size, k, s, pb, pe, d=1, ceil_mode=False):
    eff = d * (k - 1) + 1
    num = size + pb + pe - eff
    o = (math.ceil(num / s) if ceil_mode else num // s) + 1
    if ceil_mode and (o - 1) * s >= size + pb:
        o -= 1  # the last window must start inside the input or left pad
    return o


def conv(x, w, b, a):
    _check_auto_pad(a)
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    g = a.get("group", 1)
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    oh = _out_size(h, kh, sh, pt, pb, dh)
    ow = _out_size(wd, kw, sw, pl, pr, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    y = np.zeros((n, m, oh, ow))
    mg = m // g
    for gi in range(g):
        xs = xp[:, gi * cg:(gi + 1) * cg]
        ws = w[gi * mg:(gi + 1) * mg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                           j * dw:j * dw + sw * (ow - 1) + 1:sw]
                y[:, gi * mg:(gi + 1) * mg] += np.einsum(
                    "nchw,mc->nmhw", patch, ws[:, :, i, j])
    if b is not None:
        y += b[None, :, None, None]
    return y


def _pool(x, a, kind):
    _check_auto_pad(a)
    n, c, h, w = x.shape
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    if a.get("dilations", [1, 1]) != [1, 1]:
        raise NotImplementedError("pool dilations")
    ceil_mode = bool(a.get("ceil_mode", 0))
    oh = _out_size(h, kh, sh, pt, pb, 1, ceil_mode)
    ow = _out_size(w, kw, sw, pl, pr, 1, ceil_mode)
    # extra padding at the end so that every ceil-mode window is in bounds
    eb = max(0, (oh - 1) * sh + kh - (h + pt + pb))
    er = max(0, (ow - 1) * sw + kw - (w + pl + pr))
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb + eb), (pl, pr + er)),
                constant_values=fill)
    # 1 where the padded tensor holds input (or, with count_include_pad,
    # the explicit pads), 0 in the ceil-mode extension
    include_pad = bool(a.get("count_include_pad", 0))
    ones = np.zeros((1, 1) + xp.shape[2:])
    if include_pad:
        ones[:, :, :h + pt + pb, :w + pl + pr] = 1
    else:
        ones[:, :, pt:pt + h, pl:pl + w] = 1
    acc = np.full((n, c, oh, ow), -np.inf if kind == "max" else 0.0)
    cnt = np.zeros((1, 1, oh, ow))
    for i in range(kh):
        for j in range(kw):
            sl = (slice(None), slice(None),
                  slice(i, i + sh * (oh - 1) + 1, sh),
                  slice(j, j + sw * (ow - 1) + 1, sw))
            if kind == "max":
                acc = np.maximum(acc, xp[sl])
            else:
                acc += xp[sl]
                cnt += ones[sl]
    return acc if kind == "max" else acc / cnt


def lrn(x, a):
    size = a["size"]
    alpha = a.get("alpha", 1e-4)
    beta = a.get("beta", 0.75)
    bias = a.get("bias", 1.0)
    c = x.shape[1]
    sq = x * x
    s = np.zeros_like(x)
    lo, hi = (size - 1) // 2, (size - 1) - (size - 1) // 2  # floor, ceil
    for ch in range(c):
        s[:, ch] = sq[:, max(0, ch - lo):min(c, ch + hi + 1)].sum(1)
    return x / (bias + alpha / size * s) ** beta


def run(model, feeds):
    """model: onnx.ModelProto or path; feeds: {name: array}. Returns
    {output name: float64 array}."""
    if isinstance(model, str):
        model = onnx.load(model)
    env = {t.name: numpy_helper.to_array(t).astype(np.float64)
           if t.data_type == onnx.TensorProto.FLOAT
           else numpy_helper.to_array(t) for t in model.graph.initializer}
    for k, v in feeds.items():
        env[k] = np.asarray(v, dtype=np.float64)
    for node in model.graph.node:
        a = _attrs(node)
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Conv":
            y = conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
        elif op == "MaxPool":
            y = _pool(ins[0], a, "max")
        elif op == "AveragePool":
            y = _pool(ins[0], a, "avg")
        elif op == "GlobalAveragePool":
            y = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "LRN":
            y = lrn(ins[0], a)
        elif op == "BatchNormalization":
            x, sc, b, mu, var = ins[:5]
            r = lambda t: t[None, :, None, None] if x.ndim == 4 else t[None, :]
            y = (x - r(mu)) / np.sqrt(r(var) + a.get("epsilon", 1e-5)) * r(sc) + r(b)
        elif op == "Gemm":
            A, B = ins[0], ins[1]
            if a.get("transA", 0):
                A = A.T
            if a.get("transB", 0):
                B = B.T
            y = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
        elif op == "MatMul":
            y = ins[0] @ ins[1]
        elif op == "Softmax":
            ax = a.get("axis", -1)
            e = np.exp(ins[0] - ins[0].max(axis=ax, keepdims=True))
            y = e / e.sum(axis=ax, keepdims=True)
        elif op == "Concat":
            y = np.concatenate(ins, axis=a["axis"])
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Reshape":
            shape = [int(s) for s in ins[1]]
            shape = [ins[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
            y = ins[0].reshape(shape)
        elif op in ("Dropout", "Identity"):
            y = ins[0]
        elif op == "Constant":
            y = numpy_helper.to_array(a["value"])
        else:
            raise NotImplementedError("op %s" % op)
        env[node.output[0]] = y
    return {o.name: env[o.name] for o in model.graph.output}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: onnx_numpy.py MODEL.onnx INPUT.npy")
    m = onnx.load(sys.argv[1])
    out = run(m, {m.graph.input[0].name: np.load(sys.argv[2])})
    for k, v in out.items():
        print(k, v.shape)
        print(v)
