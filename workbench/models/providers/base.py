"""CloudClient: one model call over a provider's official SDK, sync (``_turn``) and async (``_aturn``).

Everything that decides something lives in the wire adapter (request, parsing, errors)
and in RetryPolicy; this module only performs I/O with the SDK's sync or async object,
so both drivers share every decision. Subclasses name the adapter and the few SDK calls.

Retries happen only while nothing has reached the caller: a 429/5xx, a refused
connection, an overload event or a drop before the first chunk is tried again (SDK
retries are off; ours honour Retry-After). Once a chunk was yielded, a failure is raised
as it is (a cut stream becomes StreamInterrupted with the partial answer), because a
second request would give a different answer.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import time
from typing import Any, AsyncIterator, Iterator

from workbench.errors import ConfigurationError, ConnectionFailed, MissingAPIKeyError, ProviderError, RequestTimeout
from workbench.models.chunks import Phase, StreamChunk
from workbench.models.client import BaseModelClient
from workbench.models.redact import redact_text, safe_host, url_secrets
from workbench.models.retry import RetryPolicy, as_policy

_END = object()
log = logging.getLogger("workbench.providers")


class _Secret:
    """An API key that never shows itself in reprs, logs or pickles of the client's __dict__."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None):
        self._value = value

    def get(self) -> str | None:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "<secret>" if self._value else "<no key>"

    __str__ = __repr__

    def __reduce__(self):  # a checkpoint or pickle of the client never carries the key
        return (_Secret, (None,))


DEFAULT_TIMEOUT_S = 600.0
TIMEOUT_ENV = "WORKBENCH_TIMEOUT"
# SDK and transport exceptions that mean "no answer within the timeout" (not "refused")
_TIMEOUT_NAMES = {"APITimeoutError", "ReadTimeout", "WriteTimeout", "PoolTimeout", "TimeoutException"}


