"""What a faithfulness scorer returns, and the helpers both modes share to build it.

The offline scorer (:mod:`summarizer.evals.faithfulness`) and the judge (:mod:`summarizer.evals.faithfulness_judge`)
both import from here, so neither imports the other (the offline scorer builds a judge only when asked to, lazily).
"""

from __future__ import annotations

import pydantic

from .faithfulness_text import split_statements

__all__ = ["FaithfulnessResult", "StatementVerdict", "cannot_judge", "shorten", "statements_of", "supported_head"]


class StatementVerdict(pydantic.BaseModel):
    """One atomic statement of the summary and how well the article supports it."""

    statement: str
    score: float  # probability that the statement is supported, in [0, 1]
    supported: bool
    evidence: str | None  # the best supporting article span; article[evidence_start:evidence_end] == evidence
    evidence_start: int | None
    evidence_end: int | None
    signals: dict[str, float]


class FaithfulnessResult(pydantic.BaseModel):
    """A summary's faithfulness: ``value`` in [0, 1], or None when it cannot be judged (never NaN)."""

    value: float | None
    explanation: str
    statements: list[StatementVerdict]


def statements_of(summary: str | list[str]) -> list[str]:
    """A summary's atomic statements: its sentences (long ones cut at clauses), or the caller's own claims."""
    items = split_statements(summary) if isinstance(summary, str) else [s.strip() for s in summary]
    return [s for s in items if any(c.isalnum() for c in s)]


def cannot_judge(*, has_article: bool, statements: list[str]) -> FaithfulnessResult | None:
    """The abstention for an empty article or a summary without statements (None: there is something to judge)."""
    if not has_article:
        return FaithfulnessResult(value=None, explanation="Cannot judge: the article is empty.", statements=[])
    if not statements:
        return FaithfulnessResult(value=None, explanation="Cannot judge: the summary has no statements.", statements=[])
    return None


def supported_head(verdicts: list[StatementVerdict]) -> str:
    """The explanation's opening: "2 of 3 statements supported"."""
    noun = "statement" if len(verdicts) == 1 else "statements"
    return f"{sum(v.supported for v in verdicts)} of {len(verdicts)} {noun} supported"


def shorten(text: str, limit: int = 60) -> str:
    """``text`` on one line, cut to ``limit`` characters with "..." (for quoting a statement in an explanation)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."
