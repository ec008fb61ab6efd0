"""What the clients call after every turn: cheap when the log is off, never raising.

``record_turn`` is called by ``ChatState`` when a chat() or generate() ends (both drivers,
success or failure). When the log is on it hands a plain dict to the log's writer thread;
the JSON, the redaction and the SQLite write happen there, off the caller's path.
``context(**tags)`` labels the calls made inside it (a benchmark's run id, an agent's name).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import time
from typing import Any, Iterator

_TAGS: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("workbench_log_tags", default={})
_log: Any = None            # the open CallLog when enabled, else None
_env_checked = False


def active() -> Any:
    """The open call log, or None (``WORKBENCH_LOG=1`` opens the default one on first use)."""
    global _env_checked
    if _log is None and not _env_checked:
        _env_checked = True
        if os.environ.get("WORKBENCH_LOG", "").strip().lower() in ("1", "true", "yes", "on"):
            from workbench.log import enable

            try:
                enable(os.environ.get("WORKBENCH_LOG_PATH") or None)
            except Exception as exc:   # a log that cannot open never fails a call
                _warn(f"WORKBENCH_LOG is set but the call log cannot open: {exc}")
    return _log


def set_active(log: Any) -> None:
    global _log, _env_checked
    _log, _env_checked = log, True


@contextlib.contextmanager
def context(**tags: Any) -> Iterator[None]:
    """Calls made inside carry these tags in the log (nested contexts add to the outer ones)."""
    token = _TAGS.set({**_TAGS.get(), **{k: v for k, v in tags.items() if v is not None}})
    try:
        yield
    finally:
        _TAGS.reset(token)


def tags(state: Any = None) -> dict[str, Any]:
    """The context's tags, over the client's own (``tag_client``)."""
    own = state.__dict__.get("_log_tags") if state is not None else None
    return {**own, **_TAGS.get()} if own else _TAGS.get()


def tag_client(client: Any, **values: Any) -> None:
    """Tags every later call of ``client`` carries in the log (an agent's name)."""
    state = client.__dict__.get("_state", client)       # an aio client keeps its state apart
    state.__dict__.setdefault("_log_tags", {}).update(values)


def record_turn(state: Any, loop: Any, error: BaseException | None) -> None:
    log = active()
    if log is None:
        return
    try:
        log.submit(_turn_record(state, loop, error))
    except Exception as exc:          # never fail the call that is being logged
        _warn(f"a call could not be logged: {type(exc).__name__}: {exc}")


def _turn_record(state: Any, loop: Any, error: BaseException | None) -> dict[str, Any]:
    turns = list(loop.turns)
    usage: dict[str, int] = {}
    for turn in turns:
        for k, v in turn.usage.items():
            usage[k] = usage.get(k, 0) + v
    last = loop.last_turn
    partial = getattr(state, "last_partial", None) if error is not None else None
    answer = last.text if last is not None else ""
    if partial is not None and partial is not last:
        answer = partial.text
    credentials = getattr(state, "_credentials", None)
    return {
        "started_at": loop.started_at,
        "duration_s": time.time() - loop.started_at,
        "kind": "chat" if loop.history is getattr(state, "messages", None) else "generate",
        "model": state.model_string,
        "provider": getattr(state, "provider", None),
        "client_id": client_id(state),
        "conversation": getattr(state, "conversation_name", None),
        "tags": tags(state),
        "options": dict(loop.options or {}),
        "messages": list(loop.history[:loop.sent_len]),
        "answer": answer,
        "thinking": "".join(t.thinking for t in turns) + (partial.thinking if partial is not None
                                                           and partial not in turns else ""),
        "tool_calls": [call for t in turns for call in (t.tool_calls or [])],
        "input_tokens": usage.get("input_tokens"),
        "output_tokens": usage.get("output_tokens"),
        "finish_reason": last.finish_reason if last is not None else None,
        "error": None if error is None else f"{type(error).__name__}: {error}",
        "secrets": credentials() if callable(credentials) else [],
    }


def client_id(state: Any) -> str:
    """A stable id per client object (its calls can be grouped without a conversation name)."""
    value = state.__dict__.get("_log_client_id")
    if value is None:
        import uuid

        value = state.__dict__.setdefault("_log_client_id", uuid.uuid4().hex[:12])
    return value


def _warn(message: str) -> None:
    import warnings

    from workbench.errors import CallLogWarning

    warnings.warn(message, CallLogWarning, stacklevel=3)
