#!/usr/bin/env bash
# Torture 3: a full disk, two ways (each run where it can be):
#  - injected (everywhere): tests/e2e/enospc_shim.c is preloaded into the tools and gives the
#    files under small/ a byte budget; the write, fallocate or stdio write that would overdraw it
#    fails with ENOSPC. It cannot see writes through memory maps, which the code must reserve with
#    fallocate first (and that it sees).
#  - mounted: a 2 MiB tmpfs in a private mount namespace (root and `unshare -m`, or an
#    unprivileged user namespace, `unshare -Urm`), really filled by a filler file.
# digits-dataset running out of room at several points of its run (LMDB pages, list files, mean,
# manifest) and digits-train during a snapshot write: exit 1 with a message naming the path and
# "No space left on device", the previous dataset or snapshot byte-for-byte untouched, no
# temporary file or directory left, and the job resumable once there is room again.
mode=${DIGITS_DISK_FULL_MODE:-injected}
self=$(realpath "$0")
source "$(dirname "$0")/lib.sh"
DS="$DIGITS_BIN"/digits-dataset
TRAIN="$DIGITS_BIN"/digits-train
SHIM="$DIGITS_BIN"/../tests/enospc/libenospc-shim.so
mkdir -p small
if [ "$mode" = mounted ]; then
  mount -t tmpfs -o size=2m tmpfs small || { echo "SKIP: cannot mount a tmpfs"; exit 77; }
  trap 'umount -l "$SCRATCH/small" 2>/dev/null; rm -rf "$SCRATCH"' EXIT
else
  [ -f "$SHIM" ] || fail "$SHIM is missing (built by tests/CMakeLists.txt)"
  # A preloaded library comes before an AddressSanitizer runtime in the library list.
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fi

# fill_leaving KB: only KB kilobytes of room are left on small/ (mounted: a filler file takes
# the rest; injected: the next commands get a budget of KB kilobytes).
free_bytes=0
fill_leaving() {
  free_bytes=$(($1 * 1024))
  [ "$mode" = mounted ] || return 0
  rm -f small/filler
  local avail_kb
  avail_kb=$(df -k --output=avail small | tail -1)
  [ "$avail_kb" -gt "$1" ] && head -c $(( (avail_kb - $1) * 1024 )) /dev/zero > small/filler
  return 0
}
# on_full_disk CMD...: runs CMD with the room fill_leaving left (injected: or $free_bytes).
on_full_disk() {
  if [ "$mode" = mounted ]; then "$@"; return; fi
  env LD_PRELOAD="$SHIM" DIGITS_ENOSPC_DIR="$SCRATCH/small" DIGITS_ENOSPC_BUDGET="$free_bytes" "$@"
}
fingerprint() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 md5sum); }

# The previous dataset: small, fits.
make_pattern_images few 6 8
expect_status 0 "$DS" create --train few -o small/ds --width 8 --height 8 --channels 1
fingerprint small/ds > before.md5
# A larger one that cannot fit: fails at different stages, each time cleanly.
make_pattern_images many 60 40
failures=0
failed_in=()
create_many_fails() {  # $1: what the room is, for messages
  set +e
  on_full_disk "$DS" create --train many -o small/ds --force --width 40 --height 40 --channels 3 >out 2>err
  local status=$?
  set -e
  [ "$status" = 1 ] || { cat err >&2; fail "$1: exit $status, expected 1"; }
  grep -q "No space left on device" err || { cat err >&2; fail "$1: no 'No space left on device'"; }
  grep -q "$SCRATCH/small/" err || { cat err >&2; fail "$1: the message names no path on the full disk"; }
  fingerprint small/ds | cmp -s - before.md5 || fail "$1: the previous dataset changed"
  [ "$(ls -A small | grep -v '^filler$' | tr '\n' ' ')" = "ds " ] || fail "$1: left behind: $(ls -A small)"
  failures=$((failures + 1))
  # The file it failed on.
  failed_in+=("$(grep -o "$SCRATCH/small/[^:]*" err | head -1)")
  if [ -n "${DIGITS_TEST_VERBOSE:-}" ]; then echo "$1: $(tail -1 err)"; fi
}
for free in 0 4 16 48 96 160 240; do
  fill_leaving "$free"
  create_many_fails "free ${free}K"
done
if [ "$mode" = injected ]; then
  # Where a whole run's bytes go (a probe with room to spare lists every charged write), then a
  # budget that runs out at the first write of each file it writes, half way into each large
  # write, and one byte short of the whole: a run fails writing each file, each time cleanly.
  # (The probe's output name has the length of "ds" and it runs with --force too: create.log
  # records the command line, so the offsets match.)
  free_bytes=$((1 << 40))
  DIGITS_ENOSPC_REPORT="$SCRATCH/writes" on_full_disk "$DS" create --train many -o small/pr --force \
    --width 40 --height 40 --channels 3 >/dev/null 2>&1 || fail "the probe run (no limit) failed"
  rm -rf small/pr
  # A file's name without its folder's random part or a temporary suffix.
  # (LMDB's own errors name the database folder: its data.mdb here.)
  file_of() {
    sed -e "s|^$SCRATCH/small/||" -e 's|^\.[a-z]*\.partial-[^/]*/||' -e 's|\.tmp[-.].*$||' \
        -e 's|_db$|_db/data.mdb|' | sort -u | paste -sd ' '
  }
  wrote=$(awk '{print $3}' writes | file_of)
  need=$(awk 'END {print $1 + $2}' writes)
  for budget in $(awk '!seen[$3]++ {print $1} $2 > 4096 {print $1 + int($2 / 2)}' writes) $((need - 1)); do
    free_bytes=$budget
    create_many_fails "$budget of the $need bytes needed"
  done
  # Two files are not expected among the failures: the output lock's pid (only for the message of
  # a run that waits; the lock is what counts) and create.log, whose failed writes fail the run at
  # its end (so the next file fails first here; checked on its own below).
  wrote=$(echo "$wrote" | tr ' ' '\n' | grep -v -e '^\.pr\.lock$' -e '^create\.log$' | paste -sd ' ')
  failed=$(printf '%s\n' "${failed_in[@]}" | file_of)
  [ "$failed" = "$wrote" ] || fail "runs failed writing: $failed; but a run writes: $wrote"
  echo "injected: runs failed writing each of: $failed"
  for budget in 0 100 300; do
    free_bytes=$budget
    DIGITS_ENOSPC_ONLY=create.log create_many_fails "create.log with $budget bytes"
    expect_in err "create.log: No space left on device"
  done
