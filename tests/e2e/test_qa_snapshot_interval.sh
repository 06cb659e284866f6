#!/usr/bin/env bash
# snapshot_interval 0: no snapshot on the way, but the job still ends with its weights (a
# snapshot is always written at the end, digits-job(5)), so digits-infer can use a done job.
source "$(dirname "$0")/lib.sh"
make_dataset ds 20 8
write_mlp mlp.yaml 8
expect_status 0 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=2 \
  --set snapshot_interval=0 -o job
expect_in job/status.yaml "state: done"
[ "$(ls job/snapshots)" = "$(printf 'epoch_2.safetensors\nepoch_2.solverstate.safetensors')" ] ||
  fail "expected only the final snapshot, got: $(ls job/snapshots | tr '\n' ' ')"
expect_status 0 "$DIGITS_BIN"/digits-infer evaluate --job job --dataset ds --split val
expect_in out "epoch_2.safetensors"
echo "ok"
