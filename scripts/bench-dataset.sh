#!/usr/bin/env bash
# Dataset ingestion: digits-dataset against a Python PIL + lmdb script written the way DIGITS's
# create_db.py did it (scripts/bench_dataset_python.py), in the same run, on the same files, with
# the same record encoding, and against libjpeg-turbo's own in-process decode rate
# (scripts/bench_jpeg_decode.c) as the physical reference for the JPEG case:
#   - 10,000 PNGs, 28x28 gray (Fashion-MNIST images), stored at 28x28 gray;
#   - 2,000 JPEGs, 200x150 to 640x480 colour, resized (squash) to 256x256 colour;
# each with raw records (--encoding none) and PNG-encoded records. Both sides compute the mean
# image and use every core (ours: one worker per core; Python: DIGITS's 10 loader threads).
# Prints images/s, CPU seconds per image and the ratios.
#   BUILD_DIR (default build), RUNS (default 2: best of N for each measurement)
# The benchmark commands run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (the project's
# rule for benchmarks; neither side uses BLAS here). Tests and CI keep them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --bench --data
build=${BUILD_DIR:-build}
runs=${RUNS:-2}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target digits-dataset >/dev/null
ds=$(realpath "$build/tools/digits-dataset")
script=$(realpath scripts/bench_dataset_python.py)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
clean_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
PY=/usr/bin/python3
cd "$work"

echo "== generating inputs in $work"
"$PY" - <<'PYEOF'
import gzip, os
import numpy as np
from PIL import Image
# 10,000 tiny gray PNGs: Fashion-MNIST's first training images, or a synthetic stand-in.
path = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
os.makedirs("tiny", exist_ok=True)
if os.path.exists(path):
    raw = np.frombuffer(gzip.open(path).read()[16:16 + 10000 * 784], np.uint8).reshape(10000, 28, 28)
else:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:28, 0:28]
    raw = np.stack([((xx * (i % 7) + yy * (i % 5) + i) % 256).astype(np.uint8) for i in range(10000)])
with open("tiny.txt", "w") as out:
    for i in range(10000):
        p = os.path.abspath("tiny/%05d.png" % i)
        Image.fromarray(raw[i]).save(p)
        out.write("%s %d\n" % (p, i % 10))
# 2,000 colour JPEGs of web-photo sizes, 200x150 to 640x480 (a third of them portrait),
# quality 90: gradients, discs and noise.
rng = np.random.default_rng(1)
os.makedirs("jpeg", exist_ok=True)
with open("jpeg.txt", "w") as out:
    for i in range(2000):
        w = int(rng.integers(200, 641))
        h = w * 3 // 4
        if i % 3 == 2:
            w, h = h, w
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        a, b, c = rng.uniform(0.1, 0.6, 3)
        img = np.stack([(xx * a + yy * b + i) % 256, (yy * c + 2 * i) % 256, (xx * b + yy * a + 3 * i) % 256], 2)
        for _ in range(6):
            cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(15, 80)
            img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.integers(0, 256, 3)
        img += rng.normal(0, 6, img.shape)
        p = os.path.abspath("jpeg/%04d.jpg" % i)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(p, quality=90)
        out.write("%s %d\n" % (p, i % 10))
open("labels.txt", "w").write("".join("class%d\n" % i for i in range(10)))
PYEOF
cc -O2 -fopenmp "$OLDPWD/scripts/bench_jpeg_decode.c" -lturbojpeg -o bench_jpeg_decode

# measure NAME IMAGES CMD...: runs CMD `runs` times (a fresh output each time); records the best
# images/s (from the line the command prints) and the CPU seconds (user + sys) of that run.
declare -A rate cpu
measure() {
  local name=$1 images=$2; shift 2
  local best=0 best_cpu=0 r r_rate r_cpu
  for ((r = 0; r < runs; r++)); do
    rm -rf out out.mean.png
    "${clean_env[@]}" /usr/bin/time -f "%U %S" -o time.txt "$@" >run.out 2>run.err ||
      { cat run.err >&2; echo "bench-dataset.sh: $name failed" >&2; exit 1; }
    r_rate=$(grep -o '"images_per_second": [0-9.]*\|images_per_second [0-9.]*' run.out | grep -o '[0-9.]*$' | head -1)
    r_cpu=$(awk '{ print $1 + $2 }' time.txt)
    if awk -v a="$r_rate" -v b="$best" 'BEGIN { exit !(a > b) }'; then best=$r_rate; best_cpu=$r_cpu; fi
  done
  rate[$name]=$best
  cpu[$name]=$(awk -v c="$best_cpu" -v n="$images" 'BEGIN { printf "%.1f", c / n * 1e6 }')
  printf '  %-40s %9.0f images/s  %8.1f us CPU/image\n' "$name" "$best" "${cpu[$name]}"
}

