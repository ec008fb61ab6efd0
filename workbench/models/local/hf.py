"""HuggingFaceClient: in-process transformers models, weights shared through the kernel-wide cache.

    c = wb.client("hf:workbench-tiny")                 # the built-in model, offline
    c = wb.client("hf:Qwen/Qwen3-8B", dtype="bfloat16", device_map="cuda:0")
    c = wb.client("hf:/path/to/model-folder")

Nothing downloads: weights load with ``local_files_only=True`` unless you pass
``local_files_only=False``. A model that is neither a folder nor in the local HF cache
raises ConfigurationError and nothing is cached.

One turn renders the chat template (tools; ``enable_thinking`` from ``thinking=``),
generates in a worker thread (alone, or batched with other requests through an
:class:`~workbench.models.local.scheduler.InferenceScheduler`), and splits the text into
thinking, text and tool_call chunks. Leaving the stream (KeyboardInterrupt, closing the
generator) stops generation at the next token. See ``weights.py`` for what happens to a
client whose weights were cleared (it raises WeightsClearedError; ``reload()`` fixes it).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from workbench.errors import ConfigurationError, ContextOverflowError, ProviderError
from workbench.models.chunks import StreamChunk
from workbench.models.client import BaseModelClient
from workbench.models.inputs import message_images
from workbench.models.local.chat_template import starts_in_thinking, template_kwargs, template_message
from workbench.models.local.hf_generate import (GREEDY_LOOP, GenRequest, plan_engine, pull_tokens, run_batch,
                                                start_direct)
from workbench.models.local.toolcalls import OutputSplitter, cut_at_stop, stop_strings
from workbench.models.local.weights import CACHE, CacheEntry, Loaded

KIND = "hf"
DEFAULT_MAX_NEW_TOKENS = 512


@dataclass
class HFWeights:
    """What the cache holds for one transformers model."""

    model: Any
    tokenizer: Any
    processor: Any = None             # image-text models only
    pad_id: int = 0
    eos_ids: frozenset[int] = frozenset()
    max_positions: int | None = None

    @property
    def vision(self) -> bool:
        return self.processor is not None


def looks_like_path(model_id: str) -> bool:
    return model_id.startswith(("/", "./", "../", "~")) or Path(model_id).expanduser().exists()


def cache_model_id(model_id: str) -> str:
    """The model part of the cache key: the catalog id, a folder's resolved path, or the hub id.

    Cheap on purpose (no file reads): a second client must find the entry in well under a
    millisecond; building the tiny model or checking a folder happens only on a miss.
    """
    if looks_like_path(model_id):
        return str(Path(model_id).expanduser().resolve())
    return model_id


def resolve_source(model_id: str) -> str:
    """What from_pretrained gets: the tiny model's folder (built if missing), a folder, or a hub id."""
    from workbench.builtin.tiny_corpus import TINY_ID

    if model_id == TINY_ID:
        from workbench.builtin.tiny import ensure_tiny

        return str(ensure_tiny().hf_dir)
    if looks_like_path(model_id):
        path = Path(model_id).expanduser().resolve()
        if not (path / "config.json").is_file():
            what = "has no config.json" if path.is_dir() else "does not exist"
            raise ConfigurationError(
                f"hf:{model_id}: the folder {str(path)!r} {what}. Give a folder saved with "
                f"save_pretrained(), or a hub id like 'hf:Qwen/Qwen3-0.6B' that is in your local HF cache.")
        return str(path)
    return model_id


