"""Greedy batched decoding that drops finished rows: our own loop instead of ``generate``.

One ``generate`` call runs until its longest row ends, and rows that already finished keep
being computed. For greedy batches (the common case) :func:`decode_greedy` prefills the
left-padded batch once, then steps one token at a time with a ``DynamicCache``; after each
step the rows that finished (end of turn, their own token limit, cancellation) leave the
batch (``DynamicCache.batch_select_indices``), so the batch shrinks as answers end, and the
padding columns no live row needs any more leave the mask and the cache.

Inputs are those ``generate`` builds for a left-padded batch (attention mask, position ids
from the mask's cumulative sum, ``logits_to_keep=1``, the mask left out when nothing is
padded) and the next token is the argmax of each row's logits, so outputs are the tokens
``generate`` gives greedily. Models or generation configs this loop does not reproduce
(logits processors, beam search, custom or static caches, vision models) keep ``generate``:
see :func:`supports_greedy_loop`.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

# Called with the number of live rows before each forward pass (prefill included): tests and
# benchmarks watch the batch shrink through it. None: no call.
step_hook: Callable[[int], None] | None = None

# generation_config fields that change greedy's choice when set (logits processors, other modes)
_NEUTRAL = {"repetition_penalty": (None, 1.0), "encoder_repetition_penalty": (None, 1.0),
            "no_repeat_ngram_size": (None, 0), "encoder_no_repeat_ngram_size": (None, 0),
            "bad_words_ids": (None,), "suppress_tokens": (None,), "begin_suppress_tokens": (None,),
            "forced_bos_token_id": (None,), "forced_eos_token_id": (None,), "min_length": (None, 0),
            "min_new_tokens": (None, 0), "sequence_bias": (None,), "num_beams": (None, 1),
            "penalty_alpha": (None,), "guidance_scale": (None, 1.0), "watermarking_config": (None,),
            "exponential_decay_length_penalty": (None,), "prompt_lookup_num_tokens": (None,),
            "cache_implementation": (None, "dynamic"), "prefill_chunk_size": (None,),
            "use_cache": (None, True), "assistant_early_exit": (None,), "custom_generate": (None,),
            "stop_strings": (None,), "max_time": (None,), "dola_layers": (None,)}


def supports_greedy_loop(weights: Any, config: Any) -> bool:
    """Whether :func:`decode_greedy` gives what ``generate`` would for this model and config."""
    model = weights.model
    if getattr(weights, "vision", False) or getattr(model.config, "is_encoder_decoder", False):
        return False
    if "mamba" in type(model).__name__.lower():
        return False
    supports_cache = getattr(model, "_supports_default_dynamic_cache", None)
    if supports_cache is not None and not supports_cache():
        return False
    if getattr(model, "is_remote_code", lambda: False)():
        return False
    params = _forward_params(model)
    if not {"position_ids", "past_key_values", "attention_mask"} <= params:
        return False
    return all(getattr(config, name, None) in allowed for name, allowed in _NEUTRAL.items())


def _forward_params(model: Any) -> set[str]:
    return set(inspect.signature(model.forward).parameters)


def decode_greedy(model: Any, requests: list, pad_id: int) -> None:
    """Greedy-decode these requests as one shrinking batch; each ends itself (finish)."""
    import torch
    from transformers import DynamicCache

    rows = []
    for r in requests:
        if r.stop_event.is_set():
            r.finish("cancelled")
        elif r.max_new_tokens <= 0:
            r.finish("length")
        else:
            rows.append(r)
    if not rows:
        return
    device = model.device
    width = max(len(r.input_ids) for r in rows)
    ids = torch.tensor([[pad_id] * (width - len(r.input_ids)) + list(r.input_ids) for r in rows], device=device)
    mask = torch.tensor([[0] * (width - len(r.input_ids)) + [1] * len(r.input_ids) for r in rows], device=device)
    positions = (mask.cumsum(-1) - 1).masked_fill_(mask == 0, 0)
    # Like generate: with no padding the mask is left out (the model takes the faster causal path).
    padded = bool((mask == 0).any())
    mask = mask if padded else None
    extra = {"logits_to_keep": 1} if "logits_to_keep" in _forward_params(model) else {}
    cache = DynamicCache(config=model.config.get_text_config(decoder=True))

    with torch.inference_mode():
        _watch(len(rows))
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache,
                    use_cache=True, **extra)
        position = positions[:, -1:]
        while True:
            tokens = out.logits[:, -1].argmax(-1)
            keep = [i for i, (row, token) in enumerate(zip(rows, tokens.tolist())) if _take(row, token)]
            if not keep:
                return
            if len(keep) < len(rows):           # finished rows leave the batch and its cache
                index = torch.tensor(keep, device=device)
                cache.batch_select_indices(index)
                tokens, position = tokens[index], position[index]
                rows = [rows[i] for i in keep]
                if mask is not None:
                    mask = _trim_padding(cache, mask[index])
            if mask is not None:
                mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=-1)
            position = position + 1
            _watch(len(rows))
            out = model(input_ids=tokens[:, None], attention_mask=mask, position_ids=position,
                        past_key_values=cache, use_cache=True, **extra)


def _trim_padding(cache: Any, mask: Any) -> Any:
    """Drop the padding columns every live row has (from mask and cache); None once none is left.

    Masked columns add nothing to attention, so this changes no output; a row left alone
    then runs exactly as unbatched (no mask, no padding). Only plain full-attention layers
    are trimmed (a sliding window counts its columns), else the mask stays as it is.
    """
    from transformers.cache_utils import DynamicLayer

    lead = int(mask.argmax(-1).min())            # first real column of the least padded row
    if lead == 0 or not all(type(layer) is DynamicLayer for layer in cache.layers):
        return mask
    for layer in cache.layers:
        if layer.is_initialized and layer.keys.numel():
            layer.keys = layer.keys[..., lead:, :]
            layer.values = layer.values[..., lead:, :]
    mask = mask[:, lead:]
    return None if bool(mask.all()) else mask


def _take(row: Any, token: int) -> bool:
    """Hand ``token`` to its row (as the streamer of the ``generate`` path does); True: row goes on."""
    if row.done:
        return False
    if row.stop_event.is_set():
        row.finish("cancelled")
        return False
    if token in row.eos_ids:
        row.finish("stop")
        return False
    row.emit(token)
    if row.count >= row.max_new_tokens:
        row.finish("length")
        return False
    if row.stop_event.is_set():                 # cancelled meanwhile: spare it the next step
        row.finish("cancelled")
        return False
    return True


def _watch(live: int) -> None:
    hook = step_hook
    if hook is not None:
        hook(live)
