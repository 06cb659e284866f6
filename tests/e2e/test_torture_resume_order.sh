#!/usr/bin/env bash
# Torture 13: resume covers the data order. A job interrupted several times (--stop-after at a
# random iteration, SIGTERM and SIGUSR1 at random moments) and resumed each time consumes exactly
# the sequence of training records (iteration and LMDB key, shuffled every epoch) that an
# uninterrupted run consumes, and ends with the same weights. The sequence comes from the
# test-only hook DIGITS_TEST_RECORD_LOG (see trainer.cpp).
source "$(dirname "$0")/lib.sh"
make_dataset ds 40 8
write_mlp mlp.yaml 8
TRAIN="$DIGITS_BIN"/digits-train
# log_interval large: status.yaml (written with fsync) then changes rarely, so a run is quick.
args=(--dataset ds --network mlp.yaml --set epochs=60 --set batch_size=5 --set snapshot_interval=20
      --set validation_interval=20 --set log_interval=1000 --set solver.base_lr=0.01)

DIGITS_TEST_RECORD_LOG=$SCRATCH/straight.keys expect_status 0 "$TRAIN" "${args[@]}" -o straight
total=$(wc -l < straight.keys)
[ "$total" -gt 1500 ] || fail "the straight run logged only $total records"

export DIGITS_TEST_RECORD_LOG=$SCRATCH/sliced.keys
expect_status 0 "$TRAIN" "${args[@]}" --stop-after $((RANDOM % 100 + 1)) -o sliced
interrupts=1
for sig in TERM USR1 TERM; do
  before=$(wc -l < sliced.keys)
  "$TRAIN" --resume sliced 2>/dev/null &
  pid=$!
  # A random moment after this run has consumed its first records.
  for _ in $(seq 1 300); do [ "$(wc -l < sliced.keys)" -gt "$before" ] && break; sleep 0.01; done
  sleep "0.0$((RANDOM % 10))"
  kill -"$sig" "$pid" 2>/dev/null || true
  set +e; wait "$pid"; status=$?; set -e
  case "$sig:$status" in
    TERM:143|USR1:75) interrupts=$((interrupts + 1)) ;;
    *:0) echo "note: the run finished before SIG$sig" ;;
    *) fail "SIG$sig: exit $status" ;;
  esac
done
expect_status 0 "$TRAIN" --resume sliced
expect_in sliced/status.yaml "state: done"
unset DIGITS_TEST_RECORD_LOG

cmp -s straight.keys sliced.keys || {
  diff straight.keys sliced.keys | head -5 >&2
  fail "the interrupted and resumed run saw the records in another order"
}
last=$(ls straight/snapshots/*.solverstate.safetensors | sort -V | tail -1)
weights=${last%.solverstate.safetensors}.safetensors
cmp "$weights" "sliced/snapshots/$(basename "$weights")" || fail "final weights differ"
echo "PASS ($total records in the same order across $interrupts interruptions)"
