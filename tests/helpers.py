"""Builders shared by the tests."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest

LATENCY_SERVER = Path(__file__).resolve().parents[1] / "bench" / "latency_server.py"

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
    latency); return the process and its base URL (…/v1) from its first line of output."""
    proc = subprocess.Popen([sys.executable, str(LATENCY_SERVER), "--port", "0", "--latency", str(latency), *args],
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout
    assert out is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(out.readline()), daemon=True)
    reader.start()
    reader.join(timeout=60)
    if not lines or not lines[0].startswith("listening on "):
        stop_process(proc)
        pytest.fail(f"latency server did not start: {lines!r}")
    return proc, lines[0].removeprefix("listening on ").strip()


def stop_process(proc: subprocess.Popen[str]) -> int:
    proc.terminate()
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def server_stats(base_url: str, reset: bool = False) -> dict[str, int]:
    """The latency server's counters (requests, in_flight, max_in_flight); ``reset`` zeroes them after reading."""
    root = base_url.removesuffix("/v1")
    with urllib.request.urlopen(f"{root}/stats", timeout=10) as response:
        stats: dict[str, int] = json.load(response)
    if reset:
        urllib.request.urlopen(urllib.request.Request(f"{root}/stats/reset", data=b"", method="POST"), timeout=10)
    return stats
