#!/usr/bin/python3
"""Train FashionCNN on Fashion-MNIST and export the default autocompress model.

Run:  /usr/bin/python3 examples/train_fashion.py            (train + export, ~15-20 min on 2 threads)
      /usr/bin/python3 examples/train_fashion.py --export-only   (re-export from examples/fashion_cnn.pt)

Split rule (shared with the C++ tool):
  train = images [0, 50000) of train-*-ubyte.gz
  val   = images [50000, 60000) of train-*-ubyte.gz
  test  = t10k-*-ubyte.gz
Only the train split is used for gradient steps. The epoch whose weights are kept is chosen on val;
the test split is evaluated once, after that choice.

Preprocessing (replicated bit-for-bit in float32 by the C++ tool):
  x = torch.from_numpy(u8).float().div(255.0); x = (x - 0.2860) / 0.3530 ; shape [N,1,28,28]

Outputs (next to this script):
  fashion_cnn.pt, fashion_cnn.onnx, fashion_cnn_test_logits.npy.gz, fashion_cnn.json
"""
import argparse
import gzip
import io
import json
import os
import random
import sys
import time
from collections import Counter

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fashion_cnn import CLASSES, MEAN, STD, FashionCNN, preprocess  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"
N_TRAIN = 50000
SEED = 20240521
OPSET = 13


def log(*a):
    print(*a, flush=True)


