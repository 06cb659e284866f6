#!/bin/bash
# digits-dataset on a folder of class sub-folders: create, then info / verify / explore; the
# 20%/10% split of 30 images per class gives exactly 21/6/3; the records, read back with Python's
# lmdb and a Datum decoder written in Python, have DIGITS's keys and layout (encoded PNG/JPEG,
# raw CHW in BGR order, gray); the mean file is Caffe's BlobProto in BGR; --force rules; a
# directory without dataset.yaml (as DIGITS made them) is still read.
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

make_class_folder src big_cat 30
make_class_folder src dog 30 16 16 L png
make_class_folder src emu 30 40 30 RGB jpg

expect_status 0 "$DS" create --train src -o ds --width 32 --height 24 --val-pct 20 --test-pct 10 --seed 5
expect_in_output "done: 90 records (train 63, val 18, test 9), 0 bad item(s) skipped, 3 classes"
[ -f ds/dataset.yaml ] && [ -f ds/create.log ] && [ -f ds/mean.jpg ] || fail "missing dataset files"
ls -a . | grep -q partial && fail "temporary directory left behind"
[ "$(cat ds/labels.txt)" = "$(printf 'big cat\ndog\nemu')" ] || fail "labels.txt: $(cat ds/labels.txt)"

"$DS" info ds --json > info.json
[ "$(json_get info.json 'j["splits"]["train"]["per_class"]')" = "[21, 21, 21]" ] || fail "train per class"
[ "$(json_get info.json 'j["splits"]["val"]["per_class"]')" = "[6, 6, 6]" ] || fail "val per class"
[ "$(json_get info.json 'j["splits"]["test"]["per_class"]')" = "[3, 3, 3]" ] || fail "test per class"
[ "$(json_get info.json '(j["width"], j["height"], j["channels"], j["encoding"])')" = "(32, 24, 3, 'png')" ] || fail "shape"
expect_status 0 "$DS" info ds
expect_in_output "shape:      32x24x3 (width x height x channels, colour)"
expect_in_output "records:    90 (train 63, val 18, test 9)"
expect_status 0 "$DS" verify ds
expect_in_output "ds: ok, 90 records checked"

# Records as Python sees them: keys %08d_%d in order, encoded PNG of the declared shape, and
# train.txt line i describing record i.
py_datums ds/train_db > train.jsonl
"$PY" - train.jsonl ds/train.txt <<'EOF' || fail "train_db records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
lines = [l.rstrip("\n") for l in open(sys.argv[2])]
assert len(recs) == 63 and len(lines) == 63, (len(recs), len(lines))
for i, r in enumerate(recs):
    assert r["key"] == "%08d_%d" % (i, r["label"]), r
    assert (r["channels"], r["height"], r["width"], r["encoded"]) == (3, 24, 32, True), r
    assert r["pil"] == ["RGB", 32, 24, "PNG"], r
    assert lines[i].endswith(" %d" % r["label"]), (lines[i], r)
assert sorted(set(r["label"] for r in recs)) == [0, 1, 2]
EOF

# explore: a 2x2 grid of 32x24 cells with 2-pixel gaps.
expect_status 0 "$DS" explore ds --split val --class dog -n 4 -o grid.png
"$PY" -c 'from PIL import Image; im = Image.open("grid.png"); assert im.size == (70, 54) and im.mode == "RGB", (im.size, im.mode)' \
  || fail "grid size"
expect_status 0 "$DS" explore ds --split test --class 2 -n 9 -o grid.jpg
expect_status 2 "$DS" explore ds --class wolf -o x.png
expect_in_output 'no such class'
expect_status 2 "$DS" explore ds --split bogus -o x.png

# Raw records: (C, H, W) with colour planes in BGR order; the mean in BGR, rounded half to even.
"$PY" - <<'EOF'
import os
from PIL import Image
for name, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255))):
    os.makedirs("solid/" + name, exist_ok=True)
    for i in range(10):
        Image.new("RGB", (12, 9), colour).save("solid/%s/%d.png" % (name, i))
EOF
expect_status 0 "$DS" create --train solid -o raw --encoding none --width 8 --height 8 --val-pct 0
py_datums raw/train_db > raw.jsonl
"$PY" - raw.jsonl <<'EOF' || fail "raw records"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 20
for r in recs:
    assert (r["channels"], r["height"], r["width"], r["encoded"], r["data_len"]) == (3, 8, 8, False, 192), r
    # labels: 0 = blue, 1 = red (sorted folder names); planes are B, G, R
    want = [255, 0, 0] if r["label"] == 0 else [0, 0, 255]
    assert r["plane_means"] == want, r
EOF
py_blob raw/mean.binaryproto > mean.json
"$PY" - mean.json <<'EOF' || fail "mean.binaryproto"
import json, sys
b = json.load(open(sys.argv[1]))
assert (b["num"], b["channels"], b["height"], b["width"]) == (1, 3, 8, 8), b
# 10 red + 10 blue: B and R average 127.5, which numpy.around (half to even) makes 128.
assert b["data"][:64] == [128.0] * 64 and b["data"][64:128] == [0.0] * 64 and b["data"][128:] == [128.0] * 64, b["data"][:3]
EOF
"$PY" -c 'from PIL import Image; im = Image.open("raw/mean.jpg"); assert im.size == (8, 8) and im.mode == "RGB"' || fail "mean.jpg"

