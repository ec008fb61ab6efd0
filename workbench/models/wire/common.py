"""Helpers every wire adapter shares: field access, tool-call assembly, error mapping.

Nothing here imports an SDK. SDK exceptions are recognised by their attributes
(``status_code``, ``response``) and class names, so the adapters stay importable and
testable without the SDKs, and the error mapping is written once.
"""

from __future__ import annotations

import email.utils
import re
import time
import uuid
from typing import Any, Iterable, Iterator

from workbench.errors import (AuthenticationError, BadRequestError, ConnectionFailed, ContextOverflowError,
                              ModelNotFoundError, ProviderError, RateLimitError, ServerError,
                              StreamInterrupted)
from workbench.models.chunks import Phase, StreamChunk
from workbench.models.turn import parse_arguments

# Finish reasons under OpenAI's names, whatever the provider calls them.
FINISH_REASONS = {
    "end_turn": "stop", "stop_sequence": "stop", "stop": "stop",
    "tool_use": "tool_calls", "tool_calls": "tool_calls", "function_call": "tool_calls",
    "max_tokens": "length", "length": "length",
    "refusal": "content_filter", "content_filter": "content_filter",
}


def finish_reason(raw: str | None) -> str | None:
    return FINISH_REASONS.get(raw, raw) if raw else raw


def get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of an SDK object (pydantic) or of a plain dict.

    Pydantic keeps fields in ``__dict__`` and unknown ones (``reasoning_content`` on an
    OpenAI delta) in ``__pydantic_extra__``; reading those directly avoids the exception
    that ``getattr`` pays for every absent field, on every stream event.
    """
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    fields = getattr(obj, "__dict__", None)
    if fields is not None and name in fields:
        return fields[name]
    extra = getattr(obj, "__pydantic_extra__", None)
    if extra is not None or hasattr(type(obj), "__pydantic_fields__"):
        return extra.get(name, default) if extra else default
    return getattr(obj, name, default)


def as_dict(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, dict):
        return obj
    dump = getattr(obj, "model_dump", None)
    if dump is not None:
        return dump()
    return dict(vars(obj))


class ToolCallAccumulator:
    """Streamed tool-call fragments, keyed by index, assembled into whole calls."""

    def __init__(self) -> None:
        self._calls: dict[Any, dict[str, Any]] = {}

    def add(self, index: Any, call_id: str | None = None, name: str | None = None,
            arguments: Any = None) -> None:
        key = index if index is not None else (call_id or len(self._calls))
        call = self._calls.setdefault(key, {"id": None, "name": "", "arguments": ""})
        if call_id:
            call["id"] = call_id
        if name:
            call["name"] = call["name"] or name
        if isinstance(arguments, dict):
            call["arguments"] = arguments
        elif arguments:
            call["arguments"] += arguments

    def __len__(self) -> int:
        return len(self._calls)

    def chunks(self) -> Iterator[StreamChunk]:
        for call in self._calls.values():
            # Ollama sends no ids; the history needs one per call to pair results with requests.
            yield tool_call_chunk(call["id"] or "call_" + uuid.uuid4().hex[:12], call["name"], call["arguments"])
        self._calls.clear()


def tool_call_chunk(call_id: str, name: str, arguments: Any) -> StreamChunk:
    return StreamChunk(Phase.TOOL_CALL, {"id": call_id, "name": name, "arguments": parse_arguments(arguments)})


# -- errors -------------------------------------------------------------------------------------

_CONTEXT_PATTERNS = re.compile(
    r"context[_ ]length|context window|maximum context|prompt is too long|too many tokens|"
    r"input is too long|exceeds the (?:maximum|model)|context_length_exceeded", re.IGNORECASE)
_CONNECT_NAMES = {"ConnectError", "ConnectTimeout", "APIConnectionError", "APITimeoutError",
                  "ConnectionError", "ConnectionRefusedError", "TimeoutException", "PoolTimeout"}
_TRANSPORT_NAMES = _CONNECT_NAMES | {"TransportError", "RemoteProtocolError", "ReadError", "ReadTimeout",
                                     "NetworkError", "ProtocolError", "IncompleteRead", "ChunkedEncodingError",
                                     "ConnectionResetError", "BrokenPipeError"}


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (a number or an HTTP date)."""
    if not headers:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return float(ms) / 1000.0
        value = headers.get("retry-after")
    except AttributeError:
        return None
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def error_for_status(status: int, message: str, *, provider: str, retry_after: float | None = None,
                     model: str | None = None) -> ProviderError:
    """The typed error for an HTTP status, with a message that says what to do."""
    if _CONTEXT_PATTERNS.search(message or "") and status in (400, 413, 422):
        return ContextOverflowError(f"{provider}: the prompt does not fit the model's context window ({message}). "
                                    "Shorten the conversation (client.reset() or drop old messages) or pick a "
                                    "model with a larger context.", provider=provider)
    if status in (401, 403):
        return AuthenticationError(f"{provider} refused the credentials (HTTP {status}: {message}). Check the "
                                   "API key (api_key=... or the provider's environment variable).",
                                   provider=provider, status=status)
    if status == 404:
        what = f"model {model!r}" if model else "the requested resource"
        return ModelNotFoundError(f"{provider} does not know {what} (HTTP 404: {message}). Check the model id "
                                  "and, for self-hosted servers, that the model is loaded and the base URL is right.",
                                  provider=provider, status=status)
    if status == 429:
        return RateLimitError(f"{provider} rate limit (HTTP 429: {message}); retried and still limited. Wait and "
                              "try again, or lower the request rate.", provider=provider, status=status,
                              retry_after=retry_after)
    if status >= 500:
        return ServerError(f"{provider} server error (HTTP {status}: {message}); retried and still failing. "
                           "Try again later.", provider=provider, status=status, retry_after=retry_after)
    if status in (400, 413, 422):
        return BadRequestError(f"{provider} rejected the request (HTTP {status}: {message}). Check the "
                               "generate kwargs, messages and tools sent.", provider=provider, status=status)
    return ProviderError(f"{provider} answered HTTP {status}: {message}", provider=provider, status=status,
                         retry_after=retry_after)


