"""The retry policy for transient model failures: named constants and one function that decides.

Only :class:`~summarizer.errors.TransientModelError` is retried (connection errors, timeouts, HTTP 408/409/429/5xx,
as each backend classifies them). Waits grow exponentially with jitter; a server's ``Retry-After`` is honoured (up to
:data:`MAX_RETRY_AFTER_S`). Invalid *output* is not retried here: it is re-asked, on a separate budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

from .errors import TransientModelError

#: Calls per request, the first included.
MAX_TRANSIENT_ATTEMPTS = 4
INITIAL_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
JITTER_S = 1.0
#: A longer Retry-After than this is capped (a server asking for an hour is better reported than obeyed).
MAX_RETRY_AFTER_S = 60.0

T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed model call is worth repeating."""
    return isinstance(exc, TransientModelError)


_backoff = tenacity.wait_exponential_jitter(initial=INITIAL_BACKOFF_S, max=MAX_BACKOFF_S, jitter=JITTER_S)


def _wait(state: tenacity.RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, TransientModelError) and exc.retry_after is not None:
        return min(exc.retry_after, MAX_RETRY_AFTER_S)
    return float(_backoff(state))


def call_with_retries(fn: Callable[[], T], *, attempts: int = MAX_TRANSIENT_ATTEMPTS,
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """Call ``fn``, retrying transient failures; the last failure is re-raised as it was."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, attempts)),
        wait=_wait,
        retry=tenacity.retry_if_exception(is_retryable),
        sleep=sleep,
        reraise=True,
    )
    return retrying(fn)
