#!/bin/bash
# digits-dataset create: option values found wrong by a QA pass, each refused at once with exit 2
# and a message naming the option, before any image is decoded.
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

make_class_folder images a 3 8 6
make_class_folder images b 3 8 6

# --width/--height stop at 65500, libjpeg's limit per side: 65501 was accepted, then every image
# failed to encode as JPEG (exit 3, all "bad"), or mean.jpg failed after the whole run.
expect_status 2 "$DS" create --train images --width 65501 --height 1 --encoding jpg -o ds
expect_in_output "--width 65501: expected 1 to 65500 pixels"
expect_status 2 "$DS" create --train images --width 1 --height 65501 --encoding none -o ds
expect_in_output "--height 65501: expected 1 to 65500 pixels"
[ -e ds ] && fail "ds created by a refused run"
# 65500 itself works end to end, mean.jpg included.
expect_status 0 "$DS" create --train images --width 65500 --height 1 --encoding jpg --val-pct 0 -o ds
[ -s ds/mean.jpg ] || fail "no mean.jpg at 65500x1"
# --threads is bounded: 100000 was taken, and the run died on the thread limit ("Resource
# temporarily unavailable", naming nothing) or was killed for memory.
expect_status 2 "$DS" create --train images --threads 1025 -o ds2
expect_in_output "--threads 1025: expected 0 (all cores) to 1024"
[ -e ds2 ] && fail "ds2 created by a refused run"
# --seed is a whole number that fits 64 bits: "-1" was taken as 18446744073709551615, and larger
# numbers were clamped to it, silently.
for seed in -1 18446744073709551616 1e3; do
  expect_status 2 "$DS" create --train images --seed "$seed" -o ds3
  expect_in_output "--seed: expected a whole number from 0 to 18446744073709551615"
done
[ -e ds3 ] && fail "ds3 created by a refused run"
expect_status 0 "$DS" create --train images --seed 18446744073709551615 --width 4 --height 4 -o ds3
grep -q "seed: 18446744073709551615" ds3/dataset.yaml || fail "largest seed not recorded"
# A --max-pixels meant as "no limit" keeps files of any size: from 2^61 up, the file-size bound
# derived from it (8 bytes a pixel, plus 1 MiB) wrapped to about 1 MiB, and every larger file
# was skipped as "larger than the limit".
"$PY" - <<'PYEOF'
import os, random
from PIL import Image
for c in "xy":
    os.makedirs("big/" + c, exist_ok=True)
    Image.frombytes("L", (1200, 1000), random.Random(c).randbytes(1200 * 1000)).save("big/%s/0.png" % c)
PYEOF
[ "$(stat -c %s big/x/0.png)" -gt 1100000 ] || fail "big/x/0.png is not over 1 MiB"
for pixels in 2305843009213693952 9223372036854775807; do
  expect_status 0 "$DS" create --train big --val-pct 0 --min-per-class 1 --max-pixels "$pixels" \
    --width 4 --height 4 --force -o ds4
  expect_in_output "0 bad item(s) skipped"
done
# --folder prefixes text-list paths only: given with no text list it was ignored, silently, and
# recorded in dataset.yaml as if it had applied.
mkdir -p prefix
expect_status 2 "$DS" create --train images --folder prefix -o ds5
expect_in_output "--folder prefix: only text lists take a path prefix, and no source is a text list"
[ -e ds5 ] && fail "ds5 created by a refused run"
printf 'a/000.png 0\nb/000.png 1\na/001.png 0\nb/001.png 1\n' > list.txt
printf 'a\nb\n' > names.txt
expect_status 0 "$DS" create --train images --val list.txt --labels names.txt --folder images --width 4 --height 4 -o ds5
expect_in_output "done: 10 records (train 6, val 4)"
# An existing output that --force would not replace either (a file, a folder that is not a
# dataset) says so at once; the message told to use --force, which then refused it.
touch a-file && mkdir -p not-a-dataset && touch not-a-dataset/notes
for out in a-file not-a-dataset; do
  expect_status 2 "$DS" create --train images -o "$out"
  expect_in_output "refusing to replace it even with --force"
done
echo "PASS"
