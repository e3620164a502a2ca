#!/usr/bin/env python3
"""Tiny random-weight CLIP checkpoints and transformers reference embeddings.

Versions used to produce the committed fixtures (the Swift tests never run
Python; rerun this only to regenerate):
    Python 3.11.7, torch 2.15.0 (CPU), transformers 5.23.0, tokenizers 0.23.3,
    safetensors 0.8.0, pillow 13.0.0, numpy 2.4.6

    python Fixtures/reference/make_clip_fixtures.py

Writes, for each model under Fixtures/clip/<name>/:
    config.json, model.safetensors, vocab.json, merges.txt,
    preprocessor_config.json               (the HF layout `unclip --model` reads)
    reference.safetensors                  (inputs + transformers outputs):
        pixels        F32 [B, 3, S, S]   fixed normalised pixel tensors
        image_embeds  F32 [B, P]         CLIPModel.get_image_features, L2-normalised
        input_ids     I32 [T, L]         token ids (padded with EOS to L)
        text_embeds   F32 [T, P]         CLIPModel.get_text_features, L2-normalised
        file_pixels   F32 [F, 3, S, S]   CLIPImageProcessorPil on Fixtures/clip-images/*.png
        file_embeds   F32 [F, P]         image embeddings of those pixels
        caption_ids   I32 [C, L]         CLIPTokenizer on `captions` (metadata), EOS-padded
        caption_embeds F32 [C, P]        text embeddings of the captions
and the small crops in Fixtures/clip-images/ (from the Kodak set).

The weights are drawn with unit-scale variance (not HF's 0.02 init) so the
activations are far from trivial: near-zero weights would make almost any
implementation agree with the reference.
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import CLIPConfig, CLIPModel, CLIPTokenizer
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIX = os.path.join(ROOT, "Fixtures")
KODAK = os.path.join(ROOT, "..", "shared", "images", "kodak")
VOCAB = os.path.join(ROOT, "..", "shared", "clip-vocab")
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
CAPTIONS = ["a photo of a cat", "red", "A Lighthouse by the sea at dusk!", "it's 2 o'clock"]

MODELS = [
    # name, vision (hidden, layers, heads, mlp, patch, image), text (hidden, layers, heads, mlp),
    # projection, act, eos rule, dtype
    dict(name="tiny-gelu", vision=(64, 2, 4, 128, 8, 32), text=(48, 2, 4, 96), proj=32,
         act="gelu", eos_legacy=True, dtype=torch.float32, eps=1e-5),
    dict(name="tiny-quickgelu-f16", vision=(48, 3, 3, 192, 16, 64), text=(32, 3, 2, 64), proj=24,
         act="quick_gelu", eos_legacy=False, dtype=torch.float16, eps=1e-6),
]
VOCAB_SIZE = 1000  # 512 byte tokens + 486 merges + 2 special tokens


def reduced_vocab(out_dir, size=VOCAB_SIZE):
    """The real CLIP BPE files cut to `size` ids: ids 0..511 are the byte
    alphabet (with and without </w>), id 512+i is merge i, so keeping the
    first size - 514 merges keeps a consistent tokenizer; the special tokens
    move to the last two ids (998 and 999 for the default 1000)."""
    with open(os.path.join(VOCAB, "vocab.json")) as f:
        vocab = json.load(f)
    with open(os.path.join(VOCAB, "merges.txt")) as f:
        lines = f.read().split("\n")
    header, merges = lines[0], [l for l in lines[1:] if l]
    n_merges = size - 512 - 2
    small = {tok: i for tok, i in vocab.items() if i < 512 + n_merges}
    assert len(small) == 512 + n_merges
    small["<|startoftext|>"] = size - 2
    small["<|endoftext|>"] = size - 1
    with open(os.path.join(out_dir, "vocab.json"), "w") as f:
        json.dump(small, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w") as f:
        f.write(header + "\n" + "\n".join(merges[:n_merges]) + "\n")


def make_crops():
    """Three small crops (landscape, portrait, square) for end-to-end tests."""
    out = os.path.join(FIX, "clip-images")
    os.makedirs(out, exist_ok=True)
    specs = [("kodim03", 96, 64), ("kodim04", 64, 96), ("kodim23", 80, 80)]
    paths = []
    for stem, w, h in specs:
        im = Image.open(os.path.join(KODAK, stem + ".png")).convert("RGB")
        im = im.resize((im.width // 4, im.height // 4), Image.Resampling.LANCZOS)
        x0, y0 = (im.width - w) // 2, (im.height - h) // 2
        p = os.path.join(out, f"{stem}-{w}x{h}.png")
        im.crop((x0, y0, x0 + w, y0 + h)).save(p)
        paths.append(p)
    return paths


def randomise(model, gen):
    """Unit-scale random weights: linear weights ~ N(0, 1/fan_in), layer-norm
    gains around 1, biases and embeddings of order 0.1-1."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                continue
            r = torch.randn(p.shape, generator=gen, dtype=torch.float64)
            if "norm" in name and name.endswith("weight"):
                v = 1 + 0.2 * r
            elif name.endswith("bias"):
                v = 0.1 * r
            elif p.dim() >= 2 and "embedding" not in name:
                v = r / np.sqrt(p[0].numel())
            else:
                v = 0.5 * r
            p.copy_(v.to(p.dtype))


