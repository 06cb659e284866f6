#!/usr/bin/env bash
# Torture 10: digits-train killed with SIGKILL at random instants while it snapshots every
# iteration (so most kills land in a snapshot write or between the weights and the solver
# state). After every kill: each file under a final snapshot name is a complete safetensors file
# with finite values, and the job resumes from its newest complete snapshot (weights and solver
# state both present). Kills: 30 with DIGITS_TORTURE_FULL=1, 6 by default.
source "$(dirname "$0")/lib.sh"
TRAIN="$DIGITS_BIN"/digits-train
kills=${DIGITS_TORTURE_FULL:+30}
kills=${kills:-6}
make_dataset ds 20 16
# A wider MLP, so a snapshot is ~256 KB and its write (with fsync) takes a while.
write_mlp mlp.yaml 16
sed -i 's/num_output: 32/num_output: 256/' mlp.yaml
new_job=(--dataset ds --network mlp.yaml --set epochs=100000 --set batch_size=4
         --set snapshot_interval=0.01 --set validation_interval=0 -o job)

# check_snapshots: every final-named file parses completely; prints the newest complete stem.
check_snapshots() {
  "$PY" - job/snapshots <<'PYEOF'
import json, math, os, struct, sys
d = sys.argv[1]
complete = []
for name in sorted(os.listdir(d)):
    if name.startswith("."):
        continue  # a temporary file of a write cut short: never under a final name
    path = os.path.join(d, name)
    data = open(path, "rb").read()
    assert len(data) >= 8, f"{name}: {len(data)} bytes"
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    end = 0
    for key, t in header.items():
        if key == "__metadata__": continue
        b, e = t["data_offsets"]
        end = max(end, e)
        vals = struct.unpack(f"<{(e - b) // 4}f", data[8 + n + b:8 + n + e])
        assert all(math.isfinite(v) for v in vals), f"{name}: {key} not finite"
    assert 8 + n + end == len(data), f"{name}: truncated or padded ({len(data)} bytes, header says {8 + n + end})"
    if name.endswith(".solverstate.safetensors"):
        stem = name[: -len(".solverstate.safetensors")]
        if os.path.exists(os.path.join(d, stem + ".safetensors")):
            complete.append((int(header["__metadata__"]["iteration"]), stem))
print(max(complete)[1] if complete else "")
PYEOF
}

# One full start-up to learn how long a run takes to reach its first snapshots.
t0=$(date +%s%N)
expect_status 0 "$TRAIN" "${new_job[@]}" --stop-after 5
window=$(( ($(date +%s%N) - t0) / 1000000 ))
rm -rf job
during_write=0
for k in $(seq 1 "$kills"); do
  if [ -d job ]; then "$TRAIN" --resume job >/dev/null 2>run.err & else "$TRAIN" "${new_job[@]}" >/dev/null 2>run.err & fi
  pid=$!
  sleep "$(awk -v w="$window" -v r="$RANDOM" 'BEGIN { printf "%.3f", w * (0.3 + 1.5 * r / 32768) / 1000 }')"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [ -d job ] || continue  # killed before the job dir was published: nothing to check
  ls -a job/snapshots | grep -q '\.tmp-' && during_write=$((during_write + 1))
  newest=$(check_snapshots) || fail "kill $k left a broken snapshot"
  # The next run (the loop's next resume) must start from $newest: check it in the log.
  echo "$newest" > expected_newest
done
[ -d job ] || fail "no kill left a job dir"
expect_status 0 "$TRAIN" --resume job --stop-after 1
newest=$(cat expected_newest)
if [ -n "$newest" ]; then
  grep "resuming from" job/train.log | tail -1 | grep -qF "resuming from job/snapshots/$newest.safetensors" ||
    fail "the resume did not start from the newest complete snapshot $newest: $(grep 'resuming from' job/train.log | tail -1)"
fi
ls -a job/snapshots | grep -q '\.tmp-' && fail "a resumed job kept the temporary files of killed writes"
check_snapshots >/dev/null || fail "the resumed run wrote a broken snapshot"
echo "PASS ($kills kills, $during_write with a snapshot write in progress)"
