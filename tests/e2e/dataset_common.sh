# Shared by tests/e2e/test_dataset_*.sh (sourced, not run by CTest: the name does not start with
# test_). Sets DS (the digits-dataset binary), PY (Debian's python3 with PIL and lmdb), WORK (a
# scratch directory removed on exit), and helpers. Skips (exit 77) when a prerequisite is missing.
set -u

DIGITS_BIN=${DIGITS_BIN:?DIGITS_BIN must name the tools build directory}
DS="$DIGITS_BIN/digits-dataset"
PY=/usr/bin/python3
if [ ! -x "$DS" ]; then echo "SKIP: $DS not built"; exit 77; fi
if ! "$PY" -c 'import PIL, lmdb, numpy' 2>/dev/null; then
  echo "SKIP: $PY lacks PIL, lmdb or numpy (Debian: python3-pil python3-lmdb python3-numpy)"; exit 77
fi

WORK=$(mktemp -d /tmp/digits-e2e-dataset-XXXXXX)
trap 'chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_status WANT CMD...: runs CMD, stdout+stderr to $WORK/last.out, checks the exit status.
expect_status() {
  local want=$1; shift
  set +e
  "$@" >"$WORK/last.out" 2>&1
  local got=$?
  set -e
  if [ "$got" != "$want" ]; then
    cat "$WORK/last.out" >&2
    fail "expected exit $want, got $got: $*"
  fi
}

# expect_in_output TEXT: the last command's output contains TEXT (fixed string).
expect_in_output() {
  grep -qF -- "$1" "$WORK/last.out" || { cat "$WORK/last.out" >&2; fail "output lacks: $1"; }
}

# make_class_folder ROOT CLASS COUNT [WIDTH HEIGHT MODE EXT]: COUNT images of one class, each a
# different solid-ish image (a gradient plus the index), so PNG/JPEG encode real content.
make_class_folder() {
  "$PY" - "$@" <<'EOF'
import os, sys
from PIL import Image
root, cls, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
w = int(sys.argv[4]) if len(sys.argv) > 4 else 24
h = int(sys.argv[5]) if len(sys.argv) > 5 else 20
mode = sys.argv[6] if len(sys.argv) > 6 else "RGB"
ext = sys.argv[7] if len(sys.argv) > 7 else "png"
os.makedirs(os.path.join(root, cls), exist_ok=True)
seed = sum(map(ord, cls))
for i in range(count):
    im = Image.new(mode, (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            v = (x * 7 + y * 3 + i * 11 + seed) % 256
            px[x, y] = v if mode == "L" else (v, (v * 3) % 256, (255 - v))
    im.save(os.path.join(root, cls, "%03d.%s" % (i, ext)))
EOF
}

# json_get FILE PYTHON-EXPR: evaluates EXPR with `j` bound to the parsed JSON file.
json_get() {
  "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# py_datums DB_DIR: prints one JSON line per record, read with Python's lmdb and a Datum decoder
# written here from the protobuf wire format (independent of our C++ codec):
# {"key", "channels", "height", "width", "label", "encoded", "data_len", "data_hex16"}
# plus, for encoded records, "pil": [mode, width, height] decoded by PIL, and for raw ones
# "plane_means": the mean of each CHW plane.
py_datums() {
  "$PY" - "$1" <<'EOF'
import io, json, sys, lmdb
from PIL import Image

def varint(buf, pos):
    shift = value = 0
    while True:
        b = buf[pos]; pos += 1
        value |= (b & 0x7f) << shift
        if not b & 0x80:
            return value, pos
        shift += 7

def datum(buf):
    out = {"channels": 0, "height": 0, "width": 0, "label": 0, "encoded": False, "data": b""}
    names = {1: "channels", 2: "height", 3: "width", 5: "label"}
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, pos = varint(buf, pos)
            if field in names: out[names[field]] = v - (1 << 64) if v >= 1 << 63 else v
            elif field == 7: out["encoded"] = bool(v)
        elif wire == 2:
            n, pos = varint(buf, pos)
            if field == 4: out["data"] = buf[pos:pos + n]
            pos += n
        elif wire == 5: pos += 4
        elif wire == 1: pos += 8
        else: raise SystemExit("bad wire type %d" % wire)
    return out

env = lmdb.open(sys.argv[1], readonly=True, lock=False)
with env.begin() as txn:
    for key, value in txn.cursor():
        d = datum(bytes(value))
        rec = {k: d[k] for k in ("channels", "height", "width", "label", "encoded")}
        rec["key"] = key.decode()
        rec["data_len"] = len(d["data"])
        rec["data_hex16"] = d["data"][:16].hex()
        if d["encoded"]:
            im = Image.open(io.BytesIO(d["data"]))
            rec["pil"] = [im.mode, im.size[0], im.size[1], im.format]
        else:
            plane = d["height"] * d["width"]
            rec["plane_means"] = [sum(d["data"][c * plane:(c + 1) * plane]) / plane for c in range(d["channels"])]
        print(json.dumps(rec))
EOF
}

# py_blob FILE: a BlobProto (mean.binaryproto) decoded in Python: {"num","channels","height","width","data"}.
py_blob() {
  "$PY" - "$1" <<'EOF'
import json, struct, sys
buf = open(sys.argv[1], "rb").read()
def varint(pos):
    shift = value = 0
    while True:
        b = buf[pos]; pos += 1
        value |= (b & 0x7f) << shift
        if not b & 0x80: return value, pos
        shift += 7
out = {"num": 0, "channels": 0, "height": 0, "width": 0, "data": []}
names = {1: "num", 2: "channels", 3: "height", 4: "width"}
pos = 0
while pos < len(buf):
    key, pos = varint(pos)
    field, wire = key >> 3, key & 7
    if wire == 0:
        v, pos = varint(pos)
        out[names.get(field, "other")] = v
    elif wire == 2:
        n, pos = varint(pos)
        if field == 5: out["data"] = list(struct.unpack("<%df" % (n // 4), buf[pos:pos + n]))
        pos += n
    else: raise SystemExit("unexpected wire type %d" % wire)
print(json.dumps(out))
EOF
}
