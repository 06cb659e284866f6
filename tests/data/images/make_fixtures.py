#!/usr/bin/python3
"""Makes the image fixtures of tests/unit/test_image.cpp, and what PIL says they decode to.

Run with Debian's /usr/bin/python3 (PIL 9.4, numpy). See README.md in this folder.

    make_fixtures.py OUT_DIR            the committed fixtures (deterministic)
    make_fixtures.py OUT_DIR --seed N   only the resize-vs-PIL set, from a random image drawn
                                        with seed N (tests/e2e/test_image_vs_pil.sh)

For every image NAME.EXT it writes NAME.EXT.c3.raw and NAME.EXT.c1.raw: the pixels (rows top to
bottom, interleaved, no header) that DIGITS's load_image + resize_image channel conversion gives
with PIL: modes 'L'/'RGB' kept, '1' -> 'L', 'LA' pasted on white 'L', 'P'/'RGBA' pasted on white
'RGB', 'CMYK' converted; then convert('RGB') or convert('L'). Two deliberate differences from
DIGITS, both documented in README.md: EXIF orientation is applied (ImageOps.exif_transpose) and
16-bit gray PNGs (DIGITS refused PIL's mode 'I') decode to their high byte.

For the resize checks it writes photo.png (and photo_gray.png) and photo_W_H_MODE.cC.raw: PIL's
Image.resize((W, H), BILINEAR) (what scipy.misc.imresize(interp='bilinear') called) of it, and
for mode crop DIGITS's whole resize_image (scale by the smaller ratio, centre crop).
"""
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps


def digits_load(path):
    """DIGITS's load_image(), plus EXIF orientation."""
    image = Image.open(path)
    image.load()
    image = ImageOps.exif_transpose(image)
    if image.mode in ("L", "RGB"):
        return image
    if image.mode == "1":
        return image.convert("L")
    if image.mode == "LA":
        new = Image.new("L", image.size, 255)
        new.paste(image, mask=image.convert("RGBA"))
        return new
    if image.mode in ("CMYK", "YCbCr"):
        return image.convert("RGB")
    if image.mode in ("P", "RGBA"):
        new = Image.new("RGB", image.size, (255, 255, 255))
        new.paste(image, mask=image.convert("RGBA"))
        return new
    raise ValueError("mode %s: DIGITS refused it" % image.mode)


def write_expected(path, image):
    for channels, mode in ((3, "RGB"), (1, "L")):
        data = np.asarray(image.convert(mode), dtype=np.uint8)
        with open("%s.c%d.raw" % (path, channels), "wb") as f:
            f.write(data.tobytes())


def write_expected_array(path, rgb):
    """Expected pixels given as an (H, W, 3) uint8 array (for files PIL cannot read as DIGITS)."""
    write_expected(path, Image.fromarray(rgb, "RGB"))


# ---- a raw PNG writer for what PIL cannot write: 16-bit colour, 2-bit gray, Adam7 ----------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_raw_png(path, width, height, bit_depth, color_type, pixel_rows, interlace=False):
    """pixel_rows: list of rows, each a list of per-pixel sample tuples."""
    samples_per_pixel = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]

    def pack_row(row):
        if bit_depth == 16:
            return b"".join(struct.pack(">%dH" % samples_per_pixel, *p) for p in row)
        if bit_depth == 8:
            return bytes(v for p in row for v in p)
        bits = "".join(format(p[0], "0%db" % bit_depth) for p in row)
        bits += "0" * (-len(bits) % 8)
        return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))

    raw = b""
    if not interlace:
        for row in pixel_rows:
            raw += b"\0" + pack_row(row)
    else:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
                  (1, 0, 2, 2), (0, 1, 1, 2)]
        for x0, y0, dx, dy in passes:
            for y in range(y0, height, dy):
                row = [pixel_rows[y][x] for x in range(x0, width, dx)]
                if row:
                    raw += b"\0" + pack_row(row)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
                png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


# ---- fixtures -------------------------------------------------------------------------------

