#!/usr/bin/python3
"""Peer benchmark for bench/storage_bench.cpp: Optuna 3.1's RDBStorage on SQLite doing the same
operations at the same study sizes (Debian python3-optuna; run with /usr/bin/python3).

Recording one trial is what Optuna's own loop does per trial: create_new_trial, one
set_trial_param per knob (12: 4 layers x prune, precision, wbits), the metrics as user attributes
(4), the constraints as the system attribute "constraints" (Optuna's convention), then
set_trial_state_values(COMPLETE, [accuracy, latency]). Listing reads all trials
(get_all_trials) and takes the feasible Pareto set in Python.

To reach 10,000 trials in minutes, BASE trials are recorded through the API and the study is then
grown to each size by copying those trials' rows with SQL (same rows, numbers continued), which
Optuna reads exactly like trials it wrote itself.

  /usr/bin/python3 bench/peer_optuna.py [--sizes 1000 10000] [--record 50] [--base 200]
"""
import argparse
import os
import random
import sqlite3
import tempfile
import time

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.study import StudyDirection
from optuna.trial import TrialState

LAYERS = 4
PRUNE = FloatDistribution(0.0, 0.5, step=0.05)
PRECISION = CategoricalDistribution(["int8", "fp32"])
WBITS = IntDistribution(2, 8)


def record(storage, study_id, rng):
    trial_id = storage.create_new_trial(study_id)
    for layer in range(LAYERS):
        storage.set_trial_param(trial_id, f"layer{layer}/prune", 0.05 * rng.randrange(10), PRUNE)
        storage.set_trial_param(trial_id, f"layer{layer}/precision", rng.randrange(2), PRECISION)
        storage.set_trial_param(trial_id, f"layer{layer}/wbits", rng.randrange(2, 9), WBITS)
    acc = 0.8 + 0.2 * rng.random()
    for key, value in (("top5", 0.99), ("kl", rng.random()), ("macs", 1e6 * rng.random()),
                       ("params", 1e5 * rng.random())):
        storage.set_trial_user_attr(trial_id, key, value)
    storage.set_trial_system_attr(trial_id, "constraints", [0.9 - acc])
    storage.set_trial_state_values(trial_id, TrialState.COMPLETE,
                                   [acc, 0.5 + 4 * rng.random() * acc])


def pareto_set(trials):
    """Feasible non-dominated trials for (accuracy max, latency min)."""
    pts = [(t.values[0], t.values[1], t) for t in trials
           if t.state == TrialState.COMPLETE and all(c <= 0 for c in t.system_attrs.get(
               "constraints", []))]
    pts.sort(key=lambda p: (-p[0], p[1]))
    front, best_latency = [], float("inf")
    for acc, lat, t in pts:
        if lat < best_latency:
            front.append(t)
            best_latency = lat
    return front


def grow(path, study_id, base_ids, target):
    """Copies the rows of the base trials until the study holds `target` trials."""
    db = sqlite3.connect(path)
    (count,) = db.execute("SELECT count(*) FROM trials WHERE study_id = ?", (study_id,)).fetchone()
    i = 0
    while count < target:
        src = base_ids[i % len(base_ids)]
        cur = db.execute(
            "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) "
            "SELECT ?, study_id, state, datetime_start, datetime_complete FROM trials "
            "WHERE trial_id = ?", (count, src))
        new = cur.lastrowid
        for table, cols in (("trial_params", "param_name, param_value, distribution_json"),
                            ("trial_values", "objective, value, value_type"),
                            ("trial_user_attributes", "key, value_json"),
                            ("trial_system_attributes", "key, value_json")):
            db.execute(f"INSERT INTO {table} (trial_id, {cols}) SELECT ?, {cols} FROM {table} "
                       "WHERE trial_id = ?", (new, src))
        count += 1
        i += 1
    db.commit()
    db.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--record", type=int, default=50, help="trials recorded per size")
    ap.add_argument("--base", type=int, default=200, help="trials recorded from empty")
    ap.add_argument("--list-reps", type=int, default=3)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = random.Random(1234567)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "optuna.db")
        storage = optuna.storages.RDBStorage(f"sqlite:///{path}")
        study_id = storage.create_new_study([StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE],
                                            "bench")
        t0 = time.perf_counter()
        for _ in range(args.base):
            record(storage, study_id, rng)
        base_ms = (time.perf_counter() - t0) / args.base * 1e3
        print(f"optuna {optuna.__version__} RDBStorage sqlite: record a trial, first {args.base} "
              f"trials: {base_ms:.2f} ms/trial", flush=True)
        base_ids = [t._trial_id for t in storage.get_all_trials(study_id, deepcopy=False)]
        for n in args.sizes:
            grow(path, study_id, base_ids, n)
            storage.remove_session()
            t0 = time.perf_counter()
            for _ in range(args.record):
                record(storage, study_id, rng)
            rec_ms = (time.perf_counter() - t0) / args.record * 1e3
            times = []
            for _ in range(args.list_reps):
                t0 = time.perf_counter()
                front = pareto_set(storage.get_all_trials(study_id, deepcopy=False))
                times.append(time.perf_counter() - t0)
            list_ms = min(times) * 1e3
            print(f"n={n:6d}: record a trial {rec_ms:8.2f} ms   list Pareto set {list_ms:9.1f} ms"
                  f" (front {len(front)})", flush=True)


if __name__ == "__main__":
    main()
