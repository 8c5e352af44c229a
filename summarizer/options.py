"""What a summary depends on (:class:`SummarizeOptions`) and how it is fetched and bounded (:class:`Limits`).

The split is the cache's rule. Every setting that can change the answer is a field of :class:`SummarizeOptions`, and
the whole model is the options part of the cache key, so a new field is in the key by construction. Settings that
only change *how* the answer is fetched — timeouts, concurrency, rate limits, transient retries, backoff caps — are
:class:`Limits`, and never in the key: a summary made with a one-second timeout is the same summary.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .schema import MAX_CLAIMS

#: Model calls per article part before giving up on invalid or ungrounded output (the first call included).
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_MAX_CLAIMS = 6
DEFAULT_MAX_TOKENS = 1536


class SummarizeOptions(BaseModel):
    """Settings that change the summary. Frozen; the cache key is built from all of them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_claims: int = Field(default=DEFAULT_MAX_CLAIMS, ge=1, le=MAX_CLAIMS, description="Most claims to extract.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Sampling temperature (0: greedy).")
    max_tokens: int = Field(default=DEFAULT_MAX_TOKENS, ge=64, le=32768,
                            description="Most tokens the model may write per call.")
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=10,
                              description="Model calls per part before giving up on invalid or ungrounded output "
                              "(re-asks change the answer, so they are part of the key).")
    seed: int | None = Field(default=0, description="Sampling seed passed to the model (where it takes one).")
    restate_copies: bool = Field(default_factory=lambda: _env_flag("SUMMARIZER_RESTATE", True),
                                 description="Ask once more, with only the statements, for claims whose statement "
                                 "copies its evidence sentence, in the summary's own words (one short call; a "
                                 "restatement is kept only where it is no copy and the checks find nothing new). "
                                 "Default: $SUMMARIZER_RESTATE (0 turns it off), else on.")

    def cache_material(self) -> dict[str, Any]:
        """The options part of the cache key."""
        return self.model_dump(mode="json")


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value not in ("0", "false", "no", "off")


#: Transient failures (connection, timeout, 408/409/429/5xx) are retried up to this many calls, the first included.
MAX_TRANSIENT_ATTEMPTS = 4
#: Endpoint request timeout in seconds (a long article on a slow local server takes a while).
DEFAULT_TIMEOUT_S = 300.0
#: Longest wait between retries of a transient failure, and the cap on a server's Retry-After.
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 60.0
#: Articles in flight at once in ``map``/``amap`` (an embedded model still runs one call at a time).
DEFAULT_CONCURRENCY = 8
#: Articles in progress at once from which an endpoint session starts a worker process to check answers in (when
#: ``Limits.workers`` is None): below it the checks' CPU is not what a run waits for, and a one-off call should not
#: pay a process start.
AUTO_WORKERS_AT = 8
#: Longest article accepted, in characters (about 25,000 tokens: longer than nearly any news article). A longer
#: one is refused at once rather than split into dozens of parts and hours of model time.
MAX_ARTICLE_CHARS = 100_000


class Limits(BaseModel):
    """How model calls are made: concurrency, client-side rate limits, timeouts and retries. Not in the cache key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1, le=4096,
                             description="Articles summarised at once by map/amap/as_completed.")
    rpm: float | None = Field(default=None, ge=1, description="Requests per minute to the model, as providers "
                              "publish them; None: no limit.")
    tpm: float | None = Field(default=None, ge=1, description="Tokens (prompt + answer budget) per minute; None: "
                              "no limit.")
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, description="Per-request timeout for endpoints.")
    transient_attempts: int = Field(default=MAX_TRANSIENT_ATTEMPTS, ge=1, le=20,
                                    description="Calls per request when failures are transient, the first included.")
    initial_backoff_s: float = Field(default=1.0, ge=0, description="First wait before retrying a transient failure.")
    max_backoff_s: float = Field(default=MAX_BACKOFF_S, ge=0, description="Longest wait between retries.")
    max_retry_after_s: float = Field(default=MAX_RETRY_AFTER_S, ge=0,
                                     description="Cap on a server's Retry-After (a longer one is capped, not obeyed).")
    workers: int | None = Field(default=None, ge=0, le=64,
                                description="Worker processes that check answers (validation, grounding, reading the "
                                "article's sources) off the event loop, so many endpoint calls in flight are not held "
                                "up by one core. None: one, once an endpoint session has "
                                f"{AUTO_WORKERS_AT} articles in progress at once; 0: never (see summarizer.workers).")
    max_article_chars: int = Field(default=MAX_ARTICLE_CHARS, ge=1,
                                   description="Longest article accepted (characters); longer ones are refused at "
                                   "once with an ArticleError, before any model call.")