ours() {  # ours LIST CHANNELS SIZE ENCODING
  "$ds" create --train "$1" --labels labels.txt --channels "$2" --width "$3" --height "$3" \
    --encoding "$4" --val-pct 0 --json -o out
}
theirs() {  # theirs LIST CHANNELS SIZE ENCODING
  "$PY" "$script" "$1" out "$3" "$3" "$2" "$4"
}
export -f ours theirs
export ds script PY

echo "== $(nproc) cores; best of $runs runs each"
for enc in none png; do
  measure "tiny PNG 28x28 gray, $enc, ours" 10000 bash -c "ours tiny.txt 1 28 $enc"
  measure "tiny PNG 28x28 gray, $enc, python" 10000 bash -c "theirs tiny.txt 1 28 $enc"
done
for enc in none png; do
  measure "JPEG 200-640 px -> 256x256, $enc, ours" 2000 bash -c "ours jpeg.txt 3 256 $enc"
  # PIL's PNG encoder takes ~20 ms per 256x256 colour image: one run of that case.
  saved=$runs
  [ "$enc" = png ] && runs=1
  measure "JPEG 200-640 px -> 256x256, $enc, python" 2000 bash -c "theirs jpeg.txt 3 256 $enc"
  runs=$saved
done
measure "libjpeg-turbo decode alone, full size" 2000 ./bench_jpeg_decode jpeg.txt
# The raw 256x256 colour case writes 2,000 x 192 KiB = 393 MB and syncs it, as the Python side
# does: the disk's own write rate (same size, fdatasync) bounds that case, so print it.
dd if=/dev/zero of=ddtest bs=1M count=375 conv=fdatasync 2>dd.txt
rm -f ddtest
disk_mb_s=$(awk '/copied/ { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^s,?$/) secs = $i } END { printf "%.0f", 375 * 1048576 / secs / 1e6 }' dd.txt)
disk_bound=$(awk -v mb="$disk_mb_s" 'BEGIN { printf "%.0f", mb * 1e6 / (256 * 256 * 3 + 16) }')
printf '  %-40s %9s MB/s: at most %s raw 256x256x3 records/s\n' "disk write + fdatasync (dd)" "$disk_mb_s" "$disk_bound"

echo
echo "== ratios, ours / Python (goal >= 5x)"
for c in "tiny PNG 28x28 gray, none" "tiny PNG 28x28 gray, png" "JPEG 200-640 px -> 256x256, none" \
         "JPEG 200-640 px -> 256x256, png"; do
  awk -v a="${rate["$c, ours"]}" -v b="${rate["$c, python"]}" -v ca="${cpu["$c, ours"]}" \
    -v cb="${cpu["$c, python"]}" -v n="$c" \
    'BEGIN { printf "  %-34s %6.1fx images/s   %6.1fx less CPU per image\n", n, a / b, cb / ca }'
done
awk -v a="${rate["JPEG 200-640 px -> 256x256, none, ours"]}" -v b="${rate["libjpeg-turbo decode alone, full size"]}" \
  -v ca="${cpu["JPEG 200-640 px -> 256x256, none, ours"]}" -v cb="${cpu["libjpeg-turbo decode alone, full size"]}" \
  'BEGIN { printf "  JPEG raw case / libjpeg-turbo decode alone: %.2f of its rate, %.2fx its CPU per image (goal: within 2x)\n", a / b, ca / cb }'
# Both sides decode with libjpeg-turbo, so its decode-only rate bounds what any tool could reach
# against the Python script on this machine: with fewer cores the script's threads are not held
# back by the GIL, and the bound falls (5.1-5.5x on 2 cores; ~15x on the machine the issue quotes).
awk -v d="${rate["libjpeg-turbo decode alone, full size"]}" -v p="${rate["JPEG 200-640 px -> 256x256, none, python"]}" \
  'BEGIN { printf "  bound here: libjpeg-turbo decode alone / Python raw JPEG case = %.1fx (a tool that did nothing but decode)\n", d / p }'
echo "Notes: a PNG already at the record size and channels is stored as it is (no re-encode);"
echo "JPEGs at least twice the record size decode at a reduced DCT scale. The Python side writes"
echo "the same Datum bytes (hand-serialized) and the same mean; it uses DIGITS's 10 loader threads."
