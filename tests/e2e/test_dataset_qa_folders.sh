#!/bin/bash
# digits-dataset create from a folder, found wrong by a QA pass: a symbolic link inside one class
# that leads to another class's folder took that class's images (walked first, in sorted order)
# and left the real class empty and dropped. Each class folder belongs to its own class; the link
# is the path noted as already scanned. And a name with a line break is a bad item.
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

make_class_folder images cat 4 8 6
make_class_folder images dog 5 8 6
ln -s ../dog images/cat/dogs-too
ln -s .. images/cat/up   # a loop, still reported as one

expect_status 0 "$DS" create --train images --val-pct 0 --width 8 --height 6 -o ds
expect_in_output "images/cat/dogs-too: a directory already scanned through another path"
expect_in_output "skipped images/cat/up: symlink loop"
[ "$(cat ds/labels.txt)" = "$(printf 'cat\ndog')" ] || { cat ds/labels.txt; fail "labels.txt"; }
grep -q "per_class: \[4, 5\]" ds/dataset.yaml || { cat ds/dataset.yaml; fail "per-class counts"; }
grep -q "dogs-too" ds/train.txt && fail "dog images listed under cat"
# A folder or file name with a line break would split its line in labels.txt or train.txt (every
# later label off by one; verify then rejects the dataset): it is a bad item, named with why.
make_class_folder lines cat 4 8 6
make_class_folder lines dog 4 8 6
mkdir "lines/bad
class" && cp lines/cat/000.png "lines/bad
class/" && cp lines/dog/000.png "lines/dog/two
lines.png"
expect_status 0 "$DS" create --train lines --val-pct 0 --width 8 --height 6 -o ds-lines
expect_in_output "a line break in the name"
expect_in_output "done: 8 records (train 8), 2 bad item(s) skipped, 2 classes"
[ "$(cat ds-lines/labels.txt)" = "$(printf 'cat\ndog')" ] || { cat ds-lines/labels.txt; fail "labels.txt"; }
expect_status 0 "$DS" verify ds-lines
echo "PASS"
