"""``faithfulness``: are the summary's sentences and claims supported by the article?

Wraps :class:`summarizer.evals.faithfulness.FaithfulnessScorer` (imported on first use: it may load a sentence
embedding model). Options: ``embedder`` (default null, the lexical mode; ``all-MiniLM-L6-v2`` adds sentence embeddings),
``reader`` (default null; a model such as ``local/smollm2-135m``: the model mode, which reads that model's token
probabilities), ``claims`` (default true: also score each claim's statement), ``headline`` (default false).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from .base import Context, Score, register

DEFAULT_EMBEDDER: str | None = None  # lexical: as good under CV on FRANK and ~30x faster (docs/faithfulness.md)


@cache
def _scorer(embedder: str | None, reader: str | None) -> Any:
    import os

    from ..faithfulness import FaithfulnessScorer

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Loading weights" bar in the middle of a run
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

    return FaithfulnessScorer(reader=reader) if reader else FaithfulnessScorer(embedder=embedder)


@register("faithfulness", "Are the summary sentences and claims supported by the article (0-1, the faithfulness "
          "model's geometric mean over statements)?", options=("embedder", "reader", "claims", "headline"))
def faithfulness(ctx: Context) -> Score:
    from ..faithfulness_text import split_statements

    assert ctx.summary is not None
    s = ctx.summary
    statements: list[str] = []
    if ctx.options.get("headline", False):
        statements.append(s.headline)
    statements += split_statements(s.summary)
    if ctx.options.get("claims", True):
        statements += [c.statement for c in s.claims]
    scorer = _scorer(ctx.options.get("embedder", DEFAULT_EMBEDDER), ctx.options.get("reader"))
    result = scorer.score(ctx.case.article, statements)
    verdicts = [{"statement": v.statement, "score": v.score, "supported": v.supported, "evidence": v.evidence}
                for v in result.statements]
    return Score(value=result.value, explanation=result.explanation,
                 details={"mode": scorer.mode, "statements": verdicts})