class HuggingFaceClient(BaseModelClient):
    def __init__(self, model, *, device_map: Any = None, dtype: Any = None, local_files_only: bool = True,
                 trust_remote_code: bool = False, revision: str | None = None, n_ctx: int | None = None,
                 scheduler=None, load_kwargs: dict | None = None, **kwargs: Any):
        super().__init__(model, **kwargs)
        self._provider_kwargs = dict(device_map=device_map, dtype=dtype, local_files_only=local_files_only,
                                     trust_remote_code=trust_remote_code, revision=revision, n_ctx=n_ctx,
                                     scheduler=scheduler, load_kwargs=load_kwargs)
        self.scheduler = scheduler
        self.n_ctx = n_ctx
        self.load_kwargs = {"device_map": device_map if device_map is not None else _default_device_map(),
                            "dtype": dtype, "local_files_only": local_files_only,
                            "trust_remote_code": trust_remote_code, "revision": revision, **(load_kwargs or {})}
        self.last_engine: str | None = None   # the engine of the last turn: "greedy-loop" or "generate"
        self._entry: CacheEntry = self._load()

    # -- weights -------------------------------------------------------------------------------
    def _load(self) -> CacheEntry:
        label = self.spec.id
        return CACHE.get_or_load(
            KIND, cache_model_id(label), self.load_kwargs,
            lambda: Loaded(_load_weights(resolve_source(label), label, self.load_kwargs), label=label))

    def fork(self, system: str | None = None) -> "HuggingFaceClient":
        """A client on the same weights with its own, empty conversation (workflows use it)."""
        return type(self)(self.resolved, system=system, tools=list(self.tools), mcp_client=self.mcp_client,
                          generate_kwargs=dict(self.default_generate_kwargs),
                          max_tool_rounds=self.max_tool_rounds, **self._provider_kwargs)

    def reload(self) -> None:
        """Load the weights again (through the cache) after a clear."""
        self._entry = self._load()

    @property
    def _weights(self) -> HFWeights:
        with self._entry.use() as weights:   # raises WeightsClearedError after a clear
            return weights

    @property
    def _hf_model(self):
        return self._weights.model

    @property
    def _hf_tokenizer(self):
        return self._weights.tokenizer

    @property
    def cache_entry(self) -> CacheEntry:
        return self._entry

    # -- one turn --------------------------------------------------------------------------------
    def _turn(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
              options: dict[str, Any], stream: bool) -> Iterator[StreamChunk]:
        from workbench.models.turn import done_chunk

        start = time.perf_counter()
        with self._entry.use() as weights:
            prompt_ids, extra, start_in_thinking = self._prompt(weights, messages, tools, options)
            request = self._request(weights, prompt_ids, extra, options)
            stops = stop_strings(options.get("stop"))
            self.last_engine = plan_engine(weights, request)
            # Where the decode runs: with a scheduler, in its batches; alone and greedy, right
            # here, pulled a step at a time (no thread, nothing competing for the cores);
            # alone and sampled, streamed from a worker (generate() pushes its tokens), or
            # here too when nobody watches the tokens and no stop string can end it early.
            if self.scheduler is not None:    # multimodal requests run alone, holding a slot
                self.scheduler.submit_hf(weights, request)
                bursts = request.tokens(bursts=stream or bool(stops))
            elif self.last_engine == GREEDY_LOOP:
                bursts = pull_tokens(weights, request)
            elif stream or stops:
                start_direct(weights, request)
                bursts = request.tokens()
            else:
                run_batch(weights, [request])
                bursts = request.tokens(bursts=False)
            splitter = OutputSplitter(start_in_thinking)
            decoder = _Decoder(weights.tokenizer)
            finish = None
            try:
                for ids in bursts:
                    delta = decoder.add(ids)
                    if stops and delta:
                        delta, hit = cut_at_stop(decoder.text, delta, stops)
                        if hit:
                            request.stop_event.set()
                            finish = "stop"
                            yield from splitter.feed(delta)
                            break
                    if delta:
                        yield from splitter.feed(delta)
            except Exception as exc:   # raised in the worker (out of memory, a bad kwarg...)
                raise ProviderError(f"{self.model_string}: transformers generate() failed: {exc}",
                                    provider=KIND) from exc
            finally:
                # Leaving early (KeyboardInterrupt, generator closed, an error) stops the
                # decode at its next token; the weights lease ends only when it has.
                if not request.done:
                    request.stop_event.set()
                    close = getattr(bursts, "close", None)
                    if close is not None:
                        close()
                    if self.scheduler is None:
                        request.wait(timeout=30)
            yield from splitter.feed(decoder.flush())
            yield from splitter.flush()
            if splitter.calls:
                finish = "tool_calls"
            elif finish is None:
                finish = "length" if request.finish_reason == "length" else "stop"
            usage = {"input_tokens": len(prompt_ids), "output_tokens": request.count}
            yield done_chunk(usage=usage, finish_reason=finish, elapsed_s=time.perf_counter() - start,
                             model=self.model_string)

    def _prompt(self, weights: HFWeights, messages, tools, options) -> tuple[list[int], dict | None, bool]:
        chat = [template_message(m) for m in messages]
        has_images = any(message_images(m) for m in messages)
        if has_images and not weights.vision:
            raise ConfigurationError(
                f"{self.model_string} is a text-only model and cannot take images. Send text only, "
                f"or use an image-text model (one whose config has a vision_config).")
        extra_vars = template_kwargs(options)
        if weights.vision:
            inputs = weights.processor.apply_chat_template(
                [_vision_message(m) for m in messages], tools=tools, add_generation_prompt=True,
                tokenize=True, return_dict=True, return_tensors="pt", **extra_vars)
            ids = inputs.pop("input_ids")[0].tolist()
            inputs.pop("attention_mask", None)
            text = weights.processor.decode(ids[-8:])
            extra = dict(inputs) or None
        else:
            text = weights.tokenizer.apply_chat_template(chat, tools=tools or None, add_generation_prompt=True,
                                                         tokenize=False, **extra_vars)
            ids = weights.tokenizer(text, add_special_tokens=False)["input_ids"]
            extra = None
        self._check_fits(weights, len(ids))
        return ids, extra, starts_in_thinking(text)

    def _limit(self, weights: HFWeights) -> int | None:
        return self.n_ctx or weights.max_positions

    def _check_fits(self, weights: HFWeights, n_prompt: int) -> None:
        limit = self._limit(weights)
        if limit is not None and n_prompt >= limit:
            source = "n_ctx" if self.n_ctx else "the model's max_position_embeddings"
            raise ContextOverflowError(
                f"The prompt is {n_prompt} tokens but {self.model_string} holds {limit} ({source}). "
                f"Shorten the conversation (client.reset() or fewer messages) or use a longer-context model.",
                limit=limit, needed=n_prompt, provider=KIND)

    def _request(self, weights: HFWeights, prompt_ids: list[int], extra, options) -> GenRequest:
        max_new = options.get("max_tokens", options.get("max_new_tokens")) or DEFAULT_MAX_NEW_TOKENS
        limit = self._limit(weights)
        if limit is not None:
            max_new = min(int(max_new), limit - len(prompt_ids))
        temperature = options.get("temperature")
        if temperature is None:   # the model's own generation_config decides
            config = weights.model.generation_config
            do_sample = bool(getattr(config, "do_sample", False))
            temperature = getattr(config, "temperature", None) if do_sample else None
        else:
            do_sample = float(temperature) > 0
        top_p = options.get("top_p") if do_sample else None
        return GenRequest(input_ids=list(prompt_ids), max_new_tokens=int(max_new), eos_ids=weights.eos_ids,
                          do_sample=do_sample, temperature=float(temperature) if do_sample else None,
                          top_p=top_p, seed=options.get("seed"), extra_inputs=extra)


