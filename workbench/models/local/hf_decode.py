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
see :func:`greedy_loop_blocker`, whose reason the caller shows once as a SlowPathWarning.
"""

from __future__ import annotations

import inspect
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterator

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


def greedy_loop_blocker(weights: Any, config: Any) -> str | None:
    """Why :func:`decode_greedy` would not give what ``generate`` gives here; None when it would."""
    model = weights.model
    if getattr(weights, "vision", False):
        return "it is an image-text model"
    if getattr(model.config, "is_encoder_decoder", False):
        return "it is an encoder-decoder model"
    if "mamba" in type(model).__name__.lower():
        return "it is a state-space (Mamba) model"
    supports_cache = getattr(model, "_supports_default_dynamic_cache", None)
    if supports_cache is not None and not supports_cache():
        return "it needs a cache other than DynamicCache"
    if getattr(model, "is_remote_code", lambda: False)():
        return "it runs remote code"
    spec = forward_spec(model)
    if spec.missing:
        return f"its forward() takes no {', '.join(spec.missing)}"
    for name, allowed in _NEUTRAL.items():
        value = getattr(config, name, None)
        if value not in allowed:
            return f"generation_config.{name}={value!r} changes greedy decoding"
    return None


def supports_greedy_loop(weights: Any, config: Any) -> bool:
    """Whether :func:`decode_greedy` gives what ``generate`` would for this model and config."""
    return greedy_loop_blocker(weights, config) is None


@dataclass(frozen=True)
class ForwardSpec:
    """How this model's ``forward`` spells its arguments (read once per model class)."""

    cache_arg: str                 # "cache" (transformers >= 5.24) or "past_key_values" (before)
    logits_to_keep: bool
    missing: tuple[str, ...]       # arguments the loop needs that forward() lacks


_SPECS: "weakref.WeakKeyDictionary[type, ForwardSpec]" = weakref.WeakKeyDictionary()


def forward_spec(model: Any) -> ForwardSpec:
    cls = type(model)
    spec = _SPECS.get(cls)
    if spec is None:
        params = set(inspect.signature(model.forward).parameters)
        # transformers 5.24 renamed past_key_values to cache (the old name still works, with a
        # deprecation warning per call): use whichever this version declares.
        cache_arg = "cache" if "cache" in params else "past_key_values"
        missing = tuple(n for n in ("attention_mask", "position_ids", cache_arg) if n not in params)
        spec = _SPECS[cls] = ForwardSpec(cache_arg, "logits_to_keep" in params, missing)
    return spec


def decode_greedy(model: Any, requests: list, pad_id: int) -> None:
    """Greedy-decode these requests as one shrinking batch; each ends itself (finish)."""
    for _ in greedy_steps(model, requests, pad_id):
        pass


def greedy_steps(model: Any, requests: list, pad_id: int) -> Iterator[None]:
    """:func:`decode_greedy` one forward pass at a time: yields after each pass's tokens.

    The caller's own thread can drive it (a lone streaming turn pulls a step, shows its
    token, pulls the next): no worker thread, and closing the generator stops the decode.
    """
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
    spec = forward_spec(model)
    cache = DynamicCache(config=model.config.get_text_config(decoder=True))
    extra = {spec.cache_arg: cache, "use_cache": True}
    if spec.logits_to_keep:
        extra["logits_to_keep"] = 1

    # Inference mode is entered around each stretch between yields, never held across one:
    # it is thread-local, and the caller's code runs while this generator is suspended.
    with torch.inference_mode():
        _watch(len(rows))
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, **extra)
        position = positions[:, -1:]
    while True:
        with torch.inference_mode():
            tokens = out.logits[:, -1].argmax(-1)
            keep = [i for i, (row, token) in enumerate(zip(rows, tokens.tolist())) if _take(row, token)]
        yield
        if not keep:
            return
        with torch.inference_mode():
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
            out = model(input_ids=tokens[:, None], attention_mask=mask, position_ids=position, **extra)


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
