#!/bin/bash
# Torture 4: two digits-dataset runs to the same output. The second fails at once (exit 1, a
# message naming the output and the first run's pid) and touches nothing; the first completes
# and verifies. The same with --force over an existing dataset. A run killed with SIGKILL while
# holding the lock does not block the next one.
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

make_class_folder src a 150 64 64
make_class_folder src b 150 64 64 RGB jpg
ARGS=(create --train src --width 96 --height 96 --threads 1 --encoding png)

# start_first OUT [FLAGS]: a run in the background, returned once it holds the lock.
start_first() {
  local out=$1; shift
  "$DS" "${ARGS[@]}" -o "$out" "$@" >first.out 2>&1 &
  first=$!
  for _ in $(seq 1 200); do
    [ -e ".$out.lock" ] && ls -d ".$out.partial-"* >/dev/null 2>&1 && return 0
    sleep 0.02
  done
  fail "the first run never took its lock"
}

# second_fails OUT [FLAGS]: the second run exits 1 within 2 seconds, while the first still runs.
second_fails() {
  local out=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  expect_status 1 "$DS" "${ARGS[@]}" -o "$out" "$@"
  t1=$(date +%s%N)
  expect_in_output "$WORK/$out: another digits-dataset (pid $first) is creating this dataset now"
  [ $(( (t1 - t0) / 1000000 )) -lt 2000 ] || fail "the second run took $(( (t1 - t0) / 1000000 )) ms to fail"
  kill -0 "$first" 2>/dev/null || echo "note: the first run finished before the second was refused"
  [ "$(ls -d ".$out.partial-"* 2>/dev/null | wc -l)" -le 1 ] || fail "the second run left a temporary directory"
}

start_first out
second_fails out
wait "$first" || { cat first.out; fail "the first run failed"; }
expect_status 0 "$DS" verify out
[ -e .out.lock ] && fail "the lock file was left behind"
ls -a | grep -q 'out.partial' && fail "a temporary directory was left behind"

# --force over a complete dataset: the same, and `out` stays complete throughout.
start_first out --force --seed 9
second_fails out --force
[ -f out/dataset.yaml ] || fail "out lost its manifest while being replaced"
wait "$first" || { cat first.out; fail "the --force run failed"; }
expect_status 0 "$DS" verify out
grep -q "seed: 9" out/dataset.yaml || fail "--force did not replace the dataset"

# A run killed while holding the lock: the next run takes the stale lock file and completes.
start_first killed
kill -9 "$first"; wait "$first" 2>/dev/null || true
[ -e .killed.lock ] || echo "note: no lock file left by the kill"
expect_status 0 "$DS" "${ARGS[@]}" -o killed
expect_status 0 "$DS" verify killed
echo "PASS"
