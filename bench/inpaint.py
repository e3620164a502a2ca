#!/usr/bin/env python3
"""Inpainting benchmark: `unclip inpaint` against three peers, in one run.

    python bench/inpaint.py [--images 6] [--kodak ../shared/images/kodak]
        [--unclip .build/release/unclip] [--out bench/out]

Peers (PyPI, versions as installed): resynthesizer 1.2 (GIMP's Heal
Selection engine, libresynthesizer), pypatchmatch 2.2.0 (PatchMatch fill,
patch_size=3, which PyPatchMatch's source uses as a radius: 7x7 patches),
OpenCV 5.0 INPAINT_TELEA (radius 3). "blur" is not a method but a
reference: the true pixels blurred (Gaussian, sigma 3) inside the hole,
which PSNR and SSIM rank above every real fill.
Masks come from bench/make_masks.py (seeded, LaMa-style). Per mask type it
prints wall time, PSNR and SSIM inside the hole, a seam score, a texture
score and the fraction of outside-mask pixels kept exactly, and writes a
contact sheet to OUT/contact.png.

Metric definitions (all on 8-bit RGB):
  percep   the deep feature distance of bench/perceptual.py (EfficientNet-Lite0
           ImageNet features, unlearned LPIPS) on the hole's bounding box plus
           16 px, averaged over the hole: 0 = the true pixels; lower is better.
           The target metric; PSNR and SSIM are shown for information.
  seam     mean colour-gradient magnitude across the mask boundary (pairs of
           4-neighbours, one in the hole, one outside) divided by the
           original image's mean gradient magnitude on the same pairs:
           1 = the seam is as strong as the real content there; above 1 = a
           visible seam. Scored as |log(seam)|, lower is better.
  texture  mean squared gradient inside the hole divided by that in a 16 px
           ring outside it, relative to the same ratio in the original:
           1 = as much detail as the real content; below 1 = blurry. Scored as
           |log(texture)|.
"""
import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
from skimage.metrics import structural_similarity

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import perceptual  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
KINDS = ["thin", "medium", "thick", "box"]


def crop512(path):
    im = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    h, w = im.shape[:2]
    y, x = (h - 512) // 2, (w - 512) // 2
    return np.ascontiguousarray(im[y:y + 512, x:x + 512])


