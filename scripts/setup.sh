#!/usr/bin/env bash
# Everything a fresh Debian 12 machine needs, as root: packages, configure, build.
# Idempotent: apt-get runs only when a package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(
  build-essential cmake ninja-build pkg-config clang-format
  libdnnl-dev ocl-icd-opencl-dev libtbb-dev nlohmann-json3-dev libsqlite3-dev sqlite3
  libonnx-dev libprotobuf-dev protobuf-compiler libeigen3-dev libnlopt-cxx-dev libcli11-dev
  libpqxx-dev postgresql
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev libjpeg62-turbo-dev libpng-dev
  dataset-fashion-mnist libonnx-testdata
  python3-onnx python3-pil python3-torchvision chromium
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$BUILD_DIR" -j "$(nproc)"