# A PNG that is already the record (8-bit gray at 16x16 for --channels 1) is stored byte for
# byte; others (the colour ones, the JPEGs) are converted and re-encoded, and all decode alike.
expect_status 0 "$DS" create --train src -o asis --channels 1 --width 16 --height 16 --val-pct 0
"$PY" - asis/train_db asis/train.txt <<'EOF2' || fail "PNG stored as is"
import io, lmdb, sys
from PIL import Image
paths = [l.rsplit(" ", 1)[0] for l in open(sys.argv[2])]
env = lmdb.open(sys.argv[1], readonly=True, lock=False)
same = converted = 0
with env.begin() as txn:
    for i, (key, value) in enumerate(txn.cursor()):
        source = open(paths[i], "rb").read()
        stored = bytes(value)
        im = Image.open(io.BytesIO(stored[stored.index(b"\x89PNG"):]))
        assert im.mode == "L" and im.size == (16, 16), (paths[i], im.mode, im.size)
        if "/dog/" in paths[i]:
            assert source in stored, paths[i]
            same += 1
        else:
            assert source not in stored, paths[i]
            converted += 1
assert same == 30 and converted == 60, (same, converted)
EOF2
expect_status 0 "$DS" verify asis

# Grayscale records; JPEG records; every resize mode gives the declared shape.
expect_status 0 "$DS" create --train src -o gray --channels 1 --width 20 --height 20 --val-pct 0
py_datums gray/train_db > gray.jsonl
head -1 gray.jsonl | grep -q '"pil": \["L", 20, 20, "PNG"\]' || fail "gray record"
expect_status 0 "$DS" create --train src -o jpg --encoding jpg --jpeg-quality 80 --width 20 --height 20 --no-mean
py_datums jpg/train_db > jpg.jsonl
head -1 jpg.jsonl | grep -q '"pil": \["RGB", 20, 20, "JPEG"\]' || fail "jpg record"
[ -e jpg/mean.binaryproto ] && fail "--no-mean wrote a mean"
expect_status 0 "$DS" verify jpg
for mode in crop fill half_crop; do
  expect_status 0 "$DS" create --train src -o "mode_$mode" --resize "$mode" --width 30 --height 12 --val-pct 0
  expect_status 0 "$DS" verify "mode_$mode"
done

# Reproducible: the same seed gives the same records, byte for byte, whatever the thread count
# (fill's noise included); another seed another order.
expect_status 0 "$DS" create --train src -o again_fill --resize fill --width 30 --height 12 --val-pct 0 --threads 1
expect_status 0 "$DS" create --train src -o other_seed --resize fill --width 30 --height 12 --val-pct 0 --seed 9
"$PY" - mode_fill/train_db again_fill/train_db other_seed/train_db <<'EOF2' || fail "records not reproducible"
import lmdb, sys
def records(path):
    with lmdb.open(path, readonly=True, lock=False).begin() as txn:
        return [(bytes(k), bytes(v)) for k, v in txn.cursor()]
a, b, c = (records(p) for p in sys.argv[1:])
assert a == b
assert a != c and sorted(v for _, v in a) != sorted(v for _, v in c)  # other order, other noise
EOF2
cmp -s mode_fill/mean.binaryproto again_fill/mean.binaryproto || fail "mean not reproducible"

# An existing output: exit 2 without --force; replaced with it; never a non-dataset directory.
expect_status 2 "$DS" create --train src -o ds
expect_in_output "already exists (use --force to replace it)"
expect_status 0 "$DS" create --train src -o ds --force --width 16 --height 16
[ "$(json_get <("$DS" info ds --json) 'j["width"]')" = 16 ] || fail "--force did not replace"
mkdir -p notds && touch notds/precious
expect_status 2 "$DS" create --train src -o notds --force
[ -f notds/precious ] || fail "--force touched a non-dataset directory"

# A directory made by DIGITS (no dataset.yaml): shape and counts from the records.
cp -r ds digits_made && rm digits_made/dataset.yaml digits_made/create.log
expect_status 0 "$DS" info digits_made
expect_in_output "NVIDIA DIGITS dataset"
expect_in_output "shape:      16x16x3"
expect_status 0 "$DS" verify digits_made

# verify finds damaged records: exit 3 and one line per problem, naming the record.
cp -r raw damaged
"$PY" - damaged/train_db <<'EOF2'
import lmdb, sys
env = lmdb.open(sys.argv[1], map_size=1 << 26)
with env.begin(write=True) as txn:
    keys = [bytes(k) for k, _ in txn.cursor()]
    value = bytes(txn.get(keys[3]))
    txn.put(keys[3], value[:100])                 # truncated Datum
    txn.put(keys[5], value.replace(b"\x28\x00", b"\x28\x07").replace(b"\x28\x01", b"\x28\x07"))  # label 7
    txn.put(b"zzz", value)                        # not a record key
EOF2
# The changed data.mdb no longer matches the size and hash in dataset.yaml: refused unopened.
expect_status 3 "$DS" verify damaged
expect_in_output "damaged/train_db/data.mdb:"
# Without the recorded hash (as in DIGITS's own datasets), the records themselves are checked.
sed -i '/data_mdb:/d' damaged/dataset.yaml
expect_status 3 "$DS" verify damaged
expect_in_output "train_db record $(printf '%08d' 3)_"
expect_in_output "malformed protobuf"
expect_in_output "label 7 out of range (2 classes)"
expect_in_output "train_db record zzz: key is not in the form"
expect_in_output "train_db: holds 21 records, dataset.yaml says 20"

# Not a dataset at all: exit 2; a corrupt manifest: exit 3.
expect_status 2 "$DS" info notds
cp -r raw broken && echo "format_version: [" > broken/dataset.yaml
expect_status 3 "$DS" info broken
cp -r raw newer && sed -i 's/^format_version: 1/format_version: 99/' newer/dataset.yaml
expect_status 3 "$DS" verify newer
expect_in_output "newer than this tool understands"
echo "PASS"