# -- loading ----------------------------------------------------------------------------------
def _default_device_map() -> str:
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


@contextlib.contextmanager
def _quiet_progress():
    """No "Loading weights" progress bar in the notebook output (the load is in the cache
    gauge and its time in cache_info()); the user's own setting comes back afterwards."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def _load_weights(source: str, label: str, load_kwargs: dict[str, Any]) -> HFWeights:
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    common = {k: load_kwargs.get(k) for k in ("local_files_only", "trust_remote_code", "revision")
              if load_kwargs.get(k) is not None}
    model_kwargs = {k: v for k, v in load_kwargs.items()
                    if k not in common and k not in ("local_files_only", "trust_remote_code", "revision")
                    and v is not None}
    try:
        config = AutoConfig.from_pretrained(source, **common)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"hf:{label}: no model found at {source!r} (looked for a local folder, then the local "
            f"HuggingFace cache; downloads are off). Download it first (huggingface-cli download "
            f"{label}) or pass local_files_only=False. Cause: {exc}") from exc
    processor = None
    with _quiet_progress():
        if getattr(config, "vision_config", None) is not None:
            processor = transformers.AutoProcessor.from_pretrained(source, **common)
            tokenizer = processor.tokenizer
            model = transformers.AutoModelForImageTextToText.from_pretrained(source, **common, **model_kwargs)
        else:
            tokenizer = AutoTokenizer.from_pretrained(source, **common)
            model = AutoModelForCausalLM.from_pretrained(source, **common, **model_kwargs)
    model.eval()
    eos = _eos_ids(model, tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(eos) if eos else 0
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    return HFWeights(model, tokenizer, processor, pad_id=int(pad), eos_ids=frozenset(eos),
                     max_positions=getattr(text_config, "max_position_embeddings", None))


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    for value in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    for token in ("<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<end_of_turn>"):
        token_id = tokenizer.convert_tokens_to_ids(token) if token in tokenizer.get_vocab() else None
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id:
            ids.add(token_id)
    return ids


# -- messages for templates ---------------------------------------------------------------------
def _vision_message(message: dict[str, Any]) -> dict[str, Any]:
    m = template_message(message)
    content = m.get("content")
    if isinstance(content, list):
        m["content"] = [{"type": "image", "url": p["image_url"]["url"]} if p.get("type") == "image_url"
                        else p for p in content]
    elif isinstance(content, str):
        m["content"] = [{"type": "text", "text": content}]
    return m


class _Decoder:
    """Incremental detokenization: emits text only once it is complete UTF-8."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.prefix = 0     # ids[prefix:read] were decoded already
        self.read = 0
        self.text = ""      # everything emitted so far

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def add(self, ids: list[int]) -> str:
        self.ids.extend(ids)
        before = self._decode(self.ids[self.prefix:self.read])
        after = self._decode(self.ids[self.prefix:])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            delta = after[len(before):]
            self.prefix, self.read = self.read, len(self.ids)
            self.text += delta
            return delta
        return ""

    def flush(self) -> str:
        before = self._decode(self.ids[self.prefix:self.read])
        after = self._decode(self.ids[self.prefix:])
        delta = after[len(before):] if len(after) > len(before) else ""
        self.prefix = self.read = len(self.ids)
        self.text += delta
        return delta

