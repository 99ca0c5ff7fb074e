"""Fashion-MNIST idx(.gz) loader and the splits shared by the whole project.

Splits (see the design notes, "Datasets"):
  train      = train[0:50000]
  validation = train[50000:60000]   (the only data that format search and
                                     calibration see)
  test       = t10k                 (reported only)

Pure Python + numpy; the gzip module handles .gz files.
"""
import gzip
import os
import struct

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"

# Normalization x = (pixel / 255 - MEAN) / STD.
# Computed once over the TRAIN split only (train[0:50000], all 50000*28*28
# pixels, float64, population std) with
#     /usr/bin/python3 tools/train/fmnist.py --stats
# which prints mean = 0.285499, std = 0.352784; rounded to 4 decimals and
# hardcoded here so that training, the model cards and
# `sieve import --mean/--std` all use the same numbers.
# (The often-quoted 0.2860 / 0.3530 are the statistics of all 60,000 training
# images, i.e. they include our validation split train[50000:60000]; we do not
# use them so that no statistic is taken from validation data.)
MEAN = 0.2855
STD = 0.3528

LABELS = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]

TRAIN_END = 50000  # train[0:50000] is train, train[50000:60000] validation


def _open(path):
    if os.path.exists(path):
        return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")
    if path.endswith(".gz") and os.path.exists(path[:-3]):
        return open(path[:-3], "rb")
    if os.path.exists(path + ".gz"):
        return gzip.open(path + ".gz", "rb")
    raise FileNotFoundError(path)


def read_idx(path):
    """Read an idx file (optionally gzip-compressed) into a numpy array."""
    with _open(path) as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError("%s: too short for an idx header" % path)
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise ValueError("%s: bad idx magic" % path)
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4",
              0x0D: ">f4", 0x0E: ">f8"}
    if dtype_code not in dtypes:
        raise ValueError("%s: unknown idx dtype 0x%02x" % (path, dtype_code))
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    dt = np.dtype(dtypes[dtype_code])
    count = int(np.prod(dims)) if ndim else 1
    off = 4 + 4 * ndim
    if len(data) - off < count * dt.itemsize:
        raise ValueError("%s: truncated idx payload" % path)
    arr = np.frombuffer(data, dtype=dt, count=count, offset=off)
    return arr.reshape(dims).astype(dt.newbyteorder("="), copy=False)


def load_raw(prefix):
    """prefix 'train' or 't10k' (or a path prefix) -> (uint8 N x 28 x 28, int64 N)."""
    if os.sep not in prefix:
        prefix = os.path.join(DATA_DIR, prefix)
    images = read_idx(prefix + "-images-idx3-ubyte.gz")
    labels = read_idx(prefix + "-labels-idx1-ubyte.gz").astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise ValueError("%s: %d images but %d labels"
                         % (prefix, images.shape[0], labels.shape[0]))
    return images, labels


def normalize(images_u8):
    """uint8 N x 28 x 28 -> float32 N x 1 x 28 x 28, normalized."""
    x = images_u8.astype(np.float32) / 255.0
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return x[:, None, :, :].astype(np.float32)


def load_split(name):
    """name in {'train', 'val', 'test'} -> (uint8 images, int64 labels)."""
    if name == "train":
        x, y = load_raw("train")
        return x[:TRAIN_END], y[:TRAIN_END]
    if name in ("val", "validation"):
        x, y = load_raw("train")
        return x[TRAIN_END:], y[TRAIN_END:]
    if name == "test":
        return load_raw("t10k")
    raise ValueError("unknown split %r" % name)


def load_all():
    """Return dict split -> (float32 normalized NCHW, int64 labels)."""
    xtr, ytr = load_raw("train")
    xte, yte = load_raw("t10k")
    return {
        "train": (normalize(xtr[:TRAIN_END]), ytr[:TRAIN_END]),
        "val": (normalize(xtr[TRAIN_END:]), ytr[TRAIN_END:]),
        "test": (normalize(xte), yte),
    }


def _stats():
    x, _ = load_split("train")
    x = x.astype(np.float64) / 255.0
    print("train split: %d images" % x.shape[0])
    print("mean = %.6f  std = %.6f" % (x.mean(), x.std()))


if __name__ == "__main__":
    import sys
    if "--stats" in sys.argv:
        _stats()
    else:
        for s in ("train", "val", "test"):
            x, y = load_split(s)
            print(s, x.shape, x.dtype, y.shape, np.bincount(y, minlength=10))
