#!/usr/bin/env bash
# A `pretrained:` file that does not exist is a spec error (exit 2, naming the key and the
# file) found before the job directory is made: no job dir is left behind, so the same
# command works once the path is fixed.
source "$(dirname "$0")/lib.sh"
make_dataset ds 20 8
write_mlp mlp.yaml 8
expect_status 2 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=1 \
  --set pretrained=nowhere.safetensors -o job
expect_in err "pretrained: $SCRATCH/nowhere.safetensors: no such file"
[ ! -e job ] || fail "a job dir was left behind: $(ls job)"
expect_status 2 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=1 \
  --set pretrained=nowhere.safetensors --dry-run -o job
expect_status 0 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=1 -o job
echo "ok"
