#!/bin/bash
# The samplers on the real problem (BENCHMARKS.md "Search: samplers on the real problem"):
# the example model, host target, objectives accuracy,latency,size, --max-accuracy-drop 1.0, a
# validation subset, warm start on. Our random, nsga2, bo, auto (`autocompress search`) and
# Optuna's NSGA-II and TPE (bench/peer_optuna_real.py driving `autocompress serve`) on the same
# problem, one study per sampler and seed, each in its own database under $OUT. Then the
# hypervolume after 50, 100, 200 trials of every study, by the same C++ function
# (search/report/front.hpp hypervolume_history, the study's reference point; bench/real_hv.cpp).
#
#   bench/real_compare.sh run   [samplers] [seeds]   # default: all six, 0..4; resumes studies
#                                                    # (also auto-hN: auto with handover N)
#   bench/real_compare.sh table [samplers] [seeds]   # median [min, max] per sampler and budget
#
# Environment: AC (the autocompress binary, default build/cli/autocompress), HV (real_hv,
# default build/bench/real_hv), OUT (default /tmp/real_compare), TRIALS (200), BUDGETS
# (50,100,200), PROBLEM (the problem flags below).
set -euo pipefail
cd "$(dirname "$0")/.."
AC=${AC:-build/cli/autocompress}
HV=${HV:-build/bench/real_hv}
OUT=${OUT:-/tmp/real_compare}
TRIALS=${TRIALS:-200}
BUDGETS=${BUDGETS:-50,100,200}
PROBLEM=${PROBLEM:-"--target host --objectives accuracy,latency,size --max-accuracy-drop 1.0 \
--val-limit 1000 --chunk 500 --calib-limit 500"}
mode=${1:-table}
samplers=${2:-random,nsga2,bo,auto,optuna-nsga2,optuna-tpe}
seeds=${3:-0,1,2,3,4}
mkdir -p "$OUT"

run_one() {  # sampler seed
  local s=$1 seed=$2 db="$OUT/$1_s$2.db" study="real_$1_s$2"
  case $s in
    optuna-*)
      /usr/bin/python3 bench/peer_optuna_real.py --autocompress "$AC" --sampler "${s#optuna-}" \
        --seed "$seed" --trials "$TRIALS" --db "$db" --study "$study" \
        --timing "$OUT/${s}_s$seed.timing" -- $PROBLEM ;;
    auto-h*)  # auto handing over from bo to nsga2 at trial N (default 300), e.g. auto-h100
      "$AC" search $PROBLEM --sampler auto --sampler-settings "{\"handover\":${s#auto-h}}" \
        --seed "$seed" --trials "$TRIALS" --db "$db" --study "$study" -q --log "$OUT/${s}_s$seed.log" ;;
    *)
      # --log keeps the trials/min lines; real_hv shows the time per trial outside evaluation.
      "$AC" search $PROBLEM --sampler "$s" --seed "$seed" --trials "$TRIALS" --db "$db" \
        --study "$study" -q --log "$OUT/${s}_s$seed.log" ;;
  esac
}

if [ "$mode" = run ]; then
  for seed in ${seeds//,/ }; do
    for s in ${samplers//,/ }; do
      echo "$(date -u +%H:%M:%S) $s seed $seed" >&2
      run_one "$s" "$seed" || echo "$s seed $seed failed (exit $?)" >&2
    done
  done
  exit 0
fi

args=()
for s in ${samplers//,/ }; do
  for seed in ${seeds//,/ }; do
    [ -f "$OUT/${s}_s$seed.db" ] && args+=("$s=$OUT/${s}_s$seed.db:real_${s}_s$seed")
  done
done
"$HV" --budgets "$BUDGETS" "${args[@]}"
