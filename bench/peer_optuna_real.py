#!/usr/bin/python3
"""Peer of `autocompress search` on the real problem (bench/real_compare.sh): Optuna 3.1's
NSGAIISampler or TPESampler (defaults, seeded) proposes, `autocompress serve` evaluates, on the
identical problem (the problem flags after `--` are passed to serve unchanged) into its own study.

- One suggest_int(knob, 0, L - 1) per free knob: the index into the knob's ordered values from
  serve's hello line (index 0 the least compressed), so the samplers see the same ordinal
  structure ours do. Frozen and one-level knobs are not suggested (serve fills frozen ones).
- The same warm start: serve's baselines (int8 everywhere, bf16 everywhere, 4-bit weights, 25% and
  50% uniform pruning) are enqueued first (enqueue_trial), as `search` evaluates them first.
- Constraints: constraints_func returns the constraint values serve answered (<= 0 feasible), for
  both samplers (Optuna 3.1's TPESampler accepts constraints_func, experimental).
- A PRUNED trial (early stopping: its accuracy is a partial estimate, and it either violates the
  accuracy constraint or is dominated by the front for sure) is told to Optuna as COMPLETE with
  its values and constraints as answered. Optuna's multi-objective samplers ignore PRUNED trials,
  so this is the nearest way to hand them what our samplers see (the trial and its violation).
  In the study's database the trial stays PRUNED, so the hypervolume counts it exactly as for our
  samplers. A FAIL (or a trial without all values) is told FAIL.
- Time per suggestion: study.ask() plus the suggest calls (the sampler's and Optuna's in-memory
  storage's work), written per trial to --timing.

  /usr/bin/python3 bench/peer_optuna_real.py --sampler nsga2|tpe --seed S --trials N \
      --db D --study NAME [--autocompress BIN] [--timing FILE] -- <problem flags of search>
"""
import argparse
import json
import subprocess
import sys
import time

import optuna


def make_sampler(name, seed, constraints):
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, constraints_func=constraints)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constraints_func=constraints)
    raise SystemExit(f"--sampler: expected nsga2 or tpe, got {name!r}")


def constraints_of(trial):
    return trial.user_attrs["constraints"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sampler", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--db", required=True)
    ap.add_argument("--study", required=True)
    ap.add_argument("--autocompress", default="build/cli/autocompress")
    ap.add_argument("--timing", default="")
    ap.add_argument("problem", nargs="*")
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    cmd = [a.autocompress, "serve", *a.problem, "--db", a.db, "--study", a.study,
           "--sampler", "optuna-" + a.sampler, "--seed", str(a.seed)]
    srv = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    hello = json.loads(srv.stdout.readline())
    knobs = [k for k in hello["knobs"] if k["fixed"] is None and len(k["values"]) > 1]
    directions = [o["direction"].lower() for o in hello["objectives"]]
    study = optuna.create_study(directions=directions,
                                sampler=make_sampler(a.sampler, a.seed, constraints_of))
    for b in hello["baselines"]:
        study.enqueue_trial({k["name"]: k["values"].index(b["params"][k["name"]]) for k in knobs})

    if hello["trials"]:
        srv.kill()
        raise SystemExit(f"study {a.study!r} already has {hello['trials']} trials: Optuna's "
                         "in-memory history cannot resume it (remove the database)")
    timing = []
    for _ in range(a.trials):
        t0 = time.perf_counter()
        trial = study.ask()
        params = {k["name"]: k["values"][trial.suggest_int(k["name"], 0, len(k["values"]) - 1)]
                  for k in knobs}
        timing.append(time.perf_counter() - t0)
        srv.stdin.write(json.dumps({"params": params}) + "\n")
        srv.stdin.flush()
        r = json.loads(srv.stdout.readline())
        if "error" in r and "number" not in r:
            raise SystemExit(f"serve refused a request: {r}")
        values = r["values"]
        if r["state"] == "FAIL" or len(values) != len(directions) or None in values:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        trial.set_user_attr("constraints", r["constraints"])
        study.tell(trial, values)
    srv.stdin.close()
    srv.wait()
    if a.timing:
        with open(a.timing, "w") as f:
            f.write("\n".join(f"{t:.6f}" for t in timing) + "\n")
    if timing:
        timing.sort()
        print(f"{a.sampler} seed {a.seed}: {len(timing)} suggestions, median "
              f"{1e3 * timing[len(timing) // 2]:.2f} ms, max {1e3 * timing[-1]:.2f} ms",
              file=sys.stderr)
    return srv.returncode


if __name__ == "__main__":
    sys.exit(main())
