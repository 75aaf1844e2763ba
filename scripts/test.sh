#!/usr/bin/env bash
# The whole test suite: set up, build (tests and benchmarks), run every test with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh -DAC_BUILD_TESTS=ON -DAC_BUILD_BENCH=ON
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
