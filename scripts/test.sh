#!/usr/bin/env bash
# The whole test suite: set up, build (tests and benchmarks), run every test with CTest; then the
# same tests again, but the slow full-dataset accuracy cases (CTest label `slow`), in a build with
# AddressSanitizer + UBSan (leak checking on). Ends with the skipped cases and their reasons, and
# the time of each step.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
steps=()
step() {  # step NAME COMMAND...: run it, record its wall time
  local name=$1 start=$SECONDS
  shift
  "$@"
  steps+=("$(printf '%-22s %4d:%02d' "$name" $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)))")
}
summary() {
  local rc=$?
  for dir in "$BUILD_DIR/test-results" build-asan/test-results; do
    if [ -d "$dir" ]; then python3 scripts/skipped_tests.py "$dir" || true; fi
  done
  echo "time per step (min:s):"
  printf '  %s\n' "${steps[@]}"
  if [ "$rc" -ne 0 ]; then echo "FAILED (exit $rc) after the steps above"; fi
  exit "$rc"
}
trap summary EXIT
rm -rf "$BUILD_DIR/test-results" build-asan/test-results
step "setup + build" bash scripts/setup.sh -DAC_BUILD_TESTS=ON -DAC_BUILD_BENCH=ON
step "release ctest" ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"
# -O1 -g1: the sanitizers' recommended level and line tables for their reports; about half the
# compile time of RelWithDebInfo's -O2 -g (search/study/problem.cpp: 34 s vs 79 s, same load).
asan_build() {
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DAC_SANITIZE=ON -DAC_BUILD_TESTS=ON \
    -DAC_BUILD_BENCH=OFF
  cmake --build build-asan -j "$(nproc)"
}
step "asan configure + build" asan_build
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
step "asan ctest (-LE slow)" ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -LE slow
