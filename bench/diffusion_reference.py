#!/usr/bin/env python3
"""Helpers for bench/diffusion (not a test). Versions: Python 3.11.7,
torch 2.15.0, diffusers 0.42.1, safetensors 0.8.0, numpy 2.4.6.

    make-models DIR                 random full-size Kandinsky 2.2 UNet and MoVQ, diffusers layout:
                                    DIR/unet, DIR/movq (config.json + diffusion_pytorch_model.safetensors)
    torch TASK DIR THREADS RUNS LAT diffusers + PyTorch on CPU, f32: TASK is unet (one guided step,
                                    batch 2, LAT×LAT latents), decode or encode (MoVQ, 8·LAT square image);
                                    prints {"load", "first", "run", "runs"} in seconds
    flops LAT                       matmul/conv/attention FLOPs of each task, counted on the meta device
    drop FILE…                      fsync each file and drop it from the page cache
    make-pipeline DIR MODELS        a pipeline folder for the end-to-end tasks (the layout `unclip model
                                    pull kandinsky-2.2` makes): decoder/ links MODELS' UNet and MoVQ,
                                    decoder-inpaint/ a random full-size 9-channel UNet, prior/ a SMALL
                                    random CLIP image encoder with the real 1280-d projection (see below)
    torch-vary DIR EMB THREADS PNG  KandinskyV22Pipeline on DIR's decoder, DPM-Solver++ (from the decoder's
                                    scheduler config, as `unclip vary` builds it), 25 steps, guidance 4,
                                    512×512, the .emb's raw embedding and the image encoder's zero embed as
                                    the negative; saves PNG; prints {"load", "run"} in seconds
    big-photo OUT.png MASK.png      a 3000×2000 photo (Kodak kodim05, bicubic) and a 400×300 hole mask
    torch-prior DIR CAPTION THREADS KandinskyV22PriorPipeline on DIR's prior/, 25 steps, guidance 4; prints
                                    {"load", "run"} in seconds
    torch-generate DIR CAPTION THREADS PNG
                                    the prior as above, then KandinskyV22Pipeline at 512×512 as torch-vary

The prior's image encoder is small (ViT, 2 layers, 64 wide) because a random
ViT-bigG/14 (1.8 B parameters) would be another 7 GB to make and hold; in the
end-to-end `vary` task it only makes the negative embedding (one forward),
on both sides alike, so the ratio is the decoder's. For the same reason the
text encoder has the real widths (1280, 77 positions, the real 49408-token
vocabulary from ../shared/clip-vocab) but 2 layers instead of 32: it runs
once per caption, the prior 2 × 25 times. prior/prior is the full-size
PriorTransformer (bench/configs/kandinsky-2-2/prior.json, 1.0 B parameters,
4 GB in F32) with diffusers' default init, except clip_std = 1 (the default
0 would make every output the mean).

Each `torch` call is one task in a process of its own, so that the driver's
/usr/bin/time gives each task's peak RSS. The system OpenBLAS sgemm rate comes
from `bench/encode_reference.py sgemm`.
"""
import importlib.util
import json
import os
import sys
import time

CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs", "kandinsky-2-2")
WEIGHTS = "diffusion_pytorch_model.safetensors"


def config(name):
    with open(os.path.join(CONFIGS, name)) as f:
        return json.load(f)


def make_models(out):
    import torch
    from diffusers import UNet2DConditionModel, VQModel
    for sub, cls, cfg in (("movq", VQModel, "movq.json"), ("unet", UNet2DConditionModel, "unet.json")):
        d = os.path.join(out, sub)
        if os.path.exists(os.path.join(d, WEIGHTS)):
            continue
        torch.manual_seed(0)
        t = time.perf_counter()
        # diffusers' (PyTorch's) default init; f32. One model alive at a time:
        # the UNet is 5 GB, and safetensors copies it once more while saving.
        model = cls.from_config(config(cfg)).eval()
        n = sum(p.numel() for p in model.parameters())
        # One file, as the hub's checkpoints are (the default would shard above 10 GB only,
        # but say so rather than depend on it).
        model.save_pretrained(d, safe_serialization=True, max_shard_size="100GB")
        del model
        print(f"{sub}: {n / 1e6:.0f} M parameters, {os.path.getsize(os.path.join(d, WEIGHTS)) / 2**20:.0f} MB, "
              f"made in {time.perf_counter() - t:.0f} s", file=sys.stderr)


