#!/usr/bin/env bash
# The main job on the embedded default: set up, build, then evaluate the example model on the
# Fashion-MNIST test split, checking its logits against torch's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh -DAC_BUILD_TESTS=OFF -DAC_BUILD_BENCH=OFF >/dev/null
exec build/cli/autocompress eval --model examples/fashion_cnn.onnx \
  --data /usr/share/datasets/fashion-mnist --split test \
  --reference examples/fashion_cnn_test_logits.npy.gz "$@"
