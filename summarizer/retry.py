"""The retry policy for transient model failures: one function decides, one computes the wait, two drivers apply them.

Only :class:`~summarizer.errors.TransientModelError` is retried (connection errors, timeouts, HTTP 408/409/429/5xx,
as each backend classifies them). Waits grow exponentially with jitter; a server's ``Retry-After`` is honoured (up to
:attr:`Limits.max_retry_after_s <summarizer.options.Limits>`). A 429 also holds a :class:`Backoff` shared by every
worker of the session, so one rate-limit answer pauses them all instead of each finding out for itself.

This is the only retry layer: endpoint clients are made with ``max_retries=0``. Invalid *output* is not retried
here: it is re-asked (:mod:`summarizer.conversation`), on a separate budget.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import tenacity

from .errors import TransientModelError
from .options import MAX_RETRY_AFTER_S, MAX_TRANSIENT_ATTEMPTS, Limits

__all__ = [
    "MAX_RETRY_AFTER_S",
    "MAX_TRANSIENT_ATTEMPTS",
    "Backoff",
    "acall_with_retries",
    "call_with_retries",
    "is_retryable",
]

T = TypeVar("T")

#: Random extra wait (seconds, at most) so workers that failed together do not retry together.
JITTER_S = 1.0


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed model call is worth repeating."""
    return isinstance(exc, TransientModelError)


class Backoff:
    """A pause shared by every worker of a session (thread-safe): set by a 429, waited on before each call."""

    def __init__(self) -> None:
        self._until = 0.0
        self._lock = threading.Lock()

    def hold(self, seconds: float) -> None:
        """Let no call start for ``seconds`` from now (a longer hold already in place stays)."""
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def remaining(self) -> float:
        with self._lock:
            return max(0.0, self._until - time.monotonic())

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> None:
        while (left := self.remaining()) > 0:
            sleep(left)

    async def await_clear(self) -> None:
        while (left := self.remaining()) > 0:
            await asyncio.sleep(left)


def _policy(limits: Limits, backoff: Backoff | None) -> dict[str, object]:
    exponential = (tenacity.wait_exponential(multiplier=limits.initial_backoff_s, max=limits.max_backoff_s)
                   + tenacity.wait_random(0, min(JITTER_S, limits.max_backoff_s)))

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientModelError) and exc.retry_after is not None:
            seconds = min(exc.retry_after, limits.max_retry_after_s)
        else:
            seconds = float(exponential(state))
        if backoff is not None and isinstance(exc, TransientModelError) and exc.status == 429:
            backoff.hold(seconds)  # everyone waits, not only the worker that was told
        return seconds

    return {
        "stop": tenacity.stop_after_attempt(max(1, limits.transient_attempts)),
        "wait": wait,
        "retry": tenacity.retry_if_exception(is_retryable),
        "reraise": True,
    }


def call_with_retries(fn: Callable[[], T], *, attempts: int = MAX_TRANSIENT_ATTEMPTS, limits: Limits | None = None,
                      backoff: Backoff | None = None, sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``fn``, retrying transient failures; the last failure is re-raised as it was."""
    limits = limits or Limits(transient_attempts=attempts)

    def attempt() -> T:
        if backoff is not None:
            backoff.wait(sleep)
        return fn()

    return tenacity.Retrying(sleep=sleep, **_policy(limits, backoff))(attempt)  # type: ignore[arg-type]


async def acall_with_retries(fn: Callable[[], Awaitable[T]], *, limits: Limits, backoff: Backoff | None = None) -> T:
    """:func:`call_with_retries` for coroutines: waits are ``asyncio.sleep``, so other calls go on meanwhile."""

    async def attempt() -> T:
        if backoff is not None:
            await backoff.await_clear()
        return await fn()

    retrying = tenacity.AsyncRetrying(**_policy(limits, backoff))  # type: ignore[arg-type]
    return await retrying(attempt)
