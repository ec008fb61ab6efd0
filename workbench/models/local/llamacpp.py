"""LlamaCppClient: GGUF models in-process through llama-cpp-python; weights shared, contexts not.

    c = wb.client("llamacpp:workbench-tiny")                  # the built-in model's GGUF
    c = wb.client("llamacpp:/models/qwen3-8b-q4.gguf", n_ctx=8192, n_gpu_layers=-1)

What is shared: one llama.cpp *model* (the weights) per ``(path, n_gpu_layers, use_mmap)``
lives in the kernel-wide weight cache. Each client gets its own *context* (KV cache,
compute buffers), or leases one from its scheduler's pool. We drive the context ourselves
(tokenize, decode, sample) instead of through ``llama_cpp.Llama``, because ``Llama`` always
loads its own model; every call into llama-cpp-python's low-level API is in
``llamacpp_native`` (with its version check and its errors).

The prompt comes from the GGUF's own chat template (``tokenizer.chat_template``), rendered
here with Jinja2 (tools, ``enable_thinking``). A GGUF that fails to load raises
ConfigurationError with llama.cpp's own log lines (bad magic, unknown architecture...).
Cleared weights: see ``weights.py`` (WeightsClearedError; ``reload()``).
"""

from __future__ import annotations

import codecs
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from workbench.errors import ClientBusyError, ConfigurationError, ContextOverflowError, ProviderError
from workbench.models.chunks import StreamChunk
from workbench.models.client import BaseModelClient
from workbench.models.inputs import message_images
from workbench.models.local import chat_template
from workbench.models.local import llamacpp_native as native
from workbench.models.local.toolcalls import OutputSplitter, cut_at_stop, stop_strings
from workbench.models.local.weights import CACHE, CacheEntry, Loaded
from workbench.models.turn import done_chunk

KIND = "llamacpp"
DEFAULT_MAX_TOKENS = 512
DEFAULT_N_CTX_CAP = 8192     # a model trained on 128k tokens should not allocate that by default
CLOSE_WAIT_S = 60.0          # close()/reload() wait this long for a running turn to end


@dataclass
class LlamaWeights:
    model: Any                       # a llama_cpp._internals.LlamaModel (see llamacpp_native)
    path: str
    chat_template: str | None
    bos: str
    eos: str
    n_ctx_train: int
    size: int
    contexts: list[Any] = field(default_factory=list)
    # Pools of contexts are keyed by this, never by id(): a reload may reuse the address.
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Schedulers that pooled contexts of these weights: a clear drops those pools.
    pooled_in: "weakref.WeakSet[Any]" = field(default_factory=weakref.WeakSet)


def _load_weights(path: str, label: str, n_gpu_layers: int, use_mmap: bool) -> Loaded:
    try:
        model = native.load_model(path, n_gpu_layers, use_mmap)
    except native.NativeError as exc:
        raise ConfigurationError(
            f"llamacpp:{label}: llama.cpp could not load {path!r}: {exc.reason}. Check "
            f"that the file is a complete GGUF for an architecture this llama-cpp-python supports.") from exc
    facts = native.model_facts(model)
    weights = LlamaWeights(model=model, path=path, chat_template=facts["chat_template"], bos=facts["bos"],
                           eos=facts["eos"], n_ctx_train=facts["n_ctx_train"], size=facts["size"])
    return Loaded(weights, bytes_by_device=_bytes_by_device(facts["n_layer"], weights.size, n_gpu_layers),
                  close=_close_weights, label=label)


def _bytes_by_device(n_layer: int, size: int, n_gpu_layers: int) -> dict[str, int]:
    if n_gpu_layers == 0 or not native.gpu_offload_supported():
        return {"cpu": size}
    # llama.cpp does not report per-device sizes; split by the share of offloaded layers.
    share = 1.0 if n_gpu_layers < 0 else min(1.0, n_gpu_layers / n_layer)
    gpu = int(size * share)
    return {k: v for k, v in {"gpu": gpu, "cpu": size - gpu}.items() if v}


def _close_weights(weights: LlamaWeights) -> None:
    for scheduler in list(weights.pooled_in):   # forget pooled contexts before freeing them
        for key in [k for k in scheduler.pool_keys() if isinstance(k, tuple) and k and k[0] == weights.uid]:
            scheduler.drop_pool(key)
    for ctx in weights.contexts:
        ctx.close()
    weights.contexts.clear()
    native.close_model(weights.model)


def cache_model_id(model_id: str) -> str:
    """The model part of the cache key (no file reads: see hf.cache_model_id)."""
    from workbench.builtin.tiny_corpus import TINY_ID

    return model_id if model_id == TINY_ID else str(Path(model_id).expanduser().resolve())


