#!/usr/bin/env bash
# The end-to-end demo: installs deps, builds, makes the Fashion-MNIST dataset from the Debian
# package, trains LeNet on the CPU, evaluates it on the test split and classifies a few test
# images. A few minutes on 2 cores.
#   DEMO_DIR (default: demo-out), EPOCHS (default: 4), BUILD_DIR (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --data
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDIGITS_CUDA="${DIGITS_CUDA:-AUTO}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target digits-dataset digits-train digits-infer
bin=$build/tools
out=${DEMO_DIR:-demo-out}
F=/usr/share/datasets/fashion-mnist
mkdir -p "$out"

echo "== 1. dataset: Fashion-MNIST IDX files -> LMDB (60,000 train, 10,000 test, 10% held out for validation)"
"$bin"/digits-dataset create --force \
  --train "$F/train-images-idx3-ubyte.gz" --train-labels "$F/train-labels-idx1-ubyte.gz" \
  --test "$F/t10k-images-idx3-ubyte.gz" --test-labels "$F/t10k-labels-idx1-ubyte.gz" \
  --labels examples/fashion-mnist/labels.txt --val-pct 10 --encoding none -o "$out/fmnist"
"$bin"/digits-dataset info "$out/fmnist"

echo "== 2. train LeNet on the CPU"
"$bin"/digits-train configs/jobs/lenet-fashion-mnist.yaml --force --dataset "$out/fmnist" \
  --set epochs="${EPOCHS:-4}" -o "$out/lenet"
"$bin"/digits-train status "$out/lenet"

echo "== 3. evaluate on the test split"
"$bin"/digits-infer evaluate --job "$out/lenet" --dataset "$out/fmnist" --split test

echo "== 4. classify a few test images (one record of classes 0, 1 and 2, as PNG files)"
for c in 0 1 2; do
  "$bin"/digits-dataset explore "$out/fmnist" --split test --class "$c" -n 1 -o "$out/test-class-$c.png" >/dev/null
done
"$bin"/digits-infer classify --job "$out/lenet" --top 3 "$out"/test-class-*.png
