#!/usr/bin/env bash
# LeNet training on Fashion-MNIST: digits-train against the same network, batch size, solver and
# thread count in PyTorch, in the same run. Prints images/s, time to first iteration, peak
# memory and the ratios.
#   EPOCHS (default 1), THREADS (default: nproc), BUILD_DIR (default build)
# Both sides run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (this machine sets them for old
# OpenBLAS builds and they halve SGEMM speed); tests and CI keep them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --bench --data
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target digits-dataset digits-train >/dev/null
bin=$build/tools
threads=${THREADS:-$(nproc)}
epochs=${EPOCHS:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
F=/usr/share/datasets/fashion-mnist
clean_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)

"$bin"/digits-dataset create --train "$F/train-images-idx3-ubyte.gz" \
  --train-labels "$F/train-labels-idx1-ubyte.gz" --val-pct 0 --encoding none -o "$work/fmnist" >/dev/null 2>&1

echo "== digits-train: LeNet, batch 64, SGD, $epochs epoch(s), $threads threads"
start=$(date +%s.%N)
"${clean_env[@]}" OMP_NUM_THREADS="$threads" /usr/bin/time -f "%M" -o "$work/ours.mem" \
  "$bin"/digits-train --dataset "$work/fmnist" --network lenet --set epochs="$epochs" \
  --set transforms.mean=none --set validation_interval=0 --set log_interval=50 \
  --set solver.lr_policy=fixed -o "$work/job" 2>"$work/ours.log"
ours=$(/usr/bin/python3 - "$work/job/log.jsonl" "$start" <<'PYEOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l]
# Skip the first window (start-up); report the steady rate and when the first record came.
steady = recs[1:] or recs
ips = sum(r["images_per_s"] for r in steady) / len(steady)
print(f"{ips:.0f}")
PYEOF
)
ours_first=$(grep -m1 -o '"wall":[0-9.e+-]*' "$work/job/log.jsonl" | cut -d: -f2)
ours_mem=$(( $(cat "$work/ours.mem") / 1024 ))

echo "== PyTorch: the same network, batch, solver and threads"
"${clean_env[@]}" OPENBLAS_NUM_THREADS=1 /usr/bin/time -f "%M" -o "$work/torch.mem" \
  /usr/bin/python3 - "$F" "$threads" "$epochs" >"$work/torch.out" <<'PYEOF'
import gzip, struct, sys, time
import numpy as np, torch, torch.nn as nn
t0 = time.time()
folder, threads, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
def idx(path):
    data = gzip.open(path).read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)
x = torch.from_numpy(idx(f"{folder}/train-images-idx3-ubyte.gz").astype(np.float32) * 0.00390625).unsqueeze(1)
y = torch.from_numpy(idx(f"{folder}/train-labels-idx1-ubyte.gz").astype(np.int64))
net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2, 2),
                    nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
loss_fn = nn.CrossEntropyLoss()
first = None
n = x.shape[0]
seen = 0
for epoch in range(epochs):
    perm = torch.randperm(n)
    for i in range(0, n - 63, 64):
        if i == 64 * 20: t_steady = time.time(); seen = 0
        idx_ = perm[i:i + 64]
        opt.zero_grad()
        loss = loss_fn(net(x[idx_]), y[idx_])
        loss.backward()
        opt.step()
        seen += 64
        if first is None: first = time.time() - t0
print(f"{seen / (time.time() - t_steady):.0f} {first:.2f}")
PYEOF
read -r torch torch_first <"$work/torch.out"
torch_mem=$(( $(cat "$work/torch.mem") / 1024 ))

printf '\n%-14s %12s %12s %10s\n' "" "images/s" "first iter s" "peak MiB"
printf '%-14s %12s %12.2f %10s\n' "digits-train" "$ours" "$ours_first" "$ours_mem"
printf '%-14s %12s %12.2f %10s\n' "PyTorch" "$torch" "$torch_first" "$torch_mem"
/usr/bin/python3 -c "print(f'ratio (digits / PyTorch): {$ours / $torch:.2f}x images/s')"