def resolve_gguf(model_id: str) -> str:
    """The GGUF file of a catalog id (built if missing) or a path; a clear error when there is none."""
    from workbench.builtin.tiny_corpus import TINY_ID

    if model_id == TINY_ID:
        from workbench.builtin.tiny import ensure_tiny

        return str(ensure_tiny().gguf)
    path = Path(model_id).expanduser().resolve()
    if not path.is_file():
        raise ConfigurationError(
            f"llamacpp:{model_id}: no GGUF file at {str(path)!r}. Give the path of a .gguf file "
            f"(e.g. 'llamacpp:/models/qwen3-8b-q4.gguf') or 'llamacpp:workbench-tiny'.")
    return str(path)


# -- one context (KV cache) -------------------------------------------------------------------
class _Context(native.Context):
    """A native context that knows its weights (a clear closes every context of them)."""

    def __init__(self, weights: LlamaWeights, n_ctx: int, n_batch: int, n_threads: int | None):
        try:
            super().__init__(weights.model, n_ctx, n_batch, n_threads)
        except native.NativeError as exc:
            raise ProviderError(f"llama.cpp could not make a context of n_ctx={n_ctx} ({exc.reason}): lower n_ctx "
                                "or free memory.", provider=KIND) from exc
        self.weights = weights
        weights.contexts.append(self)


class LlamaCppClient(BaseModelClient):
    def __init__(self, model, *, n_ctx: int | None = None, n_gpu_layers: int = 0, n_batch: int = 512,
                 n_threads: int | None = None, use_mmap: bool = True, scheduler=None, **kwargs: Any):
        super().__init__(model, **kwargs)
        self._provider_kwargs = dict(n_ctx=n_ctx, n_gpu_layers=n_gpu_layers, n_batch=n_batch,
                                     n_threads=n_threads, use_mmap=use_mmap, scheduler=scheduler)
        self.n_gpu_layers = n_gpu_layers
        self.use_mmap = use_mmap
        self.n_batch = n_batch
        self.n_threads = n_threads
        self.scheduler = scheduler
        self._n_ctx_arg = n_ctx
        self._context: _Context | None = None
        self._context_lock = threading.Lock()    # one turn at a time on this client's own KV cache
        self._entry: CacheEntry = self._load()
        weakref.finalize(self, _close_context, self.__dict__)

    def close(self) -> None:
        """Free this client's own context (KV cache) now; the shared weights stay cached. A
        turn running in another thread finishes first (it holds the context lock)."""
        if not self._context_lock.acquire(timeout=CLOSE_WAIT_S):
            raise ClientBusyError(f"{self!r}: a turn has held this client's context for {CLOSE_WAIT_S:g} s "
                                  "(a stream not read to its end?); close() that stream first, then the client.")
        try:
            _close_context(self.__dict__)
        finally:
            self._context_lock.release()

    def _load(self) -> CacheEntry:
        load_kwargs = {"n_gpu_layers": self.n_gpu_layers, "use_mmap": self.use_mmap}
        label = self.spec.id
        return CACHE.get_or_load(
            KIND, cache_model_id(label), load_kwargs,
            lambda: _load_weights(resolve_gguf(label), label, self.n_gpu_layers, self.use_mmap))

    def fork(self, system: str | None = None) -> "LlamaCppClient":
        """A client on the same weights with its own conversation and its own context (KV cache)."""
        return type(self)(self.resolved, system=system, tools=list(self.tools), mcp_client=self.mcp_client,
                          generate_kwargs=dict(self.default_generate_kwargs),
                          max_tool_rounds=self.max_tool_rounds, **self._provider_kwargs)

    def reload(self) -> None:
        """Load the weights again (through the cache) after a clear."""
        self._entry = self._load()
        self.close()

    @property
    def _llama_model(self):
        with self._entry.use() as weights:
            return weights.model

    @property
    def cache_entry(self) -> CacheEntry:
        return self._entry

    def n_ctx(self, weights: LlamaWeights) -> int:
        return int(self._n_ctx_arg) if self._n_ctx_arg else min(weights.n_ctx_train, DEFAULT_N_CTX_CAP)

    def _new_context(self, weights: LlamaWeights) -> _Context:
        return _Context(weights, self.n_ctx(weights), self.n_batch, self.n_threads)

    # -- one turn ---------------------------------------------------------------------------------
    def _turn(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
              options: dict[str, Any], stream: bool) -> Iterator[StreamChunk]:
        start = time.perf_counter()
        with self._entry.use() as weights:
            prompt = render_prompt(weights, messages, tools, options, self.model_string)
            tokens = native.tokenize(weights.model, prompt)
            n_ctx = self.n_ctx(weights)
            if len(tokens) >= n_ctx:
                raise ContextOverflowError(
                    f"The prompt is {len(tokens)} tokens but this {self.model_string} client has n_ctx={n_ctx}. "
                    f"Shorten the conversation (client.reset()) or pass a larger n_ctx "
                    f"(the model was trained on {weights.n_ctx_train}).",
                    limit=n_ctx, needed=len(tokens), provider=KIND)
            with self._lease(weights) as context:
                count, finish, chunks = 0, None, self._decode(context, weights, tokens, options)
                splitter = OutputSplitter(chat_template.starts_in_thinking(prompt))
                try:
                    for item in chunks:
                        if isinstance(item, tuple):            # (tokens generated, finish reason)
                            count, finish = item
                            break
                        yield from splitter.feed(item)
                finally:
                    chunks.close()       # an abandoned stream frees its sampler now, not at GC
                yield from splitter.flush()
        if splitter.calls:
            finish = "tool_calls"
        yield done_chunk(usage={"input_tokens": len(tokens), "output_tokens": count}, finish_reason=finish,
                         elapsed_s=time.perf_counter() - start, model=self.model_string)

    def _lease(self, weights: LlamaWeights):
        if self.scheduler is not None:
            key = (weights.uid, self.n_ctx(weights), self.n_batch)
            weights.pooled_in.add(self.scheduler)
            return _PermitContext(self.scheduler.acquire(
                pool_key=key, factory=lambda: self._new_context(weights), reset=_Context.clear),
                lambda: self._new_context(weights), weights)
        return _OwnContext(self, weights)

    def _decode(self, context: _Context, weights: LlamaWeights, tokens: list[int],
                options: dict[str, Any]) -> Iterator[Any]:
        """Text deltas, then one ``(count, finish_reason)``; stops between tokens when abandoned."""
        model = weights.model
        context.clear()
        max_tokens = options.get("max_tokens", options.get("max_new_tokens")) or DEFAULT_MAX_TOKENS
        max_tokens = min(int(max_tokens), context.n_ctx - len(tokens))
        sampler = native.sampler(options)
        stops = stop_strings(options.get("stop"))
        utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text, count, finish = "", 0, "length"
        try:
            for i in range(0, len(tokens), context.n_batch):
                _decode_checked(context, tokens[i:i + context.n_batch], i, False)
            n_past = len(tokens)
            while count < max_tokens:
                token = context.sample(sampler)
                if native.is_end(model, token):
                    finish = "stop"
                    break
                count += 1
                delta = utf8.decode(native.piece(model, token))
                if delta:
                    text += delta
                    if stops:
                        delta, hit = cut_at_stop(text, delta, stops)
                        if hit:
                            if delta:
                                yield delta
                            finish = "stop"
                            break
                    yield delta
                if count >= max_tokens:
                    break
                _decode_checked(context, [token], n_past, True)
                n_past += 1
            tail = utf8.decode(b"", final=True)
            if tail:
                yield tail
            yield (count, finish)
        finally:
            sampler.close()


