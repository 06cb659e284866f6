#!/usr/bin/env bash
# Resizing has an AVX2 kernel (picked at run time) and a portable one: both must give the same
# bytes. Images of many sizes (odd widths, 1-pixel lines, gray and colour), shrunk and enlarged
# with each resize mode, built with and without DIGITS_NO_SIMD: same data.mdb hashes and mean.
source "$(dirname "$0")/lib.sh"
DS="$DIGITS_BIN"/digits-dataset
"$PY" - <<'PYEOF'
import os, random
from PIL import Image
rng = random.Random(11)
sizes = [(1, 1), (1, 37), (37, 1), (2, 3), (15, 17), (31, 33), (64, 64), (97, 45), (255, 3), (301, 187)]
for c, mode in enumerate(["L", "RGB"]):
    os.makedirs(f"imgs/{mode}", exist_ok=True)
    for i, (w, h) in enumerate(sizes + [(rng.randint(1, 300), rng.randint(1, 300)) for _ in range(10)]):
        Image.frombytes(mode, (w, h), os.urandom(w * h * len(mode))).save(f"imgs/{mode}/{i:02d}.png")
PYEOF
[ "$(uname -m)" = x86_64 ] && ! grep -qw avx2 /proc/cpuinfo && echo "note: this CPU has no AVX2: both runs use the portable code"
runs=0
for size in "40 24" "7 5" "256 256"; do
  set -- $size
  for mode in squash crop fill half_crop; do
    for simd in on off; do
      if [ "$simd" = off ]; then export DIGITS_NO_SIMD=1; else unset DIGITS_NO_SIMD; fi
      "$DS" create --train imgs -o "ds_$simd" --force \
        --width "$1" --height "$2" --channels 3 --resize "$mode" --encoding none >/dev/null 2>err ||
        { cat err >&2; fail "create ${1}x$2 $mode (SIMD $simd) failed"; }
    done
    grep "xxh64" ds_on/dataset.yaml > on.hashes
    grep "xxh64" ds_off/dataset.yaml > off.hashes
    [ -s on.hashes ] || fail "no data.mdb hash in dataset.yaml"
    cmp -s on.hashes off.hashes || fail "${1}x$2 $mode: records differ between the AVX2 and the portable resize"
    cmp -s ds_on/mean.binaryproto ds_off/mean.binaryproto || fail "${1}x$2 $mode: means differ"
    runs=$((runs + 1))
  done
done
unset DIGITS_NO_SIMD
echo "PASS ($runs sizes x modes, 40 images each, AVX2 and portable resize give the same records)"
