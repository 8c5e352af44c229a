"""Builders shared by the tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import latency_server  # bench/: the server the tests and the benchmarks share

KIRBY = "We assess that between early- to mid-October, North Korea moved at least 3,000 soldiers into eastern Russia"
NIS = "North Korea has shipped 1,500 soldiers, including special forces fighters, to Russia for training"


def claim(statement: str, quotes: list[str], speaker: str | None = None, kind: str = "fact",
          certainty: str = "asserted") -> dict[str, Any]:
    return {"statement": statement, "speaker": speaker, "kind": kind, "certainty": certainty, "quotes": quotes}


def answer(*claims: dict[str, Any], headline: str = "North Korean troops in Russia",
           summary: str = "The White House says at least 3,000 North Korean soldiers moved to Russia.") -> str:
    return json.dumps({"headline": headline, "summary": summary, "claims": list(claims)})


def kirby_claim(quote: str = KIRBY) -> dict[str, Any]:
    return claim("North Korea moved at least 3,000 soldiers into eastern Russia, the US assesses.", [quote],
                 speaker="John Kirby, National Security Council spokesman", kind="assessment", certainty="assessed")


def nis_claim(quote: str = NIS) -> dict[str, Any]:
    return claim("North Korea shipped 1,500 soldiers to Russia for training.", [quote],
                 speaker="South Korea's National Intelligence Service")


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
