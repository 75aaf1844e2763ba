#!/usr/bin/env bash
# The main job on the embedded default: set up, build, then run a short compression search
# (accuracy / host latency / packed size) on the example model with Fashion-MNIST, print the
# Pareto front and write the HTML report. Every run is a new study in build/example_study.db;
# earlier studies stay there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh -DAC_BUILD_TESTS=OFF -DAC_BUILD_BENCH=OFF >/dev/null
AC=build/cli/autocompress
DB=build/example_study.db
STUDY=${STUDY:-example-$(date +%Y%m%d-%H%M%S)}
TRIALS=${TRIALS:-40}
# Validation: the first 2,000 images of the val split (the last 10k of the train files);
# calibration: train-split images; the test split is never touched by the search.
"$AC" search --db "$DB" --study "$STUDY" --trials "$TRIALS" --val-limit 2000 \
  --max-accuracy-drop 1.0 --seed 1 "$@"
"$AC" pareto --db "$DB" --study "$STUDY"
"$AC" report --db "$DB" --study "$STUDY" -o "build/$STUDY.html"
cat <<MSG

Report: build/$STUDY.html
Export a front point:  $AC export --db $DB --study $STUDY --trial N -o recipe.json
Apply it:              $AC apply --model examples/fashion_cnn.onnx --recipe recipe.json -o small.onnx
The overnight version (all 10k validation images, 8 hours, resumable with the same command):
  $AC search --db overnight.db --study fashion --timeout 8h --max-accuracy-drop 1.0
MSG
