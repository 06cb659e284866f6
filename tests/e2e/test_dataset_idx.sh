#!/bin/bash
# digits-dataset from IDX files (the MNIST / Fashion-MNIST format), generated here with Python's
# struct and gzip: gzipped and plain, recognised by magic number; records keep the IDX pixels
# exactly (raw encoding, checked byte for byte against the source image train.txt names);
# default shape is the IDX's own; --labels names the classes; hostile IDX files are rejected.
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

"$PY" - <<'EOF'
import gzip, struct
def idx(path, dims, data, gz):
    raw = struct.pack(">BBBB", 0, 0, 8, len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)
    (gzip.open if gz else open)(path, "wb").write(raw)
n, rows, cols = 60, 6, 5
pixels = [(i * 37 + k * 11) % 256 for i in range(n) for k in range(rows * cols)]
labels = [i % 3 for i in range(n)]
idx("train-images.gz", [n, rows, cols], pixels, True)
idx("train-labels.gz", [n], labels, True)
idx("test-images", [15, rows, cols], pixels[: 15 * rows * cols], False)
idx("test-labels", [15], labels[:15], False)
idx("short-labels.gz", [59], labels[:59], True)
raw = gzip.compress(struct.pack(">BBBBIII", 0, 0, 8, 3, n, rows, cols) + bytes(pixels))
open("truncated-images.gz", "wb").write(raw[: len(raw) // 2])
EOF

expect_status 0 "$DS" create --train train-images.gz --train-labels train-labels.gz --test test-images \
  --test-labels test-labels -o ds --encoding none --val-pct 20
expect_in_output "train: IDX train-images.gz (labels train-labels.gz)"
"$DS" info ds --json > info.json
[ "$(json_get info.json '(j["width"], j["height"], j["channels"], j["encoding"])')" = "(5, 6, 1, 'none')" ] || fail "shape"
[ "$(json_get info.json 'j["classes"]')" = "['0', '1', '2']" ] || fail "classes"
[ "$(json_get info.json 'j["splits"]["train"]["per_class"]')" = "[16, 16, 16]" ] || fail "train per class"
[ "$(json_get info.json 'j["splits"]["val"]["per_class"]')" = "[4, 4, 4]" ] || fail "val per class"
[ "$(json_get info.json 'j["splits"]["test"]["per_class"]')" = "[5, 5, 5]" ] || fail "test per class"
expect_status 0 "$DS" verify ds

# Each raw record is exactly the IDX image that train.txt names for it.
"$PY" - ds/train_db ds/train.txt <<'EOF' || fail "raw records differ from the IDX pixels"
import lmdb, re, sys
rows, cols = 6, 5
pixels = [(i * 37 + k * 11) % 256 for i in range(60) for k in range(rows * cols)]
lines = [l.split() for l in open(sys.argv[2])]
env = lmdb.open(sys.argv[1], readonly=True, lock=False)
with env.begin() as txn:
    for i, (key, value) in enumerate(txn.cursor()):
        index = int(re.search(r"\[(\d+)\]$", lines[i][0]).group(1))
        want = bytes(pixels[index * 30:(index + 1) * 30])
        assert key.decode() == "%08d_%d" % (i, index % 3), key
        assert bytes(value).find(want) >= 0, (i, index)
        # channels=1 height=6 width=5, then data: 08 01 10 06 18 05 22 1e <30 bytes>
        assert bytes(value)[:8] == bytes([8, 1, 0x10, 6, 0x18, 5, 0x22, 30]) and bytes(value)[8:38] == want
EOF

# Class names from --labels; resized to colour; explore a class by name.
printf 'circle\nsquare\ntriangle\n' > names.txt
expect_status 0 "$DS" create --train train-images.gz --train-labels train-labels.gz --labels names.txt \
  -o named --channels 3 --width 10 --height 12 --val-pct 0
"$DS" info named --json > named.json
[ "$(json_get named.json '(j["width"], j["height"], j["channels"], j["classes"])')" = "(10, 12, 3, ['circle', 'square', 'triangle'])" ] \
  || fail "named dataset"
expect_status 0 "$DS" explore named --class square -n 5 -o grid.png
expect_status 0 "$DS" verify named

# The mean over many images (more than the 257 one worker sums in 16 bits before it folds them
# into the total), with bright pixels near the overflow edge: numpy's mean, rounded half to even.
"$PY" - <<'EOF'
import struct
n = 1500
pixels = [255 if (i + k) % 5 else (i * 7 + k) % 256 for i in range(n) for k in range(12)]
open("many-images", "wb").write(struct.pack(">BBBBIII", 0, 0, 8, 3, n, 3, 4) + bytes(pixels))
open("many-labels", "wb").write(struct.pack(">BBBBI", 0, 0, 8, 1, n) + bytes(i % 2 for i in range(n)))
EOF
expect_status 0 "$DS" create --train many-images --train-labels many-labels --val-pct 0 --threads 2 -o many
py_blob many/mean.binaryproto > many-mean.json
"$PY" - many-mean.json <<'EOF' || fail "mean over 1500 images"
import json, sys
import numpy as np
n = 1500
pixels = np.array([255 if (i + k) % 5 else (i * 7 + k) % 256 for i in range(n) for k in range(12)], np.float64)
want = np.around(pixels.reshape(n, 12).mean(0)).tolist()
assert json.load(open(sys.argv[1]))["data"] == want, "mean differs from numpy's"
EOF

# Hostile or inconsistent IDX input: rejected (exit 3) with the file named, nothing written.
expect_status 3 "$DS" create --train truncated-images.gz --train-labels train-labels.gz -o bad1
expect_in_output "truncated-images.gz"
expect_status 3 "$DS" create --train train-images.gz --train-labels short-labels.gz -o bad2
expect_in_output "holds 60 images but short-labels.gz holds 59 labels"
# IDX images without labels: a usage error.
expect_status 2 "$DS" create --train train-images.gz -o bad3
expect_in_output "needs --train-labels"
[ -e bad1 ] || [ -e bad2 ] || [ -e bad3 ] && fail "a rejected run left an output"
ls -a | grep -q partial && fail "temporary directory left behind"
echo "PASS"
