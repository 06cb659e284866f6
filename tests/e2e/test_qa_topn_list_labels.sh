#!/usr/bin/env bash
# digits-infer topn: labels in --list are "accepted and ignored" (digits-infer(1)), so a list
# made for another dataset (labels past this job's classes) still ranks every image, exit 0.
source "$(dirname "$0")/lib.sh"
make_dataset ds 20 8
write_mlp mlp.yaml 8
expect_status 0 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=1 -o job
ls images-8-20/top | head -2 | sed 's/$/ 7/' >list.txt
expect_status 0 "$DIGITS_BIN"/digits-infer topn --job job --list list.txt --folder images-8-20/top \
  -n 2 -o grid.png
[ "$(grep -c 'images-8-20/top/' out)" = 6 ] || fail "expected both images ranked in each of 3 classes"
echo "ok"
