#!/usr/bin/env bash
# Installs dependencies, configures, builds and runs every test through CTest.
#   scripts/test.sh              the default suite (what CI runs)
#   BUILD_DIR=build-x scripts/test.sh -R unit   extra arguments go to ctest
# Environment: DIGITS_CUDA=AUTO|ON|OFF (default AUTO), BUILD_DIR (default build),
#              JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDIGITS_CUDA="${DIGITS_CUDA:-AUTO}" \
  ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$jobs"
cd "$build"
ctest --output-on-failure -j "$jobs" "$@"
