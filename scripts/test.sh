#!/usr/bin/env bash
# The whole test suite: set up, build (tests and benchmarks), run every test with CTest; then the
# same tests again in a build with AddressSanitizer + UBSan (leak checking on).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh -DAC_BUILD_TESTS=ON -DAC_BUILD_BENCH=ON
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAC_SANITIZE=ON \
  -DAC_BUILD_TESTS=ON -DAC_BUILD_BENCH=OFF
cmake --build build-asan -j "$(nproc)"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
