"""Builders for the eval harness tests: small suites on the seed article, summaries with chosen text and claims."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from helpers import answer, claim

from summarizer import ScriptedModel, Summary, summarize
from summarizer.evals.suite import Case, GoldCheck

CHECKS: list[dict[str, Any]] = [
    {"id": "n3000", "type": "number", "text": "3,000", "qualifier": "at least",
     "sources": ["White House", "Kirby", "National Security Council"]},
    {"id": "n10000", "type": "number", "text": "10,000", "sources": ["Zelensky"]},
    {"id": "n1500", "type": "number", "text": "1,500",
     "sources": ["National Intelligence Service", "NIS", "South Korea"]},
    {"id": "combat", "type": "hedge", "topic": ["join the fight", "combat"]},
    {"id": "fair-game", "type": "quote", "text": "fair game", "sources": ["Kirby", "White House"]},
    {"id": "co-belligerent", "type": "quote", "text": "co-belligerent", "sources": ["Austin"]},
]
REFERENCE = ("At least 3,000 North Korean soldiers moved into eastern Russia, the White House said. Zelensky said "
             "10,000 were being prepared; South Korea's spy agency said 1,500 were shipped for training.")


def seed_case(seed: str, *, reference: str | None = REFERENCE) -> Case:
    return Case(id="seed", article=seed, reference=reference, checks=[GoldCheck(**c) for c in CHECKS])


def write_suite(tmp_path: Path, seed_path: Path, *, models: list[str] | None = None,
                scorers: list[Any] | None = None, thresholds: dict[str, float] | None = None,
                extra_rows: int = 2, **fields: Any) -> Path:
    """A suite with the seed article (inline, with gold checks) and ``extra_rows`` short JSONL articles."""
    rows = [{"id": f"short-{i}", "article": f"The council met on Monday {i}. It approved {i + 2},000 new homes "
             f"for the town. The mayor said the plan would cost {i + 1}.5 million pounds. Work starts in May.",
             "reference": f"The council approved {i + 2},000 homes costing {i + 1}.5 million pounds."}
            for i in range(extra_rows)]
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    suite = {
        "name": "tiny",
        "dataset": "data.jsonl",
        "cases": [{"id": "seed", "article_path": str(seed_path), "reference": REFERENCE, "checks": CHECKS}],
        "models": models or ["fake/x", "lead-3"],
        "scorers": scorers if scorers is not None else [
            "grounding", {"faithfulness": {"embedder": None}}, "attribution", "numbers", "gold", "coverage",
            "rouge", "compression", "length", "latency", "tokens", "cost", "attempts", "valid"],
        "thresholds": thresholds or {},
        "bootstrap": 200,
        **fields,
    }
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite), encoding="utf-8")
    return path


def summary_of(seed: str, *claims: dict[str, Any], text: str = "North Korean troops are in Russia.",
               headline: str = "North Korean troops in Russia") -> Summary:
    """A real, grounded Summary of the seed article with the given summary text and claims (a neutral one, with no
    number, quote or hedge in it, if none are given: the draft schema wants at least one)."""
    neutral = claim("The US briefed the Ukrainian government.",
                    ["Kirby said Wednesday that the US has briefed the Ukrainian government"])
    model = ScriptedModel.replies([answer(*(claims or (neutral,)), summary=text, headline=headline)])
    return summarize(seed, model=model, cache=False, max_attempts=1)  # as written: no re-ask over its numbers