def drop(files):
    # Written pages stay cached in small pieces; dropped and read back (by the
    # first run of either side) they are cached as a reader caches them.
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)


def inputs(task, lat, device=None):
    import torch
    g = torch.Generator().manual_seed(0)
    rand = lambda *s: torch.randn(*s, generator=g).to(device) if device else torch.randn(*s, generator=g)
    if task == "unet":
        # A guided step: the negative and the positive image embedding in one batch of 2.
        return dict(sample=rand(2, 4, lat, lat), timestep=500, encoder_hidden_states=None,
                    added_cond_kwargs={"image_embeds": rand(2, 1280)}, return_dict=False)
    if task == "decode":
        return dict(h=rand(1, 4, lat, lat), force_not_quantize=True, return_dict=False)
    return dict(x=rand(1, 3, 8 * lat, 8 * lat).mul(0.5).clamp(-1, 1), return_dict=False)


def call(model, task):
    return model if task == "unet" else model.decode if task == "decode" else model.encode


def bench_torch(task, model_dir, threads, runs, lat):
    import torch
    torch.set_num_threads(threads)
    from diffusers import UNet2DConditionModel, VQModel
    cls = UNet2DConditionModel if task == "unet" else VQModel
    sub = "unet" if task == "unet" else "movq"
    # Load: from_pretrained of the folder (config, safetensors, model), f32.
    # low_cpu_mem_usage as diffusers' default has it (True only with
    # accelerate installed), said explicitly to spare the warning.
    lcmu = importlib.util.find_spec("accelerate") is not None
    t0 = time.perf_counter()
    model = cls.from_pretrained(os.path.join(model_dir, sub), torch_dtype=torch.float32, low_cpu_mem_usage=lcmu).eval()
    load = time.perf_counter() - t0
    f, kw = call(model, task), inputs(task, lat)
    times = []
    with torch.inference_mode():
        # The first call is the warm-up (first-call allocations, oneDNN
        # primitive creation); it is reported as "first" but not in "run".
        for _ in range(runs + 1):
            t = time.perf_counter()
            out = f(**kw)[0]
            times.append(time.perf_counter() - t)
    print(json.dumps(dict(load=load, first=times[0], run=min(times[1:]), runs=times,
                          finite=bool(torch.isfinite(out).all()))))


def flops(lat):
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from diffusers import UNet2DConditionModel, VQModel
    res = {}
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(config("unet.json"))
        movq = VQModel.from_config(config("movq.json"))
    res["params_unet"] = sum(p.numel() for p in unet.parameters())
    res["params_movq"] = sum(p.numel() for p in movq.parameters())
    for task, model in (("unet", unet), ("decode", movq), ("encode", movq)):
        with torch.inference_mode(), FlopCounterMode(display=False) as fc:
            call(model, task)(**inputs(task, lat, "meta"))
        res[task] = fc.get_total_flops()
    print(json.dumps(res))


def make_pipeline(out, models):
    import shutil
    import torch
    from diffusers import UNet2DConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection
    for part, sched in (("decoder", "scheduler.json"), ("decoder-inpaint", "scheduler-inpaint.json")):
        d = os.path.join(out, part)
        os.makedirs(os.path.join(d, "scheduler"), exist_ok=True)
        shutil.copy(os.path.join(CONFIGS, sched), os.path.join(d, "scheduler", "scheduler_config.json"))
        link = os.path.join(d, "movq")
        if not os.path.exists(link):
            os.symlink(os.path.abspath(os.path.join(models, "movq")), link)
    link = os.path.join(out, "decoder", "unet")
    if not os.path.exists(link):
        os.symlink(os.path.abspath(os.path.join(models, "unet")), link)
    d = os.path.join(out, "decoder-inpaint", "unet")
    if not os.path.exists(os.path.join(d, WEIGHTS)):
        torch.manual_seed(1)
        t = time.perf_counter()
        model = UNet2DConditionModel.from_config(config("unet-inpaint.json")).eval()
        model.save_pretrained(d, safe_serialization=True, max_shard_size="100GB")
        del model
        print(f"inpaint unet made in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    enc = os.path.join(out, "prior", "image_encoder")
    if not os.path.exists(os.path.join(enc, "model.safetensors")):
        torch.manual_seed(2)
        real = config("image_encoder.json")
        cfg = CLIPVisionConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                               image_size=real["image_size"], patch_size=real["patch_size"],
                               projection_dim=real["projection_dim"], hidden_act=real["hidden_act"],
                               layer_norm_eps=real["layer_norm_eps"])
        CLIPVisionModelWithProjection(cfg).eval().save_pretrained(enc)
        proc = os.path.join(out, "prior", "image_processor")
        os.makedirs(proc, exist_ok=True)
        shutil.copy(os.path.join(CONFIGS, "image_processor.json"), os.path.join(proc, "preprocessor_config.json"))
    make_prior(os.path.join(out, "prior"))


