#!/usr/bin/python3
"""PyTorch peer for the autocompress throughput benchmark.

  /usr/bin/python3 bench/peer_torch.py --threads 2 --batch 256 [--images 10000] [--json]

Builds FashionCNN (examples/fashion_cnn.py) with the weights in examples/fashion_cnn.pt, loads the
first --images Fashion-MNIST test images (t10k) with the shared preprocessing
(x = u8.float().div(255) ; (x - 0.2860) / 0.3530, [N,1,28,28] float32), and times one full evaluation
pass (forward of every batch of --batch images + argmax) for
  (a) eager mode, under torch.inference_mode()
  (b) TorchScript: torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model.eval())))
      (falls back to torch.jit.trace if scripting fails)
Image decoding and preprocessing happen once, before timing. One warm-up pass, then the median of
--repeats (default 5) timed passes. Reports images/s, wall seconds and top-1 accuracy for each.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
sys.path.insert(0, EXAMPLES)
from fashion_cnn import FashionCNN, preprocess  # noqa: E402
from train_fashion import load_split  # noqa: E402


def run_pass(model, x, batch):
    preds = []
    with torch.inference_mode():
        for i in range(0, x.shape[0], batch):
            preds.append(model(x[i:i + batch]).argmax(1))
    return torch.cat(preds)


def bench(model, x, labels, batch, repeats):
    run_pass(model, x, batch)  # warm-up (also triggers TorchScript profiling/optimization)
    times, preds = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        preds = run_pass(model, x, batch)
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    return {"images_per_s": x.shape[0] / sec, "seconds": sec,
            "top1": float((preds.numpy() == labels).mean()),
            "all_seconds": [round(t, 4) for t in times]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--images", type=int, default=10000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--weights", default=os.path.join(EXAMPLES, "fashion_cnn.pt"))
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout (logs go to stderr)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = sys.stderr if args.json else sys.stdout

    def log(*a):
        print(*a, file=out, flush=True)

    u8, labels = load_split("test")
    u8, labels = u8[:args.images], labels[:args.images]
    x = preprocess(u8).contiguous()

    model = FashionCNN()
    model.load_state_dict(torch.load(args.weights, map_location="cpu"))
    model.eval()

    try:
        ts = torch.jit.script(model)
        ts_kind = "script"
    except Exception as e:  # pragma: no cover - fallback path
        log(f"torch.jit.script failed ({e}); using torch.jit.trace")
        ts = torch.jit.trace(model, x[:args.batch])
        ts_kind = "trace"
    ts = torch.jit.optimize_for_inference(torch.jit.freeze(ts.eval()))

    log(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, "
        f"images {x.shape[0]}, repeats {args.repeats} (median), TorchScript via {ts_kind}")
    res = {}
    for name, m in (("eager", model), ("torchscript", ts)):
        r = bench(m, x, labels, args.batch, args.repeats)
        res[name] = r
        log(f"{name:12s} {r['images_per_s']:10.1f} images/s  {r['seconds']:.4f} s  top1 {r['top1']:.4f}  "
            f"(passes: {r['all_seconds']})")

    rec_path = os.path.join(EXAMPLES, "fashion_cnn.json")
    if args.images == 10000 and os.path.exists(rec_path) and args.weights.endswith("examples/fashion_cnn.pt"):
        with open(rec_path) as f:
            rec = json.load(f)["test_top1"]
        ok = all(abs(res[k]["top1"] - rec) < 1e-9 for k in res)
        log(f"recorded test_top1 {rec:.4f}: {'match' if ok else 'MISMATCH'}")

    if args.json:
        print(json.dumps({"eager": res["eager"], "torchscript": res["torchscript"], "threads": args.threads,
                          "batch": args.batch, "images": int(x.shape[0]), "repeats": args.repeats,
                          "torch_version": torch.__version__, "torchscript_kind": ts_kind}))


if __name__ == "__main__":
    main()
