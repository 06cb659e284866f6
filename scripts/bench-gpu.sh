#!/usr/bin/env bash
# Training speed on one GPU: our engine against PyTorch with cuDNN on the same GPU, in the same
# run. LeNet (batch 64, 1x28x28), AlexNet (batch 128, 3x227x227) and GoogLeNet (batch 64,
# 3x224x224, with its two auxiliary classifiers), built from configs/networks/ on both sides
# (scripts/bench_gpu_torch.py translates our spec layer for layer; the parameter counts must
# match). One iteration: forward, loss, backward, SGD step with momentum, on inputs already on
# the GPU (tests/bench/bench_train_step.cpp on our side). Prints images/s, the ratio, and the
# TFLOP/s each side reaches against the GPU's measured peaks (FP32 and TF32 matrix multiply in
# the same run), with FLOPs per image counted by our engine (tests/bench/bench_engine.cpp on the
# CPU, batch 1: convolution and inner-product multiply-adds x 2, forward and backward).
# PyTorch runs twice: with its defaults (cuDNN may use TF32 tensor cores for convolutions) and
# with TF32 off (plain FP32, what our engine computes).
#
# Runs where there is a GPU: on a lent GPU machine through scripts/gpu-check.sh, or on any machine
# with a CUDA build. Without a GPU it stops at once, saying so, with status 4.
#   BIN_DIR    folders (space-separated) holding digits-gpustat, digits-train, bench-train-step and
#              bench-engine (default: gpu-pack/bin if present, else build-gpu/tools and
#              build-gpu/tests)
#   NET_DIR    network specs as JSON (gpu-pack/networks) or YAML (default configs/networks;
#              YAML needs PyYAML on the python side)
#   OUT        folder for the raw results and per-layer timings (default: a temporary folder)
#   PYTHON (python3), DEVICE (gpu:0), ITERS (20), REPS (3), MODES ("default fp32")
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
device=${DEVICE:-gpu:0}
iters=${ITERS:-20}
reps=${REPS:-3}
modes=${MODES:-default fp32}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"

find_bin() {  # the first of BIN_DIR, gpu-pack/bin, build-gpu/{tools,tests} holding $1
  local dir
  for dir in ${BIN_DIR:-} gpu-pack/bin build-gpu/tools build-gpu/tests; do
    [ -x "$dir/$1" ] && { echo "$dir/$1"; return; }
  done
  echo "bench-gpu: $1 not found (set BIN_DIR, or build with scripts/gpu-check.sh)" >&2
  exit 2
}
gpustat=$(find_bin digits-gpustat)
train_step=$(find_bin bench-train-step)
engine=$(find_bin bench-engine)
digits_train=$(find_bin digits-train)
if [ -n "${NET_DIR:-}" ]; then net_dir=$NET_DIR
elif [ -d gpu-pack/networks ]; then net_dir=gpu-pack/networks
else net_dir=configs/networks; fi
spec_of() { if [ -f "$net_dir/$1.json" ]; then echo "$net_dir/$1.json"; else echo "$net_dir/$1.yaml"; fi; }

# No GPU, no benchmark: say why and stop (status 4, "a required resource is missing").
if ! "$gpustat" >"$out/gpustat.txt" 2>&1; then
  echo "bench-gpu: no usable NVIDIA GPU here: $(tail -n 1 "$out/gpustat.txt")" >&2
  exit 4
fi
if ! "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else
    f"torch {torch.__version__} sees no CUDA GPU")' 2>"$out/torch-check.txt"; then
  echo "bench-gpu: $python: $(tail -n 1 "$out/torch-check.txt")" >&2
  exit 4
fi
cat "$out/gpustat.txt"

"$python" scripts/bench_gpu_torch.py peak >"$out/peak.jsonl"
for spec in "lenet 64" "alexnet 128" "googlenet 64"; do
  read -r net batch <<<"$spec"
  file=$(spec_of "$net")
  echo "== $net, batch $batch" >&2
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$engine" "configs/networks/$net.yaml" 1 1 1 \
    >"$out/$net.flops.jsonl"
  "$train_step" "configs/networks/$net.yaml" "$batch" "$iters" "$reps" "$device" >"$out/$net.ours.jsonl"
  for mode in $modes; do
    "$python" scripts/bench_gpu_torch.py net "$file" "$batch" "$iters" "$reps" "$mode" >"$out/$net.torch-$mode.jsonl"
  done
  # Where our time goes, layer by layer (each layer synchronized: slower than the figure above).
  "$digits_train" benchmark --network "configs/networks/$net.yaml" --batch-size "$batch" \
    --device "$device" --iterations 5 >"$out/$net.layers.txt" 2>&1 || true
done

"$python" scripts/bench_gpu_torch.py report "$out" "$modes"
echo "raw results and per-layer timings in $out"
