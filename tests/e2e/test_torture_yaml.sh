#!/usr/bin/env bash
# Torture 9: hostile job specs given to digits-train. A billion-laughs file, 10,000-deep nesting,
# a recursive alias, a 100 MB file, duplicate keys, .nan and 1e30 where numbers are expected, tab
# indentation: each exits 2 within a second with FILE:LINE:COL (or the key) in the message and
# bounded memory. A byte-order mark is accepted.
source "$(dirname "$0")/lib.sh"
TRAIN="$DIGITS_BIN"/digits-train
make_dataset ds 10 8
write_mlp mlp.yaml 8

"$PY" - <<'PYEOF'
laughs = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
for i in range(1, 10):
    laughs.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]")
open("laughs.yaml", "w").write("\n".join(laughs) + "\nepochs: 1\n")
open("deep.yaml", "w").write("epochs: " + "[" * 10000 + "]" * 10000 + "\n")
open("deep_maps.yaml", "w").write("".join(" " * i + f"k{i}:\n" for i in range(10000)))
open("recursive.yaml", "w").write("solver: &s\n  type: sgd\n  again: *s\n")
with open("huge.yaml", "w") as f:
    f.write("epochs: 1\n")
    line = "# " + "x" * 1000 + "\n"
    for _ in range(100 * 1024):
        f.write(line)
open("dup.yaml", "w").write("epochs: 1\nbatch_size: 4\nepochs: 2\n")
open("nan_epochs.yaml", "w").write("epochs: .nan\n")
open("big_epochs.yaml", "w").write("epochs: 1e30\n")
open("nan_lr.yaml", "w").write("solver:\n  base_lr: .nan\n")
open("inf_lr.yaml", "w").write("solver:\n  base_lr: .inf\n")
open("big_batch.yaml", "w").write("batch_size: 1e30\n")
open("tabs.yaml", "w").write("solver:\n\ttype: sgd\n")
open("bom.yaml", "wb").write(b"\xef\xbb\xbfepochs: 1\n")
PYEOF

check() {  # FILE EXPECTED-TEXT: exit 2 within a second, the text in the message
  local t0 ms
  t0=$(date +%s%N)
  expect_status 2 /usr/bin/time -f '%M' -o rss.kb "$TRAIN" "$1" --dataset ds --network mlp.yaml --dry-run -o job
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  grep -qF -- "$2" err || { cat err >&2; fail "$1: message lacks '$2'"; }
  [ "$ms" -lt 1000 ] || fail "$1: took $ms ms"
  [ "$(tail -1 rss.kb)" -lt $((baseline_kb + 65536)) ] ||
    fail "$1: peak memory $(tail -1 rss.kb) KB, more than 64 MiB above a valid spec's $baseline_kb KB"
  n=$((n + 1))
}
# The bound is relative to what a valid spec's dry run takes: a CUDA build maps the CUDA
# libraries and starts larger than a CPU build.
/usr/bin/time -f '%M' -o rss.kb "$TRAIN" bom.yaml --dataset ds --network mlp.yaml --dry-run -o job >/dev/null 2>&1 ||
  fail "a valid spec's dry run failed"
baseline_kb=$(tail -1 rss.kb)
n=0
check laughs.yaml "laughs.yaml:1:5: YAML anchors are not accepted"
check deep.yaml "deep.yaml:1:"
check deep_maps.yaml "deep_maps.yaml:"
check recursive.yaml "recursive.yaml:1:9: YAML anchors are not accepted"
check huge.yaml "huge.yaml: 102707210 bytes is more than the limit of 16777216 bytes"
check dup.yaml 'dup.yaml:3:1: duplicate key `epochs` (first given at line 1)'
check nan_epochs.yaml "epochs"
check big_epochs.yaml "epochs"
check nan_lr.yaml "base_lr"
check inf_lr.yaml "base_lr"
check big_batch.yaml "batch_size"
check tabs.yaml "tabs.yaml:2:"
expect_status 0 "$TRAIN" bom.yaml --dataset ds --network mlp.yaml --dry-run -o job
echo "PASS ($n hostile specs refused with exit 2 in under a second; a BOM accepted)"
