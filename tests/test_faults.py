"""Every fault a real endpoint throws, over real HTTP: a scripted OpenAI-compatible server on loopback
(bench/latency_server.py, ``POST /faults``). Each fault once (the run must recover) and every time (the run must end
in the right typed error, exit code and attempt count) — never a crash, a traceback or a cached failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_grounded, server_stats, start_latency_server, stop_process

from summarizer import (
    Failure,
    Limits,
    OutputError,
    Summarizer,
    Summary,
    SummaryCache,
    TransientModelError,
)

REPO = Path(__file__).resolve().parents[1]
TRANSIENT = ("429", "500", "503", "reset", "late", "html200", "empty_choices")
OUTPUT = ("truncated", "length", "schema", "refusal", "fabricated", "altered")
LENIENT = ("control", "fenced", "prose")
#: Short timeouts and no backoff: the tests must not wait (a "late" answer takes 1.5 s; the timeout is 0.5 s).
FAST = Limits(timeout_s=0.5, transient_attempts=3, initial_backoff_s=0.0, max_backoff_s=0.0, max_retry_after_s=0.1)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    proc, url = start_latency_server("--slow", "1.5", latency=0.0)
    yield url
    stop_process(proc)


@pytest.fixture
def endpoint(server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_BASE_URL", server)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    script(server)
    server_stats(server, reset=True)
    return server


def script(url: str, **spec: Any) -> None:
    root = url.removesuffix("/v1")
    request = urllib.request.Request(f"{root}/faults", data=json.dumps(spec).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


@pytest.mark.parametrize("fault", [*TRANSIENT, *OUTPUT, *LENIENT])
def test_a_fault_once_then_a_good_answer_recovers(endpoint: str, seed: str, fault: str) -> None:
    script(endpoint, script=[fault])
    with Summarizer("openai/faulty", cache=False, limits=FAST) as session:
        s = session.summarize(seed)
    assert_grounded(s, seed)
    assert s.claims
    p = s.provenance
    if fault in TRANSIENT:
        assert (p.attempts, p.transient_retries) == (1, 1)
    elif fault in OUTPUT:
        assert (p.attempts, p.transient_retries) == (2, 0)  # re-asked once, with what was wrong
        assert p.prompt_tokens > 0 and p.completion_tokens > 0  # the failed try's tokens are counted too
    else:
        assert (p.attempts, p.transient_retries) == (1, 0)
    assert server_stats(endpoint)["requests"] == (1 if fault in LENIENT else 2)


@pytest.mark.parametrize("fault", [*TRANSIENT, *OUTPUT, *LENIENT])
def test_a_fault_every_time_ends_in_its_typed_error_and_is_never_cached(endpoint: str, seed: str,
                                                                         fault: str) -> None:
    script(endpoint, always=fault)
    store = SummaryCache()
    with Summarizer("openai/faulty", cache=store, limits=FAST) as session:
        [result] = session.map([seed])
    if fault in LENIENT:
        assert isinstance(result, Summary) and result.claims
        return
    assert isinstance(result, Failure)
    if fault in TRANSIENT:
        assert isinstance(result.exception, TransientModelError) and result.exit_code == 5
        assert result.attempts == 3  # the transient budget, then given up
    else:
        assert isinstance(result.exception, OutputError) and result.exit_code == 6
        assert result.attempts == 3  # the re-ask budget
        assert result.prompt_tokens > 0 and result.completion_tokens > 0  # what the failed tries cost
    if fault in ("fabricated", "altered"):
        assert "no claim could be grounded" in result.message
    if fault == "refusal":
        assert "refused" in result.message
    assert len(store) == 0  # a failure is never cached
    store.close()
    script(endpoint)  # the endpoint heals: the same article is now summarised, not served a stored failure
    with Summarizer("openai/faulty", cache=SummaryCache(), limits=FAST) as session:
        assert session.summarize(seed).claims


@pytest.mark.parametrize(("fault", "code"), [("503", 5), ("html200", 5), ("fabricated", 6), ("schema", 6)])
def test_the_cli_prints_one_line_and_the_exit_code(endpoint: str, seed_path: Path, fault: str, code: int) -> None:
    script(endpoint, always=fault)
    env = {**os.environ, "OPENAI_BASE_URL": endpoint, "OPENAI_API_KEY": "test-key"}
    done = subprocess.run([sys.executable, "-m", "summarizer", "summarize", str(seed_path), "-m", "openai/faulty",
                           "--no-cache"], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == code, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr and done.stdout == ""
    assert "test-key" not in done.stderr


@pytest.mark.slow
def test_soak_a_thousand_articles_through_a_fifth_of_faulty_answers(endpoint: str, tmp_path: Path) -> None:
    from conftest import SHARED_DATA

    frank = [json.loads(line)["article"] for line in
             (SHARED_DATA / "frank" / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    source = tmp_path / "in.jsonl"
    with source.open("w", encoding="utf-8") as f:
        for i in range(1000):  # distinct texts: the cache key is the text
            f.write(json.dumps({"id": f"s{i}", "article": f"Dispatch {i}.\n{frank[i % len(frank)]}"}) + "\n")
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "OPENAI_BASE_URL": endpoint, "OPENAI_API_KEY": "test-key"}
    command = [sys.executable, "-m", "summarizer", "batch", str(source), "--out", str(out), "-m", "openai/faulty",
               "--concurrency", "16", "--timeout", "0.5", "--quiet"]
    script(endpoint, rate=0.2, seed=7)
    first = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=1800)
    assert first.returncode in (0, 8), first.stderr
    assert "Traceback" not in first.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(f"s{i}" for i in range(1000))  # exactly one row each
    failed = [r for r in rows if "error" in r]
    assert len(failed) < 50 and all(r["error"]["type"] in {"OutputError", "TransientModelError"} for r in failed)
    faulty = server_stats(endpoint, reset=True)["requests"]
    assert faulty > 1000  # faults were met and retried or re-asked

    script(endpoint)  # healed
    second = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert second.returncode == 0, second.stderr
    assert server_stats(endpoint)["requests"] == len(failed)  # only the failed ids went to the model again
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 1000 and all("summary" in r for r in rows)
