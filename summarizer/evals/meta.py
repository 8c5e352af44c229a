"""Meta-evaluation of factuality metrics against human judgements (the FRANK / TRUE protocol).

Given an articles file (``{"id", "article", ...}`` per line) and a judgements file (``{"id", "system", "summary",
"factuality", "baselines": {...}}`` per line), :func:`run_meta` scores every summary with our scorer and reports,
for it and for every baseline column present, how its scores agree with ``factuality``:

- Pearson and Spearman correlation;
- the same as *partial* correlations controlling for ``system``: both the score and ``factuality`` are
  residualised on one-hot system indicators (least squares), then the residuals are correlated (partial Spearman
  is the Spearman correlation of those residuals, as in the FRANK figures);
- ROC AUC for the label ``factuality == 1.0``.

Abstentions (a score of None, or a missing baseline value) are left out and counted.
Run it as ``python -m summarizer.evals.meta ARTICLES JUDGEMENTS [--scorer NAME] [--scores-out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pydantic
from scipy import stats

if TYPE_CHECKING:
    from ..models.base import Model

__all__ = [
    "SCORERS",
    "Judgement",
    "MetaReport",
    "MetricRow",
    "correlations",
    "load_frank",
    "metric_row",
    "run_meta",
    "subset",
]

#: Scorer names :func:`run_meta` knows: our default (lexical) mode, the same by its explicit name, the embedding
#: mode (all-MiniLM-L6-v2; needs sentence-transformers), the model mode (a model's token probabilities fused with
#: the lexical signals; ``reader`` names the model), or none.
SCORERS = ("faithfulness", "faithfulness-lexical", "faithfulness-embedding", "faithfulness-model", "none")


class Judgement(pydantic.BaseModel):
    """One human-judged summary, joined with its article."""

    id: str
    dataset: str | None = None
    system: str
    summary: str
    factuality: float
    baselines: dict[str, float | None] = {}
    article: str


def load_frank(articles_path: str | Path, judgements_path: str | Path) -> list[Judgement]:
    """Read the two JSONL files and join each judgement with its article (by ``id``)."""
    articles: dict[str, str] = {}
    with open(articles_path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                articles[str(row["id"])] = row["article"]
    out: list[Judgement] = []
    with open(judgements_path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            key = str(row["id"])
            if key not in articles:
                raise ValueError(f"{judgements_path}:{n}: no article with id {key!r}")
            out.append(Judgement(**{**row, "id": key, "article": articles[key]}))
    return out


def _residualise(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    design = (groups[:, None] == np.unique(groups)[None, :]).astype(np.float64)
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    return values - design @ coef  # type: ignore[no-any-return]


def _finite(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _constant(x: np.ndarray) -> bool:
    # Residuals of a constant column are rounding noise (~1e-16), not a signal: treat them as constant too.
    return bool(np.ptp(x) <= 1e-9 * max(1.0, float(np.max(np.abs(x)))))


def _corr(a: np.ndarray, b: np.ndarray, kind: str) -> float | None:
    if len(a) < 3 or _constant(a) or _constant(b):
        return None
    r = stats.pearsonr(a, b)[0] if kind == "pearson" else stats.spearmanr(a, b)[0]
    return _finite(float(r))


def correlations(
    scores: Sequence[float | None], human: Sequence[float], systems: Sequence[str]
) -> dict[str, float | int | None]:
    """Agreement of ``scores`` with ``human``: plain and system-partial Pearson/Spearman, and ROC AUC.

    Pairs whose score is None (or NaN) are excluded and counted in ``abstained``; ``n`` is how many were used.
    A figure that cannot be computed (too few rows, a constant column, one class only) is None.
    """
    if not len(scores) == len(human) == len(systems):
        raise ValueError("scores, human and systems must have the same length")
    keep = [i for i, s in enumerate(scores) if s is not None and math.isfinite(float(s))]
    x = np.array([float(scores[i]) for i in keep], dtype=np.float64)  # type: ignore[arg-type]
    y = np.array([float(human[i]) for i in keep], dtype=np.float64)
    g = np.array([str(systems[i]) for i in keep])
    out: dict[str, float | int | None] = {"n": len(keep), "abstained": len(scores) - len(keep)}
    out["pearson"] = _corr(x, y, "pearson")
    out["spearman"] = _corr(x, y, "spearman")
    if len(keep) >= 3:
        rx, ry = _residualise(x, g), _residualise(y, g)
        out["partial_pearson"] = _corr(rx, ry, "pearson")
        out["partial_spearman"] = _corr(rx, ry, "spearman")
    else:
        out["partial_pearson"] = out["partial_spearman"] = None
    labels = y >= 1.0 - 1e-9
    if 0 < labels.sum() < len(labels):
        # ROC AUC = Mann-Whitney U / (n_pos * n_neg), with ties counted as half.
        ranks = stats.rankdata(x)
        n_pos, n_neg = int(labels.sum()), int((~labels).sum())
        u = ranks[labels].sum() - n_pos * (n_pos + 1) / 2
        out["roc_auc"] = _finite(u / (n_pos * n_neg))
    else:
        out["roc_auc"] = None
    return out


class MetricRow(pydantic.BaseModel):
    """One metric's line of the table."""

    metric: str
    n: int
    abstained: int
    pearson: float | None
    spearman: float | None
    partial_pearson: float | None
    partial_spearman: float | None
    roc_auc: float | None
    seconds: float | None = None  # time to score every pair, where we measured it


