"""``coverage``, ``rouge``, ``compression`` and ``length``: the summary's text against the reference and article."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

from ...grounding import sentences
from .base import Context, Score, register

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@cache
def _rouge() -> Any:
    from rouge_score import rouge_scorer  # type: ignore[import-untyped]

    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def _words(text: str) -> int:
    return len(re.findall(r"\w+(?:['’.-]\w+)*", text))


@lru_cache(maxsize=64)
def _raw_rouge(reference: str, text: str) -> dict[str, Any]:
    """rouge-score's result (immutable tuples), computed once for the ``coverage`` and ``rouge`` scorers alike."""
    result: dict[str, Any] = _rouge().score(reference, text)
    return result


def _rouge_scores(ctx: Context) -> dict[str, Any] | None:
    if not ctx.case.reference:
        return None
    scores = _raw_rouge(ctx.case.reference, ctx.text)
    return {t: {"precision": round(s.precision, 6), "recall": round(s.recall, 6), "f1": round(s.fmeasure, 6)}
            for t, s in scores.items()}


def _metric(ctx: Context, default: str) -> str:
    metric = str(ctx.options.get("metric", default))
    if metric not in ROUGE_TYPES and metric not in ("gold", "auto"):
        raise ValueError(f"metric must be one of {', '.join(ROUGE_TYPES)}, gold or auto; got {metric!r}")
    return metric


@register("coverage", "How much of the reference the summary carries: ROUGE recall (value: `metric`, default "
          "rouge1) and, where the case has gold checks, gold-check recall (the value when metric is auto).",
          options=("metric",))
def coverage(ctx: Context) -> Score:
    from .gold import evaluate_checks

    assert ctx.summary is not None
    metric = _metric(ctx, "auto")
    rouge = _rouge_scores(ctx)
    details: dict[str, Any] = {"rouge": rouge}
    gold_recall = None
    if ctx.case.checks:
        results = evaluate_checks(ctx.case, ctx.summary)
        gold_recall = sum(r.status == "pass" for r in results) / len(results)
        details["gold_recall"] = gold_recall
        details["gold"] = {r.id: r.status for r in results}
    if metric == "auto":
        metric = "gold" if gold_recall is not None else "rouge1"
    if metric == "gold":
        if gold_recall is None:
            return Score(value=None, explanation="Cannot judge: this case has no gold checks.", details=details)
        passed = sum(s == "pass" for s in details["gold"].values())
        return Score(value=gold_recall, details=details,
                     explanation=f"{passed} of {len(ctx.case.checks)} gold checks carried correctly.")
    if rouge is None:
        return Score(value=None, explanation="Cannot judge: this case has no reference summary.", details=details)
    value = rouge[metric]["recall"]
    extra = f"; gold-check recall {gold_recall:.2f}" if gold_recall is not None else ""
    note = " (the reference itself)" if ctx.system == "reference" else ""
    return Score(value=value, details=details,
                 explanation=f"{metric} recall {value:.3f} against the reference{note}{extra}.")


@register("rouge", "ROUGE F1 of the summary against the reference (value: `metric`, default rouge1; all three in "
          "details).", options=("metric",))
def rouge(ctx: Context) -> Score:
    metric = _metric(ctx, "rouge1")
    scores = _rouge_scores(ctx)
    if scores is None:
        return Score(value=None, explanation="Cannot judge: this case has no reference summary.")
    if metric not in ROUGE_TYPES:
        raise ValueError(f"rouge's metric is one of {', '.join(ROUGE_TYPES)}")
    value = scores[metric]["f1"]
    text = ", ".join(f"{t} {scores[t]['f1']:.3f}" for t in ROUGE_TYPES)
    note = " (the reference scored against itself: 1 by construction)" if ctx.system == "reference" else ""
    return Score(value=value, explanation=f"F1: {text}{note}.", details={"rouge": scores})


@register("compression", "Summary words / article words.", better="none")
def compression(ctx: Context) -> Score:
    article_words = _words(ctx.case.article)
    if article_words == 0:
        return Score(value=None, explanation="Cannot judge: the article has no words.")
    summary_words = _words(ctx.text)
    return Score(value=summary_words / article_words,
                 explanation=f"{summary_words} summary words for {article_words} article words.",
                 details={"summary_words": summary_words, "article_words": article_words})


@register("length", "Summary length in words (headline, sentences and claims in details).", better="none")
def length(ctx: Context) -> Score:
    assert ctx.summary is not None
    words = _words(ctx.text)
    n_sentences = len(sentences(ctx.text))
    claims = len(ctx.summary.claims)
    return Score(value=float(words),
                 explanation=f"{words} words in {n_sentences} sentence(s); headline {_words(ctx.summary.headline)} "
                             f"words; {claims} claim(s).",
                 details={"words": words, "sentences": n_sentences, "headline_words": _words(ctx.summary.headline),
                          "claims": claims, "rejected_claims": len(ctx.summary.rejected_claims)})
