#!/bin/bash
# digits-train on a GPU records the GPU's name, memory in use and utilization in the training
# records of log.jsonl; on the CPU the records have no "gpu" object. Where no GPU is usable the
# GPU half is skipped (status 77, CTest's skip) after the CPU half has run.
source "$(dirname "$0")/lib.sh"
# The GPU machine's python3 may live elsewhere than lib.sh's /usr/bin/python3; only the standard
# library is needed here.
py=$(command -v python3 || echo "$PY")

# A small LeNet-shaped dataset from IDX files (random pixels: learning is not the point).
"$py" - <<'EOF'
import random, struct
rng = random.Random(1)
n = 256
with open("images.idx", "wb") as f:
    f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, n, 28, 28))
    f.write(bytes(rng.randrange(256) for _ in range(n * 28 * 28)))
with open("labels.idx", "wb") as f:
    f.write(struct.pack(">BBBBI", 0, 0, 8, 1, n))
    f.write(bytes(rng.randrange(10) for _ in range(n)))
EOF
"$DIGITS_BIN"/digits-dataset create --train images.idx --train-labels labels.idx --val-pct 25 \
  --encoding none -o ds >/dev/null 2>&1 || fail "digits-dataset create failed"
network="$DIGITS_SOURCE/configs/networks/lenet.yaml"
train() {  # train DEVICE JOBDIR
  "$DIGITS_BIN"/digits-train --dataset ds --network "$network" --device "$1" \
    --set epochs=2 --set batch_size=16 --set log_interval=2 -o "$2"
}
# records JOBDIR CHECK: CHECK (Python, over `train`, the training records) holds.
records() {
  "$py" - "$1/log.jsonl" "$2" <<'EOF' || fail "log.jsonl check failed: $2"
import json, sys
train = [r for r in map(json.loads, open(sys.argv[1])) if r["type"] == "train"]
assert train, "no training records"
exec("assert " + sys.argv[2] + ", train[-1]")
EOF
}

expect_status 0 train cpu cpu-job
records cpu-job 'all("gpu" not in r for r in train)'

set +e
train gpu:0 gpu-job >"$SCRATCH/out" 2>"$SCRATCH/err"
status=$?
set -e
if [ "$status" = 4 ]; then
  echo "SKIPPED: no usable GPU: $(tail -n 1 "$SCRATCH/err")"
  exit 77
fi
[ "$status" = 0 ] || { cat "$SCRATCH/err" >&2; fail "training on gpu:0 exited $status"; }
if grep -q "GPU readings are not logged" gpu-job/train.log; then
  grep "GPU readings" gpu-job/train.log >&2
  fail "trained on the GPU without GPU readings"
fi
records gpu-job 'all(r["gpu"]["name"] and r["gpu"]["memory_total_mib"] > 0 for r in train)'
records gpu-job 'all(0 < r["gpu"]["memory_used_mib"] <= r["gpu"]["memory_total_mib"] for r in train)'
records gpu-job 'all(0 <= r["gpu"]["utilization_pct"] <= 100 for r in train)'
echo "ok: $(tail -n 1 gpu-job/log.jsonl)"
