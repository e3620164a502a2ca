#!/usr/bin/env python3
"""Large-photo check for `unclip inpaint`: a 4000x3000 image (Kodak images
enlarged and tiled) with a small and a large hole, and a 3000x64 strip with a
2000x32 hole (a shape whose coarsest level is the whole strip); prints wall
time and peak memory (from /usr/bin/time -v) and whether every pixel outside
the mask was kept.

    python bench/large.py [--unclip .build/release/unclip]
"""
import argparse
import os
import re
import subprocess
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unclip", default=os.path.join(ROOT, ".build", "release", "unclip"))
    ap.add_argument("--kodak", default=os.path.join(ROOT, "..", "shared", "images", "kodak"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="unclip-large-")
    tiles = [cv2.resize(cv2.imread(os.path.join(a.kodak, f"kodim{i:02d}.png")), (2000, 1500),
                        interpolation=cv2.INTER_CUBIC) for i in (1, 3, 5, 8)]
    img = np.concatenate([np.concatenate(tiles[:2], 1), np.concatenate(tiles[2:], 1)], 0)
    strip = cv2.resize(cv2.imread(os.path.join(a.kodak, "kodim01.png"))[200:264], (3000, 64),
                       interpolation=cv2.INTER_CUBIC)
    cases = {
        "4000x3000, small hole 300x200": (img, slice(1400, 1600), slice(2600, 2900)),
        "4000x3000, large hole 1200x800": (img, slice(600, 1400), slice(800, 2000)),
        "3000x64 strip, hole 2000x32": (strip, slice(16, 48), slice(500, 2500)),
    }
    for name, (image, ys, xs) in cases.items():
        path = os.path.join(tmp, "in.png")
        cv2.imwrite(path, image)
        mask = np.zeros(image.shape[:2], np.uint8)
        mask[ys, xs] = 255
        mpath = os.path.join(tmp, "mask.png"); cv2.imwrite(mpath, mask)
        out = os.path.join(tmp, "out.png")
        r = subprocess.run(["/usr/bin/time", "-v", a.unclip, "inpaint", path, "--mask", mpath, "-o", out],
                           capture_output=True, text=True)
        wall = re.search(r"Elapsed \(wall clock\) time.*: (.*)", r.stderr).group(1)
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1)) / 1024
        res = cv2.imread(out)
        exact = np.all(res[mask == 0] == image[mask == 0])
        print(f"{name}: exit {r.returncode}, wall {wall}, peak RSS {rss:.0f} MiB, outside exact: {exact}")

if __name__ == "__main__":
    main()
