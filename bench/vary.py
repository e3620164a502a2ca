#!/usr/bin/env python3
"""Timing for bench/vary (see there); runnable on its own with a built binary:

    python3 bench/vary.py --unclip .build/release/unclip [--kodak DIR] [--runs 3] [--out bench/out/vary]

numpy, Pillow and resynthesizer 1.2 (the peer) only.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import statistic_emb  # noqa: E402


def best(runs, fn):
    ts = []
    for _ in range(runs):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return min(ts)


def crop512(path):
    im = np.asarray(Image.open(path).convert("RGB"))
    h, w = im.shape[:2]
    y, x = (h - 512) // 2, (w - 512) // 2
    return np.ascontiguousarray(im[y:y + 512, x:x + 512])


def crop_emb(kodak, name, out_dir):
    """The 512x512 crop of Kodak photo `name` and the path of its statistic-embedder .emb, written to out_dir."""
    path = os.path.join(kodak, name)
    im = crop512(path)
    out = os.path.join(out_dir, name.replace(".png", ".emb"))
    statistic_emb.write_emb(out, statistic_emb.embed(im), im, name,
                            statistic_emb.hashlib.sha256(open(path, "rb").read()).hexdigest())
    return im, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unclip", required=True)
    ap.add_argument("--kodak", default=os.path.join(HERE, "..", "..", "shared", "images", "kodak"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "out", "vary"))
    ap.add_argument("--model", help="also time with this CLIP model directory (encoded with unclip encode)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    env = dict(os.environ, UNCLIP_TEST_EMBEDDER="statistic")
    embs = [crop_emb(a.kodak, name, a.out)[1] for name in ["kodim05.png", "kodim23.png"]]

    def unclip(*args):
        return lambda: subprocess.run([a.unclip, *args, "--threads", "2"], check=True, env=env,
                                      stdout=subprocess.DEVNULL)

    o = lambda p: os.path.join(a.out, p)
    rows = [
        ("unclip vary -n 4 (2 candidates each, steered)", unclip("vary", embs[0], "-n", "4", "-o", o("var-%d.png")), "<= 2 s"),
        ("unclip vary -n 4 --candidates 1", unclip("vary", embs[0], "-n", "4", "--candidates", "1", "-o", o("var1-%d.png")), ""),
        ("unclip interpolate --frames 9", unclip("interpolate", *embs, "--frames", "9", "-o", o("frame-%d.png")), "<= 6 s"),
        ("unclip textdiff (120 evaluations)", unclip("textdiff", embs[0], "--to", "a photo at night", "-o", o("night.png")), ""),
    ]
    if a.model:
        cenv = {k: v for k, v in os.environ.items() if k != "UNCLIP_TEST_EMBEDDER"}
        cembs = []
        for name in ["kodim05.png", "kodim23.png"]:
            png = o(name)
            Image.fromarray(crop512(os.path.join(a.kodak, name))).save(png)
            cembs.append(o(name.replace(".png", "-clip.emb")))
            subprocess.run([a.unclip, "encode", png, "--model", a.model, "-o", cembs[-1]], check=True, env=cenv)

        def clip(*args):
            return lambda: subprocess.run([a.unclip, *args, "--model", a.model, "--threads", "2"], check=True, env=cenv,
                                          stdout=subprocess.DEVNULL)
        name = os.path.basename(os.path.normpath(a.model))
        rows += [
            (f"CLIP {name}: vary -n 4", clip("vary", cembs[0], "-n", "4", "-o", o("cvar-%d.png")), "<= 2 s"),
            (f"CLIP {name}: interpolate --frames 9", clip("interpolate", *cembs, "--frames", "9", "-o", o("cframe-%d.png")), "<= 6 s"),
            (f"CLIP {name}: textdiff (120 evaluations)", clip("textdiff", cembs[0], "--to", "a photo at night", "-o", o("cnight.png")), ""),
        ]
    times = [(label, best(a.runs, fn), target) for label, fn, target in rows]

    import resynthesizer
    img = Image.fromarray(crop512(os.path.join(a.kodak, "kodim01.png")))
    mask = np.zeros((512, 512), np.uint8); mask[128:384, 128:384] = 255
    peer = best(a.runs, lambda: resynthesizer.resynthesize(img, Image.fromarray(mask)))

    print(f"\n512x512 Kodak crops, --threads 2, best of {a.runs}; ratio = time / resynthesizer's, same run")
    print(f"{'task':52} {'time':>9} {'ratio':>8}   target")
    print(f"{'resynthesizer 1.2: 256x256 hole in 512x512 (peer)':52} {peer:7.2f} s {1:7.2f}x")
    for label, t, target in times:
        print(f"{label:52} {t:7.2f} s {t / peer:7.2f}x   {target}")


if __name__ == "__main__":
    main()
