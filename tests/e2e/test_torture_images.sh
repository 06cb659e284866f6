#!/bin/bash
# Torture 6: the image torture set through digits-dataset. Each file is ingested with the
# documented pixels or skipped with a reason; decompression bombs (a 30000x30000 PNG of zeros, a
# JPEG header claiming 65500x65500) are refused from their headers, and the peak memory of the
# whole run stays far below what decoding them would take.
set -eu
. "$DIGITS_SOURCE/tests/e2e/dataset_common.sh"

"$PY" - <<'PYEOF'
import io, os, struct, zlib
from PIL import Image
os.makedirs("src/ok", exist_ok=True); os.makedirs("src/bad", exist_ok=True)
def pattern(mode, w, h):
    im = Image.new("RGB", (w, h))
    im.putdata([((x * 31 + y * 7) % 256, (x * 5 + y * 29) % 256, (x * y * 3) % 256) for y in range(h) for x in range(w)])
    return im.convert(mode) if mode != "RGB" else im
def save(im, name, fmt, **kw):
    buf = io.BytesIO(); im.save(buf, fmt, **kw); data = buf.getvalue()
    open(name, "wb").write(data); return data
ok, bad = "src/ok/", "src/bad/"
png = save(pattern("RGB", 8, 8), ok + "rgb.png", "PNG")
jpg = save(pattern("RGB", 8, 8), ok + "rgb.jpg", "JPEG", quality=95)
save(pattern("RGB", 8, 8), ok + "UPPER.PNG", "PNG")
save(pattern("RGB", 8, 8), ok + "UPPER.JPG", "JPEG")
open(ok + "png_named.jpg", "wb").write(png)
save(pattern("CMYK", 8, 8), ok + "cmyk.jpg", "JPEG")
ycck = bytearray(open(ok + "cmyk.jpg", "rb").read())
at = ycck.find(b"Adobe")          # APP14: the last byte of the segment is the colour transform
if at < 0:
    raise SystemExit("PIL wrote no Adobe marker for CMYK")
ycck[at + 11] = 2                 # 2 = YCCK
open(ok + "ycck.jpg", "wb").write(bytes(ycck))
g16 = Image.new("I", (8, 8)); g16.putdata([((x * 31 + y * 7) % 256) * 257 for y in range(8) for x in range(8)])
save(g16, ok + "gray16.png", "PNG")
save(pattern("RGB", 8, 8).convert("P", palette=Image.ADAPTIVE, colors=16), ok + "palette_trns.png", "PNG", transparency=3)
save(pattern("LA", 8, 8), ok + "gray_alpha.png", "PNG")
save(Image.new("RGB", (1, 1), (200, 10, 30)), ok + "one.png", "PNG")
save(Image.new("L", (65535, 1), 77), ok + "wide.png", "PNG")
for o in range(1, 9):
    exif = Image.Exif(); exif[0x0112] = o
    save(pattern("RGB", 8, 8), ok + f"exif{o}.jpg", "JPEG", quality=95, exif=exif.tobytes())
# Bad ones.
open(bad + "zero.png", "wb").close()
# Truncations: bad, unless every pixel is still there (a PNG cut inside its last CRC or IEND),
# which PIL loads as it is, and so do we.
for pct in (10, 50, 90):
    for ext, full in (("jpg", jpg), ("png", png)):
        cut = full[: len(full) * pct // 100]
        try:
            Image.open(io.BytesIO(cut)).load(); where = ok
        except Exception:
            where = bad
        open(where + f"trunc{pct}.{ext}", "wb").write(cut)
sos = jpg.find(b"\xff\xda")
open(bad + "noscan.jpg", "wb").write(jpg[:sos] + b"\xff\xd9")
# 30000 x 30000 1-bit gray PNG of zeros: 112 MB of rows compressed to ~110 KB.
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
z = zlib.compressobj(9); row = b"\0" * (1 + 30000 // 8); body = b"".join(z.compress(row) for _ in range(30000)) + z.flush()
open(bad + "zeros30000.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 1, 0, 0, 0, 0))
                                         + chunk(b"IDAT", body) + chunk(b"IEND", b""))
# A JPEG whose SOF claims 65500 x 65500, followed by the rest of a real JPEG.
sof = jpg.find(b"\xff\xc0")
claim = bytearray(jpg); claim[sof + 5:sof + 9] = struct.pack(">HH", 65500, 65500)
open(bad + "claims65500.jpg", "wb").write(bytes(claim))
PYEOF
ok_count=$(ls src/ok | wc -l)
/usr/bin/time -f '%M' -o rss.kb "$DS" create --train src -o ds --width 8 --height 8 --val-pct 0 --encoding none \
  --resize squash --no-mean >last.out 2>&1 || { cat last.out; fail "create failed"; }
rss_mb=$(( $(tail -1 rss.kb) / 1024 ))
[ "$rss_mb" -lt 200 ] || fail "peak memory $rss_mb MB (a bomb was decoded?)"
for f in src/ok/*; do grep -qF "$f 1" ds/train.txt || { cat last.out; fail "$f was not ingested"; }; done
for f in src/bad/*; do grep -qF "skipped $f: " last.out || { cat last.out; fail "$f was not skipped with a reason"; }; done
expect_in_output "skipped src/bad/zero.png: empty file (0 bytes)"
expect_in_output "skipped src/bad/zeros30000.png: image 30000x30000 exceeds --max-pixels 100000000"
expect_in_output "skipped src/bad/claims65500.jpg: image 65500x65500 exceeds --max-pixels 100000000"
bad_count=$(ls src/bad | wc -l)
expect_in_output "done: $ok_count records (train $ok_count), $bad_count bad item(s) skipped"

# The documented pixels: each EXIF orientation is applied (PIL's exif_transpose), colour files
# are RGB and 8x8 sources are stored unresized; raw records are BGR planes.
"$PY" - ds <<'PYEOF'
import sys, lmdb
from PIL import Image, ImageOps
def varint(buf, pos):
    shift = value = 0
    while True:
        b = buf[pos]; pos += 1; value |= (b & 0x7f) << shift
        if not b & 0x80: return value, pos
        shift += 7
def datum_data(buf):
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        if key & 7 == 0: _, pos = varint(buf, pos)
        elif key & 7 == 2:
            n, pos = varint(buf, pos)
            if key >> 3 == 4: return buf[pos:pos + n]
            pos += n
paths = [line.rsplit(" ", 1)[0] for line in open("ds/train.txt")]
env = lmdb.open("ds/train_db", readonly=True, lock=False)
checked = 0
with env.begin() as txn:
    for i, (key, value) in enumerate(txn.cursor()):
        path = paths[i]
        name = path.split("/")[-1]
        if not (name.startswith(("exif", "trunc")) or name in ("rgb.png", "rgb.jpg", "png_named.jpg", "UPPER.PNG")):
            continue
        im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        data = datum_data(bytes(value))
        want = b"".join(bytes(im.getchannel(c).tobytes()) for c in ("B", "G", "R"))
        assert data == want, f"{path}: pixels differ from PIL's"
        checked += 1
assert checked == 12 + sum(p.split('/')[-1].startswith('trunc') for p in paths), checked
PYEOF
echo "PASS ($ok_count ingested, $bad_count skipped with a reason, peak memory $rss_mb MB)"
