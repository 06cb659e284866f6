#!/bin/bash
# digits-infer evaluate and topn as black boxes on a hand-made job and dataset
# (tests/e2e/make_infer_job.py; the class is the brightest quadrant): the confusion matrix,
# accuracies and precision/recall as text and JSON, the confusion-matrix picture, and the
# top-N grid with its listing.
set -u
bin="${DIGITS_BIN:?}/digits-infer"
fixture="${DIGITS_SOURCE:?}/tests/e2e/make_infer_job.py"
/usr/bin/python3 -c 'import PIL, lmdb' 2>/dev/null || { echo "skip: /usr/bin/python3 with PIL and lmdb needed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
/usr/bin/python3 "$fixture" job job
/usr/bin/python3 "$fixture" images img
# val records BRIGHT:LABEL; predictions follow the bright quadrant.
/usr/bin/python3 "$fixture" dataset ds 0:0 0:0 1:0 1:1 3:2 3:2 3:3

fail=0
check() {
  if [ "$2" != "$3" ]; then
    printf 'FAIL %s\n--- expected\n%s\n--- got\n%s\n' "$1" "$2" "$3"
    fail=1
  fi
}
contains() {
  grep -qF -- "$2" "$3" || { printf 'FAIL %s: no "%s" in\n' "$1" "$2"; cat "$3"; fail=1; }
}
export DIGITS_DEVICE=cpu

"$bin" evaluate --job job --dataset ds --batch-size 3 --plot cm.png > out.txt 2>err; rc=$?
check "evaluate rc" 0 "$rc"
contains "top-1" "accuracy (top-1): 0.5714 (4/7)" out.txt
contains "top-4" "accuracy (top-4): 1.0000 (7/7)" out.txt
contains "class 0" "    0  top left         1.0000     0.6667          3" out.txt
contains "class 2" "    2  bottom left         n/a     0.0000          2" out.txt
check "confusion" "confusion matrix (rows: true class, columns: predicted class)
      0 1 2 3
    0 2 1 0 0
    1 0 1 0 0
    2 0 0 0 2
    3 0 0 0 1" "$(sed -n '/^confusion/,$p' out.txt)"
size=$(/usr/bin/python3 -c 'from PIL import Image; im = Image.open("cm.png"); print(im.size, im.mode, im.getpixel((im.size[0] - 4 - 20, im.size[1] - 4 - 20)))')
check "plot" "(178, 182) RGB (8, 48, 107)" "$size"

"$bin" evaluate --job job --dataset ds --json > out.json 2>/dev/null; check "json rc" 0 $?
got=$(/usr/bin/python3 -c '
import json; j = json.load(open("out.json"))
print(j["count"], round(j["accuracy"], 4), j["top_k"], j["confusion"])
print([(c["name"], c["precision"], c["recall"], c["support"]) for c in j["classes"]])')
check "json" "7 0.5714 4 [[2, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 2], [0, 0, 0, 1]]
[('top left', 1.0, 0.6666666666666666, 3), ('top right', 0.5, 1.0, 1), ('bottom left', None, 0.0, 2), ('bottom right', 0.3333333333333333, 1.0, 1)]" "$got"

"$bin" evaluate --job job --dataset ds --split test >/dev/null 2>err; check "no test split rc" 2 $?
contains "no test split" "has no test split (it has: train, val)" err
"$bin" evaluate --job job --dataset nowhere >/dev/null 2>err; check "no dataset rc" 2 $?
"$bin" evaluate --job job --dataset ds --plot cm.gif >/dev/null 2>err; check "bad plot name rc" 2 $?

# topn: 2 per class over 5 good images (and a bad one: answered around, exit 3).
printf 'q0.png\nq1.png 1\nbig_q1.png\nq2.png\nq3.png\ncorrupt.png\n' > list.txt
"$bin" topn --job job --list list.txt --folder img -n 2 -o grid.png > listing.txt 2>err; rc=$?
check "topn rc" 3 "$rc"
contains "topn bad item" "list.txt:6: img/corrupt.png:" err
check "topn rows" "8" "$(wc -l < listing.txt)"
contains "topn class 1 best" "1	top right	1	0.947915	img/q1.png" listing.txt
contains "topn class 0 best" "0	top left	1	0.947915	img/q0.png" listing.txt
size=$(/usr/bin/python3 -c 'from PIL import Image; im = Image.open("grid.png"); print(im.size, im.mode, im.getpixel((7, 2)))')
# 4 rows of 4-pixel tiles with 2-pixel gaps; a 7-pixel label column; q0's top-left pixel is white.
check "grid" "(21, 26) RGB (255, 255, 255)" "$size"
"$bin" topn --job job --list list.txt -o grid.png -n 0 >/dev/null 2>&1; check "topn -n 0 rc" 2 $?
"$bin" topn --job job -o grid.png >/dev/null 2>&1; check "topn without --list rc" 2 $?

[ $fail -eq 0 ] && echo "ok"
exit $fail
