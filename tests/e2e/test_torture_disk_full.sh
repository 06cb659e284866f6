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
# A written path as a file of the output: no temporary folder or suffix, no leading dot. (LMDB's
# own errors name the database folder: its data.mdb here.)
file_name() {
  sed -e 's|^.*small/||' -e 's|^\.[a-z]*\.partial-[^/]*/||' -e 's|^job/||' -e 's|\.tmp[-.].*$||' \
      -e 's|/\.|/|g' -e 's|^\.||' -e 's|_db$|_db/data.mdb|'
}
# each_file_fails REPORT CHECK: for each file in REPORT (an injected run's list of writes, made
# with room to spare), runs `CHECK FILE LABEL` with only that file's writes budgeted: none left
# at its first write, and half way into each of its large writes.
each_file_fails() {
  local file budget
  awk '{print $1, $2}' "$1" | paste -d ' ' - <(awk '{print $3}' "$1" | file_name) >"$1.named"
  for file in $(awk '{print $3}' "$1.named" | sort -u); do
    for budget in $(awk -v f="$file" '$3 == f { if (!seen++) print 0; if ($2 > 4096) print done + int($2 / 2); done += $2 }' "$1.named"); do
      free_bytes=$budget DIGITS_ENOSPC_ONLY=$file "$2" "$file" "$file, $budget bytes"
    done
  done
}

make_pattern_images few 6 8
make_pattern_images many 60 40
create_many=("$DS" create --train many -o small/ds --force --width 40 --height 40 --channels 3)
if [ "$mode" = injected ]; then
  # Where a whole run's bytes go, for each_file_fails below.
  free_bytes=$((1 << 40))
  DIGITS_ENOSPC_REPORT="$SCRATCH/writes" on_full_disk "${create_many[@]}" >/dev/null 2>&1 || fail "the probe run (no limit) failed"
fi
# The previous dataset: small, fits.
expect_status 0 "$DS" create --train few -o small/ds --force --width 8 --height 8 --channels 1
fingerprint small/ds > before.md5
# A larger one that cannot fit: fails at different stages, each time cleanly.
failures=0
create_many_fails() {  # $1: what the room is, for messages; sets failed_file
  set +e
  on_full_disk "${create_many[@]}" >out 2>err
  local status=$?
  set -e
  [ "$status" = 1 ] || { cat err >&2; fail "$1: exit $status, expected 1"; }
  grep -q "No space left on device" err || { cat err >&2; fail "$1: no 'No space left on device'"; }
  grep -q "$SCRATCH/small/" err || { cat err >&2; fail "$1: the message names no path on the full disk"; }
  fingerprint small/ds | cmp -s - before.md5 || fail "$1: the previous dataset changed"
  [ "$(ls -A small | grep -v '^filler$' | tr '\n' ' ')" = "ds " ] || fail "$1: left behind: $(ls -A small)"
  failures=$((failures + 1))
  failed_file=$(grep "error:" err | grep -o "$SCRATCH/small/[^:]*" | head -1 | file_name)
  if [ -n "${DIGITS_TEST_VERBOSE:-}" ]; then echo "$1: $(tail -1 err)"; fi
}
for free in 0 4 16 48 96 160 240; do
  fill_leaving "$free"
  create_many_fails "free ${free}K"
done
if [ "$mode" = injected ]; then
  # A run that fails writing each file a run writes, each time cleanly and naming that file; but
  # the output lock: the pid in it is only for the message of a run that waits (the lock is what
  # counts), so a failed write there is no failure.
  dataset_file_fails() {
    [ "$1" = ds.lock ] && return
    create_many_fails "$2"
    [ "$failed_file" = "$1" ] || fail "$2: the run failed writing $failed_file instead"
    [[ " $failed_files " == *" $1 "* ]] || failed_files+=" $1"
  }
  failed_files=""
  each_file_fails writes dataset_file_fails
  echo "injected: dataset runs failed writing each of:$failed_files"
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
  # A resumed run that fails writing each file a resumed run writes, each time from the same job:
  # exit 1 naming that file, the old snapshots untouched, no temporary file, and the job resumes
  # (whatever the failed run completed loads).
  cp -a small/job job.pristine
  free_bytes=$((1 << 40))
  DIGITS_ENOSPC_REPORT="$SCRATCH/train_writes" on_full_disk "$TRAIN" --resume small/job --stop-after 20 \
    >/dev/null 2>&1 || fail "the probe training run (no limit) failed"
  train_file_fails() {
    rm -rf small/job && cp -a job.pristine small/job
    # The job's lock, as the dataset's: its pid is informative only, so that write failing is
    # no failure.
    if [ "$1" = job.lock ]; then
      expect_status 0 on_full_disk "$TRAIN" --resume small/job --stop-after 20
      return
    fi
    expect_status 1 on_full_disk "$TRAIN" --resume small/job --stop-after 20
    if [ -n "${DIGITS_TEST_VERBOSE:-}" ]; then echo "$2: $(tail -1 err)"; fi
    expect_in err "No space left on device"
    failed_file=$(grep "error:" err | grep -o "small/job/[^:]*" | head -1 | file_name)
    [ "$failed_file" = "$1" ] || { cat err >&2; fail "$2: the run failed writing '$failed_file' instead"; }
    (cd small/job/snapshots && md5sum --quiet -c "$SCRATCH/snap.md5") || fail "$2: old snapshots changed"
    ls -A small/job small/job/snapshots | grep -q '\.tmp-' && fail "$2: temporary files left"
    expect_status 0 "$TRAIN" --resume small/job --stop-after 1
    snaps=$((snaps + 1))
    [[ " $failed_files " == *" $1 "* ]] || failed_files+=" $1"
  }
  failed_files=""
  each_file_fails train_writes train_file_fails
  echo "injected: training runs failed writing each of:$failed_files"
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