def default_timeout() -> float:
    """Seconds a cloud call may wait for the server: ``$WORKBENCH_TIMEOUT``, else 600."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigurationError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds > 0 (e.g. {TIMEOUT_ENV}=120).")
    return value


class CloudClient(BaseModelClient):
    """Base of the SDK-backed clients. ``api_key``, ``base_url``, ``timeout`` and ``retry`` are common."""

    wire: Any = None                # the adapter module (workbench.models.wire.*)
    default_host = ""               # named in connection errors when no base URL is set

    def __init__(self, model, *, api_key: str | None = None, base_url: str | None = None,
                 timeout: float | None = None, retry: "RetryPolicy | int | None" = None, **kwargs: Any):
        super().__init__(model, **kwargs)
        info = self.resolved.provider
        key = api_key or (os.environ.get(info.api_key_env) if info.api_key_env else None)
        if not key and info.key_required:
            raise MissingAPIKeyError(info.name, info.api_key_env or "an API key")
        self._api_key = _Secret(key)
        self.base_url = (base_url or self.resolved.base_url
                         or (os.environ.get(info.base_url_env) if info.base_url_env else None) or info.base_url)
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
            raise ConfigurationError(f"timeout= takes seconds > 0 (e.g. timeout=120), got {timeout!r}.")
        # Always bounded: an SDK whose own default waits forever (ollama) gets ours too.
        self.timeout = float(timeout) if timeout is not None else default_timeout()
        self.retry = as_policy(retry)
        self._sdk: Any = None
        self._async_sdk: Any = None
        self._async_loop: Any = None

    def fork(self, system: str | None = None, *, share_async: bool = False) -> "CloudClient":
        """A client for the same model and connection with its own, empty conversation: built
        by the class's own initialisation (never a copy of this one's state or of wrappers put
        on this instance, such as auto_checkpoint's), sharing the sync SDK's connection pool.
        ``share_async``: share the async SDK object too (one pool for forks awaited in one
        event loop; closing any of them closes it for all), else the fork makes its own."""
        twin = type(self)(self.resolved, api_key=self._api_key.get(), base_url=self.base_url,
                          timeout=self.timeout, retry=self.retry, system=system, tools=list(self.tools),
                          mcp_client=self.mcp_client, generate_kwargs=dict(self.default_generate_kwargs),
                          max_tool_rounds=self.max_tool_rounds, **self._provider_options())
        twin._sdk = self._sdk            # the sync SDK client is thread-safe; the async one is per loop
        if share_async:
            twin._async_sdk, twin._async_loop = self._async_sdk, self._async_loop
        return twin

    def _provider_options(self) -> dict[str, Any]:
        """Constructor options of the provider's class that a fork keeps."""
        return {}

    @property
    def host(self) -> str:
        """``host[:port]`` named in errors (never the URL's user info)."""
        if self.base_url:
            return safe_host(self.base_url) or redact_text(self.base_url)
        return self.default_host

    def _credentials(self) -> list[str]:
        key = self._api_key.get()
        return ([key] if key else []) + url_secrets(self.base_url)

    # -- hooks a provider implements ------------------------------------------------------------
    def _make_sdk(self, asynchronous: bool) -> Any:
        raise NotImplementedError

    def _request(self, messages, tools, options, stream) -> dict[str, Any]:
        raise NotImplementedError

    def _send(self, sdk: Any, request: dict[str, Any], stream: bool) -> Any:
        """The SDK call: a response object, or a stream object that iterates events."""
        raise NotImplementedError

    async def _asend(self, sdk: Any, request: dict[str, Any], stream: bool) -> Any:
        raise NotImplementedError

    def _parser(self, stream: bool) -> Any:
        raise NotImplementedError

    def _map_error(self, exc: BaseException, started: bool) -> ProviderError | None:
        return self.wire.map_error(exc, provider=self.provider, host=self.host, started=started,
                                   model=self.spec.id)

    # -- SDK objects, created on first use (the SDK is imported only then) -------------------------
    def sdk(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            # An async SDK client belongs to the event loop it first ran on (its connection
            # pool does); a new loop (a second asyncio.run) gets a new client.
            loop = asyncio.get_running_loop()
            if self._async_sdk is None or self._async_loop is not loop:
                self._async_sdk, self._async_loop = self._make_sdk(True), loop
            return self._async_sdk
        if self._sdk is None:
            self._sdk = self._make_sdk(False)
        return self._sdk

    def close(self) -> None:
        """Close the sync SDK client's connections (a later call opens new ones)."""
        sdk, self._sdk = self._sdk, None
        _close(sdk)

    async def aclose(self) -> None:
        """Close the async SDK client inside its event loop (before ``asyncio.run`` returns)."""
        sdk, self._async_sdk, self._async_loop = self._async_sdk, None, None
        await _aclose(sdk)

    # -- the sync driver ------------------------------------------------------------------------
    def _turn(self, messages, tools, options, stream) -> Iterator[StreamChunk]:
        request = self._request(messages, tools, options, stream)
        started = time.perf_counter()
        failures, waited = 0, 0.0
        while True:
            parser, handle, yielded = self._parser(stream), None, False
            try:
                handle = self._send(self.sdk(), request, stream)
                events = _iterator(handle) if stream else iter((handle,))
                if stream:
                    handle = events
                for event in events:
                    for chunk in parser.feed(event):
                        yielded = True
                        yield self._stamp(chunk, started)
                chunks = parser.end()
            except Exception as exc:
                error = self._failure(exc, started=yielded)
                wait = None if yielded else self._retry_wait(error, failures := failures + 1, waited)
                if wait is not None:
                    _close(handle)
                    time.sleep(wait)
                    waited += wait
                    continue
                yield from _salvage(parser)
                if error is exc:
                    raise
                raise error from self._cause(exc)
            finally:
                _close(handle)
            for chunk in chunks:
                yield self._stamp(chunk, started)
            return

    # -- the async driver (workbench.aio calls it) -----------------------------------------------
    async def _aturn(self, messages, tools, options, stream) -> AsyncIterator[StreamChunk]:
        request = self._request(messages, tools, options, stream)
        started = time.perf_counter()
        failures, waited = 0, 0.0
        while True:
            parser, handle, yielded = self._parser(stream), None, False
            try:
                handle = await self._asend(self.sdk(asynchronous=True), request, stream)
                if stream:
                    handle = _aiterator(handle)
                event = await _anext(handle) if stream else handle
                while event is not _END:
                    for chunk in parser.feed(event):
                        yielded = True
                        yield self._stamp(chunk, started)
                    event = await _anext(handle) if stream else _END
                chunks = parser.end()
            except Exception as exc:
                error = self._failure(exc, started=yielded)
                wait = None if yielded else self._retry_wait(error, failures := failures + 1, waited)
                if wait is not None:
                    await _aclose(handle)
                    await asyncio.sleep(wait)
                    waited += wait
                    continue
                for chunk in _salvage(parser):
                    yield chunk
                if error is exc:
                    raise
                raise error from self._cause(exc)
            finally:
                await _aclose(handle)
            for chunk in chunks:
                yield self._stamp(chunk, started)
            return

    # -- one non-streamed SDK call (embeddings) under the same retry policy and error mapping -----
    def call_sdk(self, fn: Any) -> Any:
        """``fn(sdk)`` with retries; failures raise our typed errors, key-free."""
        failures, waited = 0, 0.0
        while True:
            try:
                return fn(self.sdk())
            except Exception as exc:
                failures += 1
                wait = self._wait_or_raise(exc, failures, waited)
            time.sleep(wait)
            waited += wait

    async def acall_sdk(self, fn: Any) -> Any:
        """``await fn(async_sdk)`` with the same retries and errors as ``call_sdk``."""
        failures, waited = 0, 0.0
        while True:
            try:
                return await fn(self.sdk(asynchronous=True))
            except Exception as exc:
                failures += 1
                wait = self._wait_or_raise(exc, failures, waited)
            await asyncio.sleep(wait)
            waited += wait

    def _wait_or_raise(self, exc: Exception, failures: int, waited: float) -> float:
        error = self._failure(exc, started=False)
        wait = self._retry_wait(error, failures, waited)
        if wait is not None:
            return wait
        if error is exc:
            raise exc
        raise error from self._cause(exc)

    def _retry_wait(self, error: Exception, failures: int, waited: float) -> float | None:
        """Seconds to wait before trying again (nothing reached the caller yet), or None."""
        wait = self.retry.delay(failures, error, waited)
        if wait is not None:
            self._log_retry(error, failures, wait)
        return wait

    # -- shared bookkeeping ------------------------------------------------------------------------
    def _stamp(self, chunk: StreamChunk, started: float) -> StreamChunk:
        if chunk.phase is not Phase.DONE:
            return chunk
        info = dict(chunk.content)
        info["elapsed_s"] = time.perf_counter() - started
        info["model"] = info.get("model") or self.spec.id
        return StreamChunk(Phase.DONE, info)

    def _log_retry(self, error: Exception, failures: int, wait: float) -> None:
        # The message is already key-free (see _failure).
        log.warning("%s: attempt %d failed (%s: %s); retrying in %.2f s", self.model_string, failures,
                    type(error).__name__, str(error)[:200], wait)

    def _failure(self, exc: Exception, started: bool) -> Exception:
        """Our typed error for ``exc`` (or ``exc`` itself when it is not a provider failure), key-free."""
        error = self._map_error(exc, started)
        if not started and _class_names(exc) & _TIMEOUT_NAMES and (error is None or isinstance(error, ConnectionFailed)):
            error = RequestTimeout(
                f"{self.provider} at {self.host} did not answer within {self.timeout:g} s. Give the client "
                f"more time with timeout= (seconds) when you create it (wb.client(..., timeout=1200)), "
                f"or set {TIMEOUT_ENV}.", timeout=self.timeout, provider=self.provider)
        if error is None:
            # Not a provider failure we know: raised as it is, its text redacted in place (the
            # type is kept, so ``except openai.SomeError`` still works).
            _redact_in_place(exc, self._credentials())
            return exc
        text = str(error)
        clean = redact_text(text, self._credentials())
        if clean != text:
            error.args = (clean,)
        return error

    def _cause(self, exc: BaseException) -> BaseException | None:
        # The SDK's exception is kept for debugging unless it would print a credential.
        shown = f"{exc!r} {exc}"
        return None if redact_text(shown, self._credentials()) != shown else exc


def _class_names(exc: BaseException) -> set[str]:
    """The wire adapters' class names of ``exc`` and of its cause (the SDK's timeout wraps httpx's)."""
    from workbench.models.wire.common import _class_names as names_of

    cause = exc.__cause__ or exc.__context__
    return names_of(exc) | (names_of(cause) if cause is not None else set())


def _redact_in_place(exc: BaseException, secrets: list[str]) -> None:
    try:
        exc.args = tuple(redact_text(a, secrets) if isinstance(a, str) else a for a in exc.args)
        if isinstance(getattr(exc, "message", None), str):
            exc.message = redact_text(exc.message, secrets)
    except (AttributeError, TypeError):   # read-only attributes: leave them
        pass


def _salvage(parser: Any) -> list[StreamChunk]:
    try:
        return list(getattr(parser, "salvage", lambda: [])())
    except Exception:
        return []


def _iterator(handle: Any) -> Iterator[Any]:
    return handle if hasattr(handle, "__next__") else iter(handle)


def _aiterator(handle: Any) -> Any:
    return handle if hasattr(handle, "__anext__") else handle.__aiter__()


async def _anext(handle: Any) -> Any:
    try:
        return await handle.__anext__()
    except StopAsyncIteration:
        return _END


def _close(handle: Any) -> None:
    close = getattr(handle, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            pass


async def _aclose(handle: Any) -> None:
    close = getattr(handle, "aclose", None) or getattr(handle, "close", None)
    if close is None:
        return
    try:
        result = close()
        if inspect.isawaitable(result):
            await result
    except Exception:
        pass
