#!/bin/bash
# Torture 7: file system hazards in a source folder. A symlink to a parent folder, a chain of 50
# symlinks (past the kernel's limit of 40), a FIFO named like an image (never opened: the run
# would hang), an unreadable file and folder, and files deleted while the run lists and reads
# them: the run ends quickly and reports each item with its reason. A chain of 30 links is
# followed. (As root the unreadable cases run under setpriv as nobody; skipped without it.)
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

make_class_folder src a 8 10 8
make_class_folder src b 8 10 8
ln -s .. src/a/up
mkfifo src/a/pipe.png src/b/pipe
ln -s "$WORK/src/b/000.png" src/b/link0
for i in $(seq 1 49); do ln -s "link$((i - 1))" "src/b/link$i"; done
ln -s link49 src/b/chain50.png   # 50 links to 000.png
ln -s link29 src/b/chain30.png   # 30 links: within the limit
t0=$(date +%s%N)
expect_status 0 timeout 30 "$DS" create --train src -o ds --width 8 --height 8 --val-pct 0
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 10000 ] || fail "the walk took $ms ms"
expect_in_output "skipped src/a/up: symlink loop: leads back to src; not followed"
expect_in_output "skipped src/a/pipe.png: a FIFO, not a regular file; not opened"
expect_in_output "skipped src/b/chain50.png: symlink loop (or a chain of more than 40 links)"
expect_in_output "3 bad item(s) skipped"
grep -q "src/b/chain30.png 1" ds/train.txt || fail "the 30-link chain was not followed"
grep -q "pipe" ds/train.txt && fail "a FIFO was ingested"

# Unreadable file and folder: root reads everything, so run as nobody when we are root.
as_user=()
if [ "$(id -u)" = 0 ]; then
  if command -v setpriv >/dev/null; then as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
fi
if [ "$(id -u)" = 0 ] && [ ${#as_user[@]} = 0 ]; then
  echo "note: root without setpriv: unreadable file and folder not checked"
else
  mkdir -p perm/out && make_class_folder perm/src a 4 10 8 && make_class_folder perm/src b 4 10 8
  mkdir -p perm/src/b/locked && cp perm/src/a/000.png perm/src/b/locked/x.png
  chmod 755 "$WORK" perm perm/src perm/src/a perm/src/b && chmod 777 perm/out
  chmod 644 perm/src/*/*.png && chmod 000 perm/src/a/001.png perm/src/b/locked
  expect_status 0 timeout 30 "${as_user[@]}" "$DS" create --train perm/src -o perm/out/ds --width 8 --height 8 --val-pct 0
  expect_in_output "skipped perm/src/a/001.png: unreadable file (permission denied)"
  expect_in_output "skipped perm/src/b/locked: cannot read directory: Permission denied"
  expect_in_output "2 bad item(s) skipped"
  chmod 755 perm/src/b/locked
fi

# Files deleted while the run lists and reads them: every file still there at the end was
# ingested, and every other one was either ingested first or reported as gone.
mkdir -p many
make_class_folder many keep 50 8 8
"$PY" - <<'PYEOF'
import os, shutil
os.makedirs("many/gone", exist_ok=True)
for i in range(600):
    shutil.copyfile("many/keep/%03d.png" % (i % 50), "many/gone/%04d.png" % i)
PYEOF
# The deleter removes a file every ~0.3 ms from the end, about the pace of the run.
"$PY" -c '
import os, sys, time
for name in sorted(os.listdir("many/gone"), reverse=True):
    os.unlink("many/gone/" + name); time.sleep(0.0003)' &
deleter=$!
expect_status 0 timeout 60 "$DS" create --train many -o many_ds --width 8 --height 8 --val-pct 0 --threads 1
wait "$deleter"
remaining=$(ls many/gone | wc -l)
ingested=$(grep -c '^many/gone/' many_ds/train.txt || true)
mid_walk=$(grep -c 'deleted while the folder was being listed' last.out || true)
mid_read=$(grep -c 'missing file (no such file)' last.out || true)
other=$(grep '^skipped' last.out | grep -v 'deleted while the folder\|missing file (no such file)' || true)
[ -z "$other" ] || fail "unexpected skips: $other"
ls many/gone | sed 's|^|many/gone/|; s|$| 0|' | sort > left.txt
grep '^many/gone/' many_ds/train.txt | sort | comm -23 left.txt - | grep -q . && fail "a file still there was not ingested"
[ $((ingested + mid_walk + mid_read)) -le 600 ] || fail "more items than files"
echo "PASS (deleted during the run: $mid_walk while listing, $mid_read while reading; $ingested of 600 ingested, $remaining left)"
