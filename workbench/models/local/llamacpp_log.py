"""llama.cpp's own log, captured while loading, so a failed load can say why.

llama-cpp-python prints llama.cpp's log to stderr (or swallows it when ``verbose=False``),
and a failed load raises only "Failed to load model from file". We install one log
callback for the process that copies lines into whatever captures are open; outside a
capture the log is dropped (llama.cpp is chatty at INFO level).
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from typing import Iterator

GGML_LOG_LEVEL_ERROR = 3
_log_lock = threading.Lock()
_log_capture: list[list[str]] = []
_log_callback = None


def _install_log_callback() -> None:
    global _log_callback
    import llama_cpp

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