def run_unclip(binary, img_path, mask_path, out_path):
    t = time.perf_counter()
    extra = os.environ.get("UNCLIP_ARGS", "").split()
    subprocess.run([binary, "inpaint", img_path, "--mask", mask_path, "--threads", "2", "-o", out_path] + extra,
                   check=True, stderr=subprocess.DEVNULL)
    dt = time.perf_counter() - t
    return cv2.cvtColor(cv2.imread(out_path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB), dt


def run_resynth(img, mask):
    from PIL import Image
    import resynthesizer
    t = time.perf_counter()
    out = resynthesizer.resynthesize(Image.fromarray(img), Image.fromarray(mask))
    return np.array(out.convert("RGB")), time.perf_counter() - t


def run_patchmatch(img, mask):
    from patchmatch import patch_match
    patch_match.set_random_seed(0)
    t = time.perf_counter()
    out = patch_match.inpaint(img, mask, patch_size=3)
    return np.asarray(out)[..., :3], time.perf_counter() - t


def run_blur(img, mask):
    t = time.perf_counter()
    out = img.copy()
    hole = mask > 0
    out[hole] = cv2.GaussianBlur(img, (0, 0), 3)[hole]
    return out, time.perf_counter() - t


def run_telea(img, mask):
    t = time.perf_counter()
    out = cv2.inpaint(img, mask, 3, cv2.INPAINT_TELEA)
    return out, time.perf_counter() - t


def boundary_pairs(hole):
    # 4-neighbour pairs with exactly one pixel in the hole.
    h = hole
    hx = h[:, 1:] != h[:, :-1]
    hy = h[1:, :] != h[:-1, :]
    return hx, hy


def grad_mag(img, hx, hy):
    f = img.astype(np.float64)
    gx = np.linalg.norm(f[:, 1:] - f[:, :-1], axis=2)
    gy = np.linalg.norm(f[1:, :] - f[:-1, :], axis=2)
    return np.concatenate([gx[hx], gy[hy]])


def grad_energy(img, region):
    f = img.astype(np.float64)
    gx = np.zeros(f.shape[:2]); gy = np.zeros(f.shape[:2])
    gx[:, :-1] = np.sum((f[:, 1:] - f[:, :-1]) ** 2, axis=2)
    gy[:-1, :] = np.sum((f[1:, :] - f[:-1, :]) ** 2, axis=2)
    e = gx + gy
    return e[region].mean()


def metrics(orig, result, hole):
    d = (orig.astype(np.float64) - result.astype(np.float64))[hole]
    mse = np.mean(d ** 2)
    psnr = 10 * np.log10(255 ** 2 / max(mse, 1e-10))
    _, smap = structural_similarity(orig, result, channel_axis=2, data_range=255, full=True)
    ssim = smap.mean(axis=2)[hole].mean()
    hx, hy = boundary_pairs(hole)
    seam = grad_mag(result, hx, hy).mean() / max(grad_mag(orig, hx, hy).mean(), 1e-6)
    ring = (cv2.dilate(hole.astype(np.uint8), np.ones((33, 33), np.uint8)) > 0) & ~hole
    tex_r = grad_energy(result, hole) / max(grad_energy(result, ring), 1e-6)
    tex_o = grad_energy(orig, hole) / max(grad_energy(orig, ring), 1e-6)
    texture = tex_r / max(tex_o, 1e-6)
    exact = np.all(orig[~hole] == result[~hole], axis=-1).mean()
    percep = perceptual.distance(orig, result, hole)
    return dict(psnr=psnr, ssim=ssim, seam=seam, texture=texture, exact=exact, percep=percep)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--kodak", default=os.path.join(ROOT, "..", "shared", "images", "kodak"))
    ap.add_argument("--unclip", default=os.path.join(ROOT, ".build", "release", "unclip"))
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--methods", default="unclip,resynthesizer,patchmatch,telea,blur")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="unclip-bench-")
    subprocess.run([sys.executable, os.path.join(HERE, "make_masks.py"), os.path.join(tmp, "masks"),
                    "--count", str(a.images)], check=True)
    # Spread over the set: kodim01, 05, 09, 13, 17, 21 for six images.
    names = [f"kodim{1 + i * (24 // a.images):02d}.png" for i in range(a.images)]
    methods = a.methods.split(",")
    runners = {"resynthesizer": run_resynth, "patchmatch": run_patchmatch, "telea": run_telea, "blur": run_blur}
    rows = {m: {k: [] for k in KINDS} for m in methods}
    sheet = []
    for i, name in enumerate(names):
        img = crop512(os.path.join(a.kodak, name))
        img_path = os.path.join(tmp, f"img{i}.png")
        cv2.imwrite(img_path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        for kind in KINDS:
            mask_path = os.path.join(tmp, "masks", f"{kind}_{i}.png")
            mask = cv2.imread(mask_path, cv2.IMREAD_GRAYSCALE)
            hole = mask > 0
            outs = {}
            for m in methods:
                if m == "unclip":
                    res, dt = run_unclip(a.unclip, img_path, mask_path, os.path.join(tmp, f"u{i}{kind}.png"))
                else:
                    res, dt = runners[m](img, mask)
                r = metrics(img, res, hole)
                r["time"] = dt
                rows[m][kind].append(r)
                outs[m] = res
            if kind in ("thick", "box") and i < 3:
                shown = img.copy(); shown[hole] = (255, 0, 255)
                sheet.append(np.concatenate([img, shown] + [outs[m] for m in methods if m != "blur"], axis=1))
            print(f"{name} {kind}: " + "  ".join(f"{m} {rows[m][kind][-1]['time']:.2f}s "
                  f"{rows[m][kind][-1]['psnr']:.2f}dB" for m in methods), file=sys.stderr)

    # A 256x256 hole in a 512x512 crop, the headline timing.
    big = np.zeros((512, 512), np.uint8); big[128:384, 128:384] = 255
    big_path = os.path.join(tmp, "big.png"); cv2.imwrite(big_path, big)
    img0 = os.path.join(tmp, "img0.png")
    bigtimes = {}
    for m in methods:
        if m == "blur":
            continue
        ts = []
        for _ in range(3):
            if m == "unclip":
                _, dt = run_unclip(a.unclip, img0, big_path, os.path.join(tmp, "ubig.png"))
            else:
                _, dt = runners[m](crop512(os.path.join(a.kodak, names[0])), big)
            ts.append(dt)
        bigtimes[m] = min(ts)

    print(f"\n{len(names)} Kodak 512x512 crops x {len(KINDS)} LaMa-style mask types, one run, 2 cores")
    print("seam = boundary gradient / original's (1 ideal); texture = hole detail vs ring, relative to original (1 ideal);")
    print("tex err = mean |ln texture| per image (0 ideal): too little and too much detail both count, where the")
    print("texture column's average lets one image's excess hide another's blur")
    hdr = (f"{'mask':7} {'method':14} {'time s':>7} {'percep':>7} {'PSNR':>7} {'SSIM':>6} {'seam':>6} {'texture':>7} "
           f"{'tex err':>7} {'exact':>7}")
    print(hdr); print("-" * len(hdr))
    for kind in KINDS:
        for m in methods:
            rs = rows[m][kind]
            avg = lambda key: float(np.mean([r[key] for r in rs]))
            # Ratio scores are averaged in the log domain and reported back as ratios.
            gavg = lambda key: float(np.exp(np.mean([np.log(max(r[key], 1e-6)) for r in rs])))
            print(f"{kind:7} {m:14} {avg('time'):7.2f} {avg('percep'):7.4f} {avg('psnr'):7.2f} {avg('ssim'):6.3f} "
                  f"{gavg('seam'):6.2f} {gavg('texture'):7.2f} "
                  f"{float(np.mean([abs(np.log(max(r['texture'], 1e-6))) for r in rs])):7.2f} {avg('exact'):7.4f}")
    if "blur" in methods and "patchmatch" in methods:
        b = float(np.mean([r["percep"] for r in rows["blur"]["thin"]]))
        p = float(np.mean([r["percep"] for r in rows["patchmatch"]["thin"]]))
        print(f"\nmetric sanity: on thin strokes the blurred truth scores {b:.4f}, pypatchmatch {p:.4f}: "
              + ("ok, blur is worse" if b > p else "FAIL, the metric rewards blur"))
    print("\n256x256 hole in a 512x512 crop (best of 3):")
    for m in [m for m in methods if m in bigtimes]:
        print(f"  {m:14} {bigtimes[m]:.2f} s" + (f"   ({bigtimes[m] / bigtimes['unclip']:.1f}x unclip's time)"
                                                  if "unclip" in bigtimes and m != "unclip" else ""))
    if sheet:
        cv2.imwrite(os.path.join(a.out, "contact.png"),
                    cv2.cvtColor(np.concatenate(sheet, axis=0), cv2.COLOR_RGB2BGR))
        print(f"\ncontact sheet: {os.path.join(a.out, 'contact.png')} (columns: original, mask, "
              f"{', '.join(m for m in methods if m != 'blur')})")
        # A reduced copy of the first rows for the README's gallery (committed).
        small = np.concatenate(sheet[:3], axis=0)
        h, w = small.shape[:2]
        small = cv2.resize(small, (1400, h * 1400 // w), interpolation=cv2.INTER_AREA)
        os.makedirs(os.path.join(HERE, "sheets"), exist_ok=True)
        cv2.imwrite(os.path.join(HERE, "sheets", "inpaint.jpg"), cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 80])


if __name__ == "__main__":
    main()
