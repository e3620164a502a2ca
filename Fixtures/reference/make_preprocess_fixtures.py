#!/usr/bin/env python3
"""Reference pixel tensors for PreprocessParityTests.

Versions: Python 3.11.7, transformers 5.23.0, Pillow 13.0.0, numpy 2.4.6, safetensors 0.8.0;
torchvision NOT installed, so CLIPImageProcessor.from_pretrained falls back to the
Pillow backend (CLIPImageProcessorPil) -- the one this script checks it got.

    python Fixtures/reference/make_preprocess_fixtures.py [KODAK_DIR]

KODAK_DIR defaults to ../shared/images/kodak (kodim*.png, 768x512). Writes, under
Fixtures/preprocess/:
  *.png                      small test images (crops of Kodak at odd sizes, gray,
                             RGBA, gray+alpha, portrait, landscape)
  config-64/preprocessor_config.json   shortest_edge 64, crop 56 (new-style keys)
  config-224/preprocessor_config.json  the openai/clip-vit-base-patch32 file (224)
  reference.safetensors      F32 [3, crop, crop] per case, named "<config>/<image>",
                             from CLIPImageProcessor.from_pretrained(config dir)
"""
import json
import os
import sys

import numpy as np
import PIL
import transformers
from PIL import Image
from safetensors.numpy import save_file
from transformers import CLIPImageProcessor

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.dirname(HERE)
OUT = os.path.join(FIX, "preprocess")
REPO = os.path.dirname(FIX)
KODAK = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared", "images", "kodak")

MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]

CONFIGS = {
    "config-64": {
        "do_convert_rgb": True, "do_resize": True, "size": {"shortest_edge": 64}, "resample": 3,
        "do_center_crop": True, "crop_size": {"height": 56, "width": 56}, "do_rescale": True,
        "rescale_factor": 1 / 255, "do_normalize": True, "image_mean": MEAN, "image_std": STD,
        "image_processor_type": "CLIPImageProcessor",
    },
    # Verbatim keys of openai/clip-vit-base-patch32's preprocessor_config.json.
    "config-224": {
        "crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": MEAN, "image_std": STD,
        "resample": 3, "size": 224,
    },
}


def kodak(n):
    return Image.open(os.path.join(KODAK, f"kodim{n:02d}.png")).convert("RGB")


def make_images():
    imgs = {}
    # Landscape, odd sizes, upscaled to 64 (37x29 -> 81x64).
    imgs["kodim23-37x29.png"] = kodak(23).crop((400, 100, 437, 129))
    # Landscape, mild downscale (101x67 -> 96x64).
    imgs["kodim03-101x67.png"] = kodak(3).crop((300, 200, 401, 267))
    # Strong downscale, factor ~2.8 (179x181 -> 64x64... portrait-ish square).
    imgs["kodim05-179x181.png"] = kodak(5).crop((250, 150, 429, 331))
    # Portrait, upscaled long side (45x130 -> 64x184) then centre crop.
    imgs["kodim19-portrait-45x130.png"] = kodak(19).crop((200, 100, 245, 230))
    # Smaller than the crop after resizing? No: every resized short side is 64 >= 56.
    # Gray (mode L), 83x61.
    imgs["kodim08-gray-83x61.png"] = kodak(8).crop((100, 300, 183, 361)).convert("L")
    # RGBA with alpha from 0 to 255 (a ramp plus a fully transparent block).
    rgba = kodak(15).crop((300, 250, 370, 340)).convert("RGBA")
    a = np.tile(np.linspace(0, 255, 70).astype(np.uint8), (90, 1))
    a[:20, :20] = 0
    a[-15:, -15:] = 255
    rgba.putalpha(Image.fromarray(a, "L"))
    imgs["kodim15-rgba-70x90.png"] = rgba
    # Gray + alpha (mode LA), 40x50.
    la = kodak(1).crop((500, 100, 540, 150)).convert("L")
    la_a = ((np.arange(40)[None, :] * 7 + np.arange(50)[:, None] * 5) % 256).astype(np.uint8)
    la = Image.merge("LA", (la, Image.fromarray(la_a, "L")))
    imgs["kodim01-la-40x50.png"] = la
    # Flat mid-gray (exercises the kernel's normalisation on constant input).
    imgs["flat-gray-33x47.png"] = Image.new("RGB", (33, 47), (128, 128, 128))
    # Standard 224: a 320x213 crop (downscaled to 336x224? no: short 213 -> 224, upscale)
    # and a 700x470 one would be too large a fixture; 300x260 downscaled by 260/224.
    imgs["kodim23-300x260.png"] = kodak(23).crop((200, 100, 500, 360))
    return imgs


CASES = [("config-64", n) for n in [
    "kodim23-37x29.png", "kodim03-101x67.png", "kodim05-179x181.png", "kodim19-portrait-45x130.png",
    "kodim08-gray-83x61.png", "kodim15-rgba-70x90.png", "kodim01-la-40x50.png", "flat-gray-33x47.png",
]] + [("config-224", "kodim23-300x260.png")]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, cfg in CONFIGS.items():
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "preprocessor_config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
    for name, im in make_images().items():
        im.save(os.path.join(OUT, name), optimize=True)
    tensors = {}
    for cfg, img in CASES:
        proc = CLIPImageProcessor.from_pretrained(os.path.join(OUT, cfg))
        assert type(proc).__name__ == "CLIPImageProcessorPil", type(proc)
        im = Image.open(os.path.join(OUT, img))  # reopened from the PNG, as the Swift test reads it
        px = proc(images=im, return_tensors="np")["pixel_values"][0]
        assert px.dtype == np.float32, px.dtype
        tensors[f"{cfg}/{img}"] = np.ascontiguousarray(px)
        print(cfg, img, im.mode, im.size, "->", px.shape)
    save_file(tensors, os.path.join(OUT, "reference.safetensors"),
              metadata={"transformers": transformers.__version__, "pillow": PIL.__version__,
                        "processor": "CLIPImageProcessorPil"})


if __name__ == "__main__":
    main()
