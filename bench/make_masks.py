#!/usr/bin/env python3
"""Seeded inpainting masks after LaMa's recipe (Suvorov et al. 2022,
"Resolution-robust large mask inpainting with Fourier convolutions",
saicinpainting/training/data/masks.py and configs/data_gen/random_*_512.yaml):
irregular polyline strokes of thin, medium and thick width, plus boxes.

    python3 bench/make_masks.py OUT_DIR [--size 512] [--count 6] [--seed 0]

Writes OUT_DIR/{thin,medium,thick,box}_K.png (white = regenerate). Needs numpy
and OpenCV (for the anti-alias-free line drawing LaMa uses).
"""
import argparse
import os

import cv2
import numpy as np

# Stroke parameters after LaMa's random_{thin,medium,thick}_512 generators.
KINDS = {
    "thin": dict(max_angle=4, max_len=200, max_width=10, min_times=4, max_times=5, boxes=None),
    "medium": dict(max_angle=4, max_len=100, max_width=50, min_times=4, max_times=5,
                   boxes=dict(min_size=10, max_size=50, min_times=1, max_times=5)),
    "thick": dict(max_angle=4, max_len=200, max_width=100, min_times=1, max_times=3,
                  boxes=dict(min_size=30, max_size=150, min_times=1, max_times=4)),
    "box": dict(strokes=False, boxes=dict(min_size=64, max_size=256, min_times=1, max_times=3)),
}


def irregular(rng, h, w, max_angle, max_len, max_width, min_times, max_times):
    # LaMa's make_random_irregular_mask: random walks of thick line segments.
    mask = np.zeros((h, w), np.float32)
    for _ in range(rng.integers(min_times, max_times + 1)):
        x, y = rng.integers(0, w), rng.integers(0, h)
        for _ in range(1 + rng.integers(0, 5)):
            angle = 0.01 + rng.integers(0, max_angle)
            if rng.integers(0, 2) == 0:
                angle = 2 * np.pi - angle
            length = 10 + rng.integers(0, max_len)
            width = 5 + rng.integers(0, max_width)
            ex = int(np.clip(x + length * np.sin(angle), 0, w))
            ey = int(np.clip(y + length * np.cos(angle), 0, h))
            cv2.line(mask, (int(x), int(y)), (ex, ey), 1.0, int(width))
            x, y = ex, ey
    return mask


def boxes(rng, h, w, min_size, max_size, min_times, max_times, margin=10):
    mask = np.zeros((h, w), np.float32)
    for _ in range(rng.integers(min_times, max_times + 1)):
        bw = rng.integers(min_size, max_size + 1)
        bh = rng.integers(min_size, max_size + 1)
        x = rng.integers(margin, max(margin + 1, w - margin - bw))
        y = rng.integers(margin, max(margin + 1, h - margin - bh))
        mask[y:y + bh, x:x + bw] = 1
    return mask


def make(kind, rng, size):
    spec = KINDS[kind]
    m = np.zeros((size, size), np.float32)
    if spec.get("strokes", True):
        m = np.maximum(m, irregular(rng, size, size, **{k: spec[k] for k in
                       ("max_angle", "max_len", "max_width", "min_times", "max_times")}))
    if spec["boxes"] and (kind == "box" or rng.random() < 0.5):
        m = np.maximum(m, boxes(rng, size, size, **spec["boxes"]))
    # Like LaMa's evaluation sets: keep masks that leave enough context.
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for ki, kind in enumerate(KINDS):
        rng = np.random.default_rng([a.seed, ki])
        k = 0
        while k < a.count:
            m = make(kind, rng, a.size)
            if not 0.02 <= m.mean() <= 0.5:
                continue
            cv2.imwrite(os.path.join(a.out, f"{kind}_{k}.png"), (m * 255).astype(np.uint8))
            k += 1


if __name__ == "__main__":
    main()
