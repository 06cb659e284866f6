#!/bin/bash
# A digits-dataset run killed with SIGKILL at any moment leaves nothing at the output path that
# looks complete: either no directory, or a finished dataset that verifies. Temporary
# directories left by the kill hold no dataset.yaml and are refused by the readers. A re-run
# succeeds. The same holds while --force replaces an existing dataset: the output is always a
# complete dataset, old or new. SIGINT stops a run cleanly (exit 130, nothing left behind).
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

make_class_folder src a 250 48 48
make_class_folder src b 250 48 48 RGB jpg
ARGS=(create --train src --width 96 --height 96 --threads 1 --seed 3)

# check_output DIR: absent, or complete and valid; and what the kill left beside it (the
# temporary directories) holds no manifest and is refused. With --force, a temporary directory
# may also be the old dataset being deleted after the swap: marked incomplete first.
check_output() {
  if [ -e "$1" ]; then
    [ -f "$1/dataset.yaml" ] || fail "$1 exists without dataset.yaml after a kill"
    [ -e "$1/.digits-incomplete" ] && fail "$1 holds the incomplete marker"
    "$DS" verify "$1" >/dev/null 2>&1 || fail "$1 does not verify after a kill"
  fi
  for partial in .$(basename "$1").partial-*; do
    [ -e "$partial" ] || continue
    [ -f "$partial/dataset.yaml" ] && fail "$partial looks complete"
    # Rejected either way: 2 before labels.txt exists ("not a dataset"), 3 after (incomplete).
    set +e; "$DS" info "$partial" >"$WORK/partial.out" 2>&1; st=$?; set -e
    case $st in
      2) grep -q "not a dataset directory" "$WORK/partial.out" || fail "info $partial: $(cat "$WORK/partial.out")" ;;
      3) grep -q "incomplete dataset" "$WORK/partial.out" || fail "info $partial: $(cat "$WORK/partial.out")" ;;
      *) fail "info $partial exited $st, expected 2 or 3" ;;
    esac
  done
}

# Time one full run, then kill runs at fractions of that time, so the kills land before,
# during and after publishing whatever the machine's speed.
t0=$(date +%s.%N)
expect_status 0 "$DS" "${ARGS[@]}" -o timing
t1=$(date +%s.%N)
rm -rf timing
delays() { awk -v a="$t0" -v b="$t1" 'BEGIN { t = b - a; n = split(ARGV[1], f, ","); for (i = 1; i <= n; i++) printf "%s%.3f", (i > 1 ? " " : ""), t * f[i] }' "$1"; }

# DIGITS_TORTURE_FULL=1: 30 kills at random fractions of the run (torture test 1); by default
# these 7 fixed ones.
fractions=0.02,0.1,0.3,0.5,0.7,0.9,1.1
if [ -n "${DIGITS_TORTURE_FULL:-}" ]; then
  fractions=$(awk -v seed="$RANDOM" 'BEGIN { srand(seed); for (i = 0; i < 30; i++) printf "%s%.3f", (i ? "," : ""), 0.02 + 1.1 * rand() }')
fi
killed_mid_run=0
kills=0
for delay in $(delays "$fractions"); do
  kills=$((kills + 1))
  "$DS" "${ARGS[@]}" -o out >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  check_output out
  if ls -d .out.partial-* >/dev/null 2>&1; then killed_mid_run=$((killed_mid_run + 1)); fi
  rm -rf .out.partial-* out
done
[ "$killed_mid_run" -gt 0 ] || fail "no kill landed during a run"

# A re-run completes, and removes what a killed run left (here: one killed half way).
"$DS" "${ARGS[@]}" -o out >/dev/null 2>&1 &
pid=$!
sleep "$(delays 0.5)"
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
leftover=$(ls -d .out.partial-* 2>/dev/null | head -1)
expect_status 0 "$DS" "${ARGS[@]}" -o out
check_output out
if [ -n "$leftover" ]; then
  [ -e "$leftover" ] && fail "the re-run left the killed run's $leftover"
else
  echo "note: the kill half way left no temporary directory to clean"
fi
ls -d .out.partial-* >/dev/null 2>&1 && fail "a temporary directory is left after the re-run"

# Kill while --force replaces the complete dataset: `out` stays complete throughout.
for delay in $(delays 0.2,0.6,0.95,1.05); do
  "$DS" "${ARGS[@]}" -o out --force --seed 4 >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [ -f out/dataset.yaml ] || fail "--force replacement killed at ${delay}s left no complete dataset"
  check_output out
  rm -rf .out.partial-*
done

# SIGINT: a clean stop with exit 130 and no temporary directory.
"$DS" "${ARGS[@]}" -o stopped >"$WORK/sigint.out" 2>&1 &
pid=$!
sleep "$(delays 0.5)"
kill -INT "$pid"
set +e
wait "$pid"
status=$?
set -e
if [ "$status" = 0 ]; then
  echo "note: the run finished before SIGINT arrived; SIGINT not checked"
else
  [ "$status" = 130 ] || { cat sigint.out; fail "SIGINT: expected exit 130, got $status"; }
  grep -q "interrupted (SIGINT)" sigint.out || fail "SIGINT message"
  [ -e stopped ] && fail "SIGINT left an output"
  ls -a | grep -q '\.stopped\.partial' && fail "SIGINT left a temporary directory"
fi
echo "PASS ($kills kills, $killed_mid_run during a run; 4 more during --force)"