def make_prior(prior):
    import shutil
    import torch
    from diffusers import PriorTransformer
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection
    real = config("prior.json")
    sched = os.path.join(prior, "scheduler")
    os.makedirs(sched, exist_ok=True)
    shutil.copy(os.path.join(CONFIGS, "prior-scheduler.json"), os.path.join(sched, "scheduler_config.json"))
    tok = os.path.join(prior, "tokenizer")
    if not os.path.exists(os.path.join(tok, "merges.txt")):
        os.makedirs(tok, exist_ok=True)
        vocab = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "clip-vocab")
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(vocab, f), os.path.join(tok, f))
        special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
                   "unk_token": "<|endoftext|>"}
        with open(os.path.join(tok, "special_tokens_map.json"), "w") as f:
            json.dump(special, f)
        with open(os.path.join(tok, "tokenizer_config.json"), "w") as f:
            json.dump(dict(special, model_max_length=real["num_embeddings"], do_lower_case=True,
                           tokenizer_class="CLIPTokenizer"), f)
    text = os.path.join(prior, "text_encoder")
    if not os.path.exists(os.path.join(text, "model.safetensors")):
        torch.manual_seed(3)
        d = real["embedding_dim"]
        cfg = CLIPTextConfig(hidden_size=d, intermediate_size=2 * d, num_hidden_layers=2, num_attention_heads=20,
                             max_position_embeddings=real["num_embeddings"], vocab_size=49408, projection_dim=d,
                             hidden_act="gelu", layer_norm_eps=1e-5, bos_token_id=49406, eos_token_id=49407,
                             pad_token_id=49407)
        CLIPTextModelWithProjection(cfg).eval().save_pretrained(text)
    d = os.path.join(prior, "prior")
    if not os.path.exists(os.path.join(d, WEIGHTS)):
        torch.manual_seed(4)
        t = time.perf_counter()
        model = PriorTransformer.from_config(real).eval()
        with torch.no_grad():
            model.clip_std.fill_(1.0)
        n = sum(p.numel() for p in model.parameters())
        model.save_pretrained(d, safe_serialization=True, max_shard_size="100GB")
        del model
        print(f"prior: {n / 1e6:.0f} M parameters, made in {time.perf_counter() - t:.0f} s", file=sys.stderr)


