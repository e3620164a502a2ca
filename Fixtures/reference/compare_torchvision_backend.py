#!/usr/bin/env python3
"""How far transformers' *torchvision* CLIPImageProcessor backend is from the Pillow one
unclip matches, on the committed preprocessing fixtures.

Versions: transformers 5.23.0, torch 2.15.0, Pillow 13.0.0. torchvision is not installed
(no wheel for torch 2.15 yet), so its resize is emulated with what tvF.resize does to a
uint8 tensor for BICUBIC: float32 F.interpolate(antialias=True), round, clamp, uint8;
then the centre crop and the fused (x - 255*mean) / (255*std).

    python Fixtures/reference/compare_torchvision_backend.py
"""
import numpy as np, torch, torch.nn.functional as F, os
from PIL import Image
from safetensors.numpy import load_file
HERE = os.path.dirname(os.path.abspath(__file__))
os.chdir(os.path.dirname(os.path.dirname(HERE)))
ref = load_file("Fixtures/preprocess/reference.safetensors")
MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073]); STD = torch.tensor([0.26862954, 0.26130258, 0.27577711])
from transformers.image_transforms import convert_to_rgb
for key, want in ref.items():
    cfg, name = key.split("/")
    size, crop = (64, 56) if cfg == "config-64" else (224, 224)
    im = convert_to_rgb(Image.open(f"Fixtures/preprocess/{name}"), return_numpy=True)
    t = torch.from_numpy(im).permute(2, 0, 1)[None].float()
    h, w = t.shape[-2:]
    short, long = (w, h) if w <= h else (h, w)
    nl = int(size * long / short)
    nh, nw = (nl, size) if w <= h else (size, nl)
    r = F.interpolate(t, size=(nh, nw), mode="bicubic", antialias=True, align_corners=False).round().clamp(0, 255)
    top, left = (nh - crop) // 2, (nw - crop) // 2
    r = r[..., top:top + crop, left:left + crop][0]
    out = (r - (MEAN * 255)[:, None, None]) / (STD * 255)[:, None, None]
    d = np.abs(out.numpy() - want)
    levels = np.abs(r.numpy() - np.round(want * (STD.numpy()[:, None, None]) * 255 + MEAN.numpy()[:, None, None] * 255))
    print(f"{key:45s} max|diff| {d.max():.4f}  mean {d.mean():.5f}  pixels differing {np.mean(levels > 0.5) * 100:.1f}%  max levels {levels.max():.0f}")
