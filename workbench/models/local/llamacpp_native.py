"""Every use of llama-cpp-python's low-level API, in one place: ``llama_cpp._internals``
(LlamaModel, LlamaContext, LlamaBatch, LlamaSampler), the raw C functions, and llama.cpp's log.

``LlamaCppClient`` drives a shared model and per-client contexts itself (``llama_cpp.Llama``
always loads its own model), so it depends on this private API. It is checked once, on
first use, against the range the project is tested with (``TESTED``): another version is
a ConfigurationError naming the pin, not a crash deep inside a turn. Its failures are mapped
here too (``NativeError`` -> our typed errors, in ``LlamaCppClient``): a failed load says
why from llama.cpp's own log lines, a failed decode says the context may be full.

The log: llama-cpp-python prints llama.cpp's log to stderr (or swallows it when
``verbose=False``), and a failed load raises only "Failed to load model from file". One log
callback for the process copies lines into whatever captures are open (``captured_log``);
outside a capture the log is dropped but for errors (llama.cpp is chatty at INFO level).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from typing import Any, Iterator

from workbench.errors import ConfigurationError, MissingDependencyError

TESTED = ((0, 3, 36), (0, 4, 0))      # >= first, < second: pyproject's llamacpp extra
GGML_LOG_LEVEL_ERROR = 3

_checked: Any = None
_log_lock = threading.Lock()
_log_capture: list[list[str]] = []
_log_callback = None


class NativeError(Exception):
    """llama.cpp refused: ``stage`` is "load", "context" or "decode", ``reason`` its own words."""

    def __init__(self, stage: str, reason: str):
        super().__init__(reason)
        self.stage, self.reason = stage, reason


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts + [0] * (3 - len(parts)))


def check_version(version: str) -> None:
    low, high = TESTED
    if not low <= _version(version) < high:
        pin = f"llama-cpp-python>={'.'.join(map(str, low))},<{'.'.join(map(str, high[:2]))}"
        raise ConfigurationError(
            f"llama-cpp-python {version} is installed, but workbench drives its low-level API (_internals), "
            f"which changes between releases, and is tested with {pin}: pip install '{pin}'.")


def lib():
    """``llama_cpp``, imported and version-checked once."""
    global _checked
    if _checked is None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise MissingDependencyError("llama_cpp", "llamacpp") from exc
        check_version(getattr(llama_cpp, "__version__", "0"))
        _checked = llama_cpp
    return _checked


# -- models ----------------------------------------------------------------------------------------
def load_model(path: str, n_gpu_layers: int, use_mmap: bool) -> Any:
    llama_cpp = lib()
    from llama_cpp import _internals

    params = llama_cpp.llama_model_default_params()
    params.n_gpu_layers = n_gpu_layers
    params.use_mmap = use_mmap
    with captured_log() as log:
        try:
            return _internals.LlamaModel(path_model=path, params=params, verbose=True)
        except ValueError as exc:
            raise NativeError("load", failure_reason(log) or str(exc)) from exc


def model_facts(model: Any) -> dict[str, Any]:
    llama_cpp = lib()
    meta = model.metadata()
    return {"chat_template": meta.get("tokenizer.chat_template"),
            "bos": token_text(model, model.token_bos()), "eos": token_text(model, model.token_eos()),
            "n_ctx_train": model.n_ctx_train(), "size": int(llama_cpp.llama_model_size(model.model)),
            "n_layer": max(1, int(llama_cpp.llama_model_n_layer(model.model)))}


def gpu_offload_supported() -> bool:
    return bool(lib().llama_supports_gpu_offload())


def token_text(model: Any, token: int) -> str:
    return model.token_get_text(token) if token >= 0 else ""


def tokenize(model: Any, text: str) -> list[int]:
    return model.tokenize(text.encode("utf-8"), add_bos=model.add_bos_token(), special=True)


def piece(model: Any, token: int) -> bytes:
    """The bytes of one token (a piece may be part of a UTF-8 character)."""
    llama_cpp = lib()
    buf = ctypes.create_string_buffer(64)
    n = llama_cpp.llama_token_to_piece(model.vocab, token, buf, len(buf), 0, False)
    if n < 0:                          # the piece is longer than the buffer: retry at its size
        buf = ctypes.create_string_buffer(-n)
        n = llama_cpp.llama_token_to_piece(model.vocab, token, buf, len(buf), 0, False)
    return buf.raw[:n]


def is_end(model: Any, token: int) -> bool:
    return bool(lib().llama_vocab_is_eog(model.vocab, token))


def close_model(model: Any) -> None:
    model.close()     # also frees any context still registered on it


# -- contexts ----------------------------------------------------------------------------------------
class Context:
    """One llama.cpp context (KV cache, compute buffers) with its batch."""

    def __init__(self, model: Any, n_ctx: int, n_batch: int, n_threads: int | None):
        llama_cpp = lib()
        from llama_cpp import _internals

        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = params.n_ubatch = min(n_batch, n_ctx)
        if n_threads:
            params.n_threads = params.n_threads_batch = n_threads
        try:
            self.ctx = _internals.LlamaContext(model=model, params=params, verbose=False)
        except ValueError as exc:           # out of memory for the KV cache, a bad n_ctx...
            raise NativeError("context", str(exc)) from exc
        self.batch = _internals.LlamaBatch(n_tokens=params.n_batch, embd=0, n_seq_max=1, verbose=False)
        self.n_ctx = self.ctx.n_ctx()
        self.n_batch = params.n_batch

    @property
    def alive(self) -> bool:
        return self.ctx.ctx is not None

    def clear(self) -> None:
        self.ctx.kv_cache_clear()

    def decode(self, tokens: list[int], n_past: int, logits_all: bool) -> None:
        self.batch.set_batch(tokens, n_past=n_past, logits_all=logits_all)
        try:
            self.ctx.decode(self.batch)
        except RuntimeError as exc:
            raise NativeError("decode", str(exc)) from exc

    def sample(self, sampler: Any) -> int:
        return int(lib().llama_sampler_sample(sampler.sampler, self.ctx.ctx, -1))

    def close(self) -> None:
        self.batch.close()
        self.ctx.close()


def sampler(options: dict[str, Any]) -> Any:
    """Greedy without a temperature; else top-p (when given), temperature and a seeded draw."""
    lib()
    from llama_cpp import _internals

    chain = _internals.LlamaSampler()
    temperature = options.get("temperature")
    if temperature is None or float(temperature) <= 0:
        chain.add_greedy()
        return chain
    if options.get("top_p") is not None:
        chain.add_top_p(float(options["top_p"]), 1)
    chain.add_temp(float(temperature))
    seed = options.get("seed")
    chain.add_dist(int(seed) if seed is not None else int.from_bytes(os.urandom(4), "little"))
    return chain


# -- the log -------------------------------------------------------------------------------------------
_install_lock = threading.Lock()


def _install_log_callback() -> None:
    with _install_lock:            # two first loads at once must not leave llama.cpp a freed callback
        _install_once()


def _install_once() -> None:
    global _log_callback
    llama_cpp = lib()
    if _log_callback is not None:
        return

    try:  # llama-cpp-python's own printer, kept for everything we do not capture
        from llama_cpp._logger import llama_log_callback as original
    except ImportError:
        original = None

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        msg = text.decode("utf-8", "replace")
        with _log_lock:
            sinks = list(_log_capture)
        for sink in sinks:
            sink.append(msg)
        if not sinks and original is not None and level == GGML_LOG_LEVEL_ERROR:
            original(level, text, user_data)

    _log_callback = callback          # keep a reference: llama.cpp holds a raw pointer
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


@contextlib.contextmanager
def captured_log() -> Iterator[list[str]]:
    """Collect llama.cpp log lines written while the block runs (from any thread)."""
    _install_log_callback()
    sink: list[str] = []
    with _log_lock:
        _log_capture.append(sink)
    try:
        yield sink
    finally:
        with _log_lock:
            _log_capture.remove(sink)


def failure_reason(lines: list[str]) -> str:
    text = "".join(lines)
    keep = [ln.strip() for ln in text.splitlines()
            if any(w in ln.lower() for w in ("error", "failed", "invalid", "unknown", "not supported"))]
    return "; ".join(dict.fromkeys(keep))
