"""RetryPolicy: when to try a failed request again, and how long to wait first. No I/O.

The sync and async clients share it: each asks ``delay(...)`` after a failure and sleeps
(``time.sleep`` or ``asyncio.sleep``) for what it says, or raises when it says ``None``.
Only failures that happen before any chunk reached the caller are retried: once part of
an answer was shown, repeating the request would show a different answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from workbench.errors import ConnectionFailed, ProviderError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded in attempts and in total waiting time.

    A server's Retry-After wins over the computed backoff (capped at ``max_delay``); when
    honouring it would exceed ``max_total_wait`` the error is raised at once, carrying
    ``retry_after`` so the caller can decide.
    """

    max_attempts: int = 4          # tries in all, the first included
    base_delay: float = 0.5        # seconds before the second try
    max_delay: float = 20.0        # cap for one wait
    max_total_wait: float = 60.0   # cap for all waits of one request
    jitter: float = 0.25           # +-25 % so that many clients do not retry in step

    @classmethod
    def none(cls) -> "RetryPolicy":
        return cls(max_attempts=1)

    def delay(self, failures: int, error: BaseException, waited: float,
              rand: Callable[[], float] = random.random) -> float | None:
        """Seconds to wait before the next try, or None to give up.

        ``failures``: tries that failed so far (1 after the first); ``waited``: seconds
        already spent waiting for this request.
        """
        if not retryable(error) or failures >= self.max_attempts:
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            wait = min(max(float(retry_after), 0.0), self.max_delay)
        else:
            wait = min(self.max_delay, self.base_delay * 2 ** (failures - 1))
            wait *= 1.0 + self.jitter * (2.0 * rand() - 1.0)
        if waited + wait > self.max_total_wait:
            return None
        return wait


def retryable(error: BaseException) -> bool:
    """429, 5xx and failures to connect; never bad input, auth or a cut stream."""
    if isinstance(error, ConnectionFailed):
        return True
    return isinstance(error, ProviderError) and error.retryable


def as_policy(retry: "RetryPolicy | int | None") -> RetryPolicy:
    """``retry=`` accepts a policy, a number of retries (0 = no retry), or None (default)."""
    if retry is None:
        return RetryPolicy()
    if isinstance(retry, RetryPolicy):
        return retry
    if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
        raise ValueError(f"retry= takes a RetryPolicy or a number of retries >= 0, got {retry!r}.")
    return RetryPolicy(max_attempts=retry + 1)
