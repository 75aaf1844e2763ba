"""Writes a tiny ImageFolder and what torchvision makes of it, for image_folder_test.cpp.

Usage: make_image_folder.py OUT. Writes OUT/folder/<class>/... (JPEG, PNG, grayscale, RGBA and
palette images at odd sizes, photo-like: smooth shading, edges and noise), and for each transform
set T below OUT/T.npy (float32 [N,C,H,W], torchvision's tensors in ImageFolder order),
OUT/labels.npy (int64) and OUT/samples.txt (the file paths relative to OUT/folder, one a line).
Test-time only: the C++ tool never runs Python.
"""
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
import torch
from torchvision import datasets, transforms

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def photo(w, h, seed):
    """An RGB image like a photo: shaded background, a few shapes, blur, sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([128 + 90 * np.sin(x / (3 + c) + y / (5 + 2 * c) + seed) for c in range(3)], -1)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        x1, y1 = x0 + rng.integers(2, w), y0 + rng.integers(2, h)
        d.ellipse([x0, y0, x1, y1], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    img = img.filter(ImageFilter.GaussianBlur(0.8))
    a = np.asarray(img).astype(np.int16) + rng.integers(-12, 13, (h, w, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def write(root, rel, img, **kw):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path, **kw)


def make_folder(root):
    # Class names sort as "Zebra" < "cat" < "dog" (code points); "dog/sub" is walked after dog's
    # own files; notes.txt and README are not images.
    write(root, "cat/a.jpg", photo(37, 23, 1), quality=90)
    write(root, "cat/B.PNG", photo(29, 41, 2))
    write(root, "cat/c.jpeg", photo(50, 33, 3).convert("L"), quality=85)
    write(root, "dog/rgba.png", photo(31, 31, 4).convert("RGBA"))
    write(root, "dog/gray.png", photo(45, 20, 5).convert("L"))
    write(root, "dog/sub/deep.JPG", photo(17, 13, 6), quality=95)
    write(root, "dog/palette.png", photo(26, 35, 7).convert("P", palette=Image.ADAPTIVE))
    write(root, "Zebra/z1.jpg", photo(64, 48, 8), quality=75)
    write(root, "Zebra/z2.png", photo(21, 60, 9))
    with open(os.path.join(root, "dog", "notes.txt"), "w") as f:
        f.write("not an image\n")
    with open(os.path.join(root, "README"), "w") as f:
        f.write("files directly in the root are not samples\n")


def main(out):
    root = os.path.join(out, "folder")
    make_folder(root)
    sets = {
        "rgb": [transforms.Resize(24), transforms.CenterCrop(20), transforms.ToTensor(),
                transforms.Normalize(MEAN, STD)],
        "gray": [transforms.Grayscale(), transforms.Resize(24), transforms.CenterCrop(20),
                 transforms.ToTensor(), transforms.Normalize([0.5], [0.25])],
        "hw": [transforms.Resize((19, 27)), transforms.CenterCrop((21, 25)),
               transforms.ToTensor()],
    }
    for name, t in sets.items():
        ds = datasets.ImageFolder(root, transform=transforms.Compose(t))
        x = torch.stack([ds[i][0] for i in range(len(ds))]).numpy().astype(np.float32)
        np.save(os.path.join(out, name + ".npy"), x)
    np.save(os.path.join(out, "labels.npy"), np.array(ds.targets, dtype=np.int64))
    with open(os.path.join(out, "samples.txt"), "w") as f:
        for path, _ in ds.samples:
            f.write(os.path.relpath(path, root) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
