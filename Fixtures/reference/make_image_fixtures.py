#!/usr/bin/env python3
"""Generates the image and embedding fixtures the Swift tests decode.

Made with (run from the repository root: python Fixtures/reference/make_image_fixtures.py):
  Python 3.11.7, numpy, Pillow 13.0.0 (bundled libjpeg-turbo 3.2.0; PNG through zlib 1.2.13),
  safetensors 0.8.0, ImageMagick 6.9.11-60 Q16 (`convert`, Debian 12).

Writes, under Fixtures/images/:
  <name>.png / <name>.jpg   small (13x9) images in every stored variant unclip reads;
  expected/<name>.raw       the decoded 8-bit pixels, interleaved, top row first,
                            after EXIF orientation (width/height/channels in the manifest);
  manifest.tsv              one line per fixture: what the file stores and how to check it;
  bomb.png, bomb.jpg        headers that claim 100000x100000 / 60000x60000 pixels.
and Fixtures/embeddings/python-written.emb (an .emb written by safetensors.numpy).

Where expected pixels come from:
  - PNG: built directly from the numpy source arrays (the values the file was
    written from), and cross-checked against Pillow's and/or ImageMagick's own
    decode of the file. 16-bit samples become round(v * 255 / 65535) (what
    libpng's png_set_scale_16 computes); the files are checked to hold the
    exact 16-bit source samples with ImageMagick's 16-bit decode. Neither
    reference tool rounds: Pillow keeps the high byte (v >> 8) for 16-bit RGB
    and clips I;16 gray, and ImageMagick 6.9.11's `-depth 8` gives
    floor(v / 257); both differ from the rounded value by at most 1.
  - JPEG: Pillow's decode (libjpeg-turbo, default accurate IDCT and fancy
    upsampling), converted to RGB with Pillow's cmyk2rgb for CMYK. The
    exception is cmyk-plain: a CMYK JPEG without the Adobe APP14 marker,
    which unclip reads as plain ink values (Pillow assumes Adobe inversion for
    every CMYK JPEG); its expected pixels are Pillow's formula applied to the
    un-inverted values.
  - EXIF orientation: Pillow's ImageOps.exif_transpose.
"""
import io
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "Fixtures", "images")
EXP = os.path.join(OUT, "expected")
W, H = 13, 9
rng = np.random.RandomState(20261122)
manifest = []


def source_rgba():
    y, x = np.mgrid[0:H, 0:W]
    r = (x * 19 + y * 7) % 256
    g = (255 - x * 11 - y * 23) % 256
    b = rng.randint(0, 256, size=(H, W))
    a = (x * 17 + y * 29 + 3) % 256
    return np.stack([r, g, b, a], axis=-1).astype(np.uint8)


