#!/usr/bin/env bash
# Writes the generated part of the seed corpora, corpus/TARGET/seed-*, with our own tools:
# records and mean files from digits-dataset, weights and solver states from digits-train,
# the lists and manifests they write, images from our encoder (digits-dataset explore) and the
# codec fixtures of tests/data/images. The hand-written edge cases (corpus/TARGET/edge-*), inputs
# fuzzing found that add coverage (found-*: scripts/fuzz.sh runs merged with -merge=1) and
# crash regressions (crash-*) are committed as they are; this script leaves them alone.
#   tests/fuzz/make_seeds.sh [TOOLS_DIR]    TOOLS_DIR: built tools (default build/tools)
# Needs /usr/bin/python3 with PIL (to draw the source images) and mdb_dump (lmdb-utils).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
bin=$(cd "${1:-$src/build/tools}" && pwd)
corpus=$here/corpus
work=$(mktemp -d "${TMPDIR:-/tmp}/digits-seeds.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

for t in yaml net_spec job_spec datum blob_proto safetensors solver_state image text_list idx; do
  mkdir -p "$corpus/$t"
  rm -f "$corpus/$t"/seed-*
done

# Source images: 3 classes, 6 each, gray and colour, PNG and JPEG.
/usr/bin/python3 - <<'PY'
import os
from PIL import Image
for c, name in enumerate(["circle", "square", "tri_angle"]):
    os.makedirs("images/" + name, exist_ok=True)
    for i in range(6):
        im = Image.new("RGB", (12 + i, 10))
        im.putdata([((x * 20 + c * 70) % 256, (y * 25 + i * 9) % 256, (x * y + c) % 256)
                    for y in range(10) for x in range(12 + i)])
        im.save("images/%s/%d.%s" % (name, i, "jpg" if i % 2 else "png"))
PY

# Datasets: PNG-encoded, JPEG-encoded and raw records, colour and gray.
"$bin/digits-dataset" create --train images --width 8 --height 8 --val-pct 34 -o ds_png >/dev/null 2>&1
"$bin/digits-dataset" create --train images --width 6 --height 5 --channels 1 --encoding jpg \
  --val-pct 34 -o ds_jpg >/dev/null 2>&1
"$bin/digits-dataset" create --train images --width 4 --height 4 --encoding none --val-pct 34 \
  -o ds_raw >/dev/null 2>&1

# Records: the first two values of each train_db (mdb_dump prints them as hex).
for ds in ds_png ds_jpg ds_raw; do
  mdb_dump "$ds/train_db" | awk 'p && /^ /{print} /HEADER=END/{p=1}' | sed -n '2p;4p' |
    while read -r hex; do
      n=$((${n:-0} + 1))
      echo "$hex" | xxd -r -p > "$corpus/datum/seed-$ds-$n"
    done
  cp "$ds/mean.binaryproto" "$corpus/blob_proto/seed-$ds-mean.binaryproto"
  cp "$ds/dataset.yaml" "$corpus/yaml/seed-$ds-dataset.yaml"
  cp "$ds/train.txt" "$corpus/text_list/seed-$ds-train.txt"
done
cp ds_png/labels.txt "$corpus/text_list/seed-labels.txt"
for f in ds_png/mean.* ds_jpg/mean.*; do
  case $f in *.png|*.jpg) cp "$f" "$corpus/image/seed-${f%%/*}-${f##*/}" ;; esac
done
"$bin/digits-dataset" explore ds_png -n 4 -o explore.png >/dev/null 2>&1
cp explore.png "$corpus/image/seed-explore.png"
for f in "$src"/tests/data/images/*; do
  case $f in *.raw|*.md|*.py) ;; *) cp "$f" "$corpus/image/seed-fixture-${f##*/}" ;; esac
done

# A tiny training job: weights and solver state (SGD and Adam).
cat > mlp.yaml <<'YAML'
name: Tiny
input:
  data: [3, 8, 8]
  label: []
batch_size: 4
layers:
  - {name: fc, type: InnerProduct, num_output: classes}
  - {name: loss, type: SoftmaxWithLoss, bottom: [fc, label], phase: [train, val]}
  - {name: prob, type: Softmax, bottom: fc, phase: deploy}
YAML
for solver in sgd adam; do
  "$bin/digits-train" --dataset ds_png --network mlp.yaml --set epochs=1 --set solver.type=$solver \
    -o job_$solver >/dev/null 2>&1
  cp job_$solver/snapshots/epoch_1.safetensors "$corpus/safetensors/seed-$solver-weights.safetensors"
  cp job_$solver/snapshots/epoch_1.solverstate.safetensors \
    "$corpus/solver_state/seed-$solver.solverstate.safetensors"
  cp job_$solver/job.yaml "$corpus/job_spec/seed-$solver-job.yaml"
  cp job_$solver/status.yaml "$corpus/yaml/seed-$solver-status.yaml"
done
cp job_sgd/network.yaml "$corpus/net_spec/seed-job-network.yaml"
"$bin/digits-train" --print-defaults > "$corpus/job_spec/seed-defaults.yaml"
for f in "$src"/configs/networks/*.yaml; do
  cp "$f" "$corpus/net_spec/seed-${f##*/}"
  cp "$f" "$corpus/yaml/seed-${f##*/}"
done

# IDX files as write_idx_file lays them out (our writer is a library call; the same bytes here).
printf '\0\0\x08\x03\0\0\0\x02\0\0\0\x03\0\0\0\x02' > idx3
head -c 12 /dev/zero | tr '\0' '\x7f' >> idx3
cp idx3 "$corpus/idx/seed-images-idx3-ubyte"
gzip -9 -n -c idx3 > "$corpus/idx/seed-images-idx3-ubyte.gz"
printf '\0\0\x08\x01\0\0\0\x04\x00\x01\x02\x09' > "$corpus/idx/seed-labels-idx1-ubyte"

du -sh "$corpus"