def build(spec, crops):
    name = spec["name"]
    out = os.path.join(FIX, "clip", name)
    os.makedirs(out, exist_ok=True)
    vh, vl, vheads, vmlp, patch, size = spec["vision"]
    th, tl, theads, tmlp = spec["text"]
    eos = 2 if spec["eos_legacy"] else VOCAB_SIZE - 1
    config = CLIPConfig(
        text_config=dict(vocab_size=VOCAB_SIZE, hidden_size=th, intermediate_size=tmlp,
                         num_hidden_layers=tl, num_attention_heads=theads, max_position_embeddings=77,
                         hidden_act=spec["act"], layer_norm_eps=spec["eps"], projection_dim=spec["proj"],
                         bos_token_id=VOCAB_SIZE - 2, eos_token_id=eos, pad_token_id=1),
        vision_config=dict(hidden_size=vh, intermediate_size=vmlp, num_hidden_layers=vl,
                           num_attention_heads=vheads, image_size=size, patch_size=patch,
                           hidden_act=spec["act"], layer_norm_eps=spec["eps"], projection_dim=spec["proj"]),
        projection_dim=spec["proj"],
    )
    gen = torch.Generator().manual_seed(1234 + len(name))
    model = CLIPModel(config).eval()
    randomise(model, gen)
    # Round through the storage type so the reference sees exactly the stored weights.
    model = model.to(spec["dtype"]).to(torch.float32).eval()
    model.config.torch_dtype = None
    model.save_pretrained(out, safe_serialization=True)
    if spec["dtype"] != torch.float32:
        state = {k: v.to(spec["dtype"]).contiguous() for k, v in model.state_dict().items()}
        save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    reduced_vocab(out)
    proc = CLIPImageProcessorPil(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                                 image_mean=MEAN, image_std=STD)
    proc.save_pretrained(out)
    tok = CLIPTokenizer(os.path.join(out, "vocab.json"), os.path.join(out, "merges.txt"))

    def feats(fn, x):
        with torch.no_grad():
            y = fn(x)
            y = getattr(y, "pooler_output", y)
        return torch.nn.functional.normalize(y.to(torch.float64), dim=-1).to(torch.float32)

    pixels = torch.randn((3, 3, size, size), generator=gen)
    bos, end = VOCAB_SIZE - 2, VOCAB_SIZE - 1
    seqs = [[bos, 320, 1929, 539, 320, 2368, end],       # ordinary
            [bos, end],                                  # empty caption
            [bos] + [int(t) for t in torch.randint(3, 997, (20,), generator=gen)] + [end],
            [bos] + [int(t) for t in torch.randint(3, 997, (75,), generator=gen)] + [end]]  # full 77
    seqs = [[min(t, VOCAB_SIZE - 3) if 0 < i < len(s) - 1 else t for i, t in enumerate(s)] for s in seqs]
    L = max(len(s) for s in seqs)
    ids = torch.tensor([s + [end] * (L - len(s)) for s in seqs], dtype=torch.long)

    caption_ids = [tok(c)["input_ids"] for c in CAPTIONS]
    CL = max(len(s) for s in caption_ids)
    cids = torch.tensor([s + [end] * (CL - len(s)) for s in caption_ids], dtype=torch.long)

    file_px = torch.tensor(np.stack([proc(Image.open(p).convert("RGB"), return_tensors="np")["pixel_values"][0]
                                     for p in crops]), dtype=torch.float32)
    ref = {
        "pixels": pixels.contiguous(),
        "image_embeds": feats(model.get_image_features, pixels),
        "input_ids": ids.to(torch.int32),
        "text_embeds": feats(model.get_text_features, ids),
        "file_pixels": file_px.contiguous(),
        "file_embeds": feats(model.get_image_features, file_px),
        "caption_ids": cids.to(torch.int32),
        "caption_embeds": feats(model.get_text_features, cids),
    }
    meta = {"captions": json.dumps(CAPTIONS), "images": json.dumps([os.path.basename(p) for p in crops]),
            "text_lengths": json.dumps([len(s) for s in seqs]),
            "caption_lengths": json.dumps([len(s) for s in caption_ids]),
            "versions": f"torch {torch.__version__}, transformers {__import__('transformers').__version__}"}
    save_file(ref, os.path.join(out, "reference.safetensors"), metadata=meta)
    for f in sorted(os.listdir(out)):
        print(f"{name}/{f}: {os.path.getsize(os.path.join(out, f))} bytes")


if __name__ == "__main__":
    torch.manual_seed(0)
    crops = make_crops()
    for spec in MODELS:
        build(spec, crops)
