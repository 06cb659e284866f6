#!/bin/bash
# digits-dataset create from text lists, found wrong by a QA pass: a list or labels file saved by
# a Windows editor as "UTF-8 with BOM" starts with EF BB BF, which became part of the first path
# (skipped as a missing file) or the first class name (matching no sub-folder).
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

make_class_folder "my images" cat 3 8 6
make_class_folder "my images" dog 3 8 6
printf '\xef\xbb\xbfcat/000.png 0\r\ncat/001.png 0\r\ndog/000.png 1\r\ndog/001.png 1\r\n' > list.txt
printf '\xef\xbb\xbfcat\r\ndog\r\n' > labels.txt

expect_status 0 "$DS" create --train list.txt --labels labels.txt --folder "my images" --val-pct 0 \
  --width 8 --height 6 -o ds
expect_in_output "done: 4 records (train 4), 0 bad item(s) skipped"
[ "$(head -c 3 ds/labels.txt)" = cat ] || { od -c ds/labels.txt | head -2; fail "labels.txt starts with a BOM"; }

# The labels file names folder classes too: its first name must match the "cat" sub-folder.
expect_status 0 "$DS" create --train "my images" --labels labels.txt --val-pct 0 --width 8 --height 6 -o ds2
expect_in_output "done: 6 records (train 6), 0 bad item(s) skipped, 2 classes"
echo "PASS"
