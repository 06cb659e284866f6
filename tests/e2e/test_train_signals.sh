#!/usr/bin/env bash
# Signals: SIGTERM -> snapshot, aborted, exit 143, resumable; SIGUSR1 -> preempted, exit 75;
# a diverging run stops with state error and exit 1 and keeps no non-finite snapshot.
source "$(dirname "$0")/lib.sh"
make_dataset ds 60 8
write_mlp mlp.yaml 8

run_and_signal() {  # SIGNAL JOBDIR: start a long run, signal it once it is training
  "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=100000 \
    --set batch_size=4 --set log_interval=1 -o "$2" 2>"$SCRATCH/$2.err" &
  local pid=$!
  for _ in $(seq 1 200); do
    grep -q '"type":"train"' "$2/log.jsonl" 2>/dev/null && break
    sleep 0.1
  done
  kill -"$1" "$pid"
  set +e; wait "$pid"; status=$?; set -e
}

run_and_signal TERM t
[ "$status" = 143 ] || fail "SIGTERM: exit $status, expected 143"
expect_in t/status.yaml "state: aborted"
ls t/snapshots/*.solverstate.safetensors >/dev/null || fail "no snapshot after SIGTERM"
# The job resumes (stop it again right away with --stop-after to keep the test short).
expect_status 0 "$DIGITS_BIN"/digits-train --resume t --stop-after 2

run_and_signal USR1 u
[ "$status" = 75 ] || fail "SIGUSR1: exit $status, expected 75"
expect_in u/status.yaml "state: preempted"

run_and_signal INT i
[ "$status" = 130 ] || fail "SIGINT: exit $status, expected 130"

# Divergence: an absurd learning rate makes the loss non-finite.
expect_status 1 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=50 \
  --set solver.base_lr=1e30 --set solver.lr_policy=fixed -o nan
expect_in nan/status.yaml "state: error"
expect_in err "iteration"
# One step at 1e30 overflows the weights (the loss may stay finite, saturated): the run stops at
# that very iteration, not at its next snapshot.
diverged_at=$(grep -oE "(at|after) iteration [0-9]+" err | head -1 | grep -oE "[0-9]+$" || true)
[ -n "$diverged_at" ] && [ "$diverged_at" -le 1 ] || { cat err >&2; fail "diverged at iteration '$diverged_at', expected 0 or 1"; }
for f in nan/snapshots/*.safetensors; do
  [ -e "$f" ] || continue
  "$PY" - "$f" <<'PYEOF'
import json, math, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
for name, t in header.items():
    if name == "__metadata__": continue
    b, e = t["data_offsets"]
    vals = struct.unpack(f"<{(e - b) // 4}f", data[8 + n + b: 8 + n + e])
    assert all(math.isfinite(v) for v in vals), f"{sys.argv[1]}: {name} not finite"
PYEOF
done
echo "ok"
