#!/usr/bin/env python3
"""Tiny random-weight Kandinsky 2.2 decoder checkpoints and diffusers reference outputs.

Versions used to produce the committed fixtures (the Swift tests never run
Python; rerun this only to regenerate):
    Python 3.11.7, torch 2.15.0 (CPU), transformers 5.23.0, diffusers 0.42.1,
    safetensors 0.8.0, pillow 13.0.0, numpy 2.4.6

    python Fixtures/reference/make_diffusion_fixtures.py

It also writes the full-size real Kandinsky 2.2 configs to
bench/configs/kandinsky-2-2/ (see REAL_* below for where each came from).

Writes, for X in {a, b}, under Fixtures/diffusion/tiny-X/ (the hub layout of
kandinsky-community/kandinsky-2-2-{prior,decoder,decoder-inpaint}):
    prior/image_encoder/{config.json, model.safetensors}   CLIPVisionModelWithProjection, F32
    prior/text_encoder/{config.json, model.safetensors}    CLIPTextModelWithProjection, F32 (vocabulary 1000, 16 positions,
                                                           as wide as the image embedding, as the real one is)
    prior/prior/config.json + weights                      PriorTransformer (REAL_PRIOR shrunk; tiny-b also with
                                                           norm_in and embedding_proj_norm), every tensor random
    prior/scheduler/scheduler_config.json                  REAL_PRIOR_SCHEDULER
    prior/tokenizer/{vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json}
                                                           the real CLIP BPE cut to 1000 ids (write_tokenizer)
    prior/image_processor/preprocessor_config.json         the real file's (legacy) format, sizes shrunk
    prior/model_index.json                                 KandinskyV22PriorPipeline's
    decoder/model_index.json
    decoder/unet/config.json + weights                     UNet2DConditionModel, in_channels 4
    decoder/movq/config.json + weights                     VQModel (MoVQ), norm_type "spatial"
    decoder/scheduler/scheduler_config.json                the REAL decoder scheduler config, verbatim
    decoder-inpaint/model_index.json
    decoder-inpaint/unet/...                               in_channels 9
    decoder-inpaint/movq/...                               byte-identical to decoder/movq
    decoder-inpaint/scheduler/scheduler_config.json        the REAL inpaint scheduler config, verbatim
    reference.safetensors                                  inputs + diffusers outputs (below)
  weights: tiny-a  all F32 `diffusion_pytorch_model.safetensors`;
           tiny-b  UNets only as the fp16 variant `diffusion_pytorch_model.fp16.safetensors`,
                   MoVQ as `diffusion_pytorch_model.safetensors` holding BF16 tensors.
  Every reference is computed in F32 from the weights as stored (rounded to
  fp16/bf16 first, then widened), i.e. exactly what a loader that widens gets.

reference.safetensors (all floats F32, NCHW as torch gives them; ints I64;
`__metadata__` holds JSON strings: configs, timesteps, sizes, versions). D is
the image-embedding width (encoder_hid_dim = CLIP projection_dim), S the CLIP
image size, h x w a latent size; "{t}" a timestep, "{i}" a step index.
    unet/sample [2,4,8,12]  unet/image_embeds [2,D]  unet/timesteps I64 [3] = 999, 500, 37
    unet/out.{t} [2,8,8,12]                 full 8-channel output (eps ++ learned variance)
    captured during the forward at t = 999:
    unet/t_emb [2,C0]                       time_proj (sinusoid) output
    unet/emb [2,4*C0]                       time_embedding(t_emb) + add_embedding(image_embeds): what blocks get
    unet/encoder_hidden_states [2,32,X]     encoder_hid_proj (ImageProjection: Linear, reshape to 32 tokens, LayerNorm)
    unet/conv_in.out
    unet/down_blocks.{i}.in / .out / .res.{j}    block input, output, and its tuple of residual states
    unet/mid_block.in / .out
    unet/up_blocks.{i}.in / .out / .res.{j}      input, output, res_hidden_states_tuple received (tuple order)
    unet/conv_norm_out.in
    inpaint_unet/sample [2,9,8,12]  inpaint_unet/image_embeds [2,D]  inpaint_unet/timesteps  inpaint_unet/out.{t}
    movq/encode.in [1,3,16,24] in [-1,1]    movq/encode.out = movq.encode(x).latents
    movq/encoder.down_blocks.{i}.out  movq/encoder.mid_block.out  movq/encoder.out (before quant_conv)
    movq/decode.in [1,4,h,w] ~N(0,1)        movq/decode.out = movq.decode(z, force_not_quantize=True).sample
    movq/post_quant_conv.out  movq/decoder.conv_in.out  movq/decoder.mid_block.out  movq/decoder.up_blocks.{i}.out
    sched/alphas_cumprod [1000]             the F32 table every scheduler here builds
    sched/{ddpm,ddim,dpmpp,ddim_inverse}/n{5,25}/: timesteps I64, init_noise_sigma [1], sample.0 [1,4,6,10],
        model_output.{i} [1,4,6,10], sample.{i+1} (= step's prev_sample); ddpm also noise.{i} (the variance
        noise DDPMScheduler.step drew); dpmpp also sigmas [n+1]
    sched/ddpm/add_noise.{in,noise,out} [4,4,6,10]  sched/ddpm/add_noise.t I64 [4]
    invert/pixels [1,3,32,48]  invert/latents [1,4,h,w] (= movq.encode(pixels).latents)
    invert/image_embeds [1,D]  invert/timesteps I64 [5]  invert/sample.{0..5} (0 = latents, 5 = xT)
    invert/noise_pred.{i}  invert/xT
    image_encoder/pixel_values [2,3,S,S]  image_encoder/image_embeds [2,D] (unnormalised)
    zero_embed/image_embeds [1,D]           image_encoder(zeros [1,3,S,S]).image_embeds (get_zero_embed)
    text_encoder/input_ids I64 [4,16] (BOS … EOS, EOS-padded; lengths in metadata)  text_encoder/text_embeds [4,D]
    pipe/image_embeds [1,D]  pipe/negative_image_embeds [1,D] (= zero embed)  pipe/latents [1,4,h,w]
    pipe/height, pipe/width, pipe/num_inference_steps I64 [1], pipe/guidance_scale [1] (also metadata, with
        aliases "pipe/steps", "pipe/guidance", and "pipe/latent_size")
    pipe/{ddpm,ddim,dpmpp}/image [1,32,48,3] in [0,1]   .../image_u8 U8 [32,48,3] (the PIL output's pixels)
    pipe/{s}/latents_final (what movq.decode got)  pipe/{s}/latents.{i} (after step i)  pipe/{s}/timesteps
    pipe/ddpm/noise.{i}                     variance noise drawn in step i
    pipe_inpaint/image U8 [32,48,3]  pipe_inpaint/mask [32,48] (1 = repaint)  pipe_inpaint/latents
    pipe_inpaint/image_embeds  pipe_inpaint/negative_image_embeds
    pipe_inpaint/image_latents [1,4,h,w]    movq.encode(image).latents
    pipe_inpaint/masked_image_latents [1,4,h,w], pipe_inpaint/mask_latent [1,1,h,w] (1 = KEEP): UNet input
        channels 4..7 and 8 exactly as the UNet received them
    pipe_inpaint/{ddpm,ddim}/image, image_u8, latents_final, latents.{i}, timesteps; ddpm also noise.{i}
    pipe_img2img/image U8 [32,32,3] (square: see img2img_reference)  pipe_img2img/image_embeds  pipe_img2img/negative_image_embeds
    pipe_img2img/strength [1] (0.6: 3 of the 5 steps run)
    pipe_img2img/{ddpm,ddim}/noise [1,4,h,w]   what prepare_latents drew to noise the image latents
    pipe_img2img/{ddpm,ddim}/image_latents     movq.encode(image).latents
    pipe_img2img/{ddpm,ddim}/image, image_u8, latents_final, latents.{i} (the 3 steps run), timesteps (all 5,
        as set_timesteps made them); ddpm also noise.{i}
    encode/image U8 [32,48,3]  encode/pixel_values [1,3,S,S] (prior/image_processor, Pillow)
    encode/image_embeds [1,D]               prior/image_encoder on them (unnormalised)
    encode/input_ids.{i} I64, encode/text_embeds.{i} [1,D]   captions (metadata "encode/captions") through
                                            prior/tokenizer (truncated to 16) and prior/text_encoder
    prior_forward/..., pipe_prior*/..., prior_sched/..., pipe_t2i/...: see prior_reference and
                                            prior_pipeline_reference

Fixtures/diffusion/pickle/ (for the .bin loader and its refusal tests; never unpickle the evil ones):
    unet.bin          torch.save(tiny-a decoder UNet state_dict()), default zip format (archive dir "unet/"); the
                      state dict is the usual OrderedDict carrying `_metadata` (GLOBAL collections OrderedDict,
                      BUILD), tensors via torch._utils._rebuild_tensor_v2 + persistent ids
    unet-legacy.bin   the same in the legacy format (torch.save(..., _use_new_zipfile_serialization=False)):
                      magic number, protocol 1001, sys info, the pickle, the storage-key list, raw storages
                      (each prefixed by its int64 element count). Written by legacy_torch_save(), torch's
                      steps with storage keys "0", "1", ... instead of memory addresses (reproducible bytes)
    evil-global.bin   zip-format torch file whose data.pkl is {"encoder.conv_in.weight": os.system("echo ...")}:
                      a GLOBAL 'os system' + REDUCE (opcodes written by hand, protocol 2)
    evil-legacy.bin   legacy-format torch file whose main pickle is {"weight": builtins.eval("'...'")}:
                      GLOBAL 'builtins eval' + REDUCE

Tiny configs (everything else is the real config's value; see SPECS):
    tiny-a  UNet [8, 16], layers_per_block 1, attention_head_dim 8, norm_num_groups 4, cross_attention_dim 16,
            encoder_hid_dim 24; MoVQ [32, 32], layers_per_block 1, norm_num_groups 8, 32 codes;
            CLIP vision 32 wide, 2 layers, 4 heads, MLP 64, image 32, patch 8, projection 24
    tiny-b  UNet [8, 12, 16], layers_per_block 2, attention_head_dim 4, norm_num_groups 2, cross_attention_dim 12,
            encoder_hid_dim 20; MoVQ [64, 32, 32], layers_per_block 2, norm_num_groups 4, 32 codes;
            CLIP vision 24 wide, 3 layers, 3 heads, MLP 40, image 28, patch 7, projection 20
The MoVQ widths are multiples of 32 because diffusers' SpatialNorm hard-codes
GroupNorm(32 groups, eps 1e-6) whatever norm_num_groups says (the decoder
needs it; the encoder uses norm_num_groups). tiny-b's MoVQ starts wide so that
both MoVQ resnet kinds get a 1x1 conv_shortcut while the deep levels stay cheap.

Weights are drawn at unit scale (conv/linear weights ~ N(0, 1/fan_in), norm
gains 1 + 0.3 N, biases 0.1 N, embeddings 0.5 N; not diffusers' init) so
activations stay O(1) and nothing is trivially near zero. MoVQ exceptions
(movq_adjust): SpatialNorm conv_y biases ~ 1 + 0.3 N; decoder.conv_norm_out's
conv_y/conv_b weights x0.01 and decoder.conv_out x0.4, so that pixels stay
mostly inside [-1, 1] even for the pipelines whose latents this random UNet
drives to std 10-40 (DPM-Solver++ and the unclipped inpainting schedulers);
the clamped fractions are printed and stored (metadata "clamped_fraction").

DDIM inversion loop used for invert/* (diffusers' usual one, cf. the DiffEdit /
Pix2Pix-Zero `invert`; no guidance, batch 1):
    inv = DDIMInverseScheduler.from_config(decoder_scheduler.config); inv.set_timesteps(5)
    latents = movq.encode(pixels).latents
    for t in inv.timesteps:                       # ascending: 1, 201, 401, 601, 801
        x = inv.scale_model_input(latents, t)     # identity
        eps = unet(x, t, encoder_hidden_states=None,
                   added_cond_kwargs={"image_embeds": image_embeds}).sample
        eps, _ = eps.split(4, dim=1)              # drop the learned-variance channels
        latents = inv.step(eps, t, latents).prev_sample
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save

import diffusers
import diffusers.schedulers.scheduling_ddpm as ddpm_module
from diffusers import (DDIMInverseScheduler, DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler,
                       KandinskyV22InpaintPipeline, KandinskyV22Pipeline, UNet2DConditionModel, VQModel)
from diffusers.utils.pil_utils import numpy_to_pil
from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPVisionConfig, CLIPVisionModelWithProjection

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_clip_fixtures import reduced_vocab  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Fixtures", "diffusion")
CONFIGS = os.path.join(ROOT, "bench", "configs", "kandinsky-2-2")
KODAK = os.path.join(ROOT, "..", "shared", "images", "kodak")

# ---------------------------------------------------------------------------
# The real Kandinsky 2.2 configs (full size).
#
# REAL_UNET: kandinsky-community/kandinsky-2-2-decoder unet/config.json (upload
#   4f3ca47, 1.67 kB). The file itself was not reachable; every value below is
#   as shown by two re-saves of it by later diffusers versions
#   (JVice/BAGM_kdsky_decoder_deep_1k, YiYiXu/yiyi_kandinsky_decoder, both
#   "_name_or_path": "kandinsky-community/kandinsky-2-2-decoder"), and the key
#   set is that of diffusers' Kandinsky 2.1 conversion script (the config keys
#   of diffusers 0.17); serialised like diffusers does it is 1666 bytes, i.e.
#   the hub's "1.67 kB". Keys the re-saves add (addition_time_embed_dim,
#   num_attention_heads, attention_type, dropout, ...) are diffusers defaults.
#   "_diffusers_version" is a guess (the MoVQ/scheduler files say 0.17.0.dev0).
# REAL_UNET_INPAINT: kandinsky-2-2-decoder-inpaint unet/config.json: not
#   reachable either; the decoder's with in_channels 9 (the inpaint UNet takes
#   latents ++ masked-image latents ++ mask).
# REAL_MOVQ: kandinsky-2-2-decoder movq/config.json, verbatim as quoted in a
#   VQGAN training README that copied it from the hub.
# REAL_SCHEDULER_TEXT: kandinsky-2-2-decoder scheduler/scheduler_config.json.
#   The hub shows the first version (e5c52c4, 318 B, "clip_sample" : false,
#   identical to the inpaint repo's); the current one (824f8d5, 317 B) is one
#   byte shorter, and every scheduler re-saved from the current decoder
#   (YiYiXu/yiyi_kandinsky_decoder, aditya11997/kandi2-decoder-3.1) has
#   clip_sample true with all other values as below; so: false -> true.
# REAL_SCHEDULER_INPAINT_TEXT: kandinsky-2-2-decoder-inpaint
#   scheduler/scheduler_config.json, verbatim (cfe16ca, 318 B).
# REAL_IMAGE_ENCODER: kandinsky-2-2-prior image_encoder/config.json as re-saved
#   by YiYiXu/kandinsky_prior_pokemon ("_name_or_path": "kandinsky-community/
#   kandinsky-2-2-prior"; ViT-bigG-14), minus _name_or_path.
# REAL_IMAGE_PROCESSOR: kandinsky-2-2-prior image_processor/
#   preprocessor_config.json, verbatim (bda551d, 315 B).
# ---------------------------------------------------------------------------
DOWN4 = ["ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D",
         "SimpleCrossAttnDownBlock2D"]
UP4 = ["SimpleCrossAttnUpBlock2D", "SimpleCrossAttnUpBlock2D", "SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"]
REAL_UNET = {
    "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.17.0.dev0",
    "act_fn": "silu", "addition_embed_type": "image", "addition_embed_type_num_heads": 64,
    "attention_head_dim": 64, "block_out_channels": [384, 768, 1152, 1536], "center_input_sample": False,
    "class_embed_type": None, "class_embeddings_concat": False, "conv_in_kernel": 3, "conv_out_kernel": 3,
    "cross_attention_dim": 768, "cross_attention_norm": None, "down_block_types": DOWN4, "downsample_padding": 1,
    "dual_cross_attention": False, "encoder_hid_dim": 1280, "encoder_hid_dim_type": "image_proj",
    "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4, "layers_per_block": 3,
    "mid_block_only_cross_attention": None, "mid_block_scale_factor": 1,
    "mid_block_type": "UNetMidBlock2DSimpleCrossAttn", "norm_eps": 1e-05, "norm_num_groups": 32,
    "num_class_embeds": None, "only_cross_attention": False, "out_channels": 8,
    "projection_class_embeddings_input_dim": None, "resnet_out_scale_factor": 1.0, "resnet_skip_time_act": False,
    "resnet_time_scale_shift": "scale_shift", "sample_size": 64, "time_cond_proj_dim": None,
    "time_embedding_act_fn": None, "time_embedding_dim": None, "time_embedding_type": "positional",
    "timestep_post_act": None, "up_block_types": UP4, "upcast_attention": False, "use_linear_projection": False,
}
REAL_UNET_INPAINT = dict(REAL_UNET, in_channels=9)
REAL_MOVQ = {
    "_class_name": "VQModel", "_diffusers_version": "0.17.0.dev0", "act_fn": "silu",
    "block_out_channels": [128, 256, 256, 512],
    "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "AttnDownEncoderBlock2D"],
    "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32, "norm_type": "spatial",
    "num_vq_embeddings": 16384, "out_channels": 3, "sample_size": 32, "scaling_factor": 0.18215,
    "up_block_types": ["AttnUpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
    "vq_embed_dim": 4,
}
_SCHED_LINES = ['"_class_name": "DDPMScheduler",', '"_diffusers_version": "0.17.0.dev0",',
                '"num_train_timesteps": 1000,', '"beta_schedule": "linear",', '"beta_start": 0.00085,',
                '"beta_end":0.012,', '"clip_sample" : {clip},', '"set_alpha_to_one" : false,', '"steps_offset" : 1,',
                '"prediction_type" : "epsilon",', '"thresholding" : false']


def _sched_text(clip):
    return "{\n" + "\n".join("  " + l.replace("{clip}", clip) for l in _SCHED_LINES) + "\n}\n"


REAL_SCHEDULER_TEXT = _sched_text("true")
REAL_SCHEDULER_INPAINT_TEXT = _sched_text("false")
REAL_IMAGE_ENCODER = {
    "architectures": ["CLIPVisionModelWithProjection"], "attention_dropout": 0.0, "dropout": 0.0,
    "hidden_act": "gelu", "hidden_size": 1664, "image_size": 224, "initializer_factor": 1.0,
    "initializer_range": 0.02, "intermediate_size": 8192, "layer_norm_eps": 1e-05, "model_type": "clip_vision_model",
    "num_attention_heads": 16, "num_channels": 3, "num_hidden_layers": 48, "patch_size": 14, "projection_dim": 1280,
    "torch_dtype": "float16", "transformers_version": "4.33.1",
}
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def image_processor_config(size):
    return {"crop_size": size, "do_center_crop": True, "do_normalize": True, "do_resize": True,
            "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": CLIP_MEAN, "image_std": CLIP_STD,
            "resample": 3, "size": size}


REAL_IMAGE_PROCESSOR = image_processor_config(224)
# REAL_PRIOR: kandinsky-2-2-prior prior/config.json. Not reachable here; the
#   values are those the prior issue quotes (20 layers, 32 heads x 64, 1280
#   wide, 77 text tokens + 4), the other keys PriorTransformer's defaults as
#   the Kandinsky conversion sets them (encoder_hid_proj "linear", added_emb
#   "prd", no input norms).
REAL_PRIOR = {
    "_class_name": "PriorTransformer", "_diffusers_version": "0.17.0.dev0", "added_emb_type": "prd",
    "additional_embeddings": 4, "attention_head_dim": 64, "clip_embed_dim": None, "dropout": 0.0,
    "embedding_dim": 1280, "embedding_proj_dim": None, "embedding_proj_norm_type": None,
    "encoder_hid_proj_type": "linear", "norm_in_type": None, "num_attention_heads": 32, "num_embeddings": 77,
    "num_layers": 20, "time_embed_act_fn": "silu", "time_embed_dim": None,
}
# REAL_PRIOR_SCHEDULER: the unCLIP prior's UnCLIPScheduler config as diffusers'
#   community README prints it for kakaobrain/karlo (sample prediction, clip
#   to +-5, fixed_small_log), which the Kandinsky prior repository reuses.
REAL_PRIOR_SCHEDULER = {
    "_class_name": "UnCLIPScheduler", "_diffusers_version": "0.17.0.dev0", "clip_sample": True,
    "clip_sample_range": 5.0, "num_train_timesteps": 1000, "prediction_type": "sample",
    "variance_type": "fixed_small_log",
}

# ---------------------------------------------------------------------------
# The two tiny pipelines. Everything not listed is the real config's value.
# ---------------------------------------------------------------------------
SPECS = [
    dict(name="tiny-a", seed=2200,
         unet=dict(block_out_channels=[8, 16], layers_per_block=1, attention_head_dim=8, norm_num_groups=4,
                   cross_attention_dim=16, encoder_hid_dim=24, sample_size=16,
                   down_block_types=["ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D"],
                   up_block_types=["SimpleCrossAttnUpBlock2D", "ResnetUpsampleBlock2D"]),
         movq=dict(block_out_channels=[32, 32], layers_per_block=1, norm_num_groups=8, num_vq_embeddings=32,
                   sample_size=32,
                   down_block_types=["DownEncoderBlock2D", "AttnDownEncoderBlock2D"],
                   up_block_types=["AttnUpDecoderBlock2D", "UpDecoderBlock2D"]),
         clip=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                   image_size=32, patch_size=8),
         text=dict(hidden_size=24, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4),
         prior=dict(num_attention_heads=2, attention_head_dim=8, num_layers=2),
         unet_dtype=torch.float32, movq_dtype=torch.float32, decode_latent=(6, 10)),
    dict(name="tiny-b", seed=2201,
         unet=dict(block_out_channels=[8, 12, 16], layers_per_block=2, attention_head_dim=4, norm_num_groups=2,
                   cross_attention_dim=12, encoder_hid_dim=20, sample_size=8,
                   down_block_types=["ResnetDownsampleBlock2D", "SimpleCrossAttnDownBlock2D",
                                     "SimpleCrossAttnDownBlock2D"],
                   up_block_types=["SimpleCrossAttnUpBlock2D", "SimpleCrossAttnUpBlock2D",
                                   "ResnetUpsampleBlock2D"]),
         movq=dict(block_out_channels=[64, 32, 32], layers_per_block=2, norm_num_groups=4, num_vq_embeddings=32,
                   sample_size=32,
                   down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D", "AttnDownEncoderBlock2D"],
                   up_block_types=["AttnUpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]),
         clip=dict(hidden_size=24, intermediate_size=40, num_hidden_layers=3, num_attention_heads=3,
                   image_size=28, patch_size=7),
         text=dict(hidden_size=20, intermediate_size=40, num_hidden_layers=3, num_attention_heads=4),
         prior=dict(num_attention_heads=3, attention_head_dim=4, num_layers=3, norm_in_type="layer",
                    embedding_proj_norm_type="layer"),
         unet_dtype=torch.float16, movq_dtype=torch.bfloat16, decode_latent=(4, 6)),
]
HEIGHT, WIDTH = 32, 48          # pipeline image size (pixels), non-square
STEPS, GUIDANCE = 5, 4.0
MOVQ_CONV_OUT_SCALE = 0.4       # keeps decoded pixels inside [-1, 1] (clamped fraction printed)
MOVQ_LAST_SPATIAL_NORM_SCALE = 0.01   # see movq_adjust
UNET_TIMESTEPS = [999, 500, 37]


# ---------------------------------------------------------------------------
def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def write_real_configs():
    write_json(os.path.join(CONFIGS, "unet.json"), REAL_UNET)
    write_json(os.path.join(CONFIGS, "unet-inpaint.json"), REAL_UNET_INPAINT)
    write_json(os.path.join(CONFIGS, "movq.json"), REAL_MOVQ)
    write_text(os.path.join(CONFIGS, "scheduler.json"), REAL_SCHEDULER_TEXT)
    write_text(os.path.join(CONFIGS, "scheduler-inpaint.json"), REAL_SCHEDULER_INPAINT_TEXT)
    write_json(os.path.join(CONFIGS, "image_encoder.json"), REAL_IMAGE_ENCODER)
    write_json(os.path.join(CONFIGS, "image_processor.json"), REAL_IMAGE_PROCESSOR)
    write_json(os.path.join(CONFIGS, "prior.json"), REAL_PRIOR)
    write_json(os.path.join(CONFIGS, "prior-scheduler.json"), REAL_PRIOR_SCHEDULER)


def movq_adjust(name, v, r):
    """MoVQ-specific scales. SpatialNorm multiplies the normalised features by conv_y(zq): its bias is drawn
    like a norm gain (1 + 0.3 N). The last one (decoder.conv_norm_out) sets the scale of the decoded pixels,
    so its zq-dependent weights are damped: a pipeline whose latents wander far from N(0, 1) (DPM-Solver++ and
    the unclipped inpainting DDPM/DDIM drive this random UNet's latents to std ~10-40) still decodes to
    mostly unclamped pixels. decoder.conv_out is scaled down for the same reason."""
    if name.endswith(".conv_y.bias"):
        return 1 + 0.3 * r
    if name in ("decoder.conv_norm_out.conv_y.weight", "decoder.conv_norm_out.conv_b.weight"):
        return v * MOVQ_LAST_SPATIAL_NORM_SCALE
    if name in ("decoder.conv_out.weight", "decoder.conv_out.bias"):
        return v * MOVQ_CONV_OUT_SCALE
    return v


def randomise(model, gen, adjust=None):
    """Unit-scale random values for every parameter (see the module docstring)."""
    norms = (torch.nn.GroupNorm, torch.nn.LayerNorm)
    seen = set()
    with torch.no_grad():
        for mname, mod in model.named_modules():
            for pname, p in mod.named_parameters(recurse=False):
                full = f"{mname}.{pname}" if mname else pname
                r = torch.randn(p.shape, generator=gen, dtype=torch.float64)
                if isinstance(mod, norms):
                    v = 1 + 0.3 * r if pname == "weight" else 0.1 * r
                elif pname == "bias":
                    v = 0.1 * r
                elif isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
                    v = r / math.sqrt(p[0].numel())
                else:  # VQ codebook, CLIP class / position embeddings
                    v = 0.5 * r
                if adjust is not None:
                    v = adjust(full, v, r)
                p.copy_(v.to(p.dtype))
                seen.add(full)
    missing = set(n for n, _ in model.named_parameters()) - seen
    assert not missing, missing


def read_json_compact(path):
    with open(path) as f:
        return json.dumps(json.load(f), sort_keys=True)


def save_canonical(tensors, path, metadata):
    """safetensors' save, with the header's __metadata__ and tensor entries in sorted order (the library writes
    them in hash-map order, so reruns would differ byte-wise). Data bytes and offsets are untouched."""
    blob = save(tensors, metadata=metadata)
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    canon = {"__metadata__": dict(sorted(header.pop("__metadata__").items()))}
    canon.update(sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]))
    text = json.dumps(canon, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + blob[8 + n:])
    back = load_file(path)
    assert back.keys() == tensors.keys() and all(torch.equal(back[k], tensors[k]) for k in tensors)


def round_to(model, dtype):
    """Round every parameter through `dtype` and back to F32."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).to(torch.float32))


def tiny_config(real, overrides):
    cfg = {k: v for k, v in real.items() if not k.startswith("_")}
    cfg.update(overrides)
    return cfg


def f32(x):
    return x.detach().to(torch.float32).contiguous().clone()


class Capture:
    """Forward (pre-)hooks that store the first value seen under a key."""

    def __init__(self, store, prefix):
        self.store, self.prefix, self.handles = store, prefix, []

    def put(self, key, value):
        key = self.prefix + key
        if key not in self.store:
            self.store[key] = f32(value)

    def out(self, module, key, pick=lambda o: o):
        self.handles.append(module.register_forward_hook(lambda m, a, o: self.put(key, pick(o))))

    def pre(self, module, fn):
        def hook(m, args, kwargs):
            fn(args, kwargs)      # returns None: leaves the call's arguments alone
        self.handles.append(module.register_forward_pre_hook(hook, with_kwargs=True))

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []


class NoiseRecorder:
    """Records what a scheduler module's randn_tensor returns (DDPMScheduler.step's by default)."""

    def __init__(self, module=ddpm_module):
        self.module = module

    def __enter__(self):
        self.noises, self.orig = [], self.module.randn_tensor

        def wrapped(*args, **kwargs):
            x = self.orig(*args, **kwargs)
            self.noises.append(f32(x))
            return x

        self.module.randn_tensor = wrapped
        return self

    def __exit__(self, *exc):
        self.module.randn_tensor = self.orig


# ---------------------------------------------------------------------------
def build_models(spec, root):
    torch.manual_seed(spec["seed"])
    gen = torch.Generator().manual_seed(spec["seed"])
    D = spec["unet"]["encoder_hid_dim"]

    unet_cfg = tiny_config(REAL_UNET, spec["unet"])
    unet = UNet2DConditionModel.from_config(unet_cfg).eval()
    randomise(unet, gen)
    inpaint = UNet2DConditionModel.from_config(dict(unet_cfg, in_channels=9)).eval()
    randomise(inpaint, gen)
    movq = VQModel.from_config(tiny_config(REAL_MOVQ, spec["movq"])).eval()
    randomise(movq, gen, adjust=movq_adjust)
    clip_cfg = CLIPVisionConfig(hidden_act="gelu", layer_norm_eps=1e-05, projection_dim=D, num_channels=3,
                                **spec["clip"])
    clip = CLIPVisionModelWithProjection(clip_cfg).eval()
    randomise(clip, gen)

    for m in (unet, inpaint):
        round_to(m, spec["unet_dtype"])
    round_to(movq, spec["movq_dtype"])

    dec, inp, prior = (os.path.join(root, d) for d in ("decoder", "decoder-inpaint", "prior"))
    for d in (dec, inp, prior):
        shutil.rmtree(d, ignore_errors=True)
    variant = "fp16" if spec["unet_dtype"] == torch.float16 else None
    unet.to(spec["unet_dtype"]).save_pretrained(os.path.join(dec, "unet"), variant=variant)
    inpaint.to(spec["unet_dtype"]).save_pretrained(os.path.join(inp, "unet"), variant=variant)
    movq.to(spec["movq_dtype"]).save_pretrained(os.path.join(dec, "movq"))
    shutil.copytree(os.path.join(dec, "movq"), os.path.join(inp, "movq"))
    write_text(os.path.join(dec, "scheduler", "scheduler_config.json"), REAL_SCHEDULER_TEXT)
    write_text(os.path.join(inp, "scheduler", "scheduler_config.json"), REAL_SCHEDULER_INPAINT_TEXT)
    for d, cls in ((dec, "KandinskyV22Pipeline"), (inp, "KandinskyV22InpaintPipeline")):
        write_json(os.path.join(d, "model_index.json"), {
            "_class_name": cls, "_diffusers_version": diffusers.__version__, "movq": ["diffusers", "VQModel"],
            "scheduler": ["diffusers", "DDPMScheduler"], "unet": ["diffusers", "UNet2DConditionModel"]})
    clip.save_pretrained(os.path.join(prior, "image_encoder"))
    write_json(os.path.join(prior, "image_processor", "preprocessor_config.json"),
               image_processor_config(spec["clip"]["image_size"]))
    write_json(os.path.join(prior, "model_index.json"), {
        "_class_name": "KandinskyV22PriorPipeline", "_diffusers_version": diffusers.__version__,
        "image_encoder": ["transformers", "CLIPVisionModelWithProjection"],
        "image_processor": ["transformers", "CLIPImageProcessor"], "prior": ["diffusers", "PriorTransformer"],
        "scheduler": ["diffusers", "UnCLIPScheduler"],
        "text_encoder": ["transformers", "CLIPTextModelWithProjection"], "tokenizer": ["transformers", "CLIPTokenizer"]})

    # Reload everything from disk, widened to F32: the references use exactly the stored weights.
    kw = dict(torch_dtype=torch.float32)
    unet2 = UNet2DConditionModel.from_pretrained(os.path.join(dec, "unet"), variant=variant, **kw).eval()
    inpaint2 = UNet2DConditionModel.from_pretrained(os.path.join(inp, "unet"), variant=variant, **kw).eval()
    movq2 = VQModel.from_pretrained(os.path.join(dec, "movq"), **kw).eval()
    clip2 = CLIPVisionModelWithProjection.from_pretrained(os.path.join(prior, "image_encoder"),
                                                          dtype=torch.float32).eval()
    for a, b in ((unet, unet2), (inpaint, inpaint2), (movq, movq2), (clip, clip2)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        for k in sa:
            assert sb[k].dtype == torch.float32 and torch.equal(sa[k].float(), sb[k]), k
    stored = {"unet": unet_dtype_name(os.path.join(dec, "unet")), "movq": unet_dtype_name(os.path.join(dec, "movq"))}
    print(f"{spec['name']}: stored dtypes {stored}; params unet {n_params(unet2)}, movq {n_params(movq2)}, "
          f"clip {n_params(clip2)}")
    return unet2, inpaint2, movq2, clip2


def unet_dtype_name(d):
    f = [x for x in os.listdir(d) if x.endswith(".safetensors")][0]
    return f, sorted({str(v.dtype) for v in load_file(os.path.join(d, f)).values()})


def n_params(m):
    return sum(p.numel() for p in m.parameters())


# ---------------------------------------------------------------------------
def unet_reference(ref, unet, prefix, sample, image_embeds, hooks):
    cap = Capture(ref, prefix + "/")
    if hooks:
        cap.out(unet.time_proj, "t_emb")
        cap.out(unet.encoder_hid_proj, "encoder_hidden_states")
        cap.out(unet.conv_in, "conv_in.out")
        cap.pre(unet.down_blocks[0], lambda a, k: cap.put("emb", k["temb"]))
        for i, blk in enumerate(unet.down_blocks):
            cap.pre(blk, lambda a, k, i=i: cap.put(f"down_blocks.{i}.in", k["hidden_states"]))

            def down_out(m, a, o, i=i):
                cap.put(f"down_blocks.{i}.out", o[0])
                for j, r in enumerate(o[1]):
                    cap.put(f"down_blocks.{i}.res.{j}", r)
            cap.handles.append(blk.register_forward_hook(down_out))
        cap.pre(unet.mid_block, lambda a, k: cap.put("mid_block.in", a[0]))
        cap.out(unet.mid_block, "mid_block.out")
        for i, blk in enumerate(unet.up_blocks):
            def up_in(a, k, i=i):
                cap.put(f"up_blocks.{i}.in", k["hidden_states"])
                for j, r in enumerate(k["res_hidden_states_tuple"]):
                    cap.put(f"up_blocks.{i}.res.{j}", r)
            cap.pre(blk, up_in)
            cap.out(blk, f"up_blocks.{i}.out")
        cap.pre(unet.conv_norm_out, lambda a, k: cap.put("conv_norm_out.in", a[0]))
    ref[prefix + "/sample"] = f32(sample)
    ref[prefix + "/image_embeds"] = f32(image_embeds)
    ref[prefix + "/timesteps"] = torch.tensor(UNET_TIMESTEPS, dtype=torch.int64)
    with torch.no_grad():
        for t in UNET_TIMESTEPS:
            out = unet(sample, torch.tensor(t), encoder_hidden_states=None,
                       added_cond_kwargs={"image_embeds": image_embeds}).sample
            ref[f"{prefix}/out.{t}"] = f32(out)
            cap.remove()


def movq_reference(ref, movq, gen, decode_latent):
    cap = Capture(ref, "movq/")
    x = torch.rand((1, 3, 16, 24), generator=gen) * 2 - 1
    for i, blk in enumerate(movq.encoder.down_blocks):
        cap.out(blk, f"encoder.down_blocks.{i}.out")
    cap.out(movq.encoder.mid_block, "encoder.mid_block.out")
    cap.out(movq.encoder, "encoder.out")
    cap.out(movq.post_quant_conv, "post_quant_conv.out")
    cap.out(movq.decoder.conv_in, "decoder.conv_in.out")
    cap.out(movq.decoder.mid_block, "decoder.mid_block.out")
    for i, blk in enumerate(movq.decoder.up_blocks):
        cap.out(blk, f"decoder.up_blocks.{i}.out")
    z = torch.randn((1, 4) + tuple(decode_latent), generator=gen)
    with torch.no_grad():
        ref["movq/encode.in"] = f32(x)
        ref["movq/encode.out"] = f32(movq.encode(x).latents)
        ref["movq/decode.in"] = f32(z)
        ref["movq/decode.out"] = f32(movq.decode(z, force_not_quantize=True).sample)
    cap.remove()


def scheduler_makers(cfg):
    return {"ddpm": lambda: DDPMScheduler.from_config(cfg), "ddim": lambda: DDIMScheduler.from_config(cfg),
            "dpmpp": lambda: DPMSolverMultistepScheduler.from_config(cfg),
            "ddim_inverse": lambda: DDIMInverseScheduler.from_config(cfg)}


def jsonable(cfg):
    cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in dict(cfg).items()}
    if "_use_default_values" in cfg:     # a set turned list in diffusers: order varies between runs
        cfg["_use_default_values"] = sorted(cfg["_use_default_values"])
    return json.dumps(cfg, sort_keys=True)


def scheduler_reference(ref, meta, cfg, gen):
    ref["sched/alphas_cumprod"] = f32(DDPMScheduler.from_config(cfg).alphas_cumprod)
    for name, make in scheduler_makers(cfg).items():
        meta[f"sched/{name}/config"] = jsonable(make().config)
        for n in (5, 25):
            p = f"sched/{name}/n{n}/"
            s = make()
            s.set_timesteps(n)
            ref[p + "timesteps"] = s.timesteps.to(torch.int64).clone()
            meta[p + "timesteps"] = json.dumps([int(t) for t in s.timesteps])
            ref[p + "init_noise_sigma"] = torch.tensor([float(s.init_noise_sigma)], dtype=torch.float32)
            if name == "dpmpp":
                ref[p + "sigmas"] = f32(s.sigmas)
            x = torch.randn((1, 4, 6, 10), generator=gen)
            ref[p + "sample.0"] = f32(x)
            step_gen = torch.Generator().manual_seed(7 + n)
            for i, t in enumerate(s.timesteps):
                mo = torch.randn((1, 4, 6, 10), generator=gen)
                ref[p + f"model_output.{i}"] = f32(mo)
                if name == "ddpm":
                    with NoiseRecorder() as rec:
                        x = s.step(mo, t, x, generator=step_gen).prev_sample
                    assert len(rec.noises) == (1 if int(t) > 0 else 0)
                    if rec.noises:
                        ref[p + f"noise.{i}"] = rec.noises[0]
                else:
                    x = s.step(mo, t, x).prev_sample
                ref[p + f"sample.{i + 1}"] = f32(x)
    s = DDPMScheduler.from_config(cfg)
    x0 = torch.randn((4, 4, 6, 10), generator=gen)
    noise = torch.randn((4, 4, 6, 10), generator=gen)
    t = torch.tensor([999, 500, 37, 0], dtype=torch.int64)
    ref["sched/ddpm/add_noise.in"] = f32(x0)
    ref["sched/ddpm/add_noise.noise"] = f32(noise)
    ref["sched/ddpm/add_noise.t"] = t
    ref["sched/ddpm/add_noise.out"] = f32(s.add_noise(x0, noise, t))


def kodak_crop(stem="kodim23"):
    """A natural HEIGHT x WIDTH RGB image (Kodak crop, LANCZOS-downsized)."""
    im = Image.open(os.path.join(KODAK, stem + ".png")).convert("RGB")
    im = im.resize((im.width // 8, im.height // 8), Image.Resampling.LANCZOS)
    x0, y0 = (im.width - WIDTH) // 2, (im.height - HEIGHT) // 2
    return np.array(im.crop((x0, y0, x0 + WIDTH, y0 + HEIGHT)), dtype=np.uint8)


def invert_reference(ref, meta, unet, movq, cfg, gen, D):
    pixels = torch.from_numpy(kodak_crop("kodim03").transpose(2, 0, 1)[None].astype(np.float32)) / 127.5 - 1.0
    emb = torch.randn((1, D), generator=gen) * (15.0 / math.sqrt(D))
    inv = DDIMInverseScheduler.from_config(cfg)
    inv.set_timesteps(STEPS)
    with torch.no_grad():
        latents = movq.encode(pixels).latents
        ref["invert/pixels"] = f32(pixels)
        ref["invert/latents"] = f32(latents)
        ref["invert/image_embeds"] = f32(emb)
        ref["invert/timesteps"] = inv.timesteps.to(torch.int64).clone()
        meta["invert/timesteps"] = json.dumps([int(t) for t in inv.timesteps])
        ref["invert/sample.0"] = f32(latents)
        for i, t in enumerate(inv.timesteps):
            x = inv.scale_model_input(latents, t)
            eps = unet(x, t, encoder_hidden_states=None, added_cond_kwargs={"image_embeds": emb}).sample
            eps, _ = eps.split(latents.shape[1], dim=1)
            ref[f"invert/noise_pred.{i}"] = f32(eps)
            latents = inv.step(eps, t, latents).prev_sample
            ref[f"invert/sample.{i + 1}"] = f32(latents)
        ref["invert/xT"] = f32(latents)


TEXT_VOCAB, TEXT_POSITIONS = 1000, 16   # the real CLIP BPE cut to 1000 ids (write_tokenizer)


def write_tokenizer(root):
    """prior/tokenizer/: the real CLIP BPE files cut to TEXT_VOCAB ids, by make_clip_fixtures.py's
    reduced_vocab (ids 0..511 the byte alphabet, 512+i merge i, the special tokens last), so that captions
    tokenize as the real tokenizer would until they need a merge beyond the first 486."""
    out = os.path.join(root, "prior", "tokenizer")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    reduced_vocab(out, TEXT_VOCAB)
    special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
               "unk_token": "<|endoftext|>"}
    write_json(os.path.join(out, "special_tokens_map.json"), special)
    write_json(os.path.join(out, "tokenizer_config.json"),
               dict(special, model_max_length=TEXT_POSITIONS, do_lower_case=True, tokenizer_class="CLIPTokenizer"))


def text_encoder_reference(ref, meta, root, spec, D):
    """A single-tower CLIPTextModelWithProjection (Kandinsky's prior/text_encoder) and its text_embeds.

    Its own generator (seed + 1000), so that adding it left every other reference as it was. A small
    vocabulary keeps it small; the real EOS convention (pool at the first eos_token_id) is kept."""
    gen = torch.Generator().manual_seed(spec["seed"] + 1000)
    cfg = CLIPTextConfig(hidden_act="gelu", layer_norm_eps=1e-05, projection_dim=D, vocab_size=TEXT_VOCAB,
                         max_position_embeddings=TEXT_POSITIONS, bos_token_id=TEXT_VOCAB - 2,
                         eos_token_id=TEXT_VOCAB - 1, pad_token_id=TEXT_VOCAB - 1, **spec["text"])
    text = CLIPTextModelWithProjection(cfg).eval()
    randomise(text, gen)
    path = os.path.join(root, "prior", "text_encoder")
    shutil.rmtree(path, ignore_errors=True)
    text.save_pretrained(path)
    text = CLIPTextModelWithProjection.from_pretrained(path, dtype=torch.float32).eval()
    lengths = [TEXT_POSITIONS, 5, 2, 11]
    ids = torch.full((len(lengths), TEXT_POSITIONS), TEXT_VOCAB - 1, dtype=torch.int64)
    for n, L in enumerate(lengths):
        ids[n, 0] = TEXT_VOCAB - 2
        ids[n, 1:L - 1] = torch.randint(0, TEXT_VOCAB - 2, (L - 2,), generator=gen)
    with torch.no_grad():
        ref["text_encoder/input_ids"] = ids
        ref["text_encoder/text_embeds"] = f32(text(input_ids=ids).text_embeds)
    meta["text_encoder/lengths"] = json.dumps(lengths)
    meta["config/text_encoder"] = read_json_compact(os.path.join(path, "config.json"))
    return text


CAPTIONS = ["a photo of a cat", "", "The same scene in winter, at dusk! Snow on the roofs and trees."]


def encode_reference(ref, meta, root, clip, text):
    """What `unclip encode --model PIPELINE` must give: a Kodak crop through the pipeline's own
    prior/image_processor (CLIPImageProcessorPil) and image encoder, and captions through
    prior/tokenizer (truncated to TEXT_POSITIONS, as the prior pipeline truncates) and the text encoder."""
    from transformers import CLIPTokenizer
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    image = kodak_crop("kodim05")
    proc = CLIPImageProcessorPil.from_pretrained(os.path.join(root, "prior", "image_processor"))
    px = proc(images=Image.fromarray(image), return_tensors="pt")["pixel_values"]
    tok = CLIPTokenizer.from_pretrained(os.path.join(root, "prior", "tokenizer"))
    ids = [tok(c, truncation=True, max_length=TEXT_POSITIONS)["input_ids"] for c in CAPTIONS]
    with torch.no_grad():
        ref["encode/image"] = torch.from_numpy(image.copy())
        ref["encode/pixel_values"] = f32(px)
        ref["encode/image_embeds"] = f32(clip(px)["image_embeds"])
        for i, seq in enumerate(ids):
            ref[f"encode/text_embeds.{i}"] = f32(text(input_ids=torch.tensor([seq])).text_embeds)
            ref[f"encode/input_ids.{i}"] = torch.tensor(seq, dtype=torch.int64)
    meta["encode/captions"] = json.dumps(CAPTIONS)


def clip_reference(ref, clip, gen):
    S = clip.config.image_size
    px = torch.randn((2, 3, S, S), generator=gen)
    with torch.no_grad():
        ref["image_encoder/pixel_values"] = f32(px)
        ref["image_encoder/image_embeds"] = f32(clip(px)["image_embeds"])
        # KandinskyV22PriorPipeline.get_zero_embed
        zero_img = torch.zeros(1, 3, S, S).to(dtype=clip.dtype)
        ref["zero_embed/image_embeds"] = f32(clip(zero_img)["image_embeds"])


def run_pipeline(pipe, prefix, ref, meta, seed, kwargs, clamp_log):
    """Runs `pipe` with output_type "np", capturing decode input, per-step latents and DDPM noise."""
    pipe.set_progress_bar_config(disable=True)
    cap = Capture(ref, prefix + "/")
    cap.pre(pipe.movq.post_quant_conv, lambda a, k: cap.put("latents_final", a[0]))
    decoded = {}
    cap.handles.append(pipe.movq.decoder.register_forward_hook(lambda m, a, o: decoded.setdefault("x", f32(o))))
    steps = []

    def on_step(p, i, t, kw):
        steps.append(f32(kw["latents"]))
        return {}
    with NoiseRecorder() as rec:
        out = pipe(**kwargs, generator=torch.Generator().manual_seed(seed), output_type="np",
                   callback_on_step_end=on_step).images
    cap.remove()
    image = torch.from_numpy(np.ascontiguousarray(out)).to(torch.float32)
    u8 = np.array(numpy_to_pil(out)[0])
    ref[prefix + "/image"] = image
    ref[prefix + "/image_u8"] = torch.from_numpy(u8)
    ref[prefix + "/timesteps"] = pipe.scheduler.timesteps.to(torch.int64).clone()
    meta[prefix + "/timesteps"] = json.dumps([int(t) for t in pipe.scheduler.timesteps])
    for i, s in enumerate(steps):
        ref[f"{prefix}/latents.{i}"] = s
    if isinstance(pipe.scheduler, DDPMScheduler):
        assert len(rec.noises) == len(steps)
        for i, n in enumerate(rec.noises):
            ref[f"{prefix}/noise.{i}"] = n
    pix = decoded["x"] * 0.5 + 0.5
    frac = float(((pix < 0) | (pix > 1)).float().mean())
    clamp_log[prefix] = frac
    return out, u8


def pipeline_reference(ref, meta, name, unet, inpaint_unet, movq, clip, dec_cfg, inp_cfg, gen, D, clamp_log):
    sf = 2 ** (len(movq.config.block_out_channels) - 1)
    h, w = HEIGHT // sf, WIDTH // sf       # = downscale_height_and_width(HEIGHT, WIDTH, sf) here
    with torch.no_grad():
        S = clip.config.image_size
        neg = clip(torch.zeros(1, 3, S, S))["image_embeds"]          # the prior's negative: the zero embed
    emb = torch.randn((1, D), generator=gen) * (15.0 / math.sqrt(D))
    latents = torch.randn((1, 4, h, w), generator=gen)
    ref["pipe/image_embeds"], ref["pipe/negative_image_embeds"], ref["pipe/latents"] = f32(emb), f32(neg), f32(latents)
    ref["pipe/height"] = torch.tensor([HEIGHT], dtype=torch.int64)
    ref["pipe/width"] = torch.tensor([WIDTH], dtype=torch.int64)
    ref["pipe/num_inference_steps"] = torch.tensor([STEPS], dtype=torch.int64)
    ref["pipe/guidance_scale"] = torch.tensor([GUIDANCE], dtype=torch.float32)
    meta.update({"pipe/height": str(HEIGHT), "pipe/width": str(WIDTH), "pipe/num_inference_steps": str(STEPS),
                 "pipe/guidance_scale": str(GUIDANCE), "pipe/latent_size": json.dumps([h, w]),
                 "pipe/steps": str(STEPS), "pipe/guidance": str(GUIDANCE)})       # short aliases
    makers = scheduler_makers(dec_cfg)
    for k, s in enumerate(("ddpm", "ddim", "dpmpp")):
        pipe = KandinskyV22Pipeline(unet=unet, scheduler=makers[s](), movq=movq)
        kwargs = dict(image_embeds=emb, negative_image_embeds=neg, height=HEIGHT, width=WIDTH,
                      num_inference_steps=STEPS, guidance_scale=GUIDANCE, latents=latents.clone())
        out, u8 = run_pipeline(pipe, f"pipe/{s}", ref, meta, 100 + k, kwargs, clamp_log)
        if s == "ddim":   # the PIL path really is numpy_to_pil of the "np" output
            pil = pipe(**kwargs, output_type="pil").images[0]
            assert np.array_equal(np.array(pil), u8)

    # Inpainting.
    image = kodak_crop("kodim23")
    mask = np.zeros((HEIGHT, WIDTH), dtype=np.float32)
    mask[6:18, 5:21] = 1.0                                   # a rectangle ...
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    mask[(yy - 21.5) ** 2 + ((xx - 34.0) / 1.3) ** 2 < 8.5 ** 2] = 1.0   # ... and an elliptic blob
    emb_i = torch.randn((1, D), generator=gen) * (15.0 / math.sqrt(D))
    lat_i = torch.randn((1, 4, h, w), generator=gen)
    ref["pipe_inpaint/image"] = torch.from_numpy(image.copy())
    ref["pipe_inpaint/mask"] = torch.from_numpy(mask.copy())
    ref["pipe_inpaint/latents"] = f32(lat_i)
    ref["pipe_inpaint/image_embeds"], ref["pipe_inpaint/negative_image_embeds"] = f32(emb_i), f32(neg)
    imakers = scheduler_makers(inp_cfg)
    for k, s in enumerate(("ddpm", "ddim")):
        pipe = KandinskyV22InpaintPipeline(unet=inpaint_unet, scheduler=imakers[s](), movq=movq)
        cap = Capture(ref, "pipe_inpaint/")
        cap.pre(inpaint_unet, lambda a, kw: (cap.put("masked_image_latents", kw["sample"][:1, 4:8]),
                                             cap.put("mask_latent", kw["sample"][:1, 8:9])))
        cap.out(movq.quant_conv, "image_latents")
        kwargs = dict(image_embeds=emb_i, image=image.copy(), mask_image=mask.copy(), negative_image_embeds=neg,
                      height=HEIGHT, width=WIDTH, num_inference_steps=STEPS, guidance_scale=GUIDANCE,
                      latents=lat_i.clone())
        run_pipeline(pipe, f"pipe_inpaint/{s}", ref, meta, 200 + k, kwargs, clamp_log)
        cap.remove()
    m = ref["pipe_inpaint/mask_latent"]
    print(f"{name}: latent {h}x{w}; inpaint mask_latent keeps {float(m.mean()):.3f} of the latent pixels")


IMG2IMG_STRENGTH = 0.6


def img2img_reference(ref, meta, unet, movq, clip, dec_cfg, D, seed):
    """KandinskyV22Img2ImgPipeline (what `vary --strength` runs): a Kodak crop already at the output
    size (so the pipeline's resize is the identity), its own generator (seed + 2000) so every earlier
    reference is unchanged, and the noise prepare_latents draws recorded for replay."""
    import diffusers.pipelines.kandinsky2_2.pipeline_kandinsky2_2_img2img as img2img_module
    from diffusers import KandinskyV22Img2ImgPipeline
    gen = torch.Generator().manual_seed(seed + 2000)
    # Square: diffusers 0.42's img2img passes (width, height) to preprocess(image, height, width), so a
    # non-square call resizes the photo to the transposed size and returns a transposed image.
    image = np.ascontiguousarray(kodak_crop("kodim03")[:, (WIDTH - HEIGHT) // 2:(WIDTH + HEIGHT) // 2])
    with torch.no_grad():
        S = clip.config.image_size
        neg = clip(torch.zeros(1, 3, S, S))["image_embeds"]
    emb = torch.randn((1, D), generator=gen) * (15.0 / math.sqrt(D))
    ref["pipe_img2img/image"] = torch.from_numpy(image.copy())
    ref["pipe_img2img/image_embeds"], ref["pipe_img2img/negative_image_embeds"] = f32(emb), f32(neg)
    ref["pipe_img2img/strength"] = torch.tensor([IMG2IMG_STRENGTH], dtype=torch.float32)
    meta["pipe_img2img/strength"] = str(IMG2IMG_STRENGTH)
    makers = scheduler_makers(dec_cfg)
    for k, s in enumerate(("ddpm", "ddim")):
        pipe = KandinskyV22Img2ImgPipeline(unet=unet, scheduler=makers[s](), movq=movq)
        drawn, orig = [], img2img_module.randn_tensor

        def recording(*args, **kwargs):
            x = orig(*args, **kwargs)
            drawn.append(f32(x))
            return x
        img2img_module.randn_tensor = recording
        cap = Capture(ref, f"pipe_img2img/{s}/")
        cap.out(movq.quant_conv, "image_latents")
        try:
            kwargs = dict(image_embeds=emb, image=Image.fromarray(image), negative_image_embeds=neg,
                          height=HEIGHT, width=HEIGHT, num_inference_steps=STEPS, guidance_scale=GUIDANCE,
                          strength=IMG2IMG_STRENGTH)
            run_pipeline(pipe, f"pipe_img2img/{s}", ref, meta, 300 + k, kwargs, {})
        finally:
            img2img_module.randn_tensor = orig
            cap.remove()
        assert len(drawn) == 1
        ref[f"pipe_img2img/{s}/noise"] = drawn[0]


PRIOR_TIMESTEPS = [999, 500, 0]
PRIOR_CAPTIONS = {"pipe_prior": ("a photo of a cat", GUIDANCE),
                  # longer than TEXT_POSITIONS tokens: the pipeline truncates it
                  "pipe_prior_long": ("a red barn in a snowy field under a grey winter sky, with crows on the "
                                      "fence and smoke rising from the farmhouse chimney", GUIDANCE),
                  "pipe_prior_empty": ("", 1.0)}        # the empty caption, without guidance


def prior_adjust(name, v, r):
    """clip_std scales every output component: positive, as a real one is."""
    return 0.2 + 0.3 * r.abs() if name == "clip_std" else v


def prior_reference(ref, meta, root, spec, D):
    """prior/prior/ (PriorTransformer, embedding_dim D = the text encoder's width, num_embeddings
    TEXT_POSITIONS) and prior/scheduler/ (REAL_PRIOR_SCHEDULER verbatim), with one direct forward:
        prior_forward/hidden_states [2,D]  proj_embedding [2,D]  encoder_hidden_states [2,16,D]
        prior_forward/attention_mask I64 [2,16] (prefixes of 16 and 5 tokens)
        prior_forward/out.{t} [2,D] for t in PRIOR_TIMESTEPS (predicted_image_embedding, before
        post_process_latents)
    Its own generator (seed + 3000), so every earlier reference is unchanged."""
    from diffusers import PriorTransformer
    gen = torch.Generator().manual_seed(spec["seed"] + 3000)
    cfg = tiny_config(REAL_PRIOR, dict(spec["prior"], embedding_dim=D, num_embeddings=TEXT_POSITIONS))
    prior = PriorTransformer.from_config(cfg).eval()
    randomise(prior, gen, adjust=prior_adjust)
    round_to(prior, spec["unet_dtype"])
    path = os.path.join(root, "prior", "prior")
    shutil.rmtree(path, ignore_errors=True)
    variant = "fp16" if spec["unet_dtype"] == torch.float16 else None
    prior.to(spec["unet_dtype"]).save_pretrained(path, variant=variant)
    write_json(os.path.join(root, "prior", "scheduler", "scheduler_config.json"), REAL_PRIOR_SCHEDULER)
    prior = PriorTransformer.from_pretrained(path, variant=variant, torch_dtype=torch.float32).eval()
    L = TEXT_POSITIONS
    x = torch.randn((2, D), generator=gen)
    proj = torch.randn((2, D), generator=gen)
    states = torch.randn((2, L, D), generator=gen)
    mask = torch.zeros((2, L), dtype=torch.int64)
    mask[0, :], mask[1, :5] = 1, 1
    ref["prior_forward/hidden_states"], ref["prior_forward/proj_embedding"] = f32(x), f32(proj)
    ref["prior_forward/encoder_hidden_states"], ref["prior_forward/attention_mask"] = f32(states), mask
    for t in PRIOR_TIMESTEPS:
        out = prior(x, timestep=t, proj_embedding=proj, encoder_hidden_states=states,
                    attention_mask=mask.bool()).predicted_image_embedding
        ref[f"prior_forward/out.{t}"] = f32(out)
    meta["prior_forward/timesteps"] = json.dumps(PRIOR_TIMESTEPS)
    print(f"{spec['name']}: prior params {n_params(prior)}, stored {unet_dtype_name(path)}")
    return prior


def prior_pipeline_reference(ref, meta, root, prior, unet, movq, clip, dec_cfg, seed):
    """KandinskyV22PriorPipeline from the pipeline folder's prior/ (as `encode --text --prior` reads it),
    STEPS steps, initial latents injected, for each caption of PRIOR_CAPTIONS under its prefix P:
        P/latents [1,D] (x_T)  P/input_ids I64 [1,16] and P/uncond_input_ids (padded, as the pipeline
        tokenizes)  P/timesteps I64 [STEPS]  P/guidance_scale [1]
        P/sample.{i}, P/model_output.{i} (guided), P/noise.{i} (what UnCLIPScheduler.step drew; none
        at t = 0), P/latents.{i} (its prev_sample)
        P/image_embeds [1,D] (post_process_latents), P/negative_image_embeds [1,D] (get_zero_embed)
    prior_sched/timesteps.n25 I64 [25]: UnCLIPScheduler.set_timesteps(25).
    pipe_t2i/...: pipe_prior's image_embeds through KandinskyV22Pipeline (DDIM, STEPS steps, guidance
    GUIDANCE, latents injected) as run_pipeline records it; the text-to-image end to end."""
    import diffusers.schedulers.scheduling_unclip as unclip_module
    from diffusers import KandinskyV22PriorPipeline, UnCLIPScheduler
    gen = torch.Generator().manual_seed(seed + 4000)
    pipe = KandinskyV22PriorPipeline.from_pretrained(os.path.join(root, "prior"), prior=prior,
                                                     torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    D = prior.config.embedding_dim
    sched = UnCLIPScheduler.from_pretrained(os.path.join(root, "prior", "scheduler"))
    sched.set_timesteps(25)
    ref["prior_sched/timesteps.n25"] = sched.timesteps.to(torch.int64).clone()
    for k, (prefix, (caption, guidance)) in enumerate(PRIOR_CAPTIONS.items()):
        latents = torch.randn((1, D), generator=gen)
        tok = pipe.tokenizer
        for key, text in (("input_ids", caption), ("uncond_input_ids", "")):
            ref[f"{prefix}/{key}"] = tok(text, padding="max_length", max_length=tok.model_max_length,
                                         truncation=True, return_tensors="pt").input_ids.to(torch.int64)
        steps, orig_step = [], pipe.scheduler.step

        def recording_step(model_output, timestep, sample, **kw):
            out = orig_step(model_output, timestep, sample, **kw)
            steps.append((f32(sample), f32(model_output), f32(out.prev_sample)))
            return out
        pipe.scheduler.step = recording_step
        try:
            with NoiseRecorder(unclip_module) as rec:
                out = pipe(caption, num_inference_steps=STEPS, guidance_scale=guidance, latents=latents.clone(),
                           generator=torch.Generator().manual_seed(500 + k))
        finally:
            del pipe.scheduler.step
        assert len(steps) == STEPS and len(rec.noises) == STEPS - 1
        ref[f"{prefix}/latents"] = f32(latents)
        ref[f"{prefix}/timesteps"] = pipe.scheduler.timesteps.to(torch.int64).clone()
        ref[f"{prefix}/guidance_scale"] = torch.tensor([guidance], dtype=torch.float32)
        for i, (s, m, p) in enumerate(steps):
            ref[f"{prefix}/sample.{i}"], ref[f"{prefix}/model_output.{i}"], ref[f"{prefix}/latents.{i}"] = s, m, p
        for i, n in enumerate(rec.noises):
            ref[f"{prefix}/noise.{i}"] = n
        ref[f"{prefix}/image_embeds"] = f32(out.image_embeds)
        ref[f"{prefix}/negative_image_embeds"] = f32(out.negative_image_embeds)
        meta[f"{prefix}/caption"] = caption
        meta[f"{prefix}/guidance_scale"] = str(guidance)
    # Text to image: the prior's embedding through the decoder pipeline.
    sf = 2 ** (len(movq.config.block_out_channels) - 1)
    lat = torch.randn((1, 4, HEIGHT // sf, WIDTH // sf), generator=gen)
    ref["pipe_t2i/latents"] = f32(lat)
    dec = KandinskyV22Pipeline(unet=unet, scheduler=scheduler_makers(dec_cfg)["ddim"](), movq=movq)
    kwargs = dict(image_embeds=ref["pipe_prior/image_embeds"], negative_image_embeds=ref["pipe_prior/negative_image_embeds"],
                  height=HEIGHT, width=WIDTH, num_inference_steps=STEPS, guidance_scale=GUIDANCE, latents=lat.clone())
    run_pipeline(dec, "pipe_t2i", ref, meta, 600, kwargs, {})


def build(spec):
    name = spec["name"]
    root = os.path.join(OUT, name)
    os.makedirs(root, exist_ok=True)
    unet, inpaint, movq, clip = build_models(spec, root)
    D = spec["unet"]["encoder_hid_dim"]
    dec_cfg = DDPMScheduler.from_pretrained(os.path.join(root, "decoder", "scheduler")).config
    inp_cfg = DDPMScheduler.from_pretrained(os.path.join(root, "decoder-inpaint", "scheduler")).config
    gen = torch.Generator().manual_seed(spec["seed"] + 1000)
    ref, meta = {}, {}
    emb_scale = 15.0 / math.sqrt(D)   # raw CLIP image embeds have norm ~ 10-20

    unet_reference(ref, unet, "unet", torch.randn((2, 4, 8, 12), generator=gen),
                   torch.randn((2, D), generator=gen) * emb_scale, hooks=True)
    unet_reference(ref, inpaint, "inpaint_unet", torch.randn((2, 9, 8, 12), generator=gen),
                   torch.randn((2, D), generator=gen) * emb_scale, hooks=False)
    movq_reference(ref, movq, gen, spec["decode_latent"])
    scheduler_reference(ref, meta, dec_cfg, gen)
    invert_reference(ref, meta, unet, movq, dec_cfg, gen, D)
    clip_reference(ref, clip, gen)
    text = text_encoder_reference(ref, meta, root, spec, D)
    write_tokenizer(root)
    encode_reference(ref, meta, root, clip, text)
    clamp = {}
    pipeline_reference(ref, meta, name, unet, inpaint, movq, clip, dec_cfg, inp_cfg, gen, D, clamp)
    img2img_reference(ref, meta, unet, movq, clip, dec_cfg, D, spec["seed"])
    prior = prior_reference(ref, meta, root, spec, D)
    prior_pipeline_reference(ref, meta, root, prior, unet, movq, clip, dec_cfg, spec["seed"])

    meta.update({
        "unet/timesteps": json.dumps(UNET_TIMESTEPS),
        "config/unet": read_json_compact(os.path.join(root, "decoder", "unet", "config.json")),
        "config/inpaint_unet": read_json_compact(os.path.join(root, "decoder-inpaint", "unet", "config.json")),
        "config/movq": read_json_compact(os.path.join(root, "decoder", "movq", "config.json")),
        "config/image_encoder": read_json_compact(os.path.join(root, "prior", "image_encoder", "config.json")),
        "config/prior": read_json_compact(os.path.join(root, "prior", "prior", "config.json")),
        "weights": json.dumps({"unet": str(spec["unet_dtype"]), "movq": str(spec["movq_dtype"]),
                               "image_encoder": "torch.float32"}),
        "clamped_fraction": json.dumps(clamp, sort_keys=True),
        "versions": f"torch {torch.__version__}, diffusers {diffusers.__version__}, "
                    f"transformers {__import__('transformers').__version__}, numpy {np.__version__}",
    })
    for k, v in ref.items():
        assert v.dtype in (torch.float32, torch.int64, torch.uint8), (k, v.dtype)
        assert torch.isfinite(v.float()).all(), k
    save_canonical({k: v.contiguous() for k, v in sorted(ref.items())}, os.path.join(root, "reference.safetensors"),
                   meta)
    for k in sorted(clamp):
        print(f"{name}: {k} clamped fraction {clamp[k]:.5f}")
    small = [k for k, v in ref.items() if v.dtype == torch.float32 and v.numel() > 8 and float(v.std()) < 0.05]
    if small:
        print(f"{name}: tensors with std < 0.05: {small}")
    for k in sorted(k for k in ref if k.endswith("/image") and ref[k].dtype == torch.float32):
        v = ref[k]
        print(f"{name}: {k} mean {float(v.mean()):.3f} std {float(v.std()):.3f} "
              f"latents_final std {float(ref[k[:-6] + '/latents_final'].std()):.2f}")
    print(f"{name}: reference.safetensors {len(ref)} tensors, "
          f"{os.path.getsize(os.path.join(root, 'reference.safetensors'))} bytes")
    return unet   # the pickle fixtures copy it: at 0.3 MB the smallest component


# ---------------------------------------------------------------------------
def legacy_torch_save(state, path):
    """torch.save(state, path, _use_new_zipfile_serialization=False) for a dict of CPU tensors, written by the
    same steps as torch.serialization._legacy_save (protocol 2) except that storages are keyed "0", "1", ...
    where torch uses str(storage._cdata), a memory address, which would make every rerun differ."""
    import pickle
    from torch.serialization import MAGIC_NUMBER, PROTOCOL_VERSION
    keys, storages = {}, {}

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if not isinstance(obj, torch.storage.TypedStorage):
                return None
            untyped = obj._untyped_storage
            key = keys.setdefault(untyped._cdata, str(len(keys)))
            storages[key] = (untyped, obj.dtype)
            return ("storage", getattr(torch, obj._pickle_storage_type()), key, "cpu", obj._size(), None)

    with open(path, "wb") as f:
        pickle.dump(MAGIC_NUMBER, f, protocol=2)
        pickle.dump(PROTOCOL_VERSION, f, protocol=2)
        pickle.dump({"protocol_version": PROTOCOL_VERSION, "little_endian": sys.byteorder == "little",
                     "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
        Pickler(f, protocol=2).dump(state)
        order = sorted(storages)
        pickle.dump(order, f, protocol=2)
        f.flush()
        for key in order:
            untyped, dtype = storages[key]
            untyped._write_file(f, True, True, torch._utils._element_size(dtype))


def write_pickles(unet):
    d = os.path.join(OUT, "pickle")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    state = unet.state_dict()      # an OrderedDict with `_metadata`, as real .bin checkpoints hold
    torch.save(state, os.path.join(d, "unet.bin"))
    legacy_torch_save(state, os.path.join(d, "unet-legacy.bin"))

    def unicode(s):   # BINUNICODE
        b = s.encode()
        return b"X" + len(b).to_bytes(4, "little") + b

    # {"encoder.conv_in.weight": os.system("echo ...")}: PROTO 2, EMPTY_DICT, key, GLOBAL, arg, TUPLE1, REDUCE,
    # SETITEM, STOP.
    evil_global = (b"\x80\x02}" + unicode("encoder.conv_in.weight") + b"cos\nsystem\n"
                   + unicode("echo UNCLIP_EVIL_PICKLE_EXECUTED") + b"\x85Rs.")
    path = os.path.join(d, "evil-global.bin")
    writer = torch._C.PyTorchFileWriter(path)
    writer.write_record("data.pkl", evil_global, len(evil_global))
    writer.write_record("byteorder", b"little", len(b"little"))
    writer.write_end_of_file()
    del writer

    # Legacy layout: magic number, protocol version, sys info, then the main pickle
    # {"weight": builtins.eval("'UNCLIP_EVIL_PICKLE_EXECUTED'")}, then the (empty) storage key list.
    import pickle
    evil_legacy = (b"\x80\x02}" + unicode("weight") + b"cbuiltins\neval\n"
                   + unicode("'UNCLIP_EVIL_PICKLE_EXECUTED'") + b"\x85Rs.")
    with open(os.path.join(d, "evil-legacy.bin"), "wb") as f:
        pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True,
                     "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
        f.write(evil_legacy)
        pickle.dump([], f, protocol=2)

    # Check the benign ones load back (weights_only) and the evil ones are refused without running them.
    for f in ("unet.bin", "unet-legacy.bin"):
        back = torch.load(os.path.join(d, f), weights_only=True)
        assert back.keys() == state.keys() and all(torch.equal(back[k], state[k]) for k in state)
    for f in ("evil-global.bin", "evil-legacy.bin"):
        try:
            torch.load(os.path.join(d, f), weights_only=True)
            raise AssertionError(f"{f} was accepted")
        except pickle.UnpicklingError:
            pass
    for f in sorted(os.listdir(d)):
        print(f"pickle/{f}: {os.path.getsize(os.path.join(d, f))} bytes")


if __name__ == "__main__":
    torch.manual_seed(0)
    torch.set_grad_enabled(False)
    write_real_configs()
    unets = [build(spec) for spec in SPECS]
    write_pickles(unets[0])
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print(f"Fixtures/diffusion: {total} bytes")
    sys.exit(0)