# ----------------------------------------------------------------------------- data
def read_idx_gz(path):
    """Minimal IDX reader (big-endian header: magic, dims) for the .gz files."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    dtype_code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    assert dtype_code == 0x08, f"{path}: expected unsigned byte data, got type 0x{dtype_code:02x}"
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    off = 4 + 4 * ndim
    arr = np.frombuffer(raw, dtype=np.uint8, offset=off).copy()
    assert arr.size == int(np.prod(dims)), f"{path}: size mismatch"
    return arr.reshape(dims)


def load_split(split, data_dir=DATA_DIR):
    """split in {'train','val','test'} -> (uint8 images [N,28,28], int64 labels [N])."""
    if split in ("train", "val"):
        x = read_idx_gz(os.path.join(data_dir, "train-images-idx3-ubyte.gz"))
        y = read_idx_gz(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"))
        sl = slice(0, N_TRAIN) if split == "train" else slice(N_TRAIN, 60000)
        x, y = x[sl], y[sl]
    elif split == "test":
        x = read_idx_gz(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"))
        y = read_idx_gz(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz"))
    else:
        raise ValueError(split)
    return np.ascontiguousarray(x), y.astype(np.int64)


def augment_u8(xb, gen):
    """Random crop (pad 2, zero = black background) + horizontal flip on uint8 [B,28,28]."""
    b = xb.shape[0]
    xp = F.pad(xb, (2, 2, 2, 2))  # [B,32,32]
    oy = torch.randint(0, 5, (b,), generator=gen)
    ox = torch.randint(0, 5, (b,), generator=gen)
    ar = torch.arange(28)
    rows = (oy[:, None] + ar)[:, :, None]          # [B,28,1]
    cols = (ox[:, None] + ar)[:, None, :]          # [B,1,28]
    out = xp[torch.arange(b)[:, None, None], rows, cols]
    flip = torch.rand(b, generator=gen) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


@torch.no_grad()
def predict_logits(model, u8, batch=1000):
    model.eval()
    outs = []
    for i in range(0, len(u8), batch):
        outs.append(model(preprocess(u8[i:i + batch])))
    return torch.cat(outs)


def top1(logits, labels):
    return float((logits.argmax(1).numpy() == labels).mean())


# ----------------------------------------------------------------------------- training
def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def train(args):
    seed_everything(args.seed)
    xtr, ytr = load_split("train")
    xva, yva = load_split("val")
    log(f"train {xtr.shape} val {xva.shape}")
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)

    model = FashionCNN()
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (no_decay if p.dim() == 1 else decay).append(p)
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": args.wd}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, momentum=0.9, nesterov=True)
    steps_per_epoch = (N_TRAIN + args.batch - 1) // args.batch
    total = steps_per_epoch * args.epochs
    warm = steps_per_epoch // 2

    def lr_at(step):
        if step < warm:
            return args.lr * (step + 1) / warm
        t = (step - warm) / max(1, total - warm)
        return args.lr * 0.5 * (1.0 + np.cos(np.pi * t))

    gen = torch.Generator().manual_seed(args.seed + 1)
    best = {"val_top1": -1.0}
    history = []
    t0 = time.time()
    step = 0
    for ep in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(N_TRAIN, generator=gen)
        run_loss, run_n, correct = 0.0, 0, 0
        for i in range(0, N_TRAIN, args.batch):
            idx = perm[i:i + args.batch]
            xb = preprocess(augment_u8(xtr_t[idx], gen))
            yb = ytr_t[idx]
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            out = model(xb)
            loss = F.cross_entropy(out, yb, label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            run_loss += float(loss) * len(idx)
            run_n += len(idx)
            correct += int((out.argmax(1) == yb).sum())
            if (i // args.batch) % 100 == 0:
                log(f"  ep {ep} it {i // args.batch}/{steps_per_epoch} loss {run_loss / run_n:.4f} "
                    f"lr {lr_at(step):.4f} t {time.time() - t0:.0f}s")
        val_acc = top1(predict_logits(model, xva), yva)
        history.append({"epoch": ep, "train_loss": run_loss / run_n,
                        "train_top1": correct / run_n, "val_top1": val_acc})
        log(f"epoch {ep}/{args.epochs} train_loss {run_loss / run_n:.4f} train_top1 {correct / run_n:.4f} "
            f"val_top1 {val_acc:.4f} elapsed {time.time() - t0:.0f}s")
        if val_acc > best["val_top1"]:
            best = {"val_top1": val_acc, "epoch": ep,
                    "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
    train_seconds = time.time() - t0
    log(f"best val_top1 {best['val_top1']:.4f} at epoch {best['epoch']} (of {args.epochs}); "
        f"training {train_seconds:.0f}s")
    torch.save(best["state"], os.path.join(HERE, "fashion_cnn.pt"))
    info = {"train_images": N_TRAIN, "val_top1": best["val_top1"], "epochs": best["epoch"],
            "torch_version": torch.__version__, "seed": args.seed, "mean": MEAN, "std": STD,
            "onnx_opset": OPSET, "training_seconds": round(train_seconds, 1),
            "epochs_scheduled": args.epochs, "epoch_selection": "epoch with the best val_top1",
            "optimizer": "SGD nesterov momentum 0.9", "batch": args.batch, "lr": args.lr,
            "weight_decay": args.wd, "label_smoothing": args.label_smoothing,
            "lr_schedule": "half-epoch linear warmup + cosine to 0 over epochs_scheduled",
            "augmentation": "random crop (pad 2 with zeros = black) + horizontal flip",
            "threads": torch.get_num_threads(),
            "history": [{k: round(v, 4) if isinstance(v, float) else v for k, v in h.items()} for h in history]}
    # Written now so that --export-only can re-export from fashion_cnn.pt; export() completes it.
    write_json(info)
    return info


# ----------------------------------------------------------------------------- ONNX
def onnx_export_keep_bn(model, dummy, path, input_name, output_name):
    """Export in eval semantics but WITHOUT torch's eval-mode Conv+BN fusion.

    torch 1.13 runs _jit_pass_onnx_eval_peephole (which folds BatchNorm into the preceding Conv)
    whenever training=TrainingMode.EVAL (the default). With TrainingMode.PRESERVE and a model already
    in eval mode, the exporter keeps export_training=False (BatchNormalization with training_mode=0,
    Dropout dropped) and skips that peephole, so BatchNormalization nodes survive. Constant folding
    still runs (it only folds constant subgraphs such as shape computations).
    """
    import warnings
    model.eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="It is recommended that constant folding")
        torch.onnx.export(
            model, dummy, path, export_params=True, opset_version=OPSET,
            do_constant_folding=True, training=torch.onnx.TrainingMode.PRESERVE,
            input_names=[input_name], output_names=[output_name],
            dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}})


def onnx_numpy_run(model_proto, x):
    """Tiny float64 numpy ONNX interpreter for the ops our exports use (independent of torch).

    Used only to verify the exported graphs; supports Conv, BatchNormalization, Relu, Clip, Add,
    MaxPool, GlobalAveragePool, Flatten, Reshape, Gemm, MatMul, Identity, Constant.
    """
    from onnx import numpy_helper
    g = model_proto.graph
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) if numpy_helper.to_array(t).dtype.kind == "f"
           else numpy_helper.to_array(t) for t in g.initializer}
    env[g.input[0].name] = x.astype(np.float64)

    def attrs(node):
        from onnx import helper
        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def pad_nchw(a, pads, value=0.0):
        k = len(pads) // 2
        return np.pad(a, [(0, 0), (0, 0)] + [(pads[i], pads[i + k]) for i in range(k)], constant_values=value)

    def windows(a, kh, kw, sh, sw, dh=1, dw=1):
        n, c, h, w = a.shape
        oh = (h - dh * (kh - 1) - 1) // sh + 1
        ow = (w - dw * (kw - 1) - 1) // sw + 1
        s = a.strides
        return np.lib.stride_tricks.as_strided(
            a, (n, c, oh, ow, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2] * dh, s[3] * dw))

    for node in g.node:
        ins = [env[i] if i else None for i in node.input]
        at = attrs(node)
        op = node.op_type
        if op == "Conv":
            xx, w = ins[0], ins[1]
            b = ins[2] if len(ins) > 2 else None
            grp = at.get("group", 1)
            st = at.get("strides", [1, 1])
            dl = at.get("dilations", [1, 1])
            assert at.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
            xx = pad_nchw(xx, at.get("pads", [0, 0, 0, 0]))
            kh, kw = w.shape[2], w.shape[3]
            cin_g, cout = w.shape[1], w.shape[0]
            cout_g = cout // grp
            win = windows(np.ascontiguousarray(xx), kh, kw, st[0], st[1], dl[0], dl[1])
            outs = []
            for gi in range(grp):
                wi = win[:, gi * cin_g:(gi + 1) * cin_g]
                outs.append(np.einsum("nchwij,ocij->nohw", wi, w[gi * cout_g:(gi + 1) * cout_g], optimize=True))
            y = np.concatenate(outs, axis=1)
            if b is not None:
                y = y + b[None, :, None, None]
        elif op == "BatchNormalization":
            xx, sc, bi, mu, var = ins
            eps = at.get("epsilon", 1e-5)
            assert at.get("training_mode", 0) == 0
            sh = (1, -1) + (1,) * (xx.ndim - 2)
            y = (xx - mu.reshape(sh)) / np.sqrt(var.reshape(sh) + eps) * sc.reshape(sh) + bi.reshape(sh)
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "Clip":
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else -np.inf
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else np.inf
            y = np.clip(ins[0], lo, hi)
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "MaxPool":
            k = at["kernel_shape"]
            st = at.get("strides", [1, 1])
            assert at.get("ceil_mode", 0) == 0
            xx = pad_nchw(ins[0], at.get("pads", [0, 0, 0, 0]), -np.inf)
            y = windows(np.ascontiguousarray(xx), k[0], k[1], st[0], st[1]).max(axis=(4, 5))
        elif op == "GlobalAveragePool":
            y = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "Flatten":
            ax = at.get("axis", 1)
            y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Reshape":
            shape = [int(s) for s in ins[1]]
            shape = [ins[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
            y = ins[0].reshape(shape)
        elif op == "Gemm":
            a, b = ins[0], ins[1]
            if at.get("transA", 0):
                a = a.T
            if at.get("transB", 0):
                b = b.T
            y = at.get("alpha", 1.0) * (a @ b)
            if len(ins) > 2 and ins[2] is not None:
                y = y + at.get("beta", 1.0) * ins[2]
        elif op == "MatMul":
            y = ins[0] @ ins[1]
        elif op == "Identity":
            y = ins[0]
        elif op == "Constant":
            from onnx import numpy_helper as nh
            y = nh.to_array(at["value"]) if "value" in at else np.array(at["value_float"])
            y = y.astype(np.float64) if y.dtype.kind == "f" else y
        else:
            raise NotImplementedError(f"numpy reference: op {op}")
        env[node.output[0]] = y
    return env[g.output[0].name]


def verify_onnx(path, torch_model, x, expect_bn, atol=1e-4):
    """Check the file: checker, BatchNormalization present, outputs match torch. Returns op Counter."""
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = Counter(n.op_type for n in m.graph.node)
    n_bn = ops.get("BatchNormalization", 0)
    assert n_bn == expect_bn, f"{path}: expected {expect_bn} BatchNormalization nodes, found {n_bn}: {ops}"
    for n in m.graph.node:
        if n.op_type == "BatchNormalization":
            assert len(n.output) == 1, "BatchNormalization exported in training mode"
    torch_model.eval()
    with torch.no_grad():
        ref = torch_model(torch.from_numpy(x)).numpy()
    got = onnx_numpy_run(m, x)
    err = float(np.abs(got - ref).max())
    scale = float(np.abs(ref).max())
    log(f"verify {os.path.basename(path)}: ops {dict(ops)}; max|onnx(numpy f64) - torch| = {err:.3g} "
        f"(max|out| {scale:.3g})")
    assert err <= atol * max(1.0, scale), f"{path}: ONNX numpy reference disagrees with torch ({err})"
    dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    assert isinstance(dims[0], str), f"batch axis not dynamic: {dims}"
    return ops


def write_json(obj):
    with open(os.path.join(HERE, "fashion_cnn.json"), "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def save_npy_gz(path, arr):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(arr), version=(1, 0))
    with open(path, "wb") as f:
        # mtime=0 and no file name in the gzip header -> byte-reproducible output
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
            gz.write(buf.getvalue())


def export(info):
    import onnx
    torch.manual_seed(info["seed"])
    model = FashionCNN()
    model.load_state_dict(torch.load(os.path.join(HERE, "fashion_cnn.pt")))
    model.eval()

    xte, yte = load_split("test")
    xva, yva = load_split("val")
    val_logits = predict_logits(model, xva)
    val_acc = top1(val_logits, yva)
    assert abs(val_acc - info["val_top1"]) < 1e-9, (val_acc, info["val_top1"])
    test_logits = predict_logits(model, xte)  # the one and only evaluation on test
    test_acc = top1(test_logits, yte)
    log(f"val_top1 {val_acc:.4f} test_top1 {test_acc:.4f}")
    save_npy_gz(os.path.join(HERE, "fashion_cnn_test_logits.npy.gz"), test_logits.numpy().astype(np.float32))

    onnx_path = os.path.join(HERE, "fashion_cnn.onnx")
    onnx_export_keep_bn(model, preprocess(xte[:1]), onnx_path, "input", "logits")
    m = onnx.load(onnx_path)
    m.doc_string = ("FashionCNN (autocompress default example): Fashion-MNIST 1x28x28 -> 10 logits; "
                    "input = (u8/255 - 0.2860)/0.3530")
    for k, v in [("autocompress.normalize.mean", f"{MEAN:.4f}"), ("autocompress.normalize.std", f"{STD:.4f}"),
                 ("autocompress.dataset", "fashion-mnist"), ("autocompress.classes", ",".join(CLASSES))]:
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, onnx_path)
    ops = verify_onnx(onnx_path, model, preprocess(xte[:16]).numpy(), expect_bn=7)
    log("op types:", dict(ops))

    out = dict(info)
    out.update({"val_top1": val_acc, "test_top1": test_acc, "torch_version": torch.__version__})
    order = ["train_images", "val_top1", "test_top1", "epochs", "torch_version", "seed", "mean", "std",
             "onnx_opset", "training_seconds"]
    out = {k: out[k] for k in order + [k for k in out if k not in order]}
    write_json(out)
    log(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--label-smoothing", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--export-only", action="store_true",
                    help="skip training; re-export from fashion_cnn.pt (+ the training record in fashion_cnn.json)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    log(f"torch {torch.__version__} threads {torch.get_num_threads()} seed {args.seed}")
    if args.export_only:
        with open(os.path.join(HERE, "fashion_cnn.json")) as f:
            info = json.load(f)
    else:
        info = train(args)
    export(info)


if __name__ == "__main__":
    main()
