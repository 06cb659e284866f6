#!/bin/bash
# digits-dataset info/explore on a damaged dataset, found wrong by a QA pass: a file that
# dataset.yaml names but that is missing or changed is a damaged dataset (exit 3, naming the
# file), as verify says, not a usage error (exit 2); explore checks the database's recorded size
# and hash before LMDB opens it, as verify and digits-train do.
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

make_class_folder images a 6 8 6
make_class_folder images b 6 8 6
expect_status 0 "$DS" create --train images --width 8 --height 6 --encoding none -o ds

cp -r ds no-mean && rm no-mean/mean.binaryproto
expect_status 3 "$DS" info no-mean
expect_in_output "no-mean/mean.binaryproto: missing"

cp -r ds no-db && rm -r no-db/train_db
expect_status 3 "$DS" explore no-db -o grid.png
expect_in_output "no-db/train_db/data.mdb: missing"

# Every 97th byte past the first two pages flipped: the size is right, the hash is not.
cp -r ds flipped
"$PY" - <<'PYEOF'
path = "flipped/train_db/data.mdb"
data = bytearray(open(path, "rb").read())
for i in range(8192, len(data), 97):
    data[i] ^= 0xFF
open(path, "wb").write(bytes(data))
PYEOF
expect_status 3 "$DS" explore flipped -o grid.png
expect_in_output "flipped/train_db/data.mdb: content hash xxh64"
[ -e grid.png ] && fail "grid.png written from a damaged dataset"
expect_status 0 "$DS" explore ds -o grid.png

# Errors name what the user gave: the grid's own path (not a temporary name) when its folder is
# missing, and a file given as the dataset is not called missing.
expect_status 1 "$DS" explore ds -o no-such-dir/grid.png
expect_in_output "cannot write no-such-dir/grid.png: No such file or directory"
expect_status 2 "$DS" info ds/dataset.yaml
expect_in_output "ds/dataset.yaml: not a directory"
echo "PASS"
