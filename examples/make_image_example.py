"""A stand-in for "your own model and images": the README's second worked example.

  /usr/bin/python3 examples/make_image_example.py OUT [--train N] [--epochs E] [--seed S]

Writes to OUT:
  model.onnx      torchvision's MobileNetV2 (width 0.5, 10 classes, 3 x 64 x 64 input), trained
                  briefly on Fashion-MNIST images turned into tinted RGB photos
  val/<class>/    1,000 PNG images from the train files' last 10,000 (the `val` split), a folder
                  per class as torchvision's ImageFolder reads them (class index = sorted name)
  test/<class>/   1,000 PNG images from t10k (the `test` split)
  calib/          256 PNG images from the first 50,000 train images, flat (no labels)
  preprocess.json Resize(72) + CenterCrop(64) + Normalize(ImageNet mean/std): what the model
                  was trained with, in autocompress's preprocessing-file format (docs/data.md)
and prints the model's top-1 on val/ and test/ as torchvision reads them. The images are 80 x 80
RGB (not the model's 64 x 64): the preprocessing resizes and crops them as a real pipeline does.
Deterministic for a seed; a few minutes on 2 cores.
"""
import argparse
import gzip
import json
import os

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms

FASHION = "/usr/share/datasets/fashion-mnist"
CLASSES = ["0_tshirt", "1_trouser", "2_pullover", "3_dress", "4_coat", "5_sandal", "6_shirt",
           "7_sneaker", "8_bag", "9_ankle_boot"]
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
PRE = transforms.Compose([transforms.Resize(72), transforms.CenterCrop(64), transforms.ToTensor(),
                          transforms.Normalize(MEAN, STD)])


def idx(name):
    with gzip.open(os.path.join(FASHION, name)) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def photo(gray, rng):
    """A 28 x 28 gray item as an 80 x 80 RGB photo: tinted, on a tinted background."""
    g = Image.fromarray(gray).resize((80, 80), Image.BILINEAR)
    a = np.asarray(g, np.float32)[..., None] / 255
    fg = rng.uniform(0.4, 1.0, 3)
    bg = rng.uniform(0.0, 0.35, 3)
    rgb = a * fg + (1 - a) * bg + rng.normal(0, 0.02, (80, 80, 3))
    return Image.fromarray(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8))


def write_folder(root, images, labels, rng, flat=False):
    for i, (x, y) in enumerate(zip(images, labels)):
        d = root if flat else os.path.join(root, CLASSES[y])
        os.makedirs(d, exist_ok=True)
        photo(x, rng).save(os.path.join(d, "%05d.png" % i))


def accuracy(model, root):
    ds = torchvision.datasets.ImageFolder(root, transform=PRE)
    loader = torch.utils.data.DataLoader(ds, batch_size=250)
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += int((model(x).argmax(1) == y).sum())
    return correct / len(ds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=12000, help="training images")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(2)
    rng = np.random.default_rng(a.seed)
    xs, ys = idx("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz")
    xt, yt = idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz")
    os.makedirs(a.out, exist_ok=True)
    write_folder(os.path.join(a.out, "val"), xs[50000:51000], ys[50000:51000], rng)
    write_folder(os.path.join(a.out, "test"), xt[:1000], yt[:1000], rng)
    write_folder(os.path.join(a.out, "calib"), xs[:256], ys[:256], rng, flat=True)
    with open(os.path.join(a.out, "preprocess.json"), "w") as f:
        json.dump({"resize": 72, "center_crop": 64, "mean": MEAN, "std": STD}, f)
        f.write("\n")

    # Training photos made the same way, preprocessed as the folders will be.
    order = rng.permutation(50000)[:a.train]
    x = torch.stack([PRE(photo(xs[i], rng)) for i in order])
    y = torch.from_numpy(ys[order].astype(np.int64))
    model = torchvision.models.mobilenet_v2(width_mult=0.5, num_classes=10)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = a.epochs * (a.train // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    model.train()
    for epoch in range(a.epochs):
        perm = torch.randperm(a.train)
        for s in range(a.train // 128):
            b = perm[s * 128:(s + 1) * 128]
            loss = torch.nn.functional.cross_entropy(model(x[b]), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print("epoch %d: loss %.3f" % (epoch + 1, float(loss)))
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 3, 64, 64), os.path.join(a.out, "model.onnx"),
                      input_names=["x"], output_names=["logits"], opset_version=13,
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}})
    print("torch top-1: val %.4f, test %.4f" % (accuracy(model, os.path.join(a.out, "val")),
                                               accuracy(model, os.path.join(a.out, "test"))))


if __name__ == "__main__":
    main()
