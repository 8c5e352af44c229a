"""The Summarizer session: options and the cache key, many articles at once, limits, backoff, the real async path."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
from helpers import assert_grounded, kirby_claim, seed_answer, server_stats, start_latency_server, stop_process

from summarizer import (
    ArticleError,
    ChatRequest,
    ChatResponse,
    Failure,
    Limits,
    ScriptedModel,
    SummarizeOptions,
    Summarizer,
    Summary,
    SummaryCache,
    TransientModelError,
    summarize,
)
from summarizer.models.base import ModelBase
from summarizer.models.openai_compat import OpenAIModel
from summarizer.pipeline import summary_key

NO_WAIT: dict[str, Any] = {"initial_backoff_s": 0.0, "max_backoff_s": 0.0}


def articles(n: int) -> list[str]:
    return [f"Article {i} begins here with a first sentence. It has a second sentence too. And a third one, {i}."
            for i in range(n)]


# -- options and the cache key ------------------------------------------------------------------------------------


def test_options_are_frozen_and_validated() -> None:
    options = SummarizeOptions(max_claims=3)
    with pytest.raises(pydantic.ValidationError):
        options.max_claims = 4  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        SummarizeOptions(max_claims=0)
    with pytest.raises(pydantic.ValidationError):
        SummarizeOptions(timeout=3)  # type: ignore[call-arg]  # not an option: a limit
    with pytest.raises(ValueError):
        summarize("An article. With sentences.", model="fake/x", max_clams=3)


def test_every_option_is_in_the_cache_key_and_no_limit_is(seed: str) -> None:
    model = ScriptedModel(name="fake/k")
    base = summary_key(seed, model, SummarizeOptions())
    for field, value in [("max_claims", 3), ("temperature", 0.5), ("max_tokens", 900), ("max_attempts", 1),
                         ("seed", 7)]:
        assert summary_key(seed, model, SummarizeOptions(**{field: value})) != base, field
    assert set(SummarizeOptions().cache_material()) == set(SummarizeOptions.model_fields)
    assert not set(Limits.model_fields) & set(SummarizeOptions.model_fields)


def test_max_attempts_changes_the_answer_so_it_is_not_served_from_another_settings_cache(seed: str) -> None:
    bad = "not json"
    model = ScriptedModel.replies([bad, seed_answer(kirby_claim()), seed_answer(kirby_claim())])
    store = SummaryCache()
    with Summarizer(model, cache=store) as session:
        first = session.summarize(seed, options=SummarizeOptions(max_attempts=2))
        again = session.summarize(seed, options=SummarizeOptions(max_attempts=3))
    assert first.provenance.attempts == 2 and not again.provenance.cached and len(model.requests) == 3


def test_limits_do_not_change_the_key_so_a_rerun_with_other_limits_is_a_cache_hit(seed: str) -> None:
    model = ScriptedModel.replies([seed_answer(kirby_claim())])
    store = SummaryCache()
    with Summarizer(model, cache=store, limits=Limits(timeout_s=5)) as session:
        session.summarize(seed)
    with Summarizer(model, cache=store, limits=Limits(timeout_s=50, concurrency=2, rpm=100)) as session:
        assert session.summarize(seed).provenance.cached
    assert len(model.requests) == 1


def test_summarize_reuses_one_default_session_and_its_cache(seed: str) -> None:
    from summarizer.session import default_session

    assert default_session("fake/a") is default_session("fake/a")
    assert default_session("fake/a") is not default_session("fake/b")
    assert default_session("fake/a").cache is not None
    summarize(seed, model="fake/a")
    assert summarize(seed, model="fake/a").provenance.cached


# -- many articles ------------------------------------------------------------------------------------------------


def test_map_keeps_input_order_and_turns_failures_into_values(seed: str) -> None:
    def handler(request: ChatRequest) -> str | BaseException:
        if "Article 2 " in request.messages[-1]["content"]:
            return TransientModelError("HTTP 503", status=503)
        from summarizer.models.fake import extractive_answer

        return extractive_answer(request)

    texts: list[str | bytes] = [*articles(4), "", b"\x00\x01binary"]
    model = ScriptedModel(handler, latency=0.01)
    with Summarizer(model, cache=False, limits=Limits(transient_attempts=2, concurrency=4, **NO_WAIT)) as session:
        results = session.map(texts)
    assert [type(r).__name__ for r in results] == ["Summary", "Summary", "Failure", "Summary", "Failure", "Failure"]
    for text, result in zip(texts, results, strict=True):
        if isinstance(result, Summary):
            assert isinstance(text, str) and text.startswith(result.claims[0].evidence[0].text)
            assert_grounded(result, text)
    failed = results[2]
    assert isinstance(failed, Failure) and failed.type == "TransientModelError" and failed.attempts == 2
    assert isinstance(failed.exception, TransientModelError) and failed.exit_code == 5
    empty = results[4]
    assert isinstance(empty, Failure) and empty.type == "ArticleError" and empty.attempts == 0
    assert isinstance(empty.exception, ArticleError)


def test_concurrency_is_what_was_asked_for_and_no_more() -> None:
    model = ScriptedModel(latency=0.2)
    with Summarizer(model, cache=False, limits=Limits(concurrency=16)) as session:
        results = session.map(articles(40))
    assert all(isinstance(r, Summary) for r in results)
    assert model.max_in_flight == 16


def test_a_model_that_takes_one_call_at_a_time_gets_one() -> None:
    class OneAtATime(ScriptedModel):
        @property
        def max_concurrency(self) -> int:
            return 1

    model = OneAtATime(latency=0.01)
    with Summarizer(model, cache=False, limits=Limits(concurrency=8)) as session:
        assert all(isinstance(r, Summary) for r in session.map(articles(6)))
    assert model.max_in_flight == 1


def test_as_completed_yields_each_index_once_and_stopping_early_cancels_the_rest() -> None:
    model = ScriptedModel(latency=0.05)
    with Summarizer(model, cache=False, limits=Limits(concurrency=3)) as session:
        seen = sorted(i for i, _ in session.as_completed(articles(10)))
        assert seen == list(range(10))
        before = len(model.requests)
        for _index, _result in session.as_completed(articles(200)):
            break
        time.sleep(0.5)  # were the rest still running, ~30 more calls would start meanwhile
    assert len(model.requests) - before < 10  # the other 190-odd never started


def test_amap_inside_an_event_loop() -> None:
    async def main() -> list[Any]:
        async with Summarizer(ScriptedModel(latency=0.01), cache=False, limits=Limits(concurrency=5)) as session:
            return await session.amap(articles(5))

    assert all(isinstance(r, Summary) for r in asyncio.run(main()))


def test_a_closed_session_refuses_work() -> None:
    session = Summarizer("fake/x", cache=False)
    session.close()
    with pytest.raises(RuntimeError, match="closed"):
        session.summarize(articles(1)[0])


# -- limits and the shared backoff --------------------------------------------------------------------------------


def test_a_429_pauses_every_worker_for_its_retry_after() -> None:
    lock = threading.Lock()
    starts: list[tuple[float, str]] = []
    told = threading.Event()

    def handler(request: ChatRequest) -> str | BaseException:
        from summarizer.models.fake import extractive_answer

        with lock:
            first = not told.is_set()
            told.set()
            starts.append((time.monotonic(), "429" if first else "ok"))
        if first:
            return TransientModelError("HTTP 429", retry_after=0.5, status=429)
        return extractive_answer(request)

    model = ScriptedModel(handler, latency=0.02)
    with Summarizer(model, cache=False, limits=Limits(concurrency=4)) as session:
        results = session.map(articles(12))
    assert all(isinstance(r, Summary) for r in results)
    [(told_at, _)] = [s for s in starts if s[1] == "429"]
    # Calls already past the gate may finish; none *starts* during the hold (latency 0.02 s ≪ 0.5 s).
    late = [t for t, kind in starts if kind == "ok" and told_at + 0.05 < t < told_at + 0.5]
    assert late == [], "a worker called the model while the session was backing off"
    assert len(starts) == 13


def test_rate_limits_are_applied_per_request_and_per_token() -> None:
    from summarizer.session import _Throttle

    async def main() -> tuple[bool, bool, bool]:
        throttle = _Throttle(Limits(rpm=3, tpm=1000), 8)
        for _ in range(3):
            await throttle.acquire(100)
        assert throttle.rpm is not None and throttle.tpm is not None
        rpm_full = not throttle.rpm.has_capacity()
        tpm_left = throttle.tpm.has_capacity(600)
        big = _Throttle(Limits(tpm=1000), 8)
        await big.acquire(5000)  # larger than the whole budget: goes, once, instead of waiting forever
        assert big.tpm is not None
        return rpm_full, tpm_left, big.tpm.has_capacity(1)

    rpm_full, tpm_left, big_left = asyncio.run(main())
    assert rpm_full and tpm_left and not big_left


# -- the embedded model's context lock ----------------------------------------------------------------------------


def test_embedded_calls_are_serialised_per_context_whatever_the_wrapper(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    import llama_cpp

    from summarizer.models import local

    state = {"now": 0, "peak": 0}
    lock = threading.Lock()

    class FakeLlama:
        _model = type("M", (), {"vocab": None})()

        def __init__(self, **kwargs: Any) -> None:
            pass

        def tokenize(self, data: bytes, **kwargs: Any) -> list[int]:
            return list(range(len(data) // 4 + 1))

        def create_chat_completion(self, **kwargs: Any) -> dict[str, Any]:
            with lock:
                state["now"] += 1
                state["peak"] = max(state["peak"], state["now"])
            time.sleep(0.02)
            with lock:
                state["now"] -= 1
            return {"choices": [{"message": {"content": "{}"}, "finish_reason": "stop"}], "usage": {}}

    monkeypatch.setattr(llama_cpp, "Llama", FakeLlama)
    monkeypatch.setattr(local, "grammar_for", lambda llama, schema: None)
    monkeypatch.setattr(local, "_loaded", {})
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    wrappers = [local.LocalModel(f"local/{gguf}", path=gguf) for _ in range(4)]
    request = ChatRequest(messages=({"role": "user", "content": "hi"},), schema={"type": "object"})
    threads = [threading.Thread(target=w.complete, args=(request,)) for w in wrappers for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state["peak"] == 1 and len(local._loaded) == 1


# -- the real async path, over HTTP -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def latency_endpoint() -> Iterator[str]:
    proc, url = start_latency_server(latency=0.2)
    yield url
    stop_process(proc)


def test_async_endpoint_calls_are_concurrent_connections_not_threads(latency_endpoint: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", latency_endpoint)
    server_stats(latency_endpoint, reset=True)
    threads_before = call_threads()
    peak_threads = threads_before

    async def main() -> list[Any]:
        nonlocal peak_threads
        async with Summarizer("openai/latency", cache=False, limits=Limits(concurrency=24)) as session:
            task = asyncio.ensure_future(session.amap(articles(48)))
            while not task.done():
                peak_threads = max(peak_threads, call_threads())
                await asyncio.sleep(0.02)
            return task.result()

    results = asyncio.run(main())
    assert all(isinstance(r, Summary) for r in results)
    stats = server_stats(latency_endpoint)
    assert stats["requests"] == 48
    assert 16 <= stats["max_in_flight"] <= 24
    assert peak_threads - threads_before < 8  # not a thread per call


def call_threads() -> int:
    """Threads alive, leaving out the two that talk to a worker process (summarizer.workers): fixed, not per call."""
    return sum(not t.name.startswith("summarizer-worker-") for t in threading.enumerate())


def test_a_blocking_session_on_an_endpoint_shares_the_same_path(latency_endpoint: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", latency_endpoint)
    server_stats(latency_endpoint, reset=True)
    with Summarizer("openai/latency", cache=False, limits=Limits(concurrency=10)) as session:
        assert isinstance(session.model, OpenAIModel)
        one = session.summarize(articles(1)[0])
        many = session.map(articles(10))
    assert one.provenance.endpoint == latency_endpoint.rstrip("/")
    assert all(isinstance(r, Summary) for r in many)
    assert 8 <= server_stats(latency_endpoint)["max_in_flight"] <= 10


def test_a_user_model_with_only_complete_works_through_the_session(seed: str) -> None:
    class Mine(ModelBase):
        name = "mine/1"
        endpoint = None
        context_window = 32768

        def count_tokens(self, text: str) -> int:
            return len(text) // 4

        def complete(self, request: ChatRequest) -> ChatResponse:
            return ChatResponse(seed_answer(kirby_claim()), 10, 10, finish_reason="stop")

    with Summarizer(Mine(), cache=False) as session:
        s = session.summarize(seed)
    assert_grounded(s, seed)


def test_a_slow_consumer_holds_the_work_back() -> None:
    model = ScriptedModel(latency=0.01)
    with Summarizer(model, cache=False, limits=Limits(concurrency=2)) as session:
        results = session.as_completed(articles(200))
        next(results)
        time.sleep(0.5)  # without backpressure the workers would have run through ~100 articles by now
        started = len(model.requests)
        results.close()
    assert started < 10


def test_rate_limits_below_one_a_minute_are_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        Limits(rpm=0.5)
    with pytest.raises(pydantic.ValidationError):
        Limits(tpm=0.5)
