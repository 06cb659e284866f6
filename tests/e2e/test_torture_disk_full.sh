#!/usr/bin/env bash
# Torture 3: a full disk, on a small tmpfs mounted in a private mount namespace (needs root and
# unshare; skipped otherwise). digits-dataset filling the disk at several points of its run
# (LMDB pages, list files, mean, manifest) and digits-train filling it during a snapshot write:
# exit 1 with a message naming the path and "No space left on device", the previous dataset or
# snapshot byte-for-byte untouched, no temporary file or directory left, and the job resumable
# once there is room again.
if [ -z "${DIGITS_IN_MOUNT_NS:-}" ]; then
  if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
    echo "SKIP: needs root and unshare -m to mount a small tmpfs"; exit 77
  fi
  exec unshare -m env DIGITS_IN_MOUNT_NS=1 bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
DS="$DIGITS_BIN"/digits-dataset
TRAIN="$DIGITS_BIN"/digits-train
mkdir -p small
mount -t tmpfs -o size=2m tmpfs small || { echo "SKIP: cannot mount a tmpfs"; exit 77; }
trap 'umount -l "$SCRATCH/small" 2>/dev/null; rm -rf "$SCRATCH"' EXIT

# fill_leaving KB: a filler file takes all but KB kilobytes of the tmpfs.
fill_leaving() {
  rm -f small/filler
  local free_kb
  free_kb=$(df -k --output=avail small | tail -1)
  [ "$free_kb" -gt "$1" ] && head -c $(( (free_kb - $1) * 1024 )) /dev/zero > small/filler
  return 0
}
fingerprint() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 md5sum); }

# The previous dataset: small, fits.
make_pattern_images few 6 8
expect_status 0 "$DS" create --train few -o small/ds --width 8 --height 8 --channels 1
fingerprint small/ds > before.md5
# A larger one that cannot fit, whatever the free space: fails at different stages.
make_pattern_images many 60 40
failures=0
for free in 0 4 16 48 96 160 240; do
  fill_leaving "$free"
  set +e
  "$DS" create --train many -o small/ds --force --width 40 --height 40 --channels 3 >out 2>err
  status=$?
  set -e
  [ "$status" = 1 ] || { cat err >&2; fail "free ${free}K: exit $status, expected 1"; }
  grep -q "No space left on device" err || { cat err >&2; fail "free ${free}K: no 'No space left on device'"; }
  grep -q "$SCRATCH/small/" err || { cat err >&2; fail "free ${free}K: the message names no path on the full disk"; }
  fingerprint small/ds | cmp -s - before.md5 || fail "free ${free}K: the previous dataset changed"
  [ "$(ls -A small | grep -v '^filler$' | tr '\n' ' ')" = "ds " ] || fail "free ${free}K: left behind: $(ls -A small)"
  failures=$((failures + 1))
done
expect_status 0 "$DS" verify small/ds
# A new output (no --force) on the full disk: nothing at all is left.
fill_leaving 8
expect_status 1 "$DS" create --train many -o small/new --width 40 --height 40 --channels 3
[ "$(ls -A small | grep -v '^filler$' | tr '\n' ' ')" = "ds " ] || fail "new output: left behind: $(ls -A small)"
rm -rf small/*

# Snapshots: a job on the tmpfs; the disk fills up; a snapshot write fails.
make_dataset ds 20 16
write_mlp mlp.yaml 16
sed -i 's/num_output: 32/num_output: 128/' mlp.yaml   # a ~130 KB snapshot
expect_status 0 "$TRAIN" --dataset ds --network mlp.yaml --set epochs=1000 --set batch_size=4 \
  --set snapshot_interval=1 -o small/job --stop-after 3
fingerprint small/job/snapshots > snap.md5
snaps=0
in_snapshot=0
for free in 0 8 64 100; do
  fill_leaving "$free"
  expect_status 1 "$TRAIN" --resume small/job --stop-after 20
  expect_in err "No space left on device"
  grep -q "small/job/" err || { cat err >&2; fail "snapshot, free ${free}K: the message names no path in the job"; }
  fingerprint small/job/snapshots | cmp -s - snap.md5 || fail "snapshot, free ${free}K: the previous snapshots changed"
  ls -A small/job small/job/snapshots | grep -q '\.tmp-' && fail "snapshot, free ${free}K: temporary files left"
  grep -q "small/job/snapshots/" err && in_snapshot=$((in_snapshot + 1))
  snaps=$((snaps + 1))
done
[ "$in_snapshot" -gt 0 ] || fail "no run failed inside a snapshot write (the free space steps need adjusting)"
rm -f small/filler
expect_status 0 "$TRAIN" --resume small/job --stop-after 2
echo "PASS ($failures dataset runs and $snaps training runs on a full disk, $in_snapshot failing in a snapshot write)"