fi
expect_status 0 "$DS" verify small/ds
# A new output (no --force) on the full disk: nothing at all is left.
fill_leaving 8
expect_status 1 on_full_disk "$DS" create --train many -o small/new --width 40 --height 40 --channels 3
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
  expect_status 1 on_full_disk "$TRAIN" --resume small/job --stop-after 20
  expect_in err "No space left on device"
  grep -q "small/job/" err || { cat err >&2; fail "snapshot, free ${free}K: the message names no path in the job"; }
  fingerprint small/job/snapshots | cmp -s - snap.md5 || fail "snapshot, free ${free}K: the previous snapshots changed"
  ls -A small/job small/job/snapshots | grep -q '\.tmp-' && fail "snapshot, free ${free}K: temporary files left"
  grep -q "small/job/snapshots/" err && in_snapshot=$((in_snapshot + 1))
  snaps=$((snaps + 1))
done
[ "$in_snapshot" -gt 0 ] || fail "no run failed inside a snapshot write (the free space steps need adjusting)"
if [ "$mode" = injected ]; then
  # As for the dataset, but one file at a time (the logs hold timings, so the byte offsets of a
  # run vary a little and a budget over all files cannot aim): a resumed run's writes, then for
  # each file it writes a run whose writes to that file fail from the first one, and from half
  # way into each large one. Each time: exit 1 naming the file, the old snapshots untouched, no
  # temporary file, and the job resumes (whatever the run managed to complete loads).
  cp -a small/job job.pristine
  free_bytes=$((1 << 40))
  DIGITS_ENOSPC_REPORT="$SCRATCH/train_writes" on_full_disk "$TRAIN" --resume small/job --stop-after 20 \
    >/dev/null 2>&1 || fail "the probe training run (no limit) failed"
  job_file_of() {
    sed -e "s|^.*small/job/||" -e 's|\.tmp-.*$||' -e 's|^\.||' -e 's|/\.|/|' | sort -u | paste -sd ' '
  }
  wrote=$(awk '{print $3}' train_writes | job_file_of)
  train_failed_in=()
  for file in $wrote; do
    # Bytes written to this file before its first write, and half way into each large write.
    for budget in $(awk -v f="$file" '{ n = $3; sub(/^.*small\/job\//, "", n); sub(/\.tmp-.*$/, "", n);
                                       sub(/^\./, "", n); sub(/\/\./, "/", n) }
                                     n == f { if (!seen++) print 0; if ($2 > 4096) print done + int($2 / 2); done += $2 }' train_writes); do
      rm -rf small/job && cp -a job.pristine small/job
      free_bytes=$budget
      DIGITS_ENOSPC_ONLY="$(basename "$file")" expect_status 1 on_full_disk "$TRAIN" --resume small/job --stop-after 20
      expect_in err "No space left on device"
      grep "error:" err | grep -q "small/job/" || { cat err >&2; fail "$file, $budget bytes: the message names no file of the job"; }
      train_failed_in+=("$(grep "error:" err | grep -o "small/job/[^:]*" | head -1)")
      if [ -n "${DIGITS_TEST_VERBOSE:-}" ]; then echo "$file, $budget bytes: $(tail -1 err)"; fi
      (cd small/job/snapshots && md5sum --quiet -c "$SCRATCH/snap.md5") || fail "$file, $budget bytes: old snapshots changed"
      ls -A small/job small/job/snapshots | grep -q '\.tmp-' && fail "$file, $budget bytes: temporary files left"
      expect_status 0 "$TRAIN" --resume small/job --stop-after 1
      snaps=$((snaps + 1))
    done
  done
  failed=$(printf '%s\n' "${train_failed_in[@]}" | job_file_of)
  [ "$failed" = "$wrote" ] || fail "training runs failed writing: $failed; but a run writes: $wrote"
  echo "injected: training runs failed writing each of: $failed"
  rm -rf small/job && mv job.pristine small/job
fi
rm -f small/filler
expect_status 0 "$TRAIN" --resume small/job --stop-after 2
echo "$mode: $failures dataset runs and $snaps training runs on a full disk, $in_snapshot failing in a snapshot write"
[ "$mode" = mounted ] && exit 0

# The same on a really full disk, where a mount namespace can be had.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
  unshare -m env DIGITS_DISK_FULL_MODE=mounted bash "$self"
elif unshare -Urm true 2>/dev/null; then
  unshare -Urm env DIGITS_DISK_FULL_MODE=mounted bash "$self"
else
  echo "mounted: not run (no root and no user namespace to mount a tmpfs in); injected only"
fi
echo "PASS"
