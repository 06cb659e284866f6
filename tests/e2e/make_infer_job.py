#!/usr/bin/python3
"""Hand-made fixtures for the digits-infer end-to-end tests (run with Debian's /usr/bin/python3,
which has PIL and lmdb).

  make_infer_job.py job DIR [--no-softmax] [--bad-weights]
      A job directory as digits-train lays it out (libdigits/train/job_dir.h) for 4x4 gray
      images and 4 classes, whose InnerProduct weights make the class the brightest quadrant:
      class q sums quadrant q's pixels (times data_scale 1/255). So an image whose quadrant q is
      255 and the rest 0 gets p(q) = e^4 / (e^4 + 3) = 0.947891..., p(other) = 0.017370...
      Snapshots: epoch 1 (val_accuracy 0.9) and epoch 2 (val_accuracy 0.5), same weights.
      --bad-weights: fc.weight shaped [4, 9] and no fc.bias in every snapshot.
  make_infer_job.py images DIR
      q0.png .. q3.png (4x4 gray, quadrant q bright), big_q1.png (40x30 RGB, quadrant 1 bright:
      resized by the job's squash mode), corrupt.png (garbage), notes.txt (not an image).
  make_infer_job.py dataset DIR BRIGHT:LABEL ...
      A dataset dir (labels.txt, train_db, val_db) of raw 4x4 gray records; val records are
      quadrant BRIGHT with label LABEL.
"""
import json
import os
import struct
import sys

QUADRANTS = ["top left", "top right", "bottom left", "bottom right"]

NETWORK = """name: quadrants
input:
  data: [1, 4, 4]
  label: []
layers:
  - {name: fc, type: InnerProduct, num_output: 4}
  - {name: loss, type: SoftmaxWithLoss, bottom: [fc, label]}
"""
SOFTMAX = "  - {name: prob, type: Softmax, bottom: fc, phase: deploy}\n"


def quadrant(y, x):
    return (2 if y >= 2 else 0) + (1 if x >= 2 else 0)


def quadrant_pixels(bright, high=255, low=0):
    return bytes(high if quadrant(y, x) == bright else low for y in range(4) for x in range(4))


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, shape, list of floats)."""
    header = {"__metadata__": metadata}
    data = b""
    for name, shape, values in sorted(tensors):
        raw = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def make_job(job, softmax=True, bad_weights=False):
    os.makedirs(os.path.join(job, "snapshots"))
    files = {
        "job.yaml": "dataset: handmade\n",
        "status.yaml": "format_version: 1\nstate: done\n",
        "network.yaml": NETWORK + (SOFTMAX if softmax else ""),
        "labels.txt": "".join(name + "\n" for name in QUADRANTS),
        "preprocess.yaml": "format_version: 1\nchannels: 1\nheight: 4\nwidth: 4\n"
                           "resize_mode: squash\ncrop: 0\nmean: none\ndata_scale: 0.00392156862745098\n",
    }
    for name, text in files.items():
        with open(os.path.join(job, name), "w") as f:
            f.write(text)
    weight = [1.0 if quadrant(i // 4, i % 4) == q else 0.0 for q in range(4) for i in range(16)]
    tensors = [("fc.weight", [4, 16], weight), ("fc.bias", [4], [0.0] * 4)]
    if bad_weights:
        tensors = [("fc.weight", [4, 9], [0.0] * 36)]
    for epoch, iteration, accuracy in ((1, 10, "0.9"), (2, 20, "0.5")):
        stem = os.path.join(job, "snapshots", "epoch_%d" % epoch)
        write_safetensors(stem + ".safetensors", tensors,
                          {"format": "digits.weights", "format_version": "1", "epoch": str(epoch),
                           "iteration": str(iteration), "val_accuracy": accuracy})
        write_safetensors(stem + ".solverstate.safetensors", [], {"format": "digits.solverstate"})


def make_images(out):
    from PIL import Image
    os.makedirs(out, exist_ok=True)
    for q in range(4):
        Image.frombytes("L", (4, 4), quadrant_pixels(q)).save(os.path.join(out, "q%d.png" % q))
    big = Image.new("RGB", (40, 30), (0, 0, 0))
    big.paste((255, 255, 255), (20, 0, 40, 15))  # the top-right quadrant
    big.save(os.path.join(out, "big_q1.png"))
    with open(os.path.join(out, "corrupt.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 4)
    with open(os.path.join(out, "notes.txt"), "w") as f:
        f.write("not an image\n")


def varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def datum(pixels, label):
    # Caffe Datum: channels=1, height=2, width=3, data=4, label=5.
    return (b"\x08" + varint(1) + b"\x10" + varint(4) + b"\x18" + varint(4) +
            b"\x22" + varint(len(pixels)) + pixels + b"\x28" + varint(label))


def make_dataset(out, pairs):
    import lmdb
    os.makedirs(out)
    with open(os.path.join(out, "labels.txt"), "w") as f:
        f.write("".join(name + "\n" for name in QUADRANTS))
    for split, records in (("train", [(0, 0), (1, 1), (2, 2), (3, 3)]), ("val", pairs)):
        env = lmdb.open(os.path.join(out, split + "_db"), map_size=1 << 20)
        with env.begin(write=True) as txn:
            for i, (bright, label) in enumerate(records):
                txn.put(b"%08d_%d" % (i, label), datum(quadrant_pixels(bright), label))
        env.close()


def main(argv):
    what, out = argv[1], argv[2]
    if what == "job":
        make_job(out, softmax="--no-softmax" not in argv, bad_weights="--bad-weights" in argv)
    elif what == "images":
        make_images(out)
    elif what == "dataset":
        make_dataset(out, [tuple(int(v) for v in a.split(":")) for a in argv[3:]])
    else:
        sys.exit("unknown fixture " + what)


if __name__ == "__main__":
    main(sys.argv)
