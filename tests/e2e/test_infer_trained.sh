#!/bin/bash
# The whole chain: digits-dataset create -> digits-train -> digits-infer, on a small generated
# task (4 classes: which quadrant of an 8x8 colour image is bright, with overlapping noise so the
# accuracy is not trivially 1). The job uses a mean image, a 6x6 crop and a data scale, and the
# same validation images must score identically three ways:
#   digits-train's own validation (log.jsonl), digits-infer evaluate on the val LMDB, and
#   digits-infer classify on the original PNG files listed in the dataset's val.txt
# which holds only if inference preprocesses exactly as training did.
set -u
bin="${DIGITS_BIN:?}"
for tool in digits-dataset digits-train digits-infer; do
  [ -x "$bin/$tool" ] || { echo "skip: $bin/$tool not built"; exit 77; }
done
/usr/bin/python3 -c 'import PIL' 2>/dev/null || { echo "skip: /usr/bin/python3 with PIL needed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
export DIGITS_DEVICE=cpu

/usr/bin/python3 - <<'EOF'
import os, random
from PIL import Image
random.seed(5)
names = ["q0_top_left", "q1_top_right", "q2_bottom_left", "q3_bottom_right"]
def make(path, q, width, height):
    im = Image.new("RGB", (width, height))
    for y in range(height):
        for x in range(width):
            bright = (2 if 2 * y >= height else 0) + (1 if 2 * x >= width else 0) == q
            v = random.randint(70, 255) if bright else random.randint(0, 185)
            im.putpixel((x, y), (v, random.randint(0, 255), v))
    im.save(path)
for q, name in enumerate(names):
    os.makedirs("images/" + name)
    for i in range(32):
        make("images/%s/%d.png" % (name, i), q, 8, 8)
# Other sizes: the job's squash resize brings them to 8x8.
with open("new.txt", "w") as f:
    os.makedirs("new")
    for q in range(4):
        for i in range(5):
            make("new/%d_%d.png" % (q, i), q, 16, 12)
            f.write("new/%d_%d.png %d\n" % (q, i, q))
EOF

fail=0
check() {
  if [ "$2" != "$3" ]; then
    printf 'FAIL %s\n--- expected\n%s\n--- got\n%s\n' "$1" "$2" "$3"
    fail=1
  fi
}

"$bin/digits-dataset" create --train images --width 8 --height 8 --val-pct 25 --seed 3 -o ds >log.txt 2>&1 ||
  { echo "FAIL digits-dataset create"; cat log.txt; exit 1; }
cat > net.yaml <<'EOF'
name: tiny
input:
  data: [3, 6, 6]
  label: []
batch_size: 16
data_scale: 0.0078125
layers:
  - {name: fc1, type: InnerProduct, num_output: 16, weight_filler: {type: xavier}}
  - {name: relu1, type: ReLU, bottom: fc1, top: fc1}
  - {name: fc2, type: InnerProduct, num_output: classes, weight_filler: {type: xavier}}
  - {name: loss, type: SoftmaxWithLoss, bottom: [fc2, label], phase: [train, val]}
  - {name: accuracy, type: Accuracy, bottom: [fc2, label], phase: val}
  - {name: prob, type: Softmax, bottom: fc2, phase: deploy}
EOF
"$bin/digits-train" --dataset ds --network net.yaml --set epochs=2 --set transforms.crop=6 \
  --set transforms.mean=image --set solver.base_lr=0.02 --set seed=7 -o job >log.txt 2>&1 ||
  { echo "FAIL digits-train"; cat log.txt; exit 1; }

# The last validation of training, evaluate on the LMDB, classify on the files.
train_acc=$(/usr/bin/python3 -c '
import json
vals = [json.loads(l) for l in open("job/log.jsonl") if "\"val\"" in l]
print("%.6f" % vals[-1]["accuracy"])')
"$bin/digits-infer" evaluate --job job --dataset ds --json --plot cm.png >eval.json 2>err.txt ||
  { echo "FAIL evaluate"; cat err.txt; exit 1; }
eval_acc=$(/usr/bin/python3 -c 'import json; print("%.6f" % json.load(open("eval.json"))["accuracy"])')
eval_correct=$(/usr/bin/python3 -c '
import json; j = json.load(open("eval.json")); print(sum(j["confusion"][i][i] for i in range(4)), j["count"])')
"$bin/digits-infer" classify --job job --list ds/val.txt --format csv >val.csv 2>err.txt ||
  { echo "FAIL classify val.txt"; cat err.txt; exit 1; }
classify_correct=$(sed -n 's/.*top-1 accuracy [0-9.]* (\([0-9]*\)\/\([0-9]*\)).*/\1 \2/p' err.txt)

echo "val accuracy: train $train_acc, evaluate $eval_acc ($eval_correct), classify ($classify_correct)"
check "evaluate agrees with training's validation" "$train_acc" "$eval_acc"
check "classify on the files agrees with evaluate on the records" "$eval_correct" "$classify_correct"
check "val count" "32" "$(( $(wc -l < val.csv) - 1 ))"
[ -s cm.png ] || { echo "FAIL no confusion matrix picture"; fail=1; }

# Images of another size are squashed to the records' size and still recognised.
"$bin/digits-infer" classify --job job --list new.txt --snapshot best --format jsonl >new.jsonl 2>err.txt ||
  { echo "FAIL classify new.txt"; cat err.txt; exit 1; }
new_correct=$(sed -n 's/.*top-1 accuracy [0-9.]* (\([0-9]*\)\/20).*/\1/p' err.txt)
[ -n "$new_correct" ] && [ "$new_correct" -ge 12 ] ||
  { echo "FAIL resized images: $new_correct/20 right (chance is 5)"; cat err.txt; fail=1; }

# topn over the new images: a 4-row grid.
"$bin/digits-infer" topn --job job --list new.txt -n 3 -o top.png >top.txt 2>err.txt ||
  { echo "FAIL topn"; cat err.txt; exit 1; }
check "topn listing rows" 12 "$(wc -l < top.txt)"

[ $fail -eq 0 ] && echo "ok"
exit $fail
