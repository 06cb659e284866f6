#!/bin/bash
# digits-dataset from text lists ("PATH LABEL", DIGITS's "Use Text Files"): paths with spaces,
# relative paths under --folder, absolute paths, a separate --val list, --labels names; a line
# whose label is out of range and a line naming a missing file are each skipped with one line.
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

make_class_folder "my images" "class a" 12
make_class_folder "my images" "class b" 12 30 10 L jpg
printf 'alpha\nbeta\n' > labels.txt
{
  for i in 000 001 002 003 004 005 006 007 008 009; do echo "class a/$i.png 0"; done
  for i in 000 001 002 003 004 005 006 007; do printf 'class b/%s.jpg\t1\n' "$i"; done
  echo "$WORK/my images/class b/008.jpg 1"   # absolute: --folder does not apply
  echo "class a/010.png 2"                   # label out of range (2 classes)
  echo "class a/nope.png 0"                  # missing file
} > train.txt
printf 'class a/011.png 0\nclass b/009.jpg 1\nclass b/010.jpg 1\n' > val.txt

expect_status 0 "$DS" create --train train.txt --val val.txt --labels labels.txt --folder "my images" \
  -o ds --width 16 --height 16
expect_in_output 'label 2 out of range: 2 classes (0..1)'
expect_in_output "skipped my images/class a/nope.png: missing file"
expect_in_output "done: 22 records (train 19, val 3), 2 bad item(s) skipped, 2 classes"
[ "$(cat ds/labels.txt)" = "$(printf 'alpha\nbeta')" ] || fail "labels.txt"
"$DS" info ds --json > info.json
[ "$(json_get info.json 'j["splits"]["train"]["per_class"]')" = "[10, 9]" ] || fail "train per class"
[ "$(json_get info.json 'j["splits"]["val"]["per_class"]')" = "[1, 2]" ] || fail "val per class"
[ "$(json_get info.json 'j["bad_items"]')" = 2 ] || fail "bad_items"
expect_status 0 "$DS" verify ds
grep -q "class a/000.png 0" ds/train.txt || fail "train.txt lacks a path with spaces"

# Relative paths without --folder resolve against the current directory (as DIGITS did).
(cd "my images" && "$DS" create --train ../train.txt --labels ../labels.txt -o ../ds2 --val-pct 0 \
  --width 8 --height 8 >"$WORK/last.out" 2>&1) || { cat last.out; fail "create from the image folder"; }
expect_in_output "done: 19 records (train 19), 2 bad item(s) skipped"

# A text list needs --labels; --train-labels belongs to IDX sources only; --folder must exist.
expect_status 2 "$DS" create --train train.txt -o ds3
expect_in_output "needs --labels"
expect_status 2 "$DS" create --train train.txt --train-labels labels.txt --labels labels.txt -o ds3
expect_status 2 "$DS" create --train train.txt --labels labels.txt --folder nowhere -o ds3
[ -e ds3 ] && fail "ds3 created by a failed run"
echo "PASS"
