#!/usr/bin/env bash
# Installs dependencies, configures, builds and runs every test through CTest.
#   scripts/test.sh              the default suite (what CI runs first)
#   scripts/test.sh --sanitize   the same unit and end-to-end suite, CPU only, built with
#                                AddressSanitizer (+ LeakSanitizer) and UndefinedBehaviorSanitizer
#                                in build-asan; then the ThreadSanitizer test of the data pipeline's
#                                threads (tests/tsan) in build-tsan. Any report fails the run.
#   BUILD_DIR=build-x scripts/test.sh -R unit   extra arguments go to ctest
# Environment: DIGITS_CUDA=AUTO|ON|OFF (default AUTO), BUILD_DIR (default build; build-asan with
#              --sanitize), JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=false
if [ "${1:-}" = "--sanitize" ]; then
  sanitize=true
  shift
fi
scripts/install-deps.sh
jobs=${JOBS:-$(nproc)}

if ! $sanitize; then
  build=${BUILD_DIR:-build}
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDIGITS_CUDA="${DIGITS_CUDA:-AUTO}" \
    ${CMAKE_ARGS:-} >/dev/null
  cmake --build "$build" -j "$jobs"
  cd "$build"
  exec ctest --output-on-failure -j "$jobs" "$@"
fi

# -O1 -g: fast enough to build twice in CI, stack traces with lines. CPU only: the sanitizers do
# not see into GPU kernels, and CI has no GPU.
asan_build=${BUILD_DIR:-build-asan}
cmake -S . -B "$asan_build" -G Ninja -DDIGITS_CUDA=OFF -DDIGITS_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" ${CMAKE_ARGS:-} >/dev/null
cmake --build "$asan_build" -j "$jobs"

# ASan and LSan reports go to files of their own (log_path), whatever the exit status of the
# process that made them: an end-to-end test that expects a tool to fail cannot hide one.
# GCC's UBSan ignores log_path; UB stops the process with the status 86, which no tool uses.
reports=$(mktemp -d "${TMPDIR:-/tmp}/digits-sanitizer-reports.XXXXXX")
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=86"
status=0
(cd "$asan_build" && ctest --output-on-failure -j "$jobs" "$@") || status=$?
if [ -n "$(ls -A "$reports")" ]; then
  for f in "$reports"/*; do echo "=== sanitizer report $f"; cat "$f"; done >&2
  echo "test.sh --sanitize: $(ls "$reports" | wc -l) sanitizer report(s), above" >&2
  status=1
fi
rm -rf "$reports"
[ $status -eq 0 ] || exit $status

tsan_build=${TSAN_BUILD_DIR:-build-tsan}
cmake -S . -B "$tsan_build" -G Ninja -DDIGITS_CUDA=OFF -DDIGITS_TSAN=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" >/dev/null
cmake --build "$tsan_build" -j "$jobs"
cd "$tsan_build"
ctest --output-on-failure
