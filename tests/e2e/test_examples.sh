#!/usr/bin/env bash
# The shipped examples do what they say, on small data: every job spec in configs/jobs is a
# valid spec for a dataset of its network's shape; examples/fashion-mnist/Makefile builds,
# trains and evaluates (on small IDX files standing in for Fashion-MNIST); the Slurm script
# passes its time-limit signal on and requeues, then finishes the job when run again; the cron
# script makes a dataset and a job, does nothing when nothing changed, and retrains when the
# folder grows.
source "$(dirname "$0")/lib.sh"
export PATH="$DIGITS_BIN:$PATH"
src=$DIGITS_SOURCE

# ---- configs/jobs: each spec passes --dry-run on a dataset of its network's input shape.
make_dataset gray28 4 28
"$PY" - <<'PYEOF'
import os, random
from PIL import Image
rng = random.Random(3)
for c in ("a", "b", "c"):
    os.makedirs(f"photos/{c}", exist_ok=True)
    for i in range(4):
        Image.frombytes("RGB", (64, 48), bytes(rng.randrange(256) for _ in range(64 * 48 * 3))).save(f"photos/{c}/{i}.jpg")
PYEOF
digits-dataset create --train photos --width 256 --height 256 --val-pct 25 -o colour256 >/dev/null 2>&1 ||
  fail "the 256x256 colour dataset"
specs=0
mkdir -p jobs
for spec in "$src"/configs/jobs/*.yaml; do
  name=$(basename "$spec")
  ds=colour256
  grep -q "^network: lenet" "$spec" && ds=gray28
  expect_status 0 digits-train "$spec" --dataset "$ds" --set batch_size=2 --set 'pretrained=""' --dry-run -o "jobs/$name"
  expect_in out "# learnable parameters"
  specs=$((specs + 1))
done
[ "$specs" -ge 3 ] || fail "expected at least 3 job specs in configs/jobs, found $specs"

# ---- examples/fashion-mnist/Makefile: dataset, training and evaluation, from IDX files.
"$PY" - <<'PYEOF'
import gzip, os, random, struct
rng = random.Random(5)
os.makedirs("idx", exist_ok=True)
def write(name, count):
    labels = [i % 10 for i in range(count)]
    pixels = bytearray()
    for label in labels:  # class k: a bright band at rows 2k .. 2k+7, plus noise
        for y in range(28):
            for x in range(28):
                pixels.append(min(255, (180 if 2 * label <= y < 2 * label + 8 else 20) + rng.randrange(40)))
    with gzip.open(f"idx/{name}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 2051, count, 28, 28) + bytes(pixels))
    with gzip.open(f"idx/{name}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 2049, count) + bytes(labels))
write("train", 400)
write("t10k", 100)
PYEOF
expect_status 0 make -C "$src/examples/fashion-mnist" evaluate DIGITS_BIN="$DIGITS_BIN" DATA="$SCRATCH/idx" \
  OUT="$SCRATCH/fm" TRAIN_FLAGS="--device cpu --set epochs=2 --set batch_size=32"
expect_in fm/lenet/status.yaml "state: done"
expect_in fm/test-eval.json '"accuracy"'
# Nothing to do the second time.
expect_status 0 make -C "$src/examples/fashion-mnist" evaluate DIGITS_BIN="$DIGITS_BIN" DATA="$SCRATCH/idx" \
  OUT="$SCRATCH/fm"
expect_in out "Nothing to be done"

# ---- examples/slurm/train.sbatch: run as Slurm would, with a stand-in scontrol.
mkdir -p bin
printf '#!/bin/sh\necho "$@" >>"%s/scontrol.log"\n' "$SCRATCH" >bin/scontrol
chmod +x bin/scontrol
write_mlp mlp.yaml 8
make_dataset small 20 8
printf 'network: mlp.yaml\ndataset: small\nepochs: 50000\ndevice: cpu\nsolver: {type: sgd, base_lr: 0.01}\n' >long.yaml
PATH="$SCRATCH/bin:$PATH" SLURM_JOB_ID=4242 SPEC=long.yaml JOB=jobs/slurm \
  bash "$src/examples/slurm/train.sbatch" >slurm1.out 2>&1 &
batch=$!
for _ in $(seq 1 300); do
  grep -q "state: running" jobs/slurm/status.yaml 2>/dev/null && break
  sleep 0.05
done
grep -q "state: running" jobs/slurm/status.yaml || { cat slurm1.out >&2; fail "the Slurm run never started training"; }
kill -USR1 "$batch"  # what --signal=B:USR1@300 does before the time limit
set +e
wait "$batch"
rc=$?
set -e
[ "$rc" = 75 ] || { cat slurm1.out >&2; fail "the Slurm script exited $rc after USR1, expected 75"; }
expect_in scontrol.log "requeue 4242"
expect_in jobs/slurm/status.yaml "state: preempted"
# The requeued run: the same command continues the job (shortened here) and does not requeue.
now=$(awk '/^epoch:/ { print int($2) + 2 }' jobs/slurm/status.yaml)
sed -i "s/^epochs: 50000/epochs: $now/" jobs/slurm/job.yaml
PATH="$SCRATCH/bin:$PATH" SLURM_JOB_ID=4242 SPEC=long.yaml JOB=jobs/slurm \
  expect_status 0 bash "$src/examples/slurm/train.sbatch"
expect_in jobs/slurm/status.yaml "state: done"
[ "$(wc -l <scontrol.log)" = 1 ] || fail "a finished run requeued the job"

# ---- examples/cron/retrain.sh: dataset + job, a no-op rerun, a retrain when images arrive.
make_pattern_images images 10 8
printf 'network: mlp.yaml\nepochs: 2\ndevice: cpu\ntransforms: {mean: none}\nsolver: {type: sgd, base_lr: 0.05}\n' >cron.yaml
cron=(env IMAGES="$SCRATCH/images" WORK="$SCRATCH/work" SPEC=cron.yaml
      CREATE_FLAGS="--width 8 --height 8 --channels 1 --val-pct 20" bash "$src/examples/cron/retrain.sh")
expect_status 0 "${cron[@]}"
first=$(readlink work/latest)
[ -n "$first" ] && [ -e "work/$first/status.yaml" ] || fail "no work/latest after the first run"
expect_in "work/$first/status.yaml" "state: done"
expect_in "work/$first/val.json" '"accuracy"'
stamp=$(stat -c %Y "work/$first/val.json")
expect_status 0 "${cron[@]}"
expect_in err "already done"
[ "$(readlink work/latest)" = "$first" ] || fail "latest moved with nothing new"
[ "$(stat -c %Y "work/$first/val.json")" = "$stamp" ] || fail "an unchanged job was evaluated again"
cp images/top/000.png images/top/new.png
expect_status 0 "${cron[@]}"
second=$(readlink work/latest)
[ "$second" != "$first" ] || fail "latest did not move to the new images' job"
expect_in "work/$second/status.yaml" "state: done"
echo "ok ($specs job specs)"
