#!/usr/bin/python3
"""Export real Fashion-MNIST TEST images as PNG fixtures for the C tests.

    /usr/bin/python3 tools/train/export_images.py [--per-class 3] [--out tests/data]
        [--extra 113,255,285]

Takes, for each class, the first PER_CLASS images of that class in t10k
order, and the EXTRA indices (the bundled set adds 113, 255 and 285: images
the bundled LeNet-5 is unsure of, so that speculation tests see replays), writes each as an 8-bit grayscale 28x28 PNG named
`t10k_<index>_<label>.png` (index = position in t10k, 5 digits; label = the
true class, lower case, non-alphanumerics as '_'), and writes
OUT/README.md listing them. Pixels are the raw uint8 values of the idx file
(no normalization); the PNG encoder is PIL when present, else a minimal
zlib-based writer. The output is deterministic.
"""
import argparse
import os
import re
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import fmnist  # noqa: E402


def slug(label):
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def write_png_gray(path, img):
    """8-bit grayscale PNG, no ancillary chunks."""
    try:
        from PIL import Image
        Image.fromarray(img, mode="L").save(path, format="PNG")
        return
    except ImportError:
        pass
    h, w = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def main():
    p = argparse.ArgumentParser(description="export t10k images as PNG")
    p.add_argument("--per-class", type=int, default=3)
    p.add_argument("--out", default=os.path.join(REPO, "tests", "data"))
    p.add_argument("--extra", default="",
                   help="comma-separated t10k indices to export as well")
    args = p.parse_args()

    images, labels = fmnist.load_split("test")
    os.makedirs(args.out, exist_ok=True)
    chosen = []
    for c in range(len(fmnist.LABELS)):
        idx = [i for i in range(len(labels)) if labels[i] == c][:args.per_class]
        chosen += idx
    extra = [int(i) for i in args.extra.split(",") if i.strip()]
    chosen = sorted(set(chosen + extra))
    rows = []
    for i in chosen:
        c = int(labels[i])
        name = "t10k_%05d_%s.png" % (i, slug(fmnist.LABELS[c]))
        write_png_gray(os.path.join(args.out, name), images[i])
        rows.append((name, i, c, fmnist.LABELS[c]))
        print(name)

    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write("""# Test images

%d real images from the Fashion-MNIST **test** set (`t10k`, Debian's
`dataset-fashion-mnist`, `/usr/share/datasets/fashion-mnist/`): for each of
the 10 classes, the first %d images of that class in t10k order, plus
%s (images the bundled LeNet-5 is unsure of: the speculation tests need
inputs whose answer is replayed).

- Format: 28x28, 8-bit grayscale PNG, the raw pixel values of the idx file
  (white object on black background, no normalization). The bundled models
  expect `x = (pixel/255 - %.4f) / %.4f`, which `sieve import --mean
  --std` records in the model file.
- Name: `t10k_<index>_<label>.png`; `index` is the image's position in
  `t10k-images-idx3-ubyte.gz` (0-based), `label` its true class.
- Made by `/usr/bin/python3 tools/train/export_images.py --extra %s`
  (deterministic; rerun it to regenerate).

| file | t10k index | class index | label |
|---|---:|---:|---|
""" % (len(rows), args.per_class, ", ".join(str(i) for i in extra) or "none",
       fmnist.MEAN, fmnist.STD, args.extra or "''"))
        for name, i, c, lab in rows:
            f.write("| `%s` | %d | %d | %s |\n" % (name, i, c, lab))
        f.write("\nClass index order (also `models/labels.txt`): %s.\n"
                % ", ".join("%d %s" % (k, l) for k, l in enumerate(fmnist.LABELS)))


if __name__ == "__main__":
    main()
