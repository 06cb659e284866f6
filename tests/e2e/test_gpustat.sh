#!/bin/bash
# digits-gpustat from outside: flags, exit statuses, the no-GPU answer, and (against the
# stand-in NVML library tests/e2e/fake_nvml.c) the readings, --pid, --json and --watch.
source "$(dirname "$0")/lib.sh"
gpustat="$DIGITS_BIN/digits-gpustat"
fake_dir=${FAKE_NVML_DIR:-$DIGITS_BIN/../tests/fake-nvml}
[ -e "$fake_dir/libnvidia-ml.so.1" ] || fail "no stand-in NVML library at $fake_dir"
json_check() { "$PY" -c "import json, sys; d = json.load(open(sys.argv[1])); $2" "$SCRATCH/out" ||
  { cat "$SCRATCH/out" >&2; fail "JSON check failed: $2"; }; }

# Usage errors exit 2.
expect_status 2 "$gpustat" --bogus
expect_status 2 "$gpustat" --watch 0
expect_status 2 "$gpustat" --watch -1
expect_status 2 "$gpustat" --watch soon
expect_status 2 "$gpustat" --pid 0
expect_status 2 "$gpustat" --pid abc
expect_status 0 "$gpustat" --version
expect_in "$SCRATCH/out" "digits-gpustat"

# The machine's own answer: on one without the NVIDIA driver (this test's usual home), status 4
# with the reason, and a JSON answer that says found: false.
set +e
"$gpustat" >/dev/null 2>&1
real=$?
set -e
if [ "$real" = 4 ]; then
  expect_status 4 "$gpustat"
  expect_in "$SCRATCH/err" "no NVIDIA GPU found"
  [ ! -s "$SCRATCH/out" ] || fail "text answer without a GPU should print nothing on stdout"
  expect_status 4 "$gpustat" --json
  expect_in "$SCRATCH/err" "no NVIDIA GPU found"
  json_check "" 'assert d["found"] is False and d["gpus"] == [] and d["reason"] and d["time"], d'
  expect_status 4 "$gpustat" --watch 1   # no loop without a GPU
  expect_status 4 "$gpustat" --pid 1
else
  [ "$real" = 0 ] || fail "digits-gpustat exited $real on this machine"
  expect_status 0 "$gpustat" --json
  json_check "" 'assert d["found"] is True and d["gpus"] and all("name" in g for g in d["gpus"]), d'
fi

# The stand-in library: a driver that is not loaded is "no GPU" (4); a broken GPU is an error (1).
export LD_LIBRARY_PATH="$fake_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
FAKE_NVML_INIT=9 expect_status 4 "$gpustat"
expect_in "$SCRATCH/err" "Driver Not Loaded"
FAKE_NVML_GPUS=0 expect_status 4 "$gpustat" --json
expect_in "$SCRATCH/err" "sees no GPU"
json_check "" 'assert d["found"] is False and "sees no GPU" in d["reason"], d'
FAKE_NVML_INIT=4 expect_status 1 "$gpustat"
expect_in "$SCRATCH/err" "nvmlInit"
FAKE_NVML_LOST=1 expect_status 1 "$gpustat"
expect_in "$SCRATCH/err" "nvmlDeviceGetMemoryInfo (GPU 0): GPU is lost"

# One line per GPU; the process using GPU 0 is digits-gpustat itself (listed once although NVML
# names it twice), with its command line from /proc; a pid /proc does not show gets "?".
expect_status 0 "$gpustat"
[ "$(wc -l <"$SCRATCH/out")" = 2 ] || { cat "$SCRATCH/out"; fail "expected 2 lines"; }
line0=$(sed -n 1p "$SCRATCH/out")
line1=$(sed -n 2p "$SCRATCH/out")
case "$line0" in
  "0  Fake H100  util  50%  memory 1024/81559 MiB  temp 40 C  power 100/700 W  processes: "*"digits-gpustat (512 MiB), 4194304 ? (memory n/a)") ;;
  *) fail "GPU 0 line: $line0" ;;
esac
[ "$line1" = "1  Fake K80   util  n/a  memory 0/11441 MiB  temp 30 C  power n/a  processes: none" ] ||
  fail "GPU 1 line: $line1"

expect_status 0 "$gpustat" --json
json_check "" '
g = d["gpus"]
assert d["found"] is True and d["driver_version"] == "999.1.2" and len(g) == 2, d
assert g[0]["name"] == "Fake H100" and g[0]["utilization_pct"] == 50 and g[0]["memory_used_mib"] == 1024
assert g[0]["memory_total_mib"] == 81559 and g[0]["temperature_c"] == 40
assert g[0]["power_w"] == 100 and g[0]["power_limit_w"] == 700
p = g[0]["processes"]
assert len(p) == 2 and p[0]["command"].endswith("digits-gpustat --json") and p[0]["memory_mib"] == 512, p
assert p[1] == {"pid": 4194304, "command": None, "memory_mib": None}, p
assert g[1]["utilization_pct"] is None and g[1]["power_w"] is None and g[1]["processes"] == []'

# --pid: one process's use. A sleeping child stands in for another process on GPU 0.
sleep 30 &
child=$!
FAKE_NVML_PID=$child expect_status 0 "$gpustat" --pid "$child"
[ "$(cat "$SCRATCH/out")" = "0  Fake H100  util  50%  memory 1024/81559 MiB  temp 40 C  power 100/700 W  processes: $child sleep 30 (256 MiB)" ] ||
  { cat "$SCRATCH/out"; fail "--pid $child"; }
FAKE_NVML_PID=$child expect_status 0 "$gpustat" --pid "$child" --json
json_check "" "assert d['pid'] == $child and len(d['gpus']) == 1 and d['gpus'][0]['processes'] == [{'pid': $child, 'command': 'sleep 30', 'memory_mib': 256}], d"
kill "$child"
expect_status 0 "$gpustat" --pid 4194303
[ "$(cat "$SCRATCH/out")" = "process 4194303 uses no NVIDIA GPU" ] || { cat "$SCRATCH/out"; fail "--pid of an idle process"; }

# --watch: reprints until SIGINT, then exits 0.
watch_until_sigint() {
  "$gpustat" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err" &
  local pid=$! status
  sleep 1
  kill -INT "$pid"
  set +e
  wait "$pid"
  status=$?
  set -e
  [ "$status" = 0 ] || { cat "$SCRATCH/err"; fail "--watch $*: exit $status after SIGINT"; }
}
watch_until_sigint --watch 0.2
blocks=$(grep -c '^[0-9-]*T[0-9:]*Z$' "$SCRATCH/out")
[ "$blocks" -ge 3 ] || { cat "$SCRATCH/out"; fail "--watch 0.2 printed $blocks refreshes in 1 s"; }
[ "$(grep -c '^0  Fake H100' "$SCRATCH/out")" = "$blocks" ] || fail "--watch: a refresh without GPU 0"
watch_until_sigint --watch 0.2 --json
"$PY" - "$SCRATCH/out" <<'EOF' || fail "--watch --json: not one JSON object per line"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) >= 3, lines
for line in lines:
    assert len(json.loads(line)["gpus"]) == 2
EOF
echo "ok: digits-gpustat"
