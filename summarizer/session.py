"""``Summarizer``: a long-lived session — one model, one cache, one set of limits — for one article or thousands.

    with Summarizer("openai/gpt-4o-mini", limits=Limits(concurrency=32, rpm=500)) as s:
        one = s.summarize(text)
        for i, result in s.as_completed(texts):      # a Summary or a Failure, as each finishes
            ...

Every method runs on the async path. The blocking ones (``summarize``, ``map``, ``as_completed``) hand their work to
one background event loop shared by the process, so blocking and async callers meet the same limits, retries and
clients. Per event loop the session keeps a throttle: a semaphore of ``limits.concurrency`` model calls in flight,
and request- and token-per-minute limiters (``aiolimiter``). A 429 holds a :class:`~summarizer.retry.Backoff` that
every worker waits on. ``summarize()`` in :mod:`summarizer.pipeline`'s sense — what to ask and what to make of the
answers — is :func:`~summarizer.pipeline.summary_steps`; the session only drives it.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import logging
import os
import threading
import weakref
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from aiolimiter import AsyncLimiter
from pydantic import BaseModel, Field, PrivateAttr

from .article import coerce_article
from .cache import SummaryCache
from .config import cache_dir, default_model
from .conversation import arun_steps
from .errors import ArticleError, OutputError, SummarizerError
from .models import Model, get_model
from .models.base import ChatRequest, ChatResponse
from .options import AUTO_WORKERS_AT, Limits, SummarizeOptions
from .pipeline import summary_key, summary_steps
from .redact import redact
from .retry import Backoff, acall_with_retries
from .schema import Summary
from .workers import Workers

log = logging.getLogger(__name__)

T = TypeVar("T")
Article = str | bytes


class Failure(BaseModel):
    """Why one article of many has no summary: the error's type and message, and the model calls it took."""

    type: str = Field(description="The error class, e.g. ModelError, OutputError, ArticleError.")
    message: str
    attempts: int = Field(default=0, ge=0, description="Model calls made for this article, retries included.")
    prompt_tokens: int = Field(default=0, ge=0, description="Input tokens the failed tries cost.")
    completion_tokens: int = Field(default=0, ge=0, description="Output tokens the failed tries cost.")
    _exception: BaseException | None = PrivateAttr(default=None)

    @classmethod
    def of(cls, exc: BaseException, attempts: int, prompt_tokens: int = 0, completion_tokens: int = 0) -> Failure:
        if isinstance(exc, OutputError):
            attempts = max(attempts, exc.attempts)
        failure = cls(type=type(exc).__name__, message=redact(" ".join(str(exc).split())) or type(exc).__name__,
                      attempts=attempts, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
        failure._exception = exc
        return failure

    @property
    def exception(self) -> BaseException | None:
        """The exception itself (in the process that caught it), e.g. to re-raise it."""
        return self._exception

    @property
    def exit_code(self) -> int:
        return getattr(self._exception, "exit_code", 1)


Result = Summary | Failure


@dataclass
class _Tally:
    """Model calls made for one article (every try of every request), and the tokens of the answers."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Throttle:
    """One event loop's share of a session's limits: calls in flight, requests and tokens per minute."""

    def __init__(self, limits: Limits, calls: int) -> None:
        self.slots = asyncio.Semaphore(calls)
        self.rpm = AsyncLimiter(limits.rpm, 60) if limits.rpm else None
        self.tpm = AsyncLimiter(limits.tpm, 60) if limits.tpm else None

    async def acquire(self, tokens: int) -> None:
        if self.rpm is not None:
            await self.rpm.acquire()
        if self.tpm is not None:
            await self.tpm.acquire(min(tokens, int(self.tpm.max_rate)))  # one huge request must still go, once


class Summarizer:
    """A session: ``model`` (a ``provider/model`` name, a :class:`Model`, or None for the default), a ``cache``
    (True: the default directory; False: none; a directory; or a :class:`SummaryCache`), default ``options`` and
    ``limits``.

    Opening one resolves the model name (a :class:`ConfigurationError` now for an unknown one or a missing key);
    :meth:`load` also loads embedded weights. Close it (or use ``with``) to release the cache and clients.
    """

    def __init__(self, model: str | Model | None = None, *, cache: bool | str | os.PathLike[str] | SummaryCache = True,
                 options: SummarizeOptions | None = None, limits: Limits | None = None) -> None:
        self.model: Model = get_model(model)
        self._owns_model = model is None or isinstance(model, str)
        self.options = options or SummarizeOptions()
        self.limits = limits or Limits()
        self.cache: SummaryCache | None
        if isinstance(cache, SummaryCache):
            self.cache = cache
        elif not cache:  # False (or None): no cache
            self.cache = None
        else:  # True: the default directory; a path: a cache there (made if missing)
            self.cache = SummaryCache() if cache is True else SummaryCache(cache)
        self._owns_cache = not isinstance(cache, SummaryCache)
        self._backoff = Backoff()
        self._throttles: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Throttle] = (
            weakref.WeakKeyDictionary())
        self._workers: Workers | None = None
        self._workers_lock = threading.Lock()
        self._active = 0  # articles between the cache and their summary, on any event loop
        self._closed = False

    # -- one article --------------------------------------------------------------------------------------------

    def summarize(self, article: Article, *, options: SummarizeOptions | None = None) -> Summary:
        """Summarise one article (see :func:`summarizer.summarize`); raises the typed errors."""
        return _portal().run(self.asummarize(article, options=options))

    async def asummarize(self, article: Article, *, options: SummarizeOptions | None = None) -> Summary:
        """:meth:`summarize` for callers in an event loop."""
        return await self._summarize(article, options or self.options, _Tally())

    async def _summarize(self, article: Article, options: SummarizeOptions, tally: _Tally) -> Summary:
        self._check_open()
        text = checked_article(article, self.limits)
        key = summary_key(text, self.model, options) if self.cache is not None else ""
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            return hit.model_copy(update={"provenance": hit.provenance.model_copy(update={"cached": True})})
        summary = await self._run_steps(text, options, tally)
        retried = tally.calls - summary.provenance.attempts
        if retried:
            summary = summary.model_copy(update={"provenance": summary.provenance.model_copy(
                update={"transient_retries": retried})})
        if self.cache is not None:
            self.cache.set(key, summary)  # only a verified summary gets here; failures are never stored
        return summary

    async def _run_steps(self, text: str, options: SummarizeOptions, tally: _Tally) -> Summary:
        """The pipeline's steps for one article, here or in a worker process (the same steps either way)."""
        self._active += 1
        try:
            workers = self._steps_workers()
            if workers is not None:
                return await workers.run(text, options, lambda r: self._call(r, tally))
            return await arun_steps(summary_steps(text, self.model, options), lambda r: self._call(r, tally))
        finally:
            self._active -= 1

    def _steps_workers(self) -> Workers | None:
        """Where answers are checked (:mod:`summarizer.workers`): None for this event loop. ``limits.workers`` asks
        for a number of worker processes; None starts one for an endpoint once :data:`AUTO_WORKERS_AT` articles are
        in progress (or a map that wide begins), and uses it once it is up. A model with no
        :class:`~summarizer.models.base.ModelFacts` (an embedded one) is always checked here."""
        if self._workers is None and (self.limits.workers or self._active >= AUTO_WORKERS_AT):
            self._start_workers()
        workers = self._workers
        if workers is not None and self.limits.workers is None and not workers.ready:
            return None  # until the worker has started, the loop checks the answers itself
        return workers

    def _start_workers(self) -> None:
        if self.limits.workers == 0 or self._workers is not None:
            return
        facts_of = getattr(self.model, "facts", None)  # optional in the Model protocol
        facts = facts_of() if facts_of is not None else None
        if facts is None or (self.limits.workers is None and self.model.endpoint is None):
            return
        with self._workers_lock:
            if self._workers is None and not self._closed:
                self._workers = Workers(self.limits.workers or 1, facts)

    async def _call(self, request: ChatRequest, tally: _Tally) -> ChatResponse:
        """One request: throttled, timed out, and retried when the failure is transient."""
        request = replace(request, timeout_s=self.limits.timeout_s)
        throttle = self._throttle()
        tokens = 0
        if throttle.tpm is not None:  # as providers count them: the prompt, plus the answer's budget
            tokens = sum(self.model.count_tokens(m["content"]) for m in request.messages) + request.max_tokens

        async def attempt() -> ChatResponse:
            async with throttle.slots:
                await throttle.acquire(tokens)
                await self._backoff.await_clear()  # a 429 may have come while this call waited for a slot
                tally.calls += 1
                response = await self.model.acomplete(request)
                tally.prompt_tokens += response.prompt_tokens
                tally.completion_tokens += response.completion_tokens
                return response

        return await acall_with_retries(attempt, limits=self.limits, backoff=self._backoff)

    def _throttle(self) -> _Throttle:
        loop = asyncio.get_running_loop()
        if (throttle := self._throttles.get(loop)) is None:
            for old in [lp for lp in self._throttles if lp.is_closed()]:  # a limiter holds its loop: free closed ones
                del self._throttles[old]
            throttle = self._throttles[loop] = _Throttle(self.limits, self._calls())
        return throttle

    # -- many articles ------------------------------------------------------------------------------------------

    async def aiter_completed(self, articles: Iterable[Article], *,
                              options: SummarizeOptions | None = None) -> AsyncIterator[tuple[int, Result]]:
        """``(index, Summary or Failure)`` for each article as it finishes; ``limits.concurrency`` model calls at once.

        ``articles`` is read lazily, a few ahead of the work, so a feed of any length fits in memory. A failing
        article is a :class:`Failure` in its place; only a bug in reading ``articles`` itself is raised.
        """
        self._check_open()
        width = self._calls()
        if width >= AUTO_WORKERS_AT:
            self._start_workers()  # started now, so it is up by the time the first answers come back
        opts = options or self.options
        source = enumerate(articles)
        done: asyncio.Queue[tuple[int, Result] | _WorkerEnd] = asyncio.Queue(maxsize=width)

        async def worker() -> None:
            try:
                for index, article in source:  # one shared iterator: each next() hands out a new article
                    await done.put((index, await self._one(article, opts)))
            except Exception as exc:
                await done.put(_WorkerEnd(exc))
            else:
                await done.put(_WorkerEnd(None))

        tasks = [asyncio.create_task(worker()) for _ in range(width)]
        try:
            running = width
            while running:
                item = await done.get()
                if isinstance(item, _WorkerEnd):
                    running -= 1
                    if item.error is not None:
                        raise item.error
                    continue
                yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def amap(self, articles: Iterable[Article], *, options: SummarizeOptions | None = None) -> list[Result]:
        """Every article's Summary or Failure, in input order."""
        results: dict[int, Result] = {}
        async for index, result in self.aiter_completed(articles, options=options):
            results[index] = result
        return [results[i] for i in range(len(results))]

    def map(self, articles: Iterable[Article], *, options: SummarizeOptions | None = None) -> list[Result]:
        """:meth:`amap` for blocking callers."""
        return _portal().run(self.amap(articles, options=options))

    def as_completed(self, articles: Iterable[Article], *,
                     options: SummarizeOptions | None = None) -> Iterator[tuple[int, Result]]:
        """:meth:`aiter_completed` for blocking callers; stopping the loop early cancels what is in flight."""
        return _portal().iterate(self.aiter_completed(articles, options=options))

    async def _one(self, article: Article, options: SummarizeOptions) -> Result:
        tally = _Tally()
        try:
            return await self._summarize(article, options, tally)
        except SummarizerError as exc:
            return Failure.of(exc, tally.calls, tally.prompt_tokens, tally.completion_tokens)
        except Exception as exc:  # a bug on one article must not lose the others; it is logged with its traceback
            log.exception("unexpected error summarising an article")
            return Failure.of(exc, tally.calls, tally.prompt_tokens, tally.completion_tokens)

    def _calls(self) -> int:
        """Model calls in flight at once: the limit, and never more than the model itself can take."""
        calls = self.limits.concurrency
        if self.model.max_concurrency is not None:  # more would only wait on the model's own lock
            calls = min(calls, self.model.max_concurrency)
        return max(1, calls)

    # -- life cycle ---------------------------------------------------------------------------------------------

    def load(self) -> Self:
        """Load the model now (embedded weights, runtime): configuration errors surface here, before any work."""
        self.model.load()
        return self

    def close(self) -> None:
        """Release the cache (if the session opened it) and the model's clients (if it made the model)."""
        if self._closed:
            return
        self._closed = True
        with self._workers_lock:
            workers, self._workers = self._workers, None
        if workers is not None:
            workers.close()
        if self._owns_model:
            aclose = getattr(self.model, "aclose", None)
            if aclose is not None and _has_portal():
                with contextlib.suppress(Exception):
                    _portal().run(aclose())
            self.model.close()
        if self.cache is not None and self._owns_cache:
            self.cache.close()

    async def aclose(self) -> None:
        """:meth:`close` from an event loop (also closes the model's async client of this loop)."""
        aclose = getattr(self.model, "aclose", None)
        if self._owns_model and aclose is not None and not self._closed:
            with contextlib.suppress(Exception):
                await aclose()
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this Summarizer is closed")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"Summarizer(model={self.model.name!r}, options={self.options!r}, limits={self.limits!r})"


def checked_article(article: Article, limits: Limits) -> str:
    """The article's text, decoded and checked (:func:`~summarizer.article.coerce_article`) and within
    ``limits.max_article_chars``; an :class:`ArticleError` otherwise."""
    if isinstance(article, bytes | bytearray) and len(article) > 4 * limits.max_article_chars:
        # UTF-8 takes at most 4 bytes a character: refused before decoding megabytes
        raise ArticleError(_too_long(len(article), limits.max_article_chars, "bytes"))
    text = coerce_article(article)
    if len(text) > limits.max_article_chars:
        raise ArticleError(_too_long(len(text), limits.max_article_chars, "characters"))
    return text


def _too_long(size: int, limit: int, unit: str) -> str:
    return (f"the article is too long: {size:,} {unit}, over the limit of {limit:,} characters "
            "(Limits.max_article_chars, --max-chars); summarise it in parts")


@dataclass
class _WorkerEnd:
    error: Exception | None


# -- the background event loop that blocking callers share ---------------------------------------------------------


class _Portal:
    """An event loop on a daemon thread; blocking code submits coroutines to it and waits for their results."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="summarizer-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a blocking Summarizer method was called from inside its own event loop; await the "
                               "async method instead")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # Ctrl-C, or the caller gave up: stop the work too
            raise

    def iterate(self, items: AsyncIterator[T]) -> Iterator[T]:
        """Each item pulled when the caller asks for it, so a slow caller holds the work back (the producer's own
        queue is bounded) and nothing finished is left waiting in between when the caller stops."""

        def generate() -> Iterator[T]:
            try:
                while True:
                    future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(
                        _next(items), self.loop)
                    try:
                        item = future.result()
                    except StopAsyncIteration:
                        return
                    except BaseException:
                        future.cancel()  # Ctrl-C, or the caller gave up: stop the work too
                        raise
                    yield item
            finally:
                aclose = getattr(items, "aclose", None)
                if aclose is not None:
                    with contextlib.suppress(Exception):  # already finished, or being cancelled
                        asyncio.run_coroutine_threadsafe(aclose(), self.loop).result(timeout=30)

        return generate()


async def _next(items: AsyncIterator[T]) -> T:
    return await anext(items)


_portal_instance: _Portal | None = None
_portal_lock = threading.Lock()


def _portal() -> _Portal:
    global _portal_instance
    with _portal_lock:
        if _portal_instance is None:
            _portal_instance = _Portal()
        return _portal_instance


def _has_portal() -> bool:
    return _portal_instance is not None


# -- the one-line conveniences ------------------------------------------------------------------------------------

_defaults: dict[tuple[str, Path | None, Limits], Summarizer] = {}
_defaults_lock = threading.Lock()


def default_session(model: str | Model | None = None, *, cache: bool | SummaryCache = True,
                    limits: Limits | None = None) -> Summarizer:
    """The session :func:`summarize` uses: one per model name, cache directory and limits, kept for the process.

    A model *object* or a cache object gets a light session of its own (nothing to resolve or open).
    """
    if not isinstance(model, str | None) or isinstance(cache, SummaryCache):
        return Summarizer(model, cache=cache, limits=limits)
    where = (cache_dir() if cache is True else Path(cache)) if cache else None  # a directory is its own session
    key = (model or default_model(), where, limits or Limits())
    with _defaults_lock:
        if (session := _defaults.get(key)) is None:
            session = _defaults[key] = Summarizer(key[0], cache=cache, limits=limits)
        return session


def _options(options: SummarizeOptions | None, fields: dict[str, Any]) -> SummarizeOptions:
    """``options`` with keyword fields on top (validated: an unknown or out-of-range field is a ValueError)."""
    base = options or SummarizeOptions()
    return SummarizeOptions(**{**base.model_dump(), **fields}) if fields else base


def summarize(article: Article, *, model: str | Model | None = None, cache: bool | SummaryCache = True,
              options: SummarizeOptions | None = None, limits: Limits | None = None, **fields: Any) -> Summary:
    """Summarise a news article into a headline, a summary and claims grounded in verbatim evidence.

    ``model`` is a name (``local/qwen2.5-coder-1.5b``, ``openai/gpt-4o-mini``, ``fake/x``) or a model object;
    the default is ``$SUMMARIZER_MODEL`` or the embedded default. ``options`` (or its fields as keywords, e.g.
    ``max_claims=3``) change the summary and are part of the cache key; ``limits`` change only how it is fetched.
    Claims whose evidence cannot be located in the article are re-asked and, failing that, moved to
    ``rejected_claims``. A convenience over :class:`Summarizer`: use one directly for many articles.

    Raises :class:`~summarizer.errors.ArticleError` for unusable input (before any model call),
    :class:`~summarizer.errors.ConfigurationError`, :class:`~summarizer.errors.ModelError` and
    :class:`~summarizer.errors.OutputError`.
    """
    session = default_session(model, cache=cache, limits=limits)
    return session.summarize(article, options=_options(options, fields))


async def asummarize(article: Article, *, model: str | Model | None = None, cache: bool | SummaryCache = True,
                     options: SummarizeOptions | None = None, limits: Limits | None = None,
                     **fields: Any) -> Summary:
    """:func:`summarize` for callers inside an event loop (a real async path: no thread per call for endpoints)."""
    session = default_session(model, cache=cache, limits=limits)
    return await session.asummarize(article, options=_options(options, fields))


def _close_defaults() -> None:
    with _defaults_lock:
        for session in _defaults.values():
            with contextlib.suppress(Exception):
                session.close()
        _defaults.clear()



atexit.register(_close_defaults)
