#!/bin/bash
# Torture 8: hostile text lists. CRLF line ends, trailing spaces and tabs, paths with spaces and
# non-ASCII names are read; a missing label, a non-integer, negative or out-of-range label and a
# path named twice are each skipped with one "skipped LIST:LINE: ..." message; with --folder no
# path escapes the folder (absolute elsewhere, or ".." climbing out), even to a file that exists.
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

make_class_folder imgs "cats" 6 12 12
make_class_folder imgs "dögs ünd" 6 12 12
make_class_folder outside "secret" 1 12 12
printf 'cat\ndog\n' > labels.txt
{
  printf 'cats/000.png 0\r\n'                 # CRLF
  printf 'cats/001.png 0   \r\n'              # trailing spaces, then CRLF
  printf '  cats/002.png\t0\t\n'              # leading spaces, tabs
  printf 'dögs ünd/000.png 1\n'               # spaces and non-ASCII in the path
  printf 'dögs ünd/001.png   1\r\n'
  printf 'dögs ünd/002.png\n'                 # line 6: no label
  printf 'dögs ünd/003.png one\n'             # line 7: not a number
  printf 'dögs ünd/004.png -1\n'              # line 8: negative
  printf 'dögs ünd/005.png 2\n'               # line 9: out of range
  printf 'cats/000.png 1\n'                   # line 10: duplicate of line 1
  printf './cats//001.png 0\n'                # line 11: the same file as line 2, spelled otherwise
  printf '../outside/secret/000.png 0\n'      # line 12: climbs out of --folder
  printf '%s/outside/secret/000.png 0\n' "$WORK"   # line 13: absolute, outside --folder
  printf 'cats/../../outside/secret/000.png 0\n'   # line 14: in and out again
  printf 'cats/003.png 99999999999999999999\n'     # line 15: huge label
  printf '\r\n'                               # blank (CRLF) lines are skipped
  printf '%s/imgs/cats/004.png 0\n' "$WORK"   # absolute, inside --folder: read
} > list.txt

expect_status 0 "$DS" create --train list.txt --labels labels.txt --folder imgs -o ds --val-pct 0 \
  --width 8 --height 8
for expected in \
  'skipped list.txt:6: expected "PATH LABEL" (LABEL a number), got "dögs ünd/002.png"' \
  'skipped list.txt:7: expected "PATH LABEL" (LABEL a number), got "dögs ünd/003.png one"' \
  'skipped list.txt:8: expected "PATH LABEL" (LABEL a number), got "dögs ünd/004.png -1"' \
  'skipped list.txt:9: dögs ünd/005.png: label 2 out of range: 2 classes (0..1)' \
  'skipped list.txt:10: cats/000.png: duplicate of line 1; skipped' \
  'skipped list.txt:11: ./cats//001.png: duplicate of line 2; skipped' \
  'skipped list.txt:12: ../outside/secret/000.png: outside the --folder imgs; not read' \
  "skipped list.txt:13: $WORK/outside/secret/000.png: outside the --folder imgs; not read" \
  'skipped list.txt:14: cats/../../outside/secret/000.png: outside the --folder imgs; not read' \
  'skipped list.txt:15: cats/003.png: label 99999999999999999999 out of range'; do
  expect_in_output "$expected"
done
expect_in_output "done: 6 records (train 6), 10 bad item(s) skipped"
[ "$(grep -c '^skipped ' last.out)" = 10 ] || fail "expected one line per bad list line"
grep -q secret ds/train.txt && fail "a file outside --folder was read"
grep -qF 'imgs/dögs ünd/001.png 1' ds/train.txt || fail "the non-ASCII path with CRLF was not read"
expect_status 0 "$DS" verify ds

# Without --folder, paths are the user's own (relative to the current directory): nothing refused.
printf '../outside/secret/000.png 0\n../imgs/cats/000.png 0\n../imgs/cats/001.png 1\n../imgs/cats/002.png 1\n' > free.txt
mkdir -p sub && (cd sub && "$DS" create --train ../free.txt --labels ../labels.txt -o ../free --val-pct 0 \
  --width 8 --height 8 >"$WORK/last.out" 2>&1) || { cat last.out; fail "a list without --folder"; }
expect_in_output "done: 4 records"
echo "PASS (17 list lines: 6 read, 10 refused with file:line, 1 blank)"
