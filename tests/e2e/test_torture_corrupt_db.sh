#!/bin/bash
# Torture 5: a data.mdb damaged after creation (bytes flipped anywhere, truncated, emptied, grown)
# is refused by `digits-dataset verify` and by digits-train with exit 3 and a message naming the
# file, before LMDB opens it: never a crash. dataset.yaml records each database's size and XXH64
# hash at creation. A DIGITS-style directory (no dataset.yaml, so no hash) with a truncated
# data.mdb is refused too (LMDB would otherwise read past the end of its memory map).
# Flips: DIGITS_TORTURE_FULL=1 tries 200 random positions, the default 12.
source "$(dirname "$0")/lib.sh"
DS="$DIGITS_BIN"/digits-dataset
TRAIN="$DIGITS_BIN"/digits-train
flips=${DIGITS_TORTURE_FULL:+200}
flips=${flips:-12}

make_dataset ds 30 8
write_mlp mlp.yaml 8
grep -q 'xxh64: "[0-9a-f]\{16\}"' ds/dataset.yaml || fail "dataset.yaml records no xxh64 hash"
expect_status 0 "$DS" verify ds
expect_status 0 "$TRAIN" --dataset ds --network mlp.yaml --dry-run -o job

# expect_refused DIR WHAT: verify and train both exit 3 and name data.mdb; a signal death (a
# status above 128) is the failure this test exists to catch.
expect_refused() {
  for cmd in verify train; do
    set +e
    # (verify lists its problems on stdout, a failure to open on stderr: both go to `err`.)
    if [ $cmd = verify ]; then "$DS" verify "$1" >err 2>&1; else
      "$TRAIN" --dataset "$1" --network mlp.yaml --dry-run -o job >err 2>&1; fi
    status=$?
    set -e
    [ "$status" = 3 ] || { cat err >&2; fail "$2: $cmd exited $status, expected 3"; }
    grep -q "data.mdb" err || { cat err >&2; fail "$2: $cmd's message does not name data.mdb"; }
  done
}

size=$(stat -c %s ds/train_db/data.mdb)
# Fixed positions (the two meta pages, the first and last data pages) plus random ones.
positions="0 16 4096 4200 8192 $((size - 100)) $((size - 1))"
for _ in $(seq 1 "$flips"); do positions="$positions $(( (RANDOM * 32768 + RANDOM) % size ))"; done
n=0
for pos in $positions; do
  rm -rf bad && cp -r ds bad
  "$PY" - bad/train_db/data.mdb "$pos" <<'PYEOF'
import sys
path, pos = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(pos); b = f.read(1); f.seek(pos); f.write(bytes([b[0] ^ 0x5a]))
PYEOF
  expect_refused bad "byte $pos flipped"
  grep -q "content hash xxh64" err || { cat err >&2; fail "byte $pos flipped: no hash message"; }
  n=$((n + 1))
done

for cut in 0 4096 $((size / 2)) $((size - 1)); do
  rm -rf bad && cp -r ds bad
  truncate -s "$cut" bad/train_db/data.mdb
  expect_refused bad "truncated to $cut bytes"
  n=$((n + 1))
done
rm -rf bad && cp -r ds bad
head -c 4096 /dev/zero >> bad/val_db/data.mdb
expect_refused bad "val_db grown by a page"
rm -rf bad && cp -r ds bad && rm bad/train_db/data.mdb
expect_refused bad "data.mdb deleted"

# A real training run is refused the same way (not only --dry-run).
rm -rf bad && cp -r ds bad && truncate -s $((size / 2)) bad/train_db/data.mdb
expect_status 3 "$TRAIN" --dataset bad --network mlp.yaml --set epochs=1 -o job2
expect_in err "truncated"
[ -e job2 ] && fail "a refused dataset created a job"

# Without dataset.yaml (as NVIDIA DIGITS made them) nothing is recorded, but a truncated file is
# still refused before LMDB reads past its end.
rm -rf digits && cp -r ds digits && rm digits/dataset.yaml
expect_status 0 "$DS" verify digits
for cut in $((size / 2)) $((size - 4096)); do
  truncate -s "$cut" digits/train_db/data.mdb
  expect_refused digits "DIGITS dataset truncated to $cut bytes"
  grep -q "truncated" err || { cat err >&2; fail "no truncation message"; }
done
echo "PASS ($n damaged copies refused by verify and train)"
