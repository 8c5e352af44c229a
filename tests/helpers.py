"""Builders shared by the tests."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import latency_server  # bench/: the server the tests and the benchmarks share

KIRBY = "We assess that between early- to mid-October, North Korea moved at least 3,000 soldiers into eastern Russia"
NIS = "North Korea has shipped 1,500 soldiers, including special forces fighters, to Russia for training"
ZELENSKY = "telling a NATO summit last week that “10,000” soldiers and technical personnel were being prepared"


def claim(statement: str, quotes: list[str], speaker: str | None = None, kind: str = "fact",
          certainty: str = "asserted") -> dict[str, Any]:
    return {"statement": statement, "speaker": speaker, "kind": kind, "certainty": certainty, "quotes": quotes}


def answer(*claims: dict[str, Any], headline: str = "North Korean troops in Russia",
           summary: str = "The White House says at least 3,000 North Korean soldiers moved to Russia.",
           rivals: bool = False) -> str:
    """A seed answer. With ``rivals`` the seed's other troop figures are added as claims where the given ones do
    not carry them, so a test of another check sees no coverage finding (the seed's figures compete)."""
    given = list(claims)
    if rivals and given:
        given += [c for c in (zelensky_claim(), nis_claim())
                  if not any(c["quotes"][0] in g["quotes"] for g in given)]
    return json.dumps({"headline": headline, "summary": summary, "claims": given})


def seed_answer(*claims: dict[str, Any], **fields: Any) -> str:
    """A seed answer whose claims carry every competing troop figure (see :func:`answer`)."""
    return answer(*claims, rivals=True, **fields)


def kirby_claim(quote: str = KIRBY) -> dict[str, Any]:
    return claim("North Korea moved at least 3,000 soldiers into eastern Russia, the US assesses.", [quote],
                 speaker="John Kirby, National Security Council spokesman", kind="assessment", certainty="assessed")


def nis_claim(quote: str = NIS) -> dict[str, Any]:
    return claim("North Korea shipped 1,500 soldiers to Russia for training.", [quote],
                 speaker="South Korea's National Intelligence Service")


def zelensky_claim(quote: str = ZELENSKY) -> dict[str, Any]:
    return claim("Zelensky told a NATO summit that 10,000 North Korean soldiers were being prepared.", [quote],
                 speaker="Ukrainian President Volodymyr Zelensky")


def rivals() -> tuple[dict[str, Any], dict[str, Any]]:
    """The seed's two other troop figures with their sources: with them, a seed answer carries every competing
    figure (3,000 / 10,000 / 1,500), so a test of another check sees no coverage finding."""
    return zelensky_claim(), nis_claim()


def same_answer_each_time(article: str, reply: str) -> tuple[Any, str]:
    """Summarise ``article`` with a model that gives ``reply`` at every attempt: the summary and the first re-ask
    (what the library told the model was wrong)."""
    from summarizer import ScriptedModel, Summarizer

    model = ScriptedModel.replies([reply] * 3)
    with Summarizer(model, cache=False) as session:
        summary = session.summarize(article)
    return summary, model.requests[1].messages[-1]["content"]


def assert_grounded(summary: Any, article: str) -> None:
    """The invariant every test output must satisfy."""
    for c in summary.claims:
        assert c.evidence
        for ev in c.evidence:
            assert article[ev.start : ev.end] == ev.text
    summary.verify(article)


def start_latency_server(*args: str, latency: float = 0.2) -> tuple[subprocess.Popen[str], str]:
    """Start bench/latency_server.py (a real OpenAI-compatible HTTP server on loopback, answering after a fixed
    latency); return the process and its base URL (…/v1)."""
    try:
        return latency_server.spawn(*args, latency=latency)
    except RuntimeError as exc:
        pytest.fail(str(exc))


def stop_process(proc: subprocess.Popen[str]) -> int:
    proc.terminate()
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def server_stats(base_url: str, reset: bool = False) -> dict[str, int]:
    """The latency server's counters (requests, in_flight, max_in_flight); ``reset`` zeroes them after reading."""
    return latency_server.stats(base_url, reset)


def worker_pids(parent: int) -> list[int]:
    """Child processes of ``parent`` that are summarizer workers (summarizer.workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read()
        except OSError:  # it ended meanwhile
            continue
        if ppid == parent and b"summarizer.workers" in command:
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    """Is ``pid`` running (not gone, and not a zombie waiting for its parent)?"""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` (ASGI) on a real uvicorn on loopback, in a thread; yields its base URL."""
    import threading
    import time

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def answer_batch(requests: Path, results: Path, base_url: str, *, timeout: float = 600.0,
                 reshape: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None) -> int:
    """Play a provider's batch service: POST each request line's body to a real server at ``base_url`` (…/v1) and
    write its answers as OpenAI Batch API result lines, shuffled. ``reshape`` may change a result line (a failure, a
    mangled answer) or drop it (None). Returns the number of requests answered."""
    import httpx2

    lines = [json.loads(line) for line in requests.read_text(encoding="utf-8").splitlines() if line.strip()]
    out: list[dict[str, Any]] = []
    with httpx2.Client(timeout=timeout) as client:
        for n, line in enumerate(lines):
            assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
            reply = client.post(base_url.rstrip("/") + line["url"].removeprefix("/v1"), json=line["body"])
            result: dict[str, Any] | None = {
                "id": f"batch_req_{n}", "custom_id": line["custom_id"], "error": None,
                "response": {"status_code": reply.status_code, "request_id": f"req_{n}", "body": reply.json()}}
            if reshape is not None and result is not None:
                result = reshape(result)
            if result is not None:
                out.append(result)
    random.Random(len(lines)).shuffle(out)  # providers return lines in any order
    results.write_text("".join(json.dumps(r) + "\n" for r in out), encoding="utf-8")
    return len(lines)
