#!/usr/bin/env bash
# A device that is mistyped (exit 2) or missing (exit 4) fails before the job directory is
# made: nothing is left behind, so the corrected command runs without --force.
source "$(dirname "$0")/lib.sh"
make_dataset ds 20 8
write_mlp mlp.yaml 8
expect_status 2 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=1 \
  --device tpu -o job
expect_in err 'device: expected cpu, gpu, gpu:N or auto, got "tpu"'
[ ! -e job ] || fail "a job dir was left behind by a bad device"
# gpu:99 exists nowhere: exit 4 (no such GPU, or no GPU at all), and no job dir.
expect_status 4 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=1 \
  --device gpu:99 -o job
[ ! -e job ] || fail "a job dir was left behind by a missing GPU"
# --dry-run checks the device's syntax too (not whether a GPU is there: that is the real run's).
expect_status 2 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --device tpu --dry-run -o job
expect_in err 'device: expected cpu, gpu, gpu:N or auto, got "tpu"'
expect_status 2 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --device gpu:x --dry-run -o job
expect_in err 'expected gpu:N with N a GPU index, got "gpu:x"'
expect_status 0 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --device gpu:3 --dry-run -o job
expect_status 0 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=1 \
  --device cpu -o job
echo "ok"
