#!/usr/bin/env bash
# A job started with relative paths (dataset, network file, pretrained weights) resumes from
# any working directory: its job.yaml names them absolutely, and a resumed job builds the
# network it was trained with (JOBDIR/network.yaml), even if the network file changed since.
source "$(dirname "$0")/lib.sh"
mkdir work elsewhere
cd work
make_dataset ds 20 8
write_mlp mlp.yaml 8
expect_status 0 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=1 -o base
expect_status 0 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=2 \
  --set pretrained=base/snapshots/epoch_1.safetensors --stop-after 2 -o job
expect_in job/job.yaml "dataset: $SCRATCH/work/ds"
expect_in job/job.yaml "network: $SCRATCH/work/mlp.yaml"
expect_in job/job.yaml "pretrained: $SCRATCH/work/base/snapshots/epoch_1.safetensors"
# The network file changes after the job started: the resumed job keeps the one it trains.
sed -i 's/num_output: 32/num_output: 16/' mlp.yaml
cd ../elsewhere
expect_status 0 "$DIGITS_BIN"/digits-train --resume ../work/job
expect_in ../work/job/status.yaml "state: done"
echo "ok"
