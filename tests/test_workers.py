"""Answers checked in a worker process (summarizer.workers): the same summaries and the same typed errors as on the
event loop, a worker that dies costs only its articles, and a killed caller leaves no worker behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import alive, start_latency_server, stop_process, worker_pids

from summarizer import Failure, Limits, ModelError, OutputError, Summarizer, Summary
from summarizer.models import ScriptedModel
from summarizer.models.base import ChatRequest, ChatResponse
from summarizer.models.fake import extractive_answer

FRANK = Path(__file__).resolve().parents[2] / "shared" / "data" / "frank" / "articles.jsonl"


@pytest.fixture(scope="module")
def articles() -> list[str]:
    rows = [json.loads(line)["article"] for line in FRANK.read_text(encoding="utf-8").splitlines()]
    return rows[:12]


def comparable(result: Summary | Failure) -> dict[str, Any]:
    """A result without what differs between two runs of the same work (times)."""
    data = result.model_dump(mode="json")
    if isinstance(result, Summary):
        data["provenance"].pop("latency_s")
        data["provenance"].pop("created_at")
    return data


def test_same_summaries_as_on_the_loop(articles: list[str], seed: str) -> None:
    texts = [*articles, seed]
    with Summarizer("fake/x", cache=False, limits=Limits(workers=0)) as here:
        expected = here.map(texts)
    with Summarizer("fake/x", cache=False, limits=Limits(workers=1)) as there:
        got = there.map(texts)
        assert there._workers is not None  # the steps did run in a worker
    assert all(isinstance(r, Summary) for r in got)
    assert [comparable(r) for r in got] == [comparable(r) for r in expected]


def test_reasks_and_typed_errors_cross_the_process(seed: str) -> None:
    good = extractive_answer(ChatRequest(messages=({"role": "user", "content": f"<article>\n{seed}\n</article>"},),
                                         schema={"properties": {"claims": {}}}))
    for workers in (0, 1):
        model = ScriptedModel.replies(["not json", good])
        with Summarizer(model, cache=False, limits=Limits(workers=workers)) as session:
            summary = session.summarize(seed)
        assert summary.provenance.attempts == 2
        assert "not JSON" in model.requests[1].messages[-1]["content"]  # the re-ask carries the problem

    model = ScriptedModel.replies(["not json"] * 3)
    with Summarizer(model, cache=False, limits=Limits(workers=1)) as session, pytest.raises(OutputError) as err:
        session.summarize(seed)
    assert err.value.attempts == 3 and err.value.last_output == "not json"


def test_a_failed_call_drops_its_steps_and_the_rest_run(articles: list[str]) -> None:
    def handler(request: ChatRequest) -> str | BaseException:
        if "<article>\n[P1] " + articles[1][:40] in request.messages[-1]["content"]:
            return ModelError("fake/flaky: refused")
        return extractive_answer(request)

    with Summarizer(ScriptedModel(handler), cache=False, limits=Limits(workers=1)) as session:
        results = session.map(articles[:4])
    assert isinstance(results[1], Failure) and results[1].type == "ModelError"
    assert [isinstance(r, Summary) for r in results] == [True, False, True, True]


def test_a_killed_worker_fails_only_its_articles(articles: list[str]) -> None:
    killed: list[int] = []
    others = set(worker_pids(os.getpid()))  # workers of sessions other tests left open

    def handler(request: ChatRequest) -> str:
        if not killed:  # the first call: the worker holding this article's steps dies before the answer is back
            (pid,) = set(worker_pids(os.getpid())) - others
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        return extractive_answer(request)

    with Summarizer(ScriptedModel(handler), cache=False, limits=Limits(workers=1, concurrency=1)) as session:
        results = session.map(articles[:3])
    assert isinstance(results[0], Failure)
    assert results[0].type == "WorkerExited" and "killed by signal 9" in results[0].message
    assert all(isinstance(r, Summary) for r in results[1:])  # a new worker took the next articles


def test_no_worker_for_a_model_without_facts(seed: str) -> None:
    class Opaque:  # a Model without ModelFacts: its token count needs the model itself
        name, endpoint, context_window, max_concurrency = "opaque/x", None, 32768, None
        inner = ScriptedModel()

        def count_tokens(self, text: str) -> int:
            return len(text.split())

        def complete(self, request: ChatRequest) -> ChatResponse:
            return self.inner.complete(request)

        async def acomplete(self, request: ChatRequest) -> ChatResponse:
            return self.complete(request)

        def load(self) -> None: ...

        def close(self) -> None: ...

    with Summarizer(Opaque(), cache=False, limits=Limits(workers=2)) as session:
        assert isinstance(session.summarize(seed), Summary)
        assert session._workers is None


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    proc, url = start_latency_server(latency=0.05)
    yield url
    stop_process(proc)


def test_an_endpoint_session_starts_a_worker_under_load(endpoint: str, articles: list[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", endpoint)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with Summarizer("openai/latency", cache=False, limits=Limits(concurrency=16, workers=0)) as here:
        expected = here.map(articles)
    with Summarizer("openai/latency", cache=False, limits=Limits(concurrency=16)) as session:
        one = session.summarize(articles[0])
        assert session._workers is None  # one article: checked on the loop, no process started
        got = session.map(articles)
        assert session._workers is not None  # a map 16 wide on an endpoint starts a worker (used once it is up)
    assert comparable(one) == comparable(expected[0])
    assert [comparable(r) for r in got] == [comparable(r) for r in expected]


def test_a_killed_caller_leaves_no_worker(tmp_path: Path, seed_path: Path) -> None:
    script = tmp_path / "caller.py"
    script.write_text(
        "import sys, time\n"
        "from summarizer import Limits, Summarizer\n"
        "session = Summarizer('fake/x', cache=False, limits=Limits(workers=1))\n"
        "session.summarize(open(sys.argv[1]).read())\n"
        "print('summarized', flush=True)\n"
        "time.sleep(60)\n", encoding="utf-8")
    caller = subprocess.Popen([sys.executable, str(script), str(seed_path)], stdout=subprocess.PIPE, text=True)
    assert caller.stdout is not None
    assert caller.stdout.readline().strip() == "summarized"
    pids = worker_pids(caller.pid)
    assert len(pids) == 1 and alive(pids[0])
    caller.send_signal(signal.SIGKILL)
    caller.wait(timeout=10)
    deadline = time.monotonic() + 10
    while alive(pids[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pids[0]), "the worker outlived its killed caller"
