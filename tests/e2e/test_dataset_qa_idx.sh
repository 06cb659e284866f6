#!/bin/bash
# digits-dataset create from IDX files found wrong by a QA pass: a gzipped IDX file damaged near
# its start is a corrupt IDX file (exit 3, zlib's message), not "binary data, not a text list"
# (exit 2), and a gzipped file that is not IDX says so.
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

"$PY" - <<'PYEOF'
import gzip, random
rng = random.Random(3)
n = 40
images = bytes([0, 0, 8, 3]) + n.to_bytes(4, "big") + (6).to_bytes(4, "big") * 2 + rng.randbytes(n * 36)
labels = bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + bytes(i % 2 for i in range(n))
open("labels-idx1-ubyte", "wb").write(labels)
packed = bytearray(gzip.compress(images))
for i in range(24, 40):  # the deflate stream's first bytes: the IDX header cannot be read back
    packed[i] ^= 0xA5
open("broken-idx3-ubyte.gz", "wb").write(bytes(packed))
open("list.txt.gz", "wb").write(gzip.compress(b"a.png 0\nb.png 1\n"))
open("good-idx3-ubyte.gz", "wb").write(gzip.compress(images))
PYEOF

expect_status 3 "$DS" create --train broken-idx3-ubyte.gz --train-labels labels-idx1-ubyte -o ds
expect_in_output "broken-idx3-ubyte.gz: corrupt gzip data"
# The path once: zlib's own message starts with it again.
[ "$(grep -o 'broken-idx3-ubyte.gz' "$WORK/last.out" | wc -l)" = 1 ] || { cat "$WORK/last.out"; fail "path repeated"; }
expect_status 3 "$DS" create --train list.txt.gz --train-labels labels-idx1-ubyte -o ds
expect_in_output "list.txt.gz: not an IDX file"
[ -e ds ] && fail "ds created by a refused run"
expect_status 0 "$DS" create --train good-idx3-ubyte.gz --train-labels labels-idx1-ubyte -o ds
expect_in_output "done: 40 records"
echo "PASS"
