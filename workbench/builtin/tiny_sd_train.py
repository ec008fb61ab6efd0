"""Build and train workbench-tiny-sd: a CLIP tokenizer written offline, a small CLIP text
encoder, AutoencoderKL and UNet2DConditionModel, a DDIM scheduler, saved as a diffusers
StableDiffusionPipeline folder.

Training, all on the CPU in two threads (fixed, so every machine does the same arithmetic):

1. the autoencoder learns to reconstruct the pictures of ``tiny_sd_data`` (8x8x4 latents
   for 64x64 pictures); its scaling factor is set from the latents' spread, as in SD;
2. the UNet and the text encoder learn to predict the clean latents from noised ones given
   the caption (``prediction_type="sample"``: on a corpus this small it learns many times
   faster than predicting the noise) (one caption in ten is blanked, so classifier-free guidance works), until a
   10-step DDIM generation of every colour and shape passes ``tiny_sd_data``'s checks;
3. the 4x3 latent-to-RGB map trained with the autoencoder is saved as
   ``workbench_preview.json``: the cheap preview the image client draws between steps
   (for other pipelines the client fits such a map on the VAE itself).

Heavy imports stay inside the functions: ``import workbench`` pays for none of them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from workbench.builtin import tiny_sd_data as data

SEED = 0
MAX_LEN = 16                     # tokens per caption (the pipeline pads to this)
VAE_STEPS = 300
VAE_ROUNDS = 4                   # at most this many one-cycle rounds, until every picture decodes right
UNET_ROUNDS = 10                 # at most this many rounds of UNET_STEPS, checked after each
UNET_STEPS = 200
REPEATS = 2                      # each picture this many times a step, with different captions and noise
THREADS = 2                      # fixed, so every machine does the same arithmetic
CHECK_STEPS = data.DEFAULT_STEPS
CHECK_GUIDANCE = data.DEFAULT_GUIDANCE
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


# -- tokenizer ------------------------------------------------------------------------------
def _byte_chars() -> list[str]:
    """GPT-2/CLIP's byte-to-unicode table: one printable character per byte value."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def write_tokenizer(folder: Path) -> Any:
    """vocab.json + merges.txt in CLIP's format: every byte, then whole words of the corpus."""
    from transformers import CLIPTokenizer

    base = _byte_chars()
    vocab: dict[str, int] = {}
    for token in base + [c + "</w>" for c in base]:
        vocab.setdefault(token, len(vocab))
    merges: list[str] = []
    for word in data.WORDS:
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        while len(symbols) > 1:
            pair = f"{symbols[0]} {symbols[1]}"
            if pair not in merges:
                merges.append(pair)
            symbols = [symbols[0] + symbols[1]] + symbols[2:]
            vocab.setdefault(symbols[0], len(vocab))
    for special in (BOS, EOS):
        vocab.setdefault(special, len(vocab))
    folder.mkdir(parents=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=MAX_LEN,
                        bos_token=BOS, eos_token=EOS, pad_token=EOS, unk_token=EOS)
    tok.save_pretrained(folder)
    return tok


# -- components -----------------------------------------------------------------------------
def components(vocab_size: int) -> dict[str, Any]:
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(SEED)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64,
                                        num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=MAX_LEN,
                                        bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
                                        pad_token_id=vocab_size - 1))
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, sample_size=data.SIZE,
                        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        block_out_channels=(8, 8, 16, 16), layers_per_block=1, norm_num_groups=8,
                        mid_block_add_attention=False)
    unet = UNet2DConditionModel(sample_size=data.SIZE // 8, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
                                attention_head_dim=8, norm_num_groups=16)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1, prediction_type="sample")
    return {"text_encoder": text, "vae": vae, "unet": unet, "scheduler": scheduler}


# -- training -------------------------------------------------------------------------------
def train_vae(vae, head, pictures, steps: int = VAE_STEPS) -> float:
    """Reconstruction from the posterior's mean (a sampled latent blurs the flat colours on a
    model this small), a one-cycle learning rate, a touch of KL to keep latents bounded, and
    ``head``: a 1x1 convolution trained alongside to read each latent pixel's colour, so the
    latents stay linearly colour-aligned (as SD's are) and ``head`` is the cheap preview."""
    import torch

    params = list(vae.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=steps, pct_start=0.15)
    small = torch.nn.functional.avg_pool2d(pictures, 8)
    loss = torch.tensor(0.0)
    for _ in range(steps):
        posterior = vae.encode(pictures).latent_dist
        latent = posterior.mode()
        recon = vae.decode(latent).sample
        loss = (torch.nn.functional.mse_loss(recon, pictures) + torch.nn.functional.mse_loss(head(latent), small)
                + 1e-6 * posterior.kl().mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    return float(loss.detach())


def vae_right(vae, pictures, pairs) -> int:
    """How many pictures come back through the autoencoder with their colour and shape."""
    import numpy as np
    import torch

    with torch.no_grad():
        recon = vae.decode(vae.encode(pictures).latent_dist.mode()).sample
    right = 0
    for (colour, shape), image in zip(pairs, recon):
        pixels = np.clip((image.permute(1, 2, 0).numpy() + 1) * 127.5, 0, 255)
        right += data.dominant_colour(pixels) == colour and data.shape_of(pixels) == shape
    return right


def _encode(tok, text_encoder, prompts: list[str]):
    ids = tok(prompts, padding="max_length", max_length=MAX_LEN, truncation=True, return_tensors="pt").input_ids
    return text_encoder(ids)[0]


def train_unet(parts, tok, latents, captions: list[list[str]], steps: int, state: dict) -> float:
    """``latents[i]`` is pair i's picture, ``captions[i]`` its phrasings: each step takes every
    picture REPEATS times, with one of its captions drawn at random (or none, one time in ten)."""
    import torch

    unet, text, scheduler = parts["unet"], parts["text_encoder"], parts["scheduler"]
    if "opt" not in state:
        state["opt"] = torch.optim.AdamW(list(unet.parameters()) + list(text.parameters()), lr=1e-3,
                                         weight_decay=0.0)
    opt = state["opt"]
    gen = state.setdefault("gen", torch.Generator().manual_seed(SEED + 1))
    latents, captions = torch.cat([latents] * REPEATS), captions * REPEATS
    n = latents.shape[0]
    loss = torch.tensor(0.0)
    for _ in range(steps):
        blank = torch.rand(n, generator=gen) < 0.1
        pick = torch.randint(0, len(captions[0]), (n,), generator=gen).tolist()
        prompts = ["" if b else options[k] for b, k, options in zip(blank.tolist(), pick, captions)]
        t = torch.randint(0, scheduler.config.num_train_timesteps, (n,), generator=gen)
        noise = torch.randn(latents.shape, generator=gen)
        noisy = scheduler.add_noise(latents, noise, t)
        pred = unet(noisy, t, encoder_hidden_states=_encode(tok, text, prompts)).sample
        loss = torch.nn.functional.mse_loss(pred, latents)        # the UNet predicts the clean latents
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss.detach())


