#!/usr/bin/env bash
# digits-train end to end: a job dir with every promised file, learning, status, dry run,
# defaults, and the usage errors.
source "$(dirname "$0")/lib.sh"
make_dataset ds
write_mlp mlp.yaml 8

expect_status 0 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set epochs=6 \
  --set solver.base_lr=0.1 --set transforms.mean=none -o job
for f in job.yaml network.yaml preprocess.yaml labels.txt status.yaml log.jsonl train.log \
         snapshots/epoch_6.safetensors snapshots/epoch_6.solverstate.safetensors; do
  [ -f "job/$f" ] || fail "job/$f missing"
done
expect_in job/status.yaml "state: done"
grep -q '"type":"train"' job/log.jsonl || fail "no train records in log.jsonl"
grep -q '"type":"val"' job/log.jsonl || fail "no val records in log.jsonl"
# The patterns are separable: the last validation must be accurate.
acc=$(grep '"type":"val"' job/log.jsonl | tail -1 | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.read())["accuracy"])')
"$PY" -c "import sys; sys.exit(0 if $acc >= 0.9 else 1)" || fail "final val accuracy $acc < 0.9"
# The weights are plain safetensors named layer.param.
"$PY" - job/snapshots/epoch_6.safetensors <<'PYEOF'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
assert header["ip1.weight"]["shape"] == [32, 64], header["ip1.weight"]
assert header["ip2.bias"]["shape"] == [3], header["ip2.bias"]
assert header["__metadata__"]["format"] == "digits.weights"
PYEOF

expect_status 0 "$DIGITS_BIN"/digits-train status job
expect_in out "state:      done"
expect_status 0 "$DIGITS_BIN"/digits-train status job --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["state"]=="done" and d["best_val_accuracy"]>=0.9' out

# An existing job dir is not overwritten without --force.
expect_status 2 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml -o job
expect_in err "already exists"
# --resume of a finished job does nothing.
expect_status 0 "$DIGITS_BIN"/digits-train --resume job
expect_in err "already done"

# Dry run: prints the resolved spec and the parameter count (64*32+32 + 32*3+3 = 2179), no job.
expect_status 0 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --dry-run -o dry
expect_in out "learnable parameters: 2179"
grep -qx "  momentum: 0.9" out || fail "job spec numbers not in their shortest form"
[ ! -e dry ] || fail "--dry-run created the job dir"

# --print-defaults is itself a valid spec.
expect_status 0 "$DIGITS_BIN"/digits-train --print-defaults
cp out defaults.yaml
expect_status 0 "$DIGITS_BIN"/digits-train defaults.yaml --dataset ds --network mlp.yaml --set epochs=1 --dry-run -o x

# Spec errors: exit 2 with the position and a hint.
printf 'dataset: ds\nepoch: 3\n' > bad.yaml
expect_status 2 "$DIGITS_BIN"/digits-train bad.yaml --network mlp.yaml -o bad
expect_in err "bad.yaml:2:1: unknown key \`epoch\`; did you mean \`epochs\`?"
expect_status 2 "$DIGITS_BIN"/digits-train --dataset ds --network mlp.yaml --set solver.type=sgf -o bad
expect_in err "sgf"
expect_status 2 "$DIGITS_BIN"/digits-train --dataset nowhere --network mlp.yaml -o bad
expect_status 2 "$DIGITS_BIN"/digits-train --dataset ds --network lenet -o bad
expect_in err "expects data of shape [1,28,28]"
[ ! -e bad ] || fail "a failed start left a job dir"
# benchmark: a time per layer, as JSON for scripts.
expect_status 0 "$DIGITS_BIN"/digits-train benchmark --network mlp.yaml --batch-size 8 --iterations 2 --json
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); names=[l["name"] for l in d["layers"]]; assert names[:3]==["ip1","relu1","ip2"], names; assert d["images_per_s"]>0' out
expect_status 0 "$DIGITS_BIN"/digits-train benchmark --network mlp.yaml --iterations 1
expect_in out "InnerProduct"
echo "ok"
