#!/bin/bash
# digits-infer classify as a black box on a hand-made job (tests/e2e/make_infer_job.py): the
# class is the brightest quadrant, so p = e^4 / (e^4 + 3) = 94.79% for it and 1.74% for the rest.
# Output formats, inputs (files, folders, --list with labels, stdin), snapshot choice, bad items
# (answered around, exit 3) and bad jobs (exit 2 or 3, the problem named).
set -u
bin="${DIGITS_BIN:?}/digits-infer"
fixture="${DIGITS_SOURCE:?}/tests/e2e/make_infer_job.py"
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import PIL' 2>/dev/null || { echo "skip: /usr/bin/python3 with PIL needed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
/usr/bin/python3 "$fixture" job job
/usr/bin/python3 "$fixture" job logits --no-softmax
/usr/bin/python3 "$fixture" job badjob --bad-weights
/usr/bin/python3 "$fixture" images img

fail=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then
    printf 'FAIL %s\n--- expected\n%s\n--- got\n%s\n' "$1" "$2" "$3"
    fail=1
  fi
}
contains() {  # contains NAME NEEDLE FILE
  grep -qF -- "$2" "$3" || { printf 'FAIL %s: no "%s" in\n' "$1" "$2"; cat "$3"; fail=1; }
}
export DIGITS_DEVICE=cpu

# table, top 2: the bright quadrant first, then the lowest-numbered other class (ties).
out=$("$bin" classify --job job --top 2 img/q2.png img/q0.png 2>err); rc=$?
check "table rc" 0 "$rc"
check "table" "img/q2.png  bottom left (94.79%)  top left (1.74%)
img/q0.png  top left (94.79%)  top right (1.74%)" "$out"
contains "snapshot line" "epoch_2.safetensors (epoch 2, iteration 20), 4 classes" err

# A network without a Softmax in deploy gets one applied: the same numbers.
out=$("$bin" classify --job logits --top 2 img/q2.png img/q0.png 2>/dev/null)
check "logits table" "img/q2.png  bottom left (94.79%)  top left (1.74%)
img/q0.png  top left (94.79%)  top right (1.74%)" "$out"

# csv and jsonl; a larger RGB image is decoded to gray and squashed to 4x4 as DIGITS did with
# PIL (convert("L"), then resize BILINEAR): PIL computes the expected probability.
big_p=$(/usr/bin/python3 -c '
import math
from PIL import Image
px = list(Image.open("img/big_q1.png").convert("L").resize((4, 4), Image.BILINEAR).getdata())
sums = [sum(px[i] for i in range(16) if (2 if i >= 8 else 0) + (1 if i % 4 >= 2 else 0) == q) / 255 for q in range(4)]
e = [math.exp(s) for s in sums]
print("%.6f" % (e[1] / sum(e)))')
check "PIL agrees the big image is a clear top right" 0.904461 "$big_p"
out=$("$bin" classify --job job --top 1 --format csv img/big_q1.png img/q3.png 2>/dev/null)
check "csv" "image,class_1,probability_1
img/big_q1.png,top right,$big_p
img/q3.png,bottom right,0.947915" "$out"
out=$("$bin" classify --job job --top 2 --format jsonl img/q1.png 2>/dev/null)
check "jsonl" '{"image":"img/q1.png","top":[{"class":"top right","index":1,"probability":0.947915},{"class":"top left","index":0,"probability":0.017361669}]}' "$out"

# A folder (images only, sorted), stdin, --snapshot; batches of 2 give the same answers.
out=$(printf 'img/q3.png\n' | "$bin" classify --job job --snapshot 1 --batch-size 2 --top 1 --format csv img - 2>err); rc=$?
check "folder rc (corrupt.png inside)" 3 "$rc"
check "folder" "image,class_1,probability_1
img/big_q1.png,top right,$big_p
img/q0.png,top left,0.947915
img/q1.png,top right,0.947915
img/q2.png,bottom left,0.947915
img/q3.png,bottom right,0.947915
img/q3.png,bottom right,0.947915" "$out"
contains "folder: corrupt named" "digits-infer: img/corrupt.png:" err
contains "folder: count" "1 of 7 image(s) could not be classified" err
contains "snapshot 1" "epoch_1.safetensors (epoch 1, iteration 10)" err
"$bin" classify --job job --snapshot best img/q0.png 2>err >/dev/null
contains "best = highest val_accuracy" "epoch_1.safetensors" err

# --list with labels: accuracy on stderr, label column in the output; bad lines reported.
mkdir lists
cat > lists/l.txt <<'EOF'
q0.png 0
q1.png 2
missing.png 1
# comment

corrupt.png 3
q3.png 9
q2.png
EOF
out=$("$bin" classify --job job --list lists/l.txt --folder img --top 1 2>err); rc=$?
check "list rc" 3 "$rc"
check "list" "img/q0.png  [top left]  top left (94.79%)
img/q1.png  [bottom left]  top right (94.79%)
img/q2.png  [-]  bottom left (94.79%)" "$out"
contains "list: missing" "lists/l.txt:3: img/missing.png: cannot open" err
contains "list: corrupt" "lists/l.txt:6: img/corrupt.png:" err
contains "list: label" "lists/l.txt:7: q3.png: label 9 out of range (the job has 4 classes: 0 to 3)" err
contains "list: accuracy" "top-1 accuracy 0.5000 (1/2), top-4 accuracy 1.0000 (2/2) over 2 labelled image(s)" err
contains "list: count" "3 of 6 image(s) could not be classified" err
check "list: one stderr line per bad item, plus header, accuracy, count" 6 "$(wc -l < err)"

# Bad jobs and bad flags.
"$bin" classify --job nowhere img/q0.png >/dev/null 2>err; check "no job dir rc" 2 $?
contains "no job dir" "job nowhere: no such directory" err
"$bin" classify --job img img/q0.png >/dev/null 2>err; check "not a job rc" 2 $?
contains "not a job" "not a job directory" err
"$bin" classify --job job --snapshot 5 img/q0.png >/dev/null 2>err; check "no snapshot rc" 2 $?
contains "no snapshot" "no snapshot at epoch 5 (available: 1, 2, last, best)" err
"$bin" classify --job badjob img/q0.png >/dev/null 2>err; check "bad weights rc" 3 $?
contains "bad weights: shape" "tensor fc.weight has shape [4,9], the network needs [4,16]" err
contains "bad weights: missing" "tensor fc.bias is missing" err
"$bin" classify --job job >/dev/null 2>err; check "nothing to classify rc" 2 $?
contains "nothing" "nothing to classify" err
"$bin" classify --job job --format xml img/q0.png >/dev/null 2>err; check "bad format rc" 2 $?
"$bin" classify --job job --device gpu:0 img/q0.png >/dev/null 2>err; rc=$?
[ $rc -eq 4 ] || [ $rc -eq 0 ] || { echo "FAIL --device gpu:0: rc $rc"; cat err; fail=1; }
"$bin" classify >/dev/null 2>&1; check "no --job rc" 2 $?

[ $fail -eq 0 ] && echo "ok"
exit $fail
