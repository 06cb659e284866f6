#!/usr/bin/env bash
# Resume is exact: N epochs straight and N/2 + resume + N/2 give bitwise equal weights (CPU),
# with shuffling, random crops and mirroring on. Fine-tuning loads matching parameters.
source "$(dirname "$0")/lib.sh"
make_dataset ds 40 10
write_mlp mlp.yaml 8
args=(--dataset ds --network mlp.yaml --set epochs=4 --set transforms.crop=8
      --set transforms.mirror=true --set solver.type=adam --set solver.base_lr=0.01
      --set snapshot_interval=1)

expect_status 0 "$DIGITS_BIN"/digits-train "${args[@]}" -o straight
expect_status 0 "$DIGITS_BIN"/digits-train "${args[@]}" --stop-after 7 -o sliced
expect_in sliced/status.yaml "state: aborted"
ls sliced/snapshots/*.solverstate.safetensors >/dev/null
expect_status 0 "$DIGITS_BIN"/digits-train --resume sliced
expect_in sliced/status.yaml "state: done"
cmp straight/snapshots/epoch_4.safetensors sliced/snapshots/epoch_4.safetensors ||
  fail "resumed weights differ from the uninterrupted run"
cmp straight/snapshots/epoch_4.solverstate.safetensors sliced/snapshots/epoch_4.solverstate.safetensors ||
  fail "resumed solver state differs"

# --resume auto: starts a missing job, continues an unfinished one, leaves a done one alone.
expect_status 0 "$DIGITS_BIN"/digits-train "${args[@]}" --stop-after 3 --resume auto -o autojob
expect_in autojob/status.yaml "state: aborted"
expect_status 0 "$DIGITS_BIN"/digits-train --resume auto -o autojob
expect_in autojob/status.yaml "state: done"
cmp straight/snapshots/epoch_4.safetensors autojob/snapshots/epoch_4.safetensors ||
  fail "--resume auto result differs"

# Fine-tuning: a 4-class head does not match the 3-class snapshot: ip1 loads, ip2 is skipped.
expect_status 0 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=1 --set transforms.crop=8 \
  --set classes=4 --set pretrained=straight/snapshots/epoch_4.safetensors -o tuned
expect_in err "pretrained: ip2.weight has shape [3,32] there, [4,32] here: skipped"
expect_in err "pretrained: loaded 2 parameters"
# A renamed layer: its tensors load nowhere, and the run says which.
sed 's/ip2/head/g' mlp.yaml >renamed.yaml
expect_status 0 "$DIGITS_BIN"/digits-train --dataset ds --network renamed.yaml --set epochs=1 --set transforms.crop=8 \
  --set pretrained=straight/snapshots/epoch_4.safetensors -o renamed
expect_in err "pretrained: 2 tensor(s) of"
expect_in err "match no parameter of this network (a renamed layer?): ip2.bias, ip2.weight"
echo "ok"
