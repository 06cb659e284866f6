#!/usr/bin/python3
"""The peer digits-dataset is measured against: an image list into LMDB written the way NVIDIA
DIGITS's tools/create_db.py did it (Debian's python3-pil, python3-lmdb, python3-numpy; no Caffe):

  - the list is read and shuffled, then up to 10 loader threads (min(10, round(sqrt(batch))),
    batch = 100) each load an image with PIL, convert it to RGB or L, resize it (squash:
    bilinear, as DIGITS's resize_image), add it to the thread's running mean sum, and turn it
    into a Datum: raw pixels transposed to (C, H, W) with the colour planes swapped to BGR, or
    the PNG/JPEG bytes PIL writes;
  - the main thread takes Datums from a bounded queue and writes them to LMDB in transactions
    of 100, keys '%08d_%d', doubling the map size on MapFullError;
  - the mean (numpy.around of the sum / count) is written at the end.

Datum serialization is done by hand (caffe_pb2 is not available without Caffe); it writes the
same bytes SerializeToString would for these fields.

usage: bench_dataset_python.py LIST OUTPUT_DB WIDTH HEIGHT CHANNELS ENCODING(none|png|jpg)
prints one line: "images N seconds S images_per_second R"
"""
import io
import math
import queue
import random
import sys
import threading
import time

import lmdb
import numpy as np
import PIL.Image


def varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def datum_bytes(channels, height, width, data, label, encoded):
    out = b"\x08" + varint(channels) + b"\x10" + varint(height) + b"\x18" + varint(width)
    out += b"\x22" + varint(len(data)) + data + b"\x28" + varint(label)
    if encoded:
        out += b"\x38\x01"
    return out


def load_image(path, channels):
    image = PIL.Image.open(path)
    image.load()
    return image.convert("RGB" if channels == 3 else "L")


def resize_image(image, height, width):
    if image.size != (width, height):
        image = image.resize((width, height), PIL.Image.BILINEAR)
    return np.array(image)


def array_to_datum(image, label, encoding):
    if encoding == "none":
        if image.ndim == 3:
            data = image.transpose((2, 0, 1))[[2, 1, 0], ...]
        else:
            data = image[np.newaxis, :, :]
        return datum_bytes(data.shape[0], data.shape[1], data.shape[2], data.tobytes(), label, False)
    buffer = io.BytesIO()
    PIL.Image.fromarray(image).save(buffer, format="PNG" if encoding == "png" else "JPEG", quality=90)
    channels = image.shape[2] if image.ndim == 3 else 1
    return datum_bytes(channels, image.shape[0], image.shape[1], buffer.getvalue(), label, True)


def load_thread(load_queue, write_queue, summary_queue, width, height, channels, encoding):
    image_sum = np.zeros((height, width, channels) if channels == 3 else (height, width), np.float64)
    added = 0
    while True:
        try:
            path, label = load_queue.get_nowait()
        except queue.Empty:
            break
        try:
            image = load_image(path, channels)
        except Exception as e:  # DIGITS logged and skipped unreadable images
            print("skipped %s: %s" % (path, e), file=sys.stderr)
            continue
        image = resize_image(image, height, width)
        image_sum += image
        write_queue.put((array_to_datum(image, label, encoding), label))
        added += 1
    summary_queue.put((added, image_sum))


def main():
    list_file, output, width, height, channels, encoding = sys.argv[1:7]
    width, height, channels = int(width), int(height), int(channels)
    start = time.time()
    lines = [line.rsplit(None, 1) for line in open(list_file) if line.strip()]
    random.shuffle(lines)
    load_queue = queue.Queue()
    for path, label in lines:
        load_queue.put((path, int(label)))
    batch_size = min(100, len(lines))
    num_threads = min(10, int(round(math.sqrt(batch_size))))
    write_queue = queue.Queue(2 * batch_size)
    summary_queue = queue.Queue()
    threads = [threading.Thread(target=load_thread, daemon=True,
                                args=(load_queue, write_queue, summary_queue, width, height, channels, encoding))
               for _ in range(num_threads)]
    for t in threads:
        t.start()

    db = lmdb.open(output, map_size=10 << 20, map_async=True, max_dbs=0)

    def write_batch(batch, first):
        try:
            with db.begin(write=True) as txn:
                for i, (value, label) in enumerate(batch):
                    txn.put(b"%08d_%d" % (first + i, label), value)
        except lmdb.MapFullError:
            db.set_mapsize(db.info()["map_size"] * 2)
            write_batch(batch, first)

    written, done_threads, batch, image_sum = 0, 0, [], None
    while done_threads < num_threads or not write_queue.empty():
        try:
            batch.append(write_queue.get(timeout=0.01))
            if len(batch) == batch_size:
                write_batch(batch, written)
                written += len(batch)
                batch = []
        except queue.Empty:
            pass
        while not summary_queue.empty():
            _, thread_sum = summary_queue.get()
            image_sum = thread_sum if image_sum is None else image_sum + thread_sum
            done_threads += 1
    if batch:
        write_batch(batch, written)
        written += len(batch)
    mean = np.around(image_sum / written).astype(np.uint8)
    PIL.Image.fromarray(mean).save(output + ".mean.png")
    db.sync(True)
    db.close()
    seconds = time.time() - start
    print("images %d seconds %.3f images_per_second %.1f" % (written, seconds, written / seconds))


if __name__ == "__main__":
    main()