def prior_pipeline(pipe_dir):
    """KandinskyV22PriorPipeline from the parts in pipe_dir/prior (loaded as `unclip` loads them)."""
    from diffusers import KandinskyV22PriorPipeline, PriorTransformer, UnCLIPScheduler
    from transformers import (CLIPImageProcessor, CLIPTextModelWithProjection, CLIPTokenizer,
                              CLIPVisionModelWithProjection)
    p = os.path.join(pipe_dir, "prior")
    pipe = KandinskyV22PriorPipeline(
        prior=PriorTransformer.from_pretrained(os.path.join(p, "prior")).eval(),
        image_encoder=CLIPVisionModelWithProjection.from_pretrained(os.path.join(p, "image_encoder")).eval(),
        text_encoder=CLIPTextModelWithProjection.from_pretrained(os.path.join(p, "text_encoder")).eval(),
        tokenizer=CLIPTokenizer.from_pretrained(os.path.join(p, "tokenizer")),
        scheduler=UnCLIPScheduler.from_pretrained(os.path.join(p, "scheduler")),
        image_processor=CLIPImageProcessor.from_pretrained(os.path.join(p, "image_processor")))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def torch_prior(pipe_dir, caption, threads, png=None):
    t0 = time.perf_counter()
    import torch
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    t_import = time.perf_counter()
    prior = prior_pipeline(pipe_dir)
    if png:
        from diffusers import DDPMScheduler, DPMSolverMultistepScheduler, KandinskyV22Pipeline, UNet2DConditionModel, VQModel
        dec = os.path.join(pipe_dir, "decoder")
        cfg = DDPMScheduler.from_pretrained(os.path.join(dec, "scheduler")).config
        decoder = KandinskyV22Pipeline(unet=UNet2DConditionModel.from_pretrained(os.path.join(dec, "unet")).eval(),
                                       scheduler=DPMSolverMultistepScheduler.from_config(cfg),
                                       movq=VQModel.from_pretrained(os.path.join(dec, "movq")).eval())
        decoder.set_progress_bar_config(disable=True)
    t_load = time.perf_counter()
    out = prior(caption, num_inference_steps=25, guidance_scale=4.0, generator=torch.Generator().manual_seed(0))
    if png:
        decoder(image_embeds=out.image_embeds, negative_image_embeds=out.negative_image_embeds, height=512, width=512,
                num_inference_steps=25, guidance_scale=4.0, generator=torch.Generator().manual_seed(0)).images[0].save(png)
    t_end = time.perf_counter()
    print(json.dumps({"import": t_import - t0, "load": t_load - t_import, "run": t_end - t_load}))


def torch_vary(pipe_dir, emb_path, threads, png):
    t0 = time.perf_counter()
    import torch
    from diffusers import DPMSolverMultistepScheduler, DDPMScheduler, KandinskyV22Pipeline, UNet2DConditionModel, VQModel
    from safetensors import safe_open
    from transformers import CLIPVisionModelWithProjection
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    t_import = time.perf_counter()
    dec = os.path.join(pipe_dir, "decoder")
    unet = UNet2DConditionModel.from_pretrained(os.path.join(dec, "unet")).eval()
    movq = VQModel.from_pretrained(os.path.join(dec, "movq")).eval()
    cfg = DDPMScheduler.from_pretrained(os.path.join(dec, "scheduler")).config
    pipe = KandinskyV22Pipeline(unet=unet, scheduler=DPMSolverMultistepScheduler.from_config(cfg), movq=movq)
    pipe.set_progress_bar_config(disable=True)
    enc = CLIPVisionModelWithProjection.from_pretrained(os.path.join(pipe_dir, "prior", "image_encoder")).eval()
    t_load = time.perf_counter()
    with safe_open(emb_path, "pt") as f:
        norm = float(f.metadata()["norm"])
        emb = (f.get_tensor("embedding") * norm)[None]
    S = enc.config.image_size
    neg = enc(torch.zeros(1, 3, S, S)).image_embeds
    image = pipe(image_embeds=emb, negative_image_embeds=neg, height=512, width=512, num_inference_steps=25,
                 guidance_scale=4.0, generator=torch.Generator().manual_seed(0)).images[0]
    image.save(png)
    t_end = time.perf_counter()
    print(json.dumps({"import": t_import - t0, "load": t_load - t_import, "run": t_end - t_load}))


def big_photo(out, mask_out):
    import numpy as np
    from PIL import Image
    kodak = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "images", "kodak")
    im = Image.open(os.path.join(kodak, "kodim05.png")).convert("RGB")
    im.resize((3000, 2000), Image.Resampling.BICUBIC).save(out)
    m = np.zeros((2000, 3000), dtype=np.uint8)
    m[850:1150, 1300:1700] = 255
    Image.fromarray(m).save(mask_out)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make-models":
        make_models(sys.argv[2])
    elif cmd == "torch":
        bench_torch(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    elif cmd == "flops":
        flops(int(sys.argv[2]))
    elif cmd == "drop":
        drop(sys.argv[2:])
    elif cmd == "make-pipeline":
        make_pipeline(sys.argv[2], sys.argv[3])
    elif cmd == "torch-vary":
        torch_vary(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif cmd == "torch-prior":
        torch_prior(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "torch-generate":
        torch_prior(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif cmd == "big-photo":
        big_photo(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