def _close_context(state: dict[str, Any]) -> None:
    context = state.get("_context")
    state["_context"] = None
    if context is not None:
        if context in context.weights.contexts:
            context.weights.contexts.remove(context)
        context.close()


class _OwnContext:
    def __init__(self, client: LlamaCppClient, weights: LlamaWeights):
        self.client, self.weights = client, weights

    def __enter__(self) -> _Context:
        self.client._context_lock.acquire()
        try:
            ctx = self.client._context
            if ctx is None or ctx.weights is not self.weights or not ctx.alive:
                ctx = self.client._context = self.client._new_context(self.weights)
            return ctx
        except BaseException:
            self.client._context_lock.release()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.client._context_lock.release()


class _PermitContext:
    def __init__(self, permit, factory, weights: LlamaWeights):
        self.permit = permit
        context = permit.context
        # A pooled context of weights that were cleared (and maybe reloaded at the same
        # address) is closed: replace it rather than decode on a freed llama_context.
        if context is None or context.weights is not weights or not context.alive:
            permit.context = factory()

    def __enter__(self) -> _Context:
        return self.permit.context

    def __exit__(self, *exc: Any) -> None:
        self.permit.release()


def _decode_checked(context: _Context, tokens: list[int], n_past: int, logits_all: bool) -> None:
    try:
        context.decode(tokens, n_past, logits_all)
    except native.NativeError as exc:
        raise ProviderError(f"llama.cpp failed to decode: {exc.reason}. The context may be full (raise n_ctx).",
                            provider=KIND) from exc


# -- chat template ---------------------------------------------------------------------------
def render_prompt(weights: LlamaWeights, messages: list[dict[str, Any]], tools, options, label: str) -> str:
    if any(message_images(m) for m in messages):
        raise ConfigurationError(f"{label} is a text-only model here and cannot take images. Send text only.")
    if not weights.chat_template:
        raise ConfigurationError(
            f"{label}: the GGUF has no tokenizer.chat_template, so there is no way to write a chat "
            f"prompt for it. Use a GGUF exported with its chat template.")
    return chat_template.render(weights.chat_template, messages, tools, options,
                                bos_token=weights.bos, eos_token=weights.eos)