RGB_PIXELS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0),
              (10, 200, 33), (0, 0, 5), (128, 64, 32), (250, 251, 252), (1, 2, 3),
              (90, 90, 90), (200, 100, 50), (17, 34, 51), (255, 128, 0), (33, 66, 99),
              (240, 10, 130), (5, 250, 5), (70, 80, 90), (123, 45, 67), (222, 111, 0)]
ALPHAS = [255, 0, 128, 1, 254, 64, 200, 255, 0, 100, 50, 150, 250, 10, 20, 30, 40, 60, 80, 99]


def make_codec_fixtures(out):
    w, h = 5, 4  # 20 pixels

    rgb = Image.new("RGB", (w, h))
    rgb.putdata(RGB_PIXELS)
    rgba = Image.new("RGBA", (w, h))
    rgba.putdata([p + (a,) for p, a in zip(RGB_PIXELS, ALPHAS)])
    gray = rgb.convert("L")
    la = Image.new("LA", (w, h))
    la.putdata([(g, a) for g, a in zip(gray.getdata(), ALPHAS)])

    def save(image, name, **kwargs):
        path = os.path.join(out, name)
        image.save(path, **kwargs)
        write_expected(path, digits_load(path))

    save(rgb, "rgb.png")
    save(rgba, "rgba.png")
    save(gray, "gray.png")
    save(la, "gray_alpha.png")
    save(gray.point(lambda v: 255 if v > 100 else 0).convert("1"), "bilevel.png")

    # Palette with per-entry alpha (tRNS): entries 0..7, alpha 255, 0, 128, ...
    palette = Image.new("P", (w, h))
    palette.putpalette([c for p in RGB_PIXELS[:8] for c in p] + [0] * (256 - 8) * 3)
    palette.putdata([i % 8 for i in range(w * h)])
    save(palette, "palette_trns.png", transparency=bytes([255, 0, 128, 1, 254, 64, 200, 30]))

    # 16-bit RGB: high byte = the RGB_PIXELS value, low byte 0x5A (PIL keeps the high byte).
    rows = [[tuple(v * 256 + 0x5A for v in RGB_PIXELS[y * w + x]) for x in range(w)]
            for y in range(h)]
    path = os.path.join(out, "rgb16.png")
    write_raw_png(path, w, h, 16, 2, rows)
    write_expected(path, digits_load(path))

    # 16-bit gray: PIL opens it as mode 'I' (DIGITS refused it); we keep the high byte.
    values = [[(y * w + x) * 3000 + 7 for x in range(w)] for y in range(h)]
    path = os.path.join(out, "gray16.png")
    write_raw_png(path, w, h, 16, 0, [[(v,) for v in row] for row in values])
    high = np.array(values, dtype=np.uint32) >> 8
    write_expected_array(path, np.repeat(high.astype(np.uint8)[:, :, None], 3, axis=2))

    # 2-bit gray (0, 85, 170, 255 after expansion).
    path = os.path.join(out, "gray2bit.png")
    write_raw_png(path, w, h, 2, 0, [[((y * w + x) % 4,) for x in range(w)] for y in range(h)])
    write_expected(path, digits_load(path))

    # Adam7-interlaced RGB, 9x9 so that every pass has pixels.
    iw = ih = 9
    rows = [[((x * 28) % 256, (y * 28) % 256, (x * y * 3) % 256) for x in range(iw)]
            for y in range(ih)]
    path = os.path.join(out, "interlaced.png")
    write_raw_png(path, iw, ih, 8, 2, rows, interlace=True)
    write_expected(path, digits_load(path))

    # JPEGs: flat 8x8 blocks (exact enough that the test can also check block values).
    blocks = Image.new("RGB", (16, 16))
    for i, colour in enumerate([(200, 30, 40), (20, 180, 60), (30, 40, 220), (240, 240, 20)]):
        blocks.paste(colour, ((i % 2) * 8, (i // 2) * 8, (i % 2) * 8 + 8, (i // 2) * 8 + 8))
    save(blocks, "rgb.jpg", quality=95)
    save(blocks, "rgb_progressive.jpg", quality=95, progressive=True)
    save(blocks.convert("L"), "gray.jpg", quality=95)
    cmyk = Image.new("CMYK", (16, 16))
    for i, ink in enumerate([(0, 0, 0, 0), (255, 0, 0, 0), (0, 128, 255, 0), (30, 60, 90, 120)]):
        cmyk.paste(ink, ((i % 2) * 8, (i // 2) * 8, (i % 2) * 8 + 8, (i // 2) * 8 + 8))
    save(cmyk, "cmyk.jpg", quality=100)

    # EXIF orientation 6 made by PIL: stored rotated counter-clockwise, shown rotated back.
    upright = Image.new("RGB", (16, 24))
    for i, level in enumerate([0, 50, 100, 150, 200, 250]):  # 2 x 3 blocks of 8x8, row-major
        upright.paste((level,) * 3, ((i % 2) * 8, (i // 2) * 8, (i % 2) * 8 + 8, (i // 2) * 8 + 8))
    exif = Image.Exif()
    exif[0x0112] = 6
    save(upright.transpose(Image.Transpose.ROTATE_90), "exif6.jpg", quality=95,
         exif=exif.tobytes())

    # stb formats.
    save(rgb, "rgb.bmp")
    save(palette.convert("RGB").quantize(8), "palette.bmp")
    save(palette, "palette_trns.gif", transparency=1)
    save(rgb, "rgb.tga")
    save(rgb, "rgb_rle.tga", compression="tga_rle")
    save(gray, "gray.tga")
    save(rgb, "rgb.ppm")
    save(gray, "gray.pgm")


def make_photo(seed):
    """A 61x47 'photo': smooth gradients, hard edges and noise, so resampling errors show."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:47, 0:61].astype(np.float64)
    r = 128 + 100 * np.sin(x / 7.0 + seed) * np.cos(y / 5.0)
    g = np.where((x // 9 + y // 7) % 2 == 0, 220.0, 30.0)
    b = x * 4 + y * 1.5
    image = np.stack([r, g, b], axis=2) + rng.normal(0, 12, (47, 61, 3))
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB")


def digits_crop(image, width, height):
    """DIGITS resize_image, mode crop (Python 2 rounding: half away from zero)."""
    def round2(v):
        return int(np.floor(v + 0.5)) if v >= 0 else -int(np.floor(-v + 0.5))
    w, h = image.size
    width_ratio, height_ratio = float(w) / width, float(h) / height
    if width_ratio > height_ratio:
        resize_width, resize_height = round2(w / height_ratio), height
    else:
        resize_width, resize_height = width, round2(h / width_ratio)
    scaled = image.resize((resize_width, resize_height), Image.BILINEAR)
    if width_ratio > height_ratio:
        start = round2((resize_width - width) / 2.0)
        return scaled.crop((start, 0, start + width, height))
    start = round2((resize_height - height) / 2.0)
    return scaled.crop((0, start, width, start + height))


def make_resize_fixtures(out, seed):
    photo = make_photo(seed)
    photo.save(os.path.join(out, "photo.png"))
    photo_gray = photo.convert("L")
    photo_gray.save(os.path.join(out, "photo_gray.png"))
    cases = [(32, 32), (70, 55), (80, 20), (7, 5), (61, 20), (20, 47)]
    for width, height in cases:
        for image, channels in ((photo, 3), (photo_gray, 1)):
            name = "photo_%d_%d_squash.c%d.raw" % (width, height, channels)
            resized = image.resize((width, height), Image.BILINEAR)
            with open(os.path.join(out, name), "wb") as f:
                f.write(np.asarray(resized, dtype=np.uint8).tobytes())
    for width, height in ((32, 32), (24, 40)):
        name = "photo_%d_%d_crop.c3.raw" % (width, height)
        with open(os.path.join(out, name), "wb") as f:
            f.write(np.asarray(digits_crop(photo, width, height), dtype=np.uint8).tobytes())


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    if len(sys.argv) == 4 and sys.argv[2] == "--seed":
        make_resize_fixtures(out, int(sys.argv[3]))
    else:
        make_codec_fixtures(out)
        make_resize_fixtures(out, 0)


if __name__ == "__main__":
    main()
