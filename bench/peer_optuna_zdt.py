#!/usr/bin/python3
"""Peer of bench/search_bench.cpp: Optuna's RandomSampler, NSGAIISampler and TPESampler (defaults)
on the same discretized problems — ZDT1, ZDT2, ZDT3 (30 variables), DTLZ2 (3 objectives, 12
variables), each variable suggest_int(0, 100) / 100 — with the same budget (500 evaluations) and
seeds (0..4). Prints the hypervolume after the budget (median, min, max of the seeds; reference
(11, 11) for ZDT, (3, 3, 3) for DTLZ2) and the time per suggestion (study.ask plus the
suggest_int calls, i.e. everything the sampler and its in-memory storage do for one trial), as
wall time and as this thread's CPU time (the figure to compare on a loaded machine).

  /usr/bin/python3 bench/peer_optuna_zdt.py [--samplers random,nsga2,tpe] [--problems zdt1,...]
"""
import argparse
import math
import statistics
import time

import numpy as np
import optuna
from optuna._hypervolume import WFG

LEVELS = 101


def zdt(shape):
    def f(x):
        g = 1 + 9 * sum(x[1:]) / (len(x) - 1)
        return [x[0], g * shape(x[0], g)]
    return f


PROBLEMS = {
    "zdt1": (30, zdt(lambda f1, g: 1 - math.sqrt(f1 / g)), [11.0, 11.0]),
    "zdt2": (30, zdt(lambda f1, g: 1 - (f1 / g) ** 2), [11.0, 11.0]),
    "zdt3": (30, zdt(lambda f1, g: 1 - math.sqrt(f1 / g) - f1 / g * math.sin(10 * math.pi * f1)),
             [11.0, 11.0]),
}


def dtlz2(x):
    g = sum((v - 0.5) ** 2 for v in x[2:])
    a, b = x[0] * math.pi / 2, x[1] * math.pi / 2
    return [(1 + g) * math.cos(a) * math.cos(b), (1 + g) * math.cos(a) * math.sin(b),
            (1 + g) * math.sin(a)]


PROBLEMS["dtlz2"] = (12, dtlz2, [3.0, 3.0, 3.0])

SAMPLERS = {
    "random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
    "nsga2": lambda seed: optuna.samplers.NSGAIISampler(seed=seed),
    "tpe": lambda seed: optuna.samplers.TPESampler(seed=seed),
}


def hypervolume_2d(pts, ref):
    """Exact 2-D hypervolume (minimization), sweep over x."""
    volume, lowest = 0.0, ref[1]
    for x, y in sorted(map(tuple, pts)):
        if y < lowest:
            volume += (ref[0] - x) * (lowest - y)
            lowest = y
    return volume


def hypervolume(points, ref):
    """Exact hypervolume, 2-D sweep or 3-D slices over z (Optuna 3.1's WFG in Python takes minutes on
    NSGA-II's 3-objective fronts of a few hundred points)."""
    pts = np.array([p for p in points if all(v < r for v, r in zip(p, ref))])
    if len(pts) == 0:
        return 0.0
    if len(ref) == 2:
        return hypervolume_2d(pts, ref)
    if len(ref) == 3:
        pts = pts[np.argsort(pts[:, 2], kind="stable")]
        z = np.append(pts[:, 2], ref[2])
        return sum(hypervolume_2d(pts[: k + 1, :2], ref[:2]) * (z[k + 1] - z[k])
                   for k in range(len(pts)))
    return float(WFG().compute(pts, np.array(ref)))


def run(sampler_name, problem_name, budget, seed):
    n, f, ref = PROBLEMS[problem_name]
    study = optuna.create_study(directions=["minimize"] * len(ref),
                                sampler=SAMPLERS[sampler_name](seed))
    points, wall, cpu = [], 0.0, 0.0
    for _ in range(budget):
        start, start_cpu = time.perf_counter(), time.thread_time()
        trial = study.ask()
        x = [trial.suggest_int(f"x{i + 1}", 0, LEVELS - 1) / (LEVELS - 1) for i in range(n)]
        wall += time.perf_counter() - start
        cpu += time.thread_time() - start_cpu
        values = f(x)
        study.tell(trial, values)
        points.append(values)
    return hypervolume(points, ref), wall / budget, cpu / budget


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--samplers", default="random,nsga2,tpe")
    parser.add_argument("--problems", default="zdt1,zdt2,zdt3,dtlz2")
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"optuna {optuna.__version__}, {args.budget} evaluations, seeds 0..{args.seeds - 1}")
    print(f"{'sampler':<14}{'problem':<8}{'hv_median':>11}{'hv_min':>11}{'hv_max':>11}"
          f"{'ms/suggestion':>15}{'cpu ms':>9}")
    for s in args.samplers.split(","):
        for p in args.problems.split(","):
            hv, ms, cpu_ms = [], [], []
            for seed in range(args.seeds):
                h, sec, cpu = run(s, p, args.budget, seed)
                hv.append(h)
                ms.append(1e3 * sec)
                cpu_ms.append(1e3 * cpu)
            print(f"{'optuna-' + s:<14}{p:<8}{statistics.median(hv):>11.4f}{min(hv):>11.4f}"
                  f"{max(hv):>11.4f}{statistics.mean(ms):>15.3f}{statistics.mean(cpu_ms):>9.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
