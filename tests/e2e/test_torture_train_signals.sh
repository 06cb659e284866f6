#!/usr/bin/env bash
# Torture 12: SIGINT, SIGTERM and SIGUSR1 at random moments of a digits-train run, from start-up
# (reading the dataset, building the network) to the middle of training: always the documented
# exit status (130, 143, 75) and a job that resumes. A second SIGINT/SIGTERM exits at once.
# Signals: 30 with DIGITS_TORTURE_FULL=1, 6 by default.
source "$(dirname "$0")/lib.sh"
TRAIN="$DIGITS_BIN"/digits-train
count=${DIGITS_TORTURE_FULL:+30}
count=${count:-6}
make_dataset ds 60 8
write_mlp mlp.yaml 8
args=(--dataset ds --network mlp.yaml --set epochs=100000 --set batch_size=4 --set snapshot_interval=1)

# How long start-up takes: the time to the first logged iteration.
t0=$(date +%s%N)
expect_status 0 "$TRAIN" "${args[@]}" --stop-after 1 -o timing
startup=$(( ($(date +%s%N) - t0) / 1000000 ))
signals=(INT TERM USR1)
declare -A want=([INT]=130 [TERM]=143 [USR1]=75)
early=0
for k in $(seq 1 "$count"); do
  sig=${signals[$((k % 3))]}
  # From 20 ms (the tool is past exec and dynamic loading) to twice the start-up time.
  delay=$(awk -v s="$startup" -v r="$RANDOM" 'BEGIN { printf "%.3f", (20 + 2 * s * r / 32768) / 1000 }')
  # A non-interactive shell starts background jobs with SIGINT ignored; a SIGINT that arrives
  # before digits-train installs its handlers would then be lost (and the run go on for ever),
  # so the job starts with every signal at its default, as from a terminal or Slurm.
  env --default-signal "$TRAIN" "${args[@]}" -o "job$k" 2>"err$k" &
  pid=$!
  sleep "$delay"
  kill -"$sig" "$pid"
  # A watchdog turns a run that ignores the signal into a failure instead of a hang.
  # (Its output goes to /dev/null: CTest waits for whatever holds the test's output open.)
  ( sleep 120; kill -KILL "$pid" ) >/dev/null 2>&1 &
  watchdog=$!
  set +e; wait "$pid"; status=$?; set -e
  pkill -P "$watchdog" 2>/dev/null; kill "$watchdog" 2>/dev/null || true
  [ "$status" = 137 ] && fail "SIG$sig after ${delay}s: still running 120 s later"
  if [ ! -e "job$k" ] && [ "$status" = $((128 + $(kill -l "$sig"))) ]; then
    # Before main() ran (exec, dynamic loading): the signal's default action, nothing written.
    ls -d "job$k".* >/dev/null 2>&1 && fail "SIG$sig before start-up left files"
    early=$((early + 1))
    continue
  fi
  [ "$status" = "${want[$sig]}" ] || { cat "err$k" >&2; fail "SIG$sig after ${delay}s: exit $status, expected ${want[$sig]}"; }
  expect_status 0 "$TRAIN" --resume "job$k" --stop-after 1
  rm -rf "job$k"
done

# A second signal: exit at once with 128 + signal, whatever the run was doing.
env --default-signal "$TRAIN" "${args[@]}" --set log_interval=1 -o twice 2>twice.err &
pid=$!
for _ in $(seq 1 300); do grep -q '"type":"train"' twice/log.jsonl 2>/dev/null && break; sleep 0.01; done
kill -TERM "$pid"; kill -TERM "$pid"
t0=$(date +%s%N)
set +e; wait "$pid"; status=$?; set -e
[ "$status" = 143 ] || fail "two SIGTERMs: exit $status, expected 143"
[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000 ] || fail "two SIGTERMs: did not exit at once"
expect_status 0 "$TRAIN" --resume twice --stop-after 1
echo "PASS ($count signals between start-up and training ($early before main), plus a double SIGTERM)"
