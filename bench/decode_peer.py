"""Decode throughput of PIL + torchvision transforms, the peer of bench/decode_bench.cpp.

  decode_peer.py make DIR N W H   writes N photo-like W x H JPEGs (quality 90) to DIR/<class>/
  decode_peer.py time DIR S C     ImageFolder + Resize(S) + CenterCrop(C) + ToTensor + Normalize:
                                  images/s in one process, and with a DataLoader on 2 workers
(S = 0: no resize.) The commands and figures are in BENCHMARKS.md.
"""
import os
import sys
import time

import numpy as np
from PIL import Image, ImageFilter


def make(out, n, w, h):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(n):
        base = np.stack([128 + 90 * np.sin(x / (9 + c + i % 7) + y / (13 + 2 * c) + i)
                         for c in range(3)], -1)
        a = base + rng.normal(0, 10, (h, w, 3))
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1))
        d = os.path.join(out, "c%d" % (i % 4))
        os.makedirs(d, exist_ok=True)
        img.save(os.path.join(d, "%05d.jpg" % i), quality=90)


def timed(out, s, c):
    import torch
    from torchvision import datasets, transforms
    t = ([transforms.Resize(s)] if s else []) + [transforms.CenterCrop(c), transforms.ToTensor(),
         transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]
    ds = datasets.ImageFolder(out, transform=transforms.Compose(t))
    t0 = time.perf_counter()
    for i in range(len(ds)):
        ds[i]
    one = len(ds) / (time.perf_counter() - t0)
    loader = torch.utils.data.DataLoader(ds, batch_size=64, num_workers=2)
    t0 = time.perf_counter()
    for _ in loader:
        pass
    two = len(ds) / (time.perf_counter() - t0)
    print("PIL+torchvision: %d images, %.0f images/s (1 process), %.0f images/s (DataLoader, 2 workers)"
          % (len(ds), one, two))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        timed(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
