#!/usr/bin/env bash
# `--resume auto` with one command line for every run (a Slurm or cron job repeats the very same
# command, spec and flags included): the first run starts the job, the next continues it, and
# once it is done the same command exits 0 and leaves it alone.
source "$(dirname "$0")/lib.sh"
make_dataset ds 20 8
write_mlp mlp.yaml 8
printf 'network: mlp.yaml\nepochs: 2\nsolver: {type: sgd, base_lr: 0.05}\n' >job.yaml
# On the CPU, where resume is bit-exact (DESIGN.md 5b).
cmd=("$DIGITS_BIN"/digits-train job.yaml --dataset ds --set seed=3 --device cpu --resume auto -o auto)

expect_status 0 "${cmd[@]}" --stop-after 2
expect_in auto/status.yaml "state: aborted"
expect_status 0 "${cmd[@]}" --stop-after 1
expect_in err "continues as its job.yaml says"
expect_in auto/status.yaml "iteration: 3"
expect_status 0 "${cmd[@]}"
expect_in auto/status.yaml "state: done"
before=$(cat auto/snapshots/*.safetensors | md5sum)
expect_status 0 "${cmd[@]}"
expect_in err "already done"
[ "$(cat auto/snapshots/*.safetensors | md5sum)" = "$before" ] || fail "a done job was changed"

# The same job run straight through ends with the same weights.
expect_status 0 "$DIGITS_BIN"/digits-train job.yaml --dataset ds --set seed=3 --device cpu -o straight
cmp straight/snapshots/epoch_2.safetensors auto/snapshots/epoch_2.safetensors ||
  fail "--resume auto (3 runs) differs from a straight run"

# Plain --resume still refuses a spec or flags: it continues exactly as job.yaml says.
expect_status 2 "$DIGITS_BIN"/digits-train --resume straight --set epochs=3
expect_in err "takes no spec"
echo "ok"