def map_error(exc: BaseException, *, provider: str, host: str | None = None, started: bool = False,
              message: str | None = None, model: str | None = None) -> ProviderError | None:
    """Our error for an SDK or transport exception, or None when it is not a provider failure.

    ``started``: some of the answer was already received, so a broken connection is a
    cut stream (StreamInterrupted), not a failure to connect.
    """
    if isinstance(exc, ProviderError):
        return exc
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 400:
        response = getattr(exc, "response", None)
        retry_after = retry_after_seconds(getattr(response, "headers", None))
        text = message or getattr(exc, "message", None) or getattr(exc, "error", None) or str(exc)
        return error_for_status(status, str(text), provider=provider, retry_after=retry_after, model=model)
    names = _class_names(exc)
    where = f" at {host}" if host else ""
    if started and names & _TRANSPORT_NAMES:
        return StreamInterrupted(f"The {provider} stream{where} was cut before the answer was complete "
                                 f"({type(exc).__name__}: {exc}). The partial answer is in exc.partial / "
                                 "client.last_partial; send the message again to retry.", provider=provider)
    if names & _TRANSPORT_NAMES:
        return ConnectionFailed(f"Could not connect to {provider}{where} ({type(exc).__name__}: {exc}). Check "
                                "that the server is running and the base URL is right.", host=host,
                                provider=provider)
    if "APIError" in names or "ResponseError" in names:  # an error event inside a 200 stream
        text = f"{provider} reported an error: {message or exc}"
        if started:
            return StreamInterrupted(text + ". The partial answer is in exc.partial / client.last_partial.",
                                     provider=provider)
        kind = _error_kind(exc)
        if kind in _OVERLOADED_KINDS:   # before any answer: as retryable as an HTTP 5xx
            return ServerError(text, provider=provider)
        if kind in _RATE_KINDS:
            return RateLimitError(text, provider=provider)
        return ProviderError(text, provider=provider)
    return None


_OVERLOADED_KINDS = {"overloaded_error", "api_error", "server_error", "internal_error"}
_RATE_KINDS = {"rate_limit_error", "rate_limit_exceeded"}


def _error_kind(exc: BaseException) -> str | None:
    """The ``type`` of an error body (``{"error": {"type": ...}}`` or ``{"type": ...}``)."""
    body = getattr(exc, "body", None)
    if not isinstance(body, dict):
        return None
    inner = body.get("error", body)
    return inner.get("type") if isinstance(inner, dict) else None


def stream_ended(provider: str) -> StreamInterrupted:
    """The stream closed without its final event."""
    return StreamInterrupted(f"The {provider} stream ended before the answer was complete (no final event). "
                            "The partial answer is in exc.partial / client.last_partial; send the message "
                            "again to retry.", provider=provider)


def drain(parser: Any, events: Iterable[Any]) -> Iterator[StreamChunk]:
    """Run a push parser over already decoded events (the sync, pull-style use of a parser)."""
    for event in events:
        yield from parser.feed(event)
    yield from parser.end()


class ResponseParser:
    """A whole (non-streamed) response through the same feed/end interface as a stream."""

    def __init__(self, parse_response: Any, **kwargs: Any):
        self._parse = parse_response
        self._kwargs = kwargs

    def feed(self, response: Any) -> list[StreamChunk]:
        return list(self._parse(response, **self._kwargs))

    def end(self) -> list[StreamChunk]:
        return []
