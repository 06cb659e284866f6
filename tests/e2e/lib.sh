# Shared helpers for the end-to-end tests (sourced). Each test runs the real executables from
# $DIGITS_BIN on data it generates in its own scratch directory.
set -euo pipefail
: "${DIGITS_BIN:?DIGITS_BIN must point at the built tools}"
: "${DIGITS_SOURCE:?DIGITS_SOURCE must point at the source tree}"
PY=/usr/bin/python3
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/digits-e2e.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
cd "$SCRATCH"

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_status CODE CMD...: runs CMD, fails unless it exits with CODE; output in $SCRATCH/out, err.
expect_status() {
  local want=$1; shift
  set +e
  "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
  local got=$?
  set -e
  if [ "$got" != "$want" ]; then
    echo "--- stdout" >&2; cat "$SCRATCH/out" >&2; echo "--- stderr" >&2; cat "$SCRATCH/err" >&2
    fail "expected exit $want, got $got: $*"
  fi
}

# expect_in FILE TEXT: FILE contains TEXT (fixed string).
expect_in() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "expected '$2' in $1"; }; }

# make_pattern_images DIR N SIZE: 3 classes of SIZE x SIZE gray PNGs (N per class) whose bright
# region tells the class apart (top half / left half / centre), plus noise. Deterministic.
make_pattern_images() {
  "$PY" - "$1" "$2" "$3" <<'PYEOF'
import os, random, sys
from PIL import Image
root, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(7)
def bright(c, x, y):
    h = size // 2
    if c == 0: return y < h
    if c == 1: return x < h
    return size // 4 <= x < 3 * size // 4 and size // 4 <= y < 3 * size // 4
for c, name in enumerate(["top", "left", "centre"]):
    os.makedirs(os.path.join(root, name), exist_ok=True)
    for i in range(n):
        im = Image.new("L", (size, size))
        im.putdata([max(0, min(255, (200 if bright(c, x, y) else 40) + rng.randint(-30, 30)))
                    for y in range(size) for x in range(size)])
        im.save(os.path.join(root, name, f"{i:03d}.png"))
PYEOF
}

# A small MLP for SIZE x SIZE gray images (fast to train, enough to separate the patterns).
write_mlp() {
  cat >"$1" <<YAML
name: TinyMLP
input:
  data: [1, $2, $2]
  label: []
batch_size: 16
data_scale: 0.00390625
classes: 3
layers:
  - {name: ip1, type: InnerProduct, num_output: 32, weight_filler: {type: xavier}}
  - {name: relu1, type: ReLU, top: ip1}
  - {name: ip2, type: InnerProduct, num_output: classes, weight_filler: {type: xavier}}
  - {name: loss, type: SoftmaxWithLoss, bottom: [ip2, label], phase: [train, val]}
  - {name: accuracy, type: Accuracy, bottom: [ip2, label], phase: val}
  - {name: prob, type: Softmax, bottom: ip2, phase: deploy}
YAML
}

# make_dataset DIR [N] [SIZE]: the pattern images as a dataset (20% validation).
make_dataset() {
  local n=${2:-40} size=${3:-8}
  make_pattern_images "$SCRATCH/images-$size-$n" "$n" "$size"
  "$DIGITS_BIN"/digits-dataset create --train "$SCRATCH/images-$size-$n" --val-pct 20 \
    --width "$size" --height "$size" --channels 1 --encoding none -o "$1" >/dev/null 2>&1 ||
    fail "digits-dataset create failed"
}
