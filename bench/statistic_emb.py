#!/usr/bin/env python3
"""Writes .emb files embedded with unclip's statistic test model (the
Swift StatisticEmbedder, selected in the CLI by UNCLIP_TEST_EMBEDDER=statistic),
for benches and galleries on a machine without CLIP weights.

    python bench/statistic_emb.py IMAGE OUT.emb [--max-side 512]

A numpy port of Sources/UnclipKit/Edit/StatisticEmbedder.swift and its
box-filter shrink (Exemplar.areaResize, which sums in Float: an 8-bit value
can round differently, so vectors agree to ~1e-5, exactly when no shrink is
needed); --check EMB compares against an .emb the Swift code wrote.
numpy and Pillow (reading the image) only.
"""
import argparse
import hashlib
import json
import struct
import sys

import numpy as np
from PIL import Image

BLOCKS = [("luminance", 8), ("warmth", 8), ("tint", 6), ("saturation", 6), ("gradient", 6), ("orientation", 4)]
SPEC = "unclip statistic embedder v1: " + ",".join(f"{n}/{b}" for n, b in BLOCKS)
MODEL_HASH = hashlib.sha256(SPEC.encode()).hexdigest()
INPUT = 64


def area_weights(n_out, n_in):
    scale = n_in / n_out
    w = np.zeros((n_out, n_in))
    for o in range(n_out):
        a, b = o * scale, (o + 1) * scale
        i = int(a)
        while i < b and i < n_in:
            cover = min(b, i + 1) - max(a, i)
            if cover > 1e-12:
                w[o, i] = cover / scale
            i += 1
    return w


def resize_area(im, w, h):
    """Shrink.resize: exact area averaging, rounded to 8 bits."""
    f = im.astype(np.float64)
    wx, wy = area_weights(w, im.shape[1]), area_weights(h, im.shape[0])
    t = np.einsum("xi,yic->yxc", wx, f)
    out = np.einsum("yj,jxc->yxc", wy, t)
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def to_short_side(im, side):
    h, w = im.shape[:2]
    s = min(w, h)
    if s <= side:
        return im
    return resize_area(im, max(1, (w * side + s // 2) // s), max(1, (h * side + s // 2) // s))


def splat(hist, bins, values, lo, hi, weights=None):
    t = np.clip((values - lo) / (hi - lo), 0, 1) * (bins - 1)
    i = np.minimum(t.astype(int), bins - 2)
    f = t - i
    wts = np.ones_like(values) if weights is None else weights
    np.add.at(hist, i, wts * (1 - f))
    np.add.at(hist, i + 1, wts * f)


def embed(im):
    im = to_short_side(im, INPUT).astype(np.float64) / 255
    r, g, b = im[..., 0], im[..., 1], im[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    n = y.size
    hs = [np.zeros(bins) for _, bins in BLOCKS]
    splat(hs[0], 8, y.ravel(), 0, 1)
    splat(hs[1], 8, (r - b).ravel(), -1, 1)
    splat(hs[2], 6, (g - (r + b) / 2).ravel(), -1, 1)
    splat(hs[3], 6, (im.max(axis=2) - im.min(axis=2)).ravel(), 0, 1)
    gx = np.zeros_like(y); gy = np.zeros_like(y)
    gx[:, :-1] = y[:, 1:] - y[:, :-1]
    gy[:-1, :] = y[1:, :] - y[:-1, :]
    m = np.sqrt(gx * gx + gy * gy)
    splat(hs[4], 6, m.ravel(), 0, 0.5)
    moving = m.ravel() > 1e-9
    a = np.arctan2(gy, gx).ravel()[moving]
    a = np.where(a < 0, a + np.pi, a)
    a = np.where(a >= np.pi, a - np.pi, a)
    t = a / np.pi * 4
    j = t.astype(int) % 4
    f = t - t.astype(int)
    mm = m.ravel()[moving]
    np.add.at(hs[5], j, mm * (1 - f))
    np.add.at(hs[5], (j + 1) % 4, mm * f)
    for k in range(4):
        hs[k] /= n
    hs[4] /= n
    total = mm.sum()
    hs[5] = hs[5] / total if total > 0 else np.full(4, 0.25)
    v = np.sqrt(np.concatenate(hs))
    return (v / np.linalg.norm(v)).astype(np.float32)


def write_emb(path, vec, exemplar, source, source_hash):
    meta = {"format": "unclip.embedding", "format_version": "1", "model": "statistic", "model_sha256": MODEL_HASH,
            "kind": "image", "source": source, "source_sha256": source_hash, "resolution": str(INPUT), "dim": str(vec.size)}
    ex = np.ascontiguousarray(exemplar, dtype=np.uint8)
    header = {"__metadata__": meta,
              "embedding": {"dtype": "F32", "shape": [vec.size], "data_offsets": [0, vec.nbytes]},
              "exemplar": {"dtype": "U8", "shape": list(ex.shape), "data_offsets": [vec.nbytes, vec.nbytes + ex.nbytes]}}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + vec.astype("<f4").tobytes() + ex.tobytes())


def read_emb_vector(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    hdr = json.loads(data[8:8 + n])
    b, e = hdr["embedding"]["data_offsets"]
    return np.frombuffer(data[8 + n + b:8 + n + e], "<f4")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("out", nargs="?")
    ap.add_argument("--max-side", type=int, default=512, help="longest side of the exemplar, as unclip encode's default")
    ap.add_argument("--crop", type=int, default=0, help="centre-crop a square of this size first")
    ap.add_argument("--check", help="an .emb of the same image written by the Swift code")
    a = ap.parse_args()
    raw = open(a.image, "rb").read()
    im = np.asarray(Image.open(a.image).convert("RGB"))
    if a.crop:
        h, w = im.shape[:2]
        y, x = (h - a.crop) // 2, (w - a.crop) // 2
        im = im[y:y + a.crop, x:x + a.crop]
    h, w = im.shape[:2]
    if max(w, h) > a.max_side:
        s = a.max_side / max(w, h)
        im = resize_area(im, max(1, round(w * s)), max(1, round(h * s)))
    vec = embed(im)
    if a.check:
        ref = read_emb_vector(a.check)
        err = float(np.abs(ref - vec).max())
        print(f"max |swift - numpy| = {err:.2e}")
        sys.exit(0 if err < 1e-4 else 1)
    write_emb(a.out, vec, im, a.image.split("/")[-1], hashlib.sha256(raw).hexdigest())


if __name__ == "__main__":
    main()
