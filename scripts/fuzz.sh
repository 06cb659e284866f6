#!/usr/bin/env bash
# libFuzzer targets of tests/fuzz, one per parser of untrusted input. Builds them first (clang,
# ASan + UBSan, in build-fuzz; installs clang with scripts/install-deps.sh --fuzz).
#   scripts/fuzz.sh TARGET SECONDS   fuzz one target (yaml, net_spec, ... or fuzz_yaml)
#   scripts/fuzz.sh --all SECONDS    fuzz every target in turn (what CI does, briefly), each from
#                                    seed 1 (FUZZ_SEED): the same inputs in the same order every
#                                    run, so a CI run is reproducible and checked before landing
#   scripts/fuzz.sh --replay         run every committed corpus once (regression test)
#   scripts/fuzz.sh --list           the targets
# Fuzzing reads tests/fuzz/corpus/TARGET/ and adds what it finds to build-fuzz/corpus/TARGET/
# (never to the committed corpus); a crash is saved under build-fuzz/artifacts/TARGET/ and the
# run fails. Fix the code, then commit the input as tests/fuzz/corpus/TARGET/crash-WHAT.
# Limits: 2 GiB resident, 512 MiB in one allocation, 10 s per input: a parser needing more
# is a bug (bounded memory and time are promises, DESIGN.md section 5b).
# Environment: BUILD_DIR (default build-fuzz), JOBS (default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-fuzz}
jobs=${JOBS:-$(nproc)}
limits=(-rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10)

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
targets() { for f in tests/fuzz/fuzz_*.cpp; do basename "$f" .cpp | sed 's/^fuzz_//'; done; }

build() {
  scripts/install-deps.sh --fuzz
  cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DDIGITS_FUZZ=ON -DDIGITS_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" >/dev/null
  cmake --build "$build" -j "$jobs" --target fuzz-targets
}

# fuzz NAME SECONDS [SEED]: one bounded run (a fresh seed unless SEED); prints the executions and
# the corpus size.
fuzz() {
  local name=${1#fuzz_} seconds=$2 seed=()
  [ -n "${3:-}" ] && seed=(-seed="$3")
  local exe="$build/tests/fuzz/fuzz_$name" seeds="tests/fuzz/corpus/$name"
  [ -x "$exe" ] || { echo "fuzz.sh: no target '$name' (scripts/fuzz.sh --list)" >&2; exit 2; }
  mkdir -p "$build/corpus/$name" "$build/artifacts/$name"
  local log="$build/artifacts/$name/last-run.log"
  local dict=()
  [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
  if ! "$exe" "${limits[@]}" "${dict[@]}" "${seed[@]}" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$name/" "$build/corpus/$name" "$seeds" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz.sh: fuzz_$name FAILED; the input is in $build/artifacts/$name/ (log: $log)" >&2
    return 1
  fi
  local runs corpus
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  corpus=$(find "$build/corpus/$name" "$seeds" -type f | wc -l)
  echo "fuzz_$name: ${runs:-?} executions in $seconds s, no crash; corpus $corpus inputs"
}

case ${1:-} in
  --list) targets ;;
  --replay)
    build
    cd "$build" && ctest --output-on-failure -j "$jobs" -R '^fuzz\.replay\.'
    ;;
  --all)
    [ $# -eq 2 ] || usage
    build
    failed=0
    for name in $(targets); do fuzz "$name" "$2" "${FUZZ_SEED:-1}" || failed=1; done
    exit $failed
    ;;
  -*|"") usage ;;
  *)
    [ $# -eq 2 ] || usage
    build
    fuzz "$1" "$2"
    ;;
esac
