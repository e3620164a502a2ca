#!/usr/bin/env python3
"""Evenness of `unclip interpolate` (issue 14's interpolation target).

    python bench/interpolate.py [--unclip .build/release/unclip] [--kodak DIR] [--out bench/out/interp]

For 6 pairs of unrelated Kodak photos (512x512 centre crops, embedded with
the statistic test model, bench/statistic_emb.py, since no CLIP weights can
be had here), it decodes a 9-frame interpolation with the patch decoder and
measures the deep perceptual distance (bench/perceptual.py, whole frame)
between consecutive frames. A sequence moves evenly when no step is much
larger than the others: the target is largest step <= 2x the mean step for
every pair. It also prints each end's distance to its photo (0 = the ends
reproduce A and B) and writes one contact strip per pair to OUT.
numpy, Pillow and torch (through bench/perceptual.py) only.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import perceptual  # noqa: E402
from vary import crop_emb  # noqa: E402

# Unrelated content on purpose: the hard case, where a collage shows.
PAIRS = [(1, 23), (3, 13), (5, 20), (8, 14), (15, 21), (19, 24)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unclip", default=os.path.join(HERE, "..", ".build", "release", "unclip"))
    ap.add_argument("--kodak", default=os.path.join(HERE, "..", "..", "shared", "images", "kodak"))
    ap.add_argument("--out", default=os.path.join(HERE, "out", "interp"))
    ap.add_argument("--frames", type=int, default=9)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    env = dict(os.environ, UNCLIP_TEST_EMBEDDER="statistic")
    whole = np.ones((512, 512), bool)
    print(f"{a.frames}-frame interpolate, patch decoder, statistic embedder; steps = perceptual distance between "
          "consecutive frames")
    print(f"{'pair':14} {'steps':>{7 * (a.frames - 1)}}   mean    max  max/mean  ends")
    ratios = []
    for i, j in PAIRS:
        ims, embs = zip(*(crop_emb(a.kodak, f"kodim{k:02d}.png", a.out) for k in (i, j)))
        pattern = os.path.join(a.out, f"{i:02d}-{j:02d}-%d.png")
        subprocess.run([a.unclip, "interpolate", *embs, "--frames", str(a.frames), "--threads", "2", "-o", pattern],
                       check=True, env=env, stderr=subprocess.DEVNULL)
        frames = [np.asarray(Image.open(pattern % f).convert("RGB")) for f in range(a.frames)]
        steps = [perceptual.distance(frames[f], frames[f + 1], whole) for f in range(a.frames - 1)]
        ends = (perceptual.distance(ims[0], frames[0], whole), perceptual.distance(ims[1], frames[-1], whole))
        mean, top = float(np.mean(steps)), float(np.max(steps))
        ratios.append(top / mean)
        print(f"kodim{i:02d}-{j:02d}   " + " ".join(f"{s:6.3f}" for s in steps)
              + f"   {mean:.3f}  {top:.3f}  {top / mean:6.2f}   {ends[0]:.3f} {ends[1]:.3f}")
        strip = np.concatenate([np.asarray(Image.fromarray(f).resize((128, 128), Image.BOX)) for f in frames], axis=1)
        Image.fromarray(strip).save(os.path.join(a.out, f"strip-{i:02d}-{j:02d}.png"))
    worst = max(ratios)
    print(f"\nlargest step / mean step: worst pair {worst:.2f}, median {float(np.median(ratios)):.2f} "
          f"(target <= 2 on every pair: {'met' if worst <= 2 else 'not met'})")


if __name__ == "__main__":
    main()