def metric_row(
    name: str,
    scores: Sequence[float | None],
    human: Sequence[float],
    systems: Sequence[str],
    seconds: float | None = None,
) -> MetricRow:
    """A :class:`MetricRow` for ``scores`` (see :func:`correlations`)."""
    c = correlations(scores, human, systems)
    return MetricRow(metric=name, seconds=seconds, **c)  # type: ignore[arg-type]


class MetaReport(pydantic.BaseModel):
    """The meta-evaluation table: our scorer (if run) first, then every baseline column present."""

    articles_path: str
    judgements_path: str
    n_pairs: int
    rows: list[MetricRow]

    def to_table(self) -> str:
        """A Markdown table of the rows (figures to 3 decimals; '-' where one cannot be computed)."""

        def fmt(v: float | None) -> str:
            return "-" if v is None else f"{v:.3f}"

        lines = [
            "| metric | n | abstained | pearson | spearman | partial pearson | partial spearman | ROC AUC |",
            "|---|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for r in self.rows:
            name = r.metric + (f" ({r.seconds:.1f}s)" if r.seconds is not None else "")
            figures = (r.pearson, r.spearman, r.partial_pearson, r.partial_spearman, r.roc_auc)
            lines.append(f"| {name} | {r.n} | {r.abstained} | " + " | ".join(fmt(v) for v in figures) + " |")
        return "\n".join(lines)


def _our_scores(items: list[Judgement], scorer_name: str,
                reader: str | Model | None = None) -> tuple[list[float | None], str]:
    from .faithfulness import DEFAULT_EMBEDDER, READER, FaithfulnessScorer

    embedder = DEFAULT_EMBEDDER if scorer_name == "faithfulness-embedding" else None
    if scorer_name == "faithfulness-model":
        scorer = FaithfulnessScorer(reader=reader or READER)
        assert scorer.reader is not None
        label = f"{scorer_name} reader={scorer.reader.name}"
    else:
        scorer = FaithfulnessScorer(embedder=embedder)
        label = scorer_name
    results = scorer.score_many((j.article, j.summary) for j in items)
    if scorer.reader is not None:  # a statement the model could not read lacks its signals (scored lexically)
        from .faithfulness_lm import LIKELIHOOD_SIGNALS

        unread = sum(any(LIKELIHOOD_SIGNALS[0] not in v.signals for v in r.statements) for r in results)
        if unread:
            label += f" ({unread} summaries partly unread by the model)"
    if embedder is not None and scorer.mode != "embedding":
        label += " (lexical fallback: no sentence-transformers)"
    return [r.value for r in results], label


def _judge_scores(items: list[Judgement], judge: str | Model) -> tuple[list[float | None], str]:
    from .faithfulness_judge import JudgeFaithfulnessScorer

    scorer = JudgeFaithfulnessScorer(judge)
    results = scorer.score_many((j.article, j.summary) for j in items)
    return [r.value for r in results], f"faithfulness judge={scorer.model_name}"


def subset(items: list[Judgement], limit: int) -> list[Judgement]:
    """Whole articles' pairs, taking articles alternately from each dataset (in file order) until >= ``limit`` pairs.

    Deterministic, and each smaller subset is a prefix of a larger one. On FRANK's validation split (CNN/DM
    articles first, then XSum) ``limit=100`` gives 104 pairs of 23 articles (60 CNN/DM pairs of 12 articles, 44
    XSum pairs of 11) and ``limit=40`` gives 41 pairs of 9 articles (25 CNN/DM pairs, 16 XSum).
    """
    by_article: dict[str, list[Judgement]] = {}
    for j in items:
        by_article.setdefault(j.id, []).append(j)
    queues: dict[str, list[str]] = {}
    for key, rows in by_article.items():
        queues.setdefault(rows[0].dataset or "", []).append(key)
    order: list[str] = []
    while any(queues.values()):
        for queue in queues.values():
            if queue:
                order.append(queue.pop(0))
    chosen: list[Judgement] = []
    for key in order:
        if len(chosen) >= limit:
            break
        chosen.extend(by_article[key])
    return chosen


def run_meta(
    articles_path: str | Path,
    judgements_path: str | Path,
    scorer_name: str = "faithfulness",
    scores_out: str | Path | None = None,
    *,
    judge: str | Model | None = None,
    reader: str | Model | None = None,
    limit: int | None = None,
) -> MetaReport:
    """Score every judged summary with ``scorer_name`` (one of :data:`SCORERS`) and build the table.

    ``scores_out``: if given, one JSON line per judgement with our score, written there (the judge's score when
    ``judge`` is given).
    ``judge``: a ``provider/model`` name (or a model object): also score with the judge mode (its row comes first, then
    ``scorer_name`` on the same pairs, then the mean of the two, then the baselines).
    ``reader``: the model the ``faithfulness-model`` scorer reads (default: the one its coefficients were fitted with).
    ``limit``: only the pairs of whole articles, chosen by :func:`subset`, until there are at least this many.
    Note: our scorer's shipped coefficients were fitted on FRANK's validation split; on that split these figures
    are in-sample (see docs/faithfulness.md for the cross-validated ones).
    """
    if scorer_name not in SCORERS:
        raise ValueError(f"unknown scorer {scorer_name!r}; expected one of {', '.join(SCORERS)}")
    items = load_frank(articles_path, judgements_path)
    if limit is not None:
        items = subset(items, limit)
    human = [j.factuality for j in items]
    systems = [j.system for j in items]
    rows: list[MetricRow] = []
    written: list[float | None] | None = None
    judged: list[float | None] | None = None
    if judge is not None:
        t0 = time.perf_counter()
        judged, label = _judge_scores(items, judge)
        rows.append(metric_row(label, judged, human, systems, seconds=time.perf_counter() - t0))
        written = judged
    if scorer_name != "none":
        t0 = time.perf_counter()
        ours, label = _our_scores(items, scorer_name, reader)
        rows.append(metric_row(label, ours, human, systems, seconds=time.perf_counter() - t0))
        if judged is not None:
            mean = [None if a is None or b is None else (a + b) / 2 for a, b in zip(judged, ours, strict=True)]
            rows.append(metric_row(f"mean of judge and {scorer_name}", mean, human, systems))
        written = written if written is not None else ours
    if scores_out is not None and written is not None:
        with open(scores_out, "w", encoding="utf-8") as fh:
            for j, s in zip(items, written, strict=True):
                fh.write(json.dumps({"id": j.id, "system": j.system, "score": s}) + "\n")
    names = list(dict.fromkeys(k for j in items for k in j.baselines))
    for name in names:
        values = [j.baselines.get(name) for j in items]
        rows.append(metric_row(name, values, human, systems))
    return MetaReport(
        articles_path=str(articles_path), judgements_path=str(judgements_path), n_pairs=len(items), rows=rows
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Meta-evaluate factuality scores against human judgements.")
    parser.add_argument("articles")
    parser.add_argument("judgements")
    parser.add_argument("--scorer", default="faithfulness", choices=SCORERS)
    parser.add_argument("--scores-out", default=None)
    parser.add_argument("--judge", default=None, help="also score with this judge model (provider/model)")
    parser.add_argument("--reader", default=None, help="the model the faithfulness-model scorer reads")
    parser.add_argument("--limit", type=int, default=None, help="only whole articles' pairs, at least this many")
    parser.add_argument("--verbose", action="store_true", help="log each judged pair")
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    report = run_meta(args.articles, args.judgements, args.scorer, args.scores_out, judge=args.judge,
                      reader=args.reader, limit=args.limit)
    print(report.to_table())


if __name__ == "__main__":
    main()
