#!/usr/bin/env bash
# One digits-train per job at a time. While a job trains, a second run on it (an overlapping cron
# start, a --resume, a --force restart) fails at once with exit 1 naming the running pid, and
# the job's files are not touched. A run killed with SIGKILL cannot record its end: `status`
# then says the job is stale, and --resume takes the job over and finishes it.
source "$(dirname "$0")/lib.sh"
make_dataset ds 20 8
write_mlp mlp.yaml 8
# Long enough to be seen running; it is killed long before its end.
printf 'network: mlp.yaml\nepochs: 100000\nsolver: {type: sgd, base_lr: 0.01}\n' >job.yaml

"$DIGITS_BIN"/digits-train job.yaml --dataset ds --device cpu -o job >first.out 2>&1 &
first=$!
for _ in $(seq 1 300); do
  grep -q "state: running" job/status.yaml 2>/dev/null && break
  kill -0 "$first" 2>/dev/null || { cat first.out >&2; fail "the first run ended early"; }
  sleep 0.05
done
grep -q "state: running" job/status.yaml || fail "the first run never started training"
[ -e .job.lock ] || fail "no lock file beside the running job"

busy="job: another digits-train (pid $first) is running this job now"
expect_status 1 "$DIGITS_BIN"/digits-train --resume job
expect_in err "$busy"
expect_status 1 "$DIGITS_BIN"/digits-train job.yaml --dataset ds --device cpu --resume auto -o job
expect_in err "$busy"
expect_status 1 "$DIGITS_BIN"/digits-train job.yaml --dataset ds --device cpu --force -o job
expect_in err "$busy"
expect_status 1 "$DIGITS_BIN"/digits-train --resume job/  # the same job, the same lock
expect_in err "$busy"
[ -e job/job.yaml ] || fail "a refused --force removed the running job"
kill -0 "$first" || fail "the first run died while the others were refused"

# Its status while it runs is not stale.
expect_status 0 "$DIGITS_BIN"/digits-train status --json job
expect_in out '"stale":false'

# Killed without a chance to write its end: status.yaml still says running.
kill -KILL "$first"
wait "$first" 2>/dev/null || true
expect_in job/status.yaml "state: running"
expect_status 0 "$DIGITS_BIN"/digits-train status job
expect_in out "stale: no digits-train runs this job"
expect_status 0 "$DIGITS_BIN"/digits-train status --json job
expect_in out '"stale":true'

# The kernel dropped the dead run's lock: --resume takes the job over and finishes it.
expect_status 0 "$DIGITS_BIN"/digits-train --resume job --stop-after 2
expect_in job/status.yaml "state: aborted"
expect_status 0 "$DIGITS_BIN"/digits-train status --json job
expect_in out '"stale":false'
[ -e .job.lock ] && fail "the lock file was left behind after a normal exit"

# A run killed while it made or replaced a job leaves JOBDIR.tmp-PID / JOBDIR.old-PID: the next
# run that makes the job (holding its lock, so none of them is live) removes them.
mkdir -p fresh.tmp-99999/snapshots fresh.old-99998 freshly.tmp-99997
expect_status 0 "$DIGITS_BIN"/digits-train job.yaml --dataset ds --device cpu --stop-after 1 -o fresh
[ -e fresh.tmp-99999 ] && fail "a dead run's fresh.tmp-99999 was left"
[ -e fresh.old-99998 ] && fail "a dead run's fresh.old-99998 was left"
[ -e freshly.tmp-99997 ] || fail "another job's temporary was removed"
# A job dir given with a trailing slash is the same job: made beside its parent, lock included.
expect_status 0 "$DIGITS_BIN"/digits-train job.yaml --dataset ds --device cpu --stop-after 1 -o slashed/
expect_in slashed/status.yaml "state: aborted"
ls -A slashed | grep -q lock && fail "the lock was taken inside the job dir"
expect_status 0 "$DIGITS_BIN"/digits-train --resume slashed/ --stop-after 1
echo "ok"
