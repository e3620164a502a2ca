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
    else:
        sys.exit(__doc__)