RGBA = source_rgba()
RGB = RGBA[..., :3].copy()
GRAY = ((RGB[..., 0].astype(int) * 3 + RGB[..., 1] * 5 + RGB[..., 2] * 2) // 10).astype(np.uint8)
RGBA16 = (rng.randint(0, 65536, size=(H, W, 4))).astype(np.uint16)


def scale16(v):
    return ((v.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8)


def magick(args, data=None):
    if args[-1].endswith(".png"):
        # No date:create/date:modify text chunks, so reruns give identical files.
        args = args[:-1] + ["-define", "png:exclude-chunks=date,time", args[-1]]
    return subprocess.run(["convert"] + args, input=data, check=True, capture_output=True).stdout


def magick_decode(path, fmt):
    """ImageMagick's 8-bit decode: fmt is gray, graya, rgb or rgba."""
    return np.frombuffer(magick([path, "-depth", "8", f"{fmt}:-"]), dtype=np.uint8)


def check16(name, fmt, src):
    """The file holds exactly the 16-bit source samples (ImageMagick's 16-bit decode)."""
    out = np.frombuffer(magick([png(name), "-depth", "16", "-endian", "MSB", f"{fmt}:-"]), dtype=">u2")
    assert np.array_equal(out, src.reshape(-1)), f"{name}: ImageMagick reads other 16-bit samples than written"


def ihdr(path):
    with open(path, "rb") as f:
        b = f.read(33)
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", b[16:29])
    return w, h, depth, ctype, interlace


PNG_TYPES = {0: "gray", 2: "RGB", 3: "palette", 4: "gray+alpha", 6: "RGBA"}
PNG_STORED_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def add(name, ext, expected, fmt, color_type, bit_depth, stored_channels, interlaced=0, orientation=0, tolerance=0):
    expected = np.ascontiguousarray(expected, dtype=np.uint8)
    if expected.ndim == 2:
        expected = expected[..., None]
    h, w, c = expected.shape
    with open(os.path.join(EXP, name + ".raw"), "wb") as f:
        f.write(expected.tobytes())
    manifest.append([name, name + ext, w, h, c, tolerance, fmt, color_type, bit_depth, stored_channels, interlaced, orientation])


def add_png(name, expected, depth, ctype, interlace=0, orientation=0):
    path = os.path.join(OUT, name + ".png")
    w, h, d, t, i = ihdr(path)
    assert (w, h, d, t, i) == (W, H, depth, ctype, interlace), (name, (w, h, d, t, i))
    add(name, ".png", expected, "PNG", PNG_TYPES[ctype], depth, PNG_STORED_CHANNELS[ctype], interlace, orientation)


def check(name, a, b):
    a = np.asarray(a, dtype=np.uint8).reshape(-1)
    b = np.asarray(b, dtype=np.uint8).reshape(-1)
    assert a.shape == b.shape and np.array_equal(a, b), f"{name}: reference decoders disagree with the source"


def png(name):
    return os.path.join(OUT, name + ".png")


def make_pngs():
    # 8-bit, every colour type, written by Pillow and checked against its decode.
    for name, arr, mode, ctype, fmt in [
        ("png-gray8", GRAY, "L", 0, "gray"),
        ("png-graya8", np.stack([GRAY, RGBA[..., 3]], -1), "LA", 4, "graya"),
        ("png-rgb8", RGB, "RGB", 2, "rgb"),
        ("png-rgba8", RGBA, "RGBA", 6, "rgba"),
    ]:
        Image.fromarray(arr, mode).save(png(name))
        check(name, np.asarray(Image.open(png(name))), arr)
        check(name, magick_decode(png(name), fmt), arr)
        add_png(name, arr, 8, ctype)

    # Low-depth gray: values on the depth's grid, so expansion is exact (v * 255 / (2^d - 1)).
    for depth in (1, 2, 4):
        levels = (1 << depth) - 1
        q = (np.round(GRAY.astype(float) / 255 * levels) * (255 // levels)).astype(np.uint8)
        name = f"png-gray{depth}"
        magick(["-size", f"{W}x{H}", "-depth", "8", "gray:-", "-define", f"png:bit-depth={depth}",
                "-define", "png:color-type=0", png(name)], q.tobytes())
        check(name, magick_decode(png(name), "gray"), q)
        check(name, np.asarray(Image.open(png(name)).convert("L")), q)
        add_png(name, q, depth, 0)

    # 16-bit: ImageMagick writes them from raw big-endian samples and is the reference for 16 -> 8.
    for name, fmt, chans, ctype in [("png-gray16", "gray", [0], 0), ("png-graya16", "graya", [0, 3], 4),
                                    ("png-rgb16", "rgb", [0, 1, 2], 2), ("png-rgba16", "rgba", [0, 1, 2, 3], 6)]:
        src = RGBA16[..., chans]
        magick(["-size", f"{W}x{H}", "-depth", "16", "-endian", "MSB", f"{fmt}:-", "-define", "png:bit-depth=16",
                "-define", f"png:color-type={ctype}", png(name)], src.astype(">u2").tobytes())
        check16(name, fmt, src)
        add_png(name, scale16(src), 16, ctype)

    # Palettes: 8-bit, 4-bit, 1-bit, and one with tRNS (per-entry alpha).
    for name, ncolors, bits in [("png-palette8", 200, 8), ("png-palette4", 16, 4), ("png-palette1", 2, 1)]:
        idx = rng.randint(0, ncolors, size=(H, W)).astype(np.uint8)
        pal = rng.randint(0, 256, size=(ncolors, 3)).astype(np.uint8)
        im = Image.fromarray(idx, "P")
        im.putpalette(pal.reshape(-1).tolist())
        im.save(png(name), bits=bits)
        exp = pal[idx]
        check(name, np.asarray(Image.open(png(name)).convert("RGB")), exp)
        add_png(name, exp, bits, 3)

    idx = rng.randint(0, 40, size=(H, W)).astype(np.uint8)
    pal = rng.randint(0, 256, size=(40, 3)).astype(np.uint8)
    trns = rng.randint(0, 256, size=30).astype(np.uint8)  # entries 30-39 stay opaque
    im = Image.fromarray(idx, "P")
    im.putpalette(pal.reshape(-1).tolist())
    im.save(png("png-palette-trns"), transparency=trns.tobytes())
    alpha = np.concatenate([trns, np.full(10, 255, np.uint8)])
    exp = np.concatenate([pal[idx], alpha[idx][..., None]], -1)
    check("png-palette-trns", np.asarray(Image.open(png("png-palette-trns")).convert("RGBA")), exp)
    add_png("png-palette-trns", exp, 8, 3)

    # tRNS on gray and RGB: one colour is transparent.
    key = int(GRAY[4, 6])
    Image.fromarray(GRAY, "L").save(png("png-gray-trns"), transparency=key)
    exp = np.stack([GRAY, np.where(GRAY == key, 0, 255).astype(np.uint8)], -1)
    check("png-gray-trns", magick_decode(png("png-gray-trns"), "graya"), exp)
    add_png("png-gray-trns", exp, 8, 0)

    key3 = tuple(int(v) for v in RGB[2, 5])
    Image.fromarray(RGB, "RGB").save(png("png-rgb-trns"), transparency=key3)
    exp = np.concatenate([RGB, np.where((RGB == key3).all(-1), 0, 255).astype(np.uint8)[..., None]], -1)
    check("png-rgb-trns", np.asarray(Image.open(png("png-rgb-trns")).convert("RGBA")), exp)
    add_png("png-rgb-trns", exp, 8, 2)

    # Adam7 interlacing, in three layouts (ImageMagick writes interlaced PNGs; Pillow cannot).
    for name, fmt, arr, depth, ctype, args in [
        ("png-rgb8-adam7", "rgb", RGB, 8, 2, ["-depth", "8"]),
        ("png-rgba16-adam7", "rgba", RGBA16, 16, 6, ["-depth", "16", "-endian", "MSB"]),
        ("png-gray1-adam7", "gray", np.where(GRAY > 128, 255, 0).astype(np.uint8), 1, 0, ["-depth", "8"]),
    ]:
        data = arr.astype(">u2").tobytes() if depth == 16 else arr.tobytes()
        magick(["-size", f"{W}x{H}"] + args + [f"{fmt}:-", "-interlace", "PNG", "-define", f"png:bit-depth={depth}",
                                               "-define", f"png:color-type={ctype}", png(name)], data)
        if depth == 16:
            check16(name, fmt, arr)
        else:
            check(name, magick_decode(png(name), fmt), arr)
        add_png(name, scale16(arr) if depth == 16 else arr, depth, ctype, interlace=1)

    # Text chunks of all three kinds, as another program writes them.
    from PIL.PngImagePlugin import PngInfo
    meta = PngInfo()
    meta.add_text("Title", "caf\xe9 at noon")  # tEXt is Latin-1
    meta.add_text("Comment", "compressed " * 20, zip=True)  # zTXt
    meta.add_itxt("Author", "Zo\u00eb \u5c71\u7530")  # iTXt, UTF-8
    Image.fromarray(RGB, "RGB").save(png("png-text"), pnginfo=meta)
    assert Image.open(png("png-text")).text["Author"] == "Zo\u00eb \u5c71\u7530"
    add_png("png-text", RGB, 8, 2)

    # EXIF orientation in a PNG eXIf chunk, every value.
    for o in range(1, 9):
        name = f"png-exif{o}"
        exif = Image.Exif()
        exif[0x0112] = o
        Image.fromarray(RGB, "RGB").save(png(name), exif=exif.tobytes())
        exp = np.asarray(ImageOps.exif_transpose(Image.open(png(name))).convert("RGB"))
        add_png(name, exp, 8, 2, orientation=o)


def jpg(name):
    return os.path.join(OUT, name + ".jpg")


def cmyk2rgb(cmyk):
    """Pillow's Convert.c cmyk2rgb, with its MULDIV255 rounding."""
    c = cmyk.astype(np.int64)
    nk = 255 - c[..., 3:4]
    t = c[..., :3] * nk + 128
    return np.clip(nk - (((t >> 8) + t) >> 8), 0, 255).astype(np.uint8)


def strip_app14(data):
    """The same JPEG without its Adobe APP14 segment."""
    out, i = bytearray(data[:2]), 2
    while True:
        assert data[i] == 0xFF
        marker = data[i + 1]
        if marker == 0xDA:
            return bytes(out + data[i:])
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker != 0xEE:
            out += data[i:i + 2 + n]
        i += 2 + n


# Smooth content compresses like a photograph; noise would make every JPEG fixture a worst case.
def smooth_rgb():
    y, x = np.mgrid[0:H, 0:W].astype(float)
    r = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0)
    g = 60 + 12 * x + 5 * y
    b = 200 - 15 * y + 4 * np.cos(x)
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def make_jpegs():
    src = smooth_rgb()
    for name, kw in [("jpeg-rgb420", dict(quality=90)),
                     ("jpeg-rgb422", dict(quality=90, subsampling=1)),
                     ("jpeg-rgb444", dict(quality=90, subsampling=0)),
                     ("jpeg-progressive", dict(quality=85, progressive=True))]:
        Image.fromarray(src, "RGB").save(jpg(name), **kw)
        exp = np.asarray(Image.open(jpg(name)).convert("RGB"))
        add(name, ".jpg", exp, "JPEG", "YCbCr", 8, 3, interlaced=int("progressive" in kw), tolerance=1)

    # A photographic crop at an odd size, so upsampling and IDCT run across
    # many blocks and partial edge blocks (kodim23 from ../shared/images/kodak).
    kodak = os.path.join(ROOT, "..", "shared", "images", "kodak", "kodim23.png")
    crop = Image.open(kodak).convert("RGB").crop((301, 101, 362, 148))  # 61x47
    for name, kw in [("jpeg-photo420", dict(quality=85)), ("jpeg-photo-progressive", dict(quality=85, progressive=True))]:
        crop.save(jpg(name), **kw)
        add(name, ".jpg", np.asarray(Image.open(jpg(name)).convert("RGB")), "JPEG", "YCbCr", 8, 3,
            interlaced=int("progressive" in kw), tolerance=1)

    Image.fromarray(GRAY, "L").save(jpg("jpeg-gray"), quality=90)
    add("jpeg-gray", ".jpg", np.asarray(Image.open(jpg("jpeg-gray"))), "JPEG", "gray", 8, 1, tolerance=1)

    # CMYK: Pillow writes through libjpeg, which adds the Adobe marker and stores inverted values.
    cmyk = np.concatenate([src, ((src[..., :1].astype(int) + src[..., 1:2]) // 4).astype(np.uint8)], -1)
    Image.fromarray(cmyk, "CMYK").save(jpg("jpeg-cmyk-adobe"), quality=95)
    decoded = Image.open(jpg("jpeg-cmyk-adobe"))
    assert decoded.mode == "CMYK" and "adobe" in decoded.info
    pillow_rgb = np.asarray(decoded.convert("RGB"))
    check("jpeg-cmyk-adobe", cmyk2rgb(np.asarray(decoded)), pillow_rgb)
    add("jpeg-cmyk-adobe", ".jpg", pillow_rgb, "JPEG", "CMYK", 8, 4, tolerance=1)

    with open(jpg("jpeg-cmyk-adobe"), "rb") as f:
        plain = strip_app14(f.read())
    with open(jpg("jpeg-cmyk-plain"), "wb") as f:
        f.write(plain)
    # Pillow hands back 255 - stored; without the marker the stored values are the ink.
    stored = 255 - np.asarray(Image.open(jpg("jpeg-cmyk-plain")))
    add("jpeg-cmyk-plain", ".jpg", cmyk2rgb(stored), "JPEG", "CMYK", 8, 4, tolerance=1)

    for o in range(1, 9):
        name = f"jpeg-exif{o}"
        exif = Image.Exif()
        exif[0x0112] = o
        Image.fromarray(src, "RGB").save(jpg(name), quality=95, subsampling=0, exif=exif.tobytes())
        exp = np.asarray(ImageOps.exif_transpose(Image.open(jpg(name))).convert("RGB"))
        add(name, ".jpg", exp, "JPEG", "YCbCr", 8, 3, orientation=o, tolerance=1)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def make_bombs():
    # A valid header claiming 10^10 pixels and almost no data: a decoder that
    # allocates before checking the size dies; unclip must refuse it at once.
    ihdr_data = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    with open(os.path.join(OUT, "bomb.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr_data) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    data = bytearray(open(jpg("jpeg-rgb420"), "rb").read())
    i = 2
    while data[i + 1] not in (0xC0, 0xC1, 0xC2):
        i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    data[i + 5:i + 9] = struct.pack(">HH", 60000, 60000)  # SOF: length, precision, then height, width
    with open(os.path.join(OUT, "bomb.jpg"), "wb") as f:
        f.write(bytes(data))


def make_embedding():
    """An .emb as Python writes it, following Sources/UnclipKit/Core/EmbeddingFile.swift.
    safetensors keeps metadata in a hash map, so the key order in the header
    (not the content) changes from run to run; the committed file is one such run."""
    from safetensors.numpy import save
    d = 16
    e = np.arange(1, d + 1, dtype=np.float32)
    e /= np.linalg.norm(e)
    exemplar = (np.arange(4 * 5 * 3).reshape(4, 5, 3) * 7 % 256).astype(np.uint8)  # [H=4, W=5, 3]
    meta = {"format": "unclip.embedding", "format_version": "1", "model": "python-test", "model_sha256": "0" * 64,
            "kind": "image", "source": "python.png", "source_sha256": "1" * 64, "resolution": "224",
            "dim": str(d), "seed": "42"}
    path = os.path.join(ROOT, "Fixtures", "embeddings", "python-written.emb")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(save({"embedding": e, "exemplar": exemplar}, metadata=meta))


def main():
    os.makedirs(EXP, exist_ok=True)
    make_pngs()
    make_jpegs()
    make_bombs()
    make_embedding()
    header = ["name", "file", "width", "height", "channels", "tolerance", "format", "color_type", "bit_depth",
              "stored_channels", "interlaced", "orientation"]
    with open(os.path.join(OUT, "manifest.tsv"), "w") as f:
        f.write("\t".join(header) + "\n")
        for row in manifest:
            f.write("\t".join(str(v) for v in row) + "\n")
    print(f"{len(manifest)} image fixtures in {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
