"""Builders shared by the tests."""

from __future__ import annotations

import json
from typing import Any

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
