#!/usr/bin/python3
"""One run, three measurements, ratios: autocompress (oneDNN) vs PyTorch eager vs TorchScript.

  /usr/bin/python3 bench/compare_torch.py [--build build] [--threads 2] [--batch 256] [--rounds 2]

Each round runs, back to back on the same machine: the FMA peak microbenchmark, the Google
Benchmark of the full 10k-image evaluation (bench/eval_bench.cpp), and bench/peer_torch.py.
Rounds alternate so that drifting load hits both sides; the table reports the best round of each
and the ratios, plus GFLOP/s as a fraction of the measured fp32 peak. Prints Markdown for
BENCHMARKS.md.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out[out.index("{"):])


def gbench(binary, flt, threads_env):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads_env))
    out = subprocess.run([binary, f"--benchmark_filter={flt}", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True, cwd=ROOT, env=env).stdout
    return json.loads(out)["benchmarks"][0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    bench = os.path.join(ROOT, a.build, "bench")
    best = {"peak": 0, "ours": 0, "eager": 0, "ts": 0, "gflops": 0}
    for r in range(a.rounds):
        peak = gbench(os.path.join(bench, "fma_peak"), f"BM_FmaPeak/{a.threads}/", a.threads)
        ours = gbench(os.path.join(bench, "eval_bench"),
                      f"BM_EvalFashionTest/batch:{a.batch}/threads:{a.threads}/", a.threads)
        torch = run_json(["/usr/bin/python3", "bench/peer_torch.py", "--threads", str(a.threads),
                          "--batch", str(a.batch), "--repeats", "3", "--json"])
        row = {"peak": peak["GFLOP/s"], "ours": ours["images/s"], "gflops": ours["GFLOP/s"],
               "eager": torch["eager"]["images_per_s"], "ts": torch["torchscript"]["images_per_s"]}
        print(f"round {r + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items()),
              file=sys.stderr)
        for k, v in row.items():
            best[k] = max(best[k], v)
    print(f"| runner (batch {a.batch}, {a.threads} threads) | images/s | ratio ours/peer |")
    print("|---|---|---|")
    print(f"| autocompress oneDNN evaluator | {best['ours']:.0f} | 1.00 |")
    print(f"| PyTorch eager | {best['eager']:.0f} | {best['ours'] / best['eager']:.2f} |")
    print(f"| PyTorch TorchScript frozen + optimize_for_inference | {best['ts']:.0f} | "
          f"{best['ours'] / best['ts']:.2f} |")
    print()
    print(f"autocompress: {best['gflops']:.1f} GFLOP/s = {100 * best['gflops'] / best['peak']:.0f}% "
          f"of the measured fp32 FMA peak ({best['peak']:.1f} GFLOP/s, {a.threads} threads)")


if __name__ == "__main__":
    main()
