#!/bin/bash
# Bad input never crashes digits-dataset: corrupt, truncated and zero-byte images, a text file
# named .jpg, a decompression bomb (refused by its header), an unreadable file, a symlink loop,
# an empty class, an out-of-range label and a missing file in a list are each skipped with one
# line naming the item and why, and counted; --max-bad turns too many into exit 3 with no
# dataset; a missing input, an existing output and bad option values exit 2 at once.
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

mkdir -p src/empty
make_class_folder src a 10 10 8
make_class_folder src b 10 10 8
"$PY" - <<'EOF'
import io, struct, zlib
from PIL import Image
buf = io.BytesIO()
Image.new("RGB", (64, 48), (1, 2, 3)).save(buf, "JPEG")
jpg = buf.getvalue()
open("src/a/truncated.jpg", "wb").write(jpg[: len(jpg) // 2])
open("src/a/corrupt.png", "wb").write(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
open("src/a/empty.png", "wb").close()
open("src/a/text.jpg", "w").write("this is not an image\n")
# A valid PNG header declaring 100000 x 100000 pixels (10 gigapixels) with a tiny body.
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
header = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
open("src/b/bomb.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                                   + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
EOF
ln -s .. src/b/loop
ln -s "$WORK/src/b/nothing-here.png" src/b/dangling.png
cp src/a/000.png src/a/unreadable.png
chmod 000 src/a/unreadable.png
expected_bad=8
if [ "$(id -u)" = 0 ]; then
  # root reads files whatever their permissions, so this one is not bad when running as root.
  echo "note: running as root, which ignores file permissions: the unreadable-file case is not checked"
  expected_bad=7
fi

expect_status 0 "$DS" create --train src -o ds --width 8 --height 8
expect_in_output "skipped src/a/corrupt.png: corrupt PNG data"
expect_in_output "skipped src/a/truncated.jpg: truncated JPEG data"
expect_in_output "skipped src/a/empty.png: empty file (0 bytes)"
expect_in_output "skipped src/a/text.jpg: not an image"
expect_in_output "skipped src/b/bomb.png: image 100000x100000 exceeds --max-pixels 100000000"
expect_in_output "skipped src/b/loop: symlink loop"
expect_in_output "skipped src/b/dangling.png: broken symlink"
expect_in_output 'note: class "empty": 0 image(s)'
expect_in_output "class dropped"
if [ "$(id -u)" != 0 ]; then expect_in_output "skipped src/a/unreadable.png: unreadable file (permission denied)"; fi
expect_in_output "$expected_bad bad item(s) skipped"
[ "$(grep -c '^skipped ' last.out)" = "$expected_bad" ] || fail "expected one line per bad item"
cp last.out create.out
"$DS" info ds --json > info.json
[ "$(json_get info.json 'j["classes"]')" = "['a', 'b']" ] || fail "classes"
[ "$(json_get info.json 'j["bad_items"]')" = "$expected_bad" ] || fail "bad_items in dataset.yaml"
grep -q "skipped src/a/corrupt.png" ds/create.log || fail "creation log lacks the skipped items"
expect_status 0 "$DS" verify ds

# Lists: a label out of range and a missing file.
printf 'a\nb\n' > labels.txt
printf 'src/a/000.png 0\nsrc/a/001.png 0\nsrc/b/000.png 1\nsrc/b/001.png 1\nsrc/b/002.png 7\nsrc/a/gone.png 0\n' > list.txt
expect_status 0 "$DS" create --train list.txt --labels labels.txt -o from_list --val-pct 0 --width 8 --height 8
expect_in_output "skipped list.txt:5: src/b/002.png: label 7 out of range: 2 classes (0..1)"
expect_in_output "skipped src/a/gone.png: missing file (no such file)"
expect_in_output "done: 4 records (train 4), 2 bad item(s) skipped"

# --max-bad: a count or a percentage of the items found (26 or 27 here); more fails with exit 3
# and leaves nothing, not even the temporary directory.
expect_status 3 "$DS" create --train src -o limited --width 8 --height 8 --max-bad $((expected_bad - 1))
expect_in_output "too many bad items"
[ -e limited ] && fail "--max-bad failure left an output"
ls -a | grep -q partial && fail "--max-bad failure left a temporary directory"
expect_status 0 "$DS" create --train src -o limited --width 8 --height 8 --max-bad "$expected_bad"
expect_status 3 "$DS" create --train src -o limited2 --width 8 --height 8 --max-bad 10%
[ -e limited2 ] && fail "--max-bad % failure left an output"
expect_status 0 "$DS" create --train src -o limited2 --width 8 --height 8 --max-bad 40%

# Usage errors: exit 2 at once, nothing written.
expect_status 2 "$DS" create --train does-not-exist -o x
expect_in_output "does-not-exist: no such file or directory"
expect_status 2 "$DS" create --train src -o ds
expect_in_output "already exists"
expect_status 2 "$DS" create --train src/a/000.png -o x
expect_in_output "an image file; a source is a folder"
head -c 3000 /bin/sh > binary.txt
expect_status 2 "$DS" create --train binary.txt --labels labels.txt -o x
expect_in_output "binary data, not a text list"
expect_status 2 "$DS" create --train src -o x --channels 2
expect_status 2 "$DS" create --train src -o x --resize stretch
expect_in_output "squash"
expect_status 2 "$DS" create --train src -o x --encoding gif
expect_status 2 "$DS" create --train src -o x --max-bad lots
expect_status 2 "$DS" create --train src -o x --val-pct 150
expect_status 2 "$DS" create --train src -o x --val-pct 60 --test-pct 40
expect_status 2 "$DS" create --train src -o x --width 0
expect_status 2 "$DS" create --train src -o x --jpeg-quality 101
expect_status 2 "$DS" create --train src -o x --no-such-flag
expect_status 2 "$DS" create --train src
expect_status 2 "$DS"
expect_status 2 "$DS" info does-not-exist
[ -e x ] && fail "a usage error created the output"

# Data rejected: every image bad (exit 3), fewer than two usable classes (exit 3).
mkdir -p allbad/a allbad/b
for c in a b; do for i in 1 2 3; do echo text > "allbad/$c/$i.jpg"; done; done
expect_status 3 "$DS" create --train allbad -o y
expect_in_output "no training image could be read"
mkdir -p oneclass/a && cp src/a/00[0-4].png oneclass/a/
expect_status 3 "$DS" create --train oneclass -o y
expect_in_output "needs at least 2"
[ -e y ] && fail "a rejected run created the output"
echo "PASS"
