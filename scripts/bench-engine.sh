#!/usr/bin/env bash
# The training engine against PyTorch on the CPU, in the same run: forward + backward (and the
# clearing of parameter gradients, as every training iteration does) of LeNet (batch 64,
# 1x28x28) and AlexNet (batch 32, 3x227x227), built from configs/networks/ on our side and as the
# same layers in PyTorch. Prints images/s for both and the ratio, the machine's SGEMM rate as
# the ceiling, the FLOP rate each side reaches as a fraction of it, and how fast our convolution
# passes run (from a separate pass that times every backend call).
#   THREADS (default: nproc), REPS (blocks; best is kept, default 3), BUILD_DIR (default build),
#   LENET_BATCH (64), ALEXNET_BATCH (32), LENET_ITERS (40), ALEXNET_ITERS (3)
# Both sides run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, in the benchmark command
# alone (this machine sets them for old OpenBLAS builds and they halve SGEMM speed; tests and CI
# keep them). PyTorch runs with torch.set_num_threads(THREADS) and OPENBLAS_NUM_THREADS=1 (two
# thread pools on the same cores halve its speed). On a machine shared with other work, run it
# more than once: the best of REPS hides only short interruptions.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
threads=${THREADS:-$(nproc)}
reps=${REPS:-3}
lenet_batch=${LENET_BATCH:-64}
alexnet_batch=${ALEXNET_BATCH:-32}
lenet_iters=${LENET_ITERS:-40}
alexnet_iters=${ALEXNET_ITERS:-3}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$threads" --target bench-engine >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
clean_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)

cat >"$work/bench.py" <<'EOF'
# PyTorch side: the same networks, layer for layer (Caffe's pooling rounds up: ceil_mode).
import json, sys, time
import torch, torch.nn as nn, torch.nn.functional as F

name, batch, iters, reps, threads = sys.argv[1], *map(int, sys.argv[2:6])
torch.set_num_threads(threads)
torch.manual_seed(1)

def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.MaxPool2d(2, 2, ceil_mode=True),
        nn.Conv2d(20, 50, 5), nn.MaxPool2d(2, 2, ceil_mode=True),
        nn.Flatten(), nn.Linear(800, 500), nn.ReLU(inplace=True), nn.Linear(500, 10)), (1, 28, 28), 10

def alexnet():
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(inplace=True),
        nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0), nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(inplace=True),
        nn.LocalResponseNorm(5, 1e-4, 0.75, 1.0), nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, ceil_mode=True), nn.Flatten(),
        nn.Linear(9216, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(4096, 1000)), (3, 227, 227), 1000

def best_seconds(f, n, reps):
    best = 1e30
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        best = min(best, (time.perf_counter() - t0) / n)
    return best

a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
torch.mm(a, b)
gemm = best_seconds(lambda: torch.mm(a, b), 1, 5)
print(json.dumps({"kind": "sgemm", "n": 2048, "gflops": round(2 * 2048**3 / gemm / 1e9, 1)}))

model, shape, classes = {"lenet": lenet, "alexnet": alexnet}[name]()
model.train()
x = torch.rand(batch, *shape) * 2 - 1
y = torch.randint(0, classes, (batch,))
def iteration():
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    model.zero_grad()
for _ in range(2):
    iteration()
seconds = best_seconds(iteration, iters, reps)
params = sum(p.numel() for p in model.parameters())
print(json.dumps({"kind": "net", "name": name, "batch": batch, "params": params,
                  "images_per_s": round(batch / seconds, 1), "ms_per_iter": round(seconds * 1e3, 3)}))
EOF

echo "== digits CPU engine ($threads threads) vs PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') ($threads threads); forward + backward, best of $reps blocks"
for net in lenet alexnet; do
  if [ "$net" = lenet ]; then batch=$lenet_batch iters=$lenet_iters; else batch=$alexnet_batch iters=$alexnet_iters; fi
  "${clean_env[@]}" OMP_NUM_THREADS="$threads" \
    "$build/tests/bench-engine" "configs/networks/$net.yaml" "$batch" "$iters" "$reps" >"$work/$net.ours.jsonl"
  "${clean_env[@]}" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS="$threads" \
    /usr/bin/python3 "$work/bench.py" "$net" "$batch" "$iters" "$reps" "$threads" >"$work/$net.torch.jsonl"
done

/usr/bin/python3 - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
def load(path):
    records = [json.loads(line) for line in open(path)]
    sgemm = next(r for r in records if r["kind"] == "sgemm")["gflops"]
    net = next(r for r in records if r["kind"] == "net")
    ops = {r["op"]: r for r in records if r["kind"] == "op"}
    return sgemm, net, ops
rows = []
for name in ("lenet", "alexnet"):
    ours_peak, ours, ops = load(f"{work}/{name}.ours.jsonl")
    torch_peak, theirs, _ = load(f"{work}/{name}.torch.jsonl")
    if ours["params"] != theirs["params"]:
        sys.exit(f"{name}: the two networks differ: {ours['params']} vs {theirs['params']} parameters")
    flops = ours["flops_per_image"]  # conv and inner-product multiply-adds x 2, forward + backward
    print(f"\n{ours['name']}, batch {ours['batch']}, {ours['params']:,} parameters, "
          f"{flops / 1e6:.1f} MFLOP per image (forward + backward)")
    print(f"  SGEMM 2048^3: digits (OpenBLAS) {ours_peak:.0f} GFLOP/s, PyTorch {torch_peak:.0f} GFLOP/s")
    print(f"  {'':8s} {'images/s':>10s} {'ms/iter':>10s} {'GFLOP/s':>9s} {'of SGEMM':>9s}")
    for label, r, peak in (("digits", ours, ours_peak), ("PyTorch", theirs, torch_peak)):
        rate = flops * r["images_per_s"] / 1e9
        print(f"  {label:8s} {r['images_per_s']:10.0f} {r['ms_per_iter']:10.2f} {rate:9.1f} {rate / peak:9.1%}")
    print(f"  digits / PyTorch: {ours['images_per_s'] / theirs['images_per_s']:.2f}x")
    total = sum(op["ms_per_iter"] for op in ops.values())
    print(f"  where digits spends an iteration (timed pass, {total:.1f} ms):")
    for op_name, op in sorted(ops.items(), key=lambda kv: -kv[1]["ms_per_iter"]):
        if op["ms_per_iter"] < 0.005 * total:
            continue
        rate = f"{op['gflops']:6.1f} GFLOP/s = {op['gflops'] / ours_peak:5.1%} of SGEMM" if op["gflops"] else ""
        print(f"    {op_name:22s} {op['ms_per_iter']:9.2f} ms {op['ms_per_iter'] / total:6.1%}  {rate}")
    conv = [ops[k] for k in ("conv_forward", "conv_backward_data", "conv_backward_filter") if k in ops]
    if conv:
        ms = sum(op["ms_per_iter"] for op in conv)
        gflop = sum(op["gflops"] * op["ms_per_iter"] / 1e3 for op in conv)
        print(f"    {'all convolution':22s} {ms:9.2f} ms {ms / total:6.1%}  "
              f"{gflop / ms * 1e3:6.1f} GFLOP/s = {gflop / ms * 1e3 / ours_peak:5.1%} of SGEMM")
EOF