def check(pipe) -> tuple[int, int]:
    """How many captions (every phrasing of every colour and shape, each on its own noise)
    a 10-step generation gets right, of how many."""
    import numpy as np
    import torch

    rows = data.captions()
    images = pipe([caption for caption, _, _ in rows], num_inference_steps=CHECK_STEPS,
                  guidance_scale=CHECK_GUIDANCE, output_type="np",
                  generator=torch.Generator().manual_seed(SEED)).images
    right = 0
    for (_, colour, shape), image in zip(rows, images):
        pixels = np.clip(image * 255.0, 0, 255)
        right += data.colour_error(pixels, colour) < data.BUILD_COLOUR_ERROR and data.shape_of(pixels) == shape
    return right, len(rows)


def preview_map(head, scaling: float) -> dict[str, Any]:
    """``head`` (latent -> RGB in -1..1) as the client's map of scaled latents to RGB in 0..1."""
    weight = head.weight.detach()[:, :, 0, 0]                  # (3, C)
    matrix = (weight.T / (2 * scaling)).tolist()                # (C, 3)
    bias = ((head.bias.detach() + 1) / 2).tolist()
    return {"latent_rgb": matrix, "bias": bias, "scaling_factor": scaling}


def build_pipeline(out_dir: Path) -> dict[str, Any]:
    """Write the tokenizer, train everything, save the pipeline into ``out_dir``."""
    import torch
    from diffusers import StableDiffusionPipeline

    times: dict[str, Any] = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        start = time.perf_counter()
        tok = write_tokenizer(out_dir / "tokenizer")
        parts = components(len(tok))
        rows = data.captions()
        pairs = sorted({(c, s) for _, c, s in rows}, key=lambda p: (list(data.COLOURS).index(p[0]), p[1]))
        pictures = torch.stack([data.picture(c, s) for c, s in pairs])
        times["tokenizer_s"] = time.perf_counter() - start

        start = time.perf_counter()
        vae = parts["vae"]
        head = torch.nn.Conv2d(4, 3, 1)
        for vae_rounds in range(1, VAE_ROUNDS + 1):
            times["vae_loss"] = train_vae(vae, head, pictures)
            if vae_right(vae, pictures, pairs) == len(pairs):
                break
        times["vae_steps"] = vae_rounds * VAE_STEPS
        vae.eval()
        with torch.no_grad():
            means = vae.encode(pictures).latent_dist.mean
        scaling = float(1.0 / means.std())
        vae.register_to_config(scaling_factor=scaling)
        latents = means * scaling
        times["vae_s"] = time.perf_counter() - start

        start = time.perf_counter()
        for p in vae.parameters():
            p.requires_grad_(False)
        pipe = StableDiffusionPipeline(vae=vae, text_encoder=parts["text_encoder"], tokenizer=tok, unet=parts["unet"],
                                       scheduler=parts["scheduler"], safety_checker=None, feature_extractor=None,
                                       requires_safety_checker=False)
        pipe.set_progress_bar_config(disable=True)
        state: dict = {}
        captions = [[caption for caption, c, s in rows if (c, s) == pair] for pair in pairs]
        right, total = 0, 1
        for rounds in range(1, UNET_ROUNDS + 1):
            parts["unet"].train()
            parts["text_encoder"].train()
            times["unet_loss"] = train_unet(parts, tok, latents, captions, UNET_STEPS, state)
            parts["unet"].eval()
            parts["text_encoder"].eval()
            right, total = check(pipe)
            if right == total:
                break
        times["unet_s"] = time.perf_counter() - start
        times["unet_steps"] = rounds * UNET_STEPS
        times["checks_right"] = f"{right}/{total}"

        preview = preview_map(head, scaling)
        pipe.save_pretrained(out_dir)
        (out_dir / "workbench_preview.json").write_text(json.dumps(preview, indent=1) + "\n", encoding="utf-8")
        times["params"] = sum(p.numel() for m in (vae, parts["unet"], parts["text_encoder"]) for p in m.parameters())
    finally:
        torch.set_num_threads(threads)
    return times
