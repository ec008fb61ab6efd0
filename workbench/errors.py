"""The error hierarchy: small, documented, and every message names the fix.

    WorkbenchError
    ├── ConfigurationError          bad input before anything is sent
    │   ├── ModelStringError        malformed "provider:model_id" (also a ValueError)
    │   ├── UnknownProviderError    lists the valid providers
    │   ├── MissingAPIKeyError      names the environment variable, never the key
    │   ├── MissingDependencyError  names the extra to install
    │   └── DataError               a data set, template or scorer that do not fit each other
    ├── ProviderError               the provider failed a request
    │   ├── ConnectionFailed        names the host
    │   ├── AuthenticationError     401 / 403
    │   ├── ModelNotFoundError      404
    │   ├── BadRequestError         400 / 422
    │   ├── RateLimitError          429 (retried first)
    │   ├── ServerError             5xx (retried first)
    │   ├── StreamInterrupted       the stream ended before the answer did
    │   └── ContextOverflowError    the prompt does not fit the context window
    ├── WeightsClearedError         an in-process client's weights were cleared
    ├── ToolError                   a tool could not be prepared or dispatched
    ├── CheckpointError             a checkpoint is corrupt or belongs to another runner
    ├── JudgeParseError             a judge model replied without a readable score (a row error)
    └── RunStoreError               a run store or prompt catalog file cannot be used

    SlowPathWarning (a RuntimeWarning): an in-process model fell back to a slower engine

Every ``ProviderError`` raised from a turn carries ``partial``: the text,
thinking and tool calls received before the failure (a ``TurnResult``), so a
caller never loses what the model already said.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base of every error this library raises on purpose."""


class ConfigurationError(WorkbenchError):
    """The input is wrong before any request is made."""


class ModelStringError(ConfigurationError, ValueError):
    """A model string is not of the form ``provider:model_id``."""


class UnknownProviderError(ConfigurationError, ValueError):
    """The provider part of a model string names no registered provider."""

    def __init__(self, provider: str, valid: list[str]):
        self.provider = provider
        self.valid = list(valid)
        super().__init__(
            f"Unknown provider {provider!r}. Valid providers: {', '.join(self.valid)}. "
            "Write the model as 'provider:model_id', e.g. 'anthropic:claude-sonnet-4-6'."
        )


class MissingAPIKeyError(ConfigurationError):
    """No API key was given and the environment variable is unset."""

    def __init__(self, provider: str, env_var: str):
        self.provider = provider
        self.env_var = env_var
        super().__init__(
            f"No API key for {provider}: set the environment variable {env_var} "
            f"(or pass api_key=... to the client)."
        )


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str):
        self.package = package
        self.extra = extra
        super().__init__(
            f"The package {package!r} is needed for this; install it with "
            f"pip install 'aimu-workbench[{extra}]'"
        )


class ProviderError(WorkbenchError):
    """A request to a model provider failed.

    ``status`` is the HTTP status where there was one; ``partial`` holds what
    the turn produced before failing (see the module docstring).
    """

    def __init__(self, message: str, *, provider: str | None = None,
                 status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.retry_after = retry_after
        self.partial = None

    @property
    def retryable(self) -> bool:
        return False


class ConnectionFailed(ProviderError):
    """The server could not be reached (refused, DNS, timeout before a response)."""

    def __init__(self, message: str, *, host: str | None = None, provider: str | None = None):
        super().__init__(message, provider=provider)
        self.host = host


class RequestTimeout(ProviderError, TimeoutError):
    """The server did not answer within the client's timeout (``timeout=`` seconds, default
    ``$WORKBENCH_TIMEOUT`` or 600). Not retried: waiting again would double the wait."""

    def __init__(self, message: str, *, timeout: float | None = None, provider: str | None = None):
        super().__init__(message, provider=provider)
        self.timeout = timeout


class AuthenticationError(ProviderError):
    """The server refused the credentials (401/403)."""


class ModelNotFoundError(ProviderError):
    """The server does not know the model (404)."""


class BadRequestError(ProviderError):
    """The server rejected the request as malformed (400/422)."""


class ImageRefusedError(ProviderError):
    """The provider refused to make the image (its safety system, a blocked prompt);
    ``reason`` is the provider's own words."""

    def __init__(self, message: str, *, reason: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.reason = reason


class RateLimitError(ProviderError):
    """Too many requests (429). Retried with backoff before it is raised."""

    @property
    def retryable(self) -> bool:
        return True


class ServerError(ProviderError):
    """The server failed (5xx). Retried with backoff before it is raised."""

    @property
    def retryable(self) -> bool:
        return True


class StreamInterrupted(ProviderError):
    """The connection dropped or the stream ended before the answer was complete."""


class ContextOverflowError(ProviderError):
    """The prompt is longer than the model's context window."""

    def __init__(self, message: str, *, limit: int | None = None, needed: int | None = None,
                 provider: str | None = None):
        super().__init__(message, provider=provider)
        self.limit = limit
        self.needed = needed


class ClientBusyError(WorkbenchError, RuntimeError):
    """A second chat() on a client whose history another chat() is still writing (another
    thread or task, or a stream not yet consumed): two turns would interleave in one history."""


class WeightsClearedError(WorkbenchError):
    """The weights this in-process client used were cleared from the cache."""


class ToolError(WorkbenchError):
    """A tool could not be defined, found or dispatched."""


class CheckpointError(WorkbenchError):
    """A checkpoint could not be read, or does not fit the runner restoring it."""


class DataError(ConfigurationError):
    """A data set, template or scorer that do not fit each other (found before any request)."""


class JudgeParseError(WorkbenchError):
    """A judge model's reply had no score; ``reply`` holds the raw text (recorded as a row error)."""

    def __init__(self, message: str, reply: str = ""):
        super().__init__(message)
        self.reply = reply


class RunStoreError(WorkbenchError):
    """A run store or prompt catalog cannot be opened or does not hold what was asked for."""


class SlowPathWarning(RuntimeWarning):
    """An in-process model runs on a slower engine than it could (the reason is in the message).

    Shown once per model and reason; ``scheduler.stats()["engines"]`` and
    ``client.last_engine`` say which engine ran.
    """


class StoreError(WorkbenchError):
    """A SQLite file (conversations, the call log, a memory store) cannot be opened or used:
    locked by another process, read-only, not a database. The message names the path."""


class ConversationError(WorkbenchError):
    """A saved conversation does not exist, or does not fit what it is resumed with."""


class EmbeddingDimensionError(StoreError):
    """An embedder whose vectors have another dimension than the store's."""


class CallLogWarning(RuntimeWarning):
    """A call could not be written to the call log (the call itself went on)."""


class WaitTimeout(WorkbenchError, TimeoutError):
    """Waiting in this process (for an inference slot, for weights another thread is
    loading) took longer than its limit; ``setting`` names how to change the limit."""

    def __init__(self, message: str, *, setting: str = ""):
        super().__init__(message)
        self.setting = setting


def wait_limit(env: str, default: float) -> float:
    """Seconds from ``$env`` (a number > 0), else ``default``; a bad value names the fix."""
    import os

    text = os.environ.get(env, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigurationError(f"{env}={text!r} is not a number of seconds > 0 (e.g. {env}=600).")
    return value
