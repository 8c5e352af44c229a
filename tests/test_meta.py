"""Tests of the meta-evaluation (correlations with human judgements, FRANK protocol)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from summarizer.evals.meta import MetaReport, correlations, load_frank, run_meta

FRANK = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "frank"


def test_partial_pearson_hand_computed() -> None:
    # Residuals on the system means: scores -> [-1, 0, 1, -1, 0, 1]; human -> [-2, -1, 3, -2, -1, 3].
    # r = sum(xy) / sqrt(sum(x^2) sum(y^2)) = 10 / sqrt(4 * 28).
    c = correlations([1, 2, 3, 4, 5, 6], [1, 2, 6, 4, 5, 9], ["a", "a", "a", "b", "b", "b"])
    assert c["partial_pearson"] == pytest.approx(10 / math.sqrt(112))
    assert c["n"] == 6 and c["abstained"] == 0


def test_partial_removes_system_offsets() -> None:
    human = [0.1, 0.5, 0.9, 0.2, 0.6, 0.7]
    systems = ["a", "a", "a", "b", "b", "b"]
    scores = [h + (10.0 if s == "b" else 0.0) for h, s in zip(human, systems, strict=True)]
    c = correlations(scores, human, systems)
    assert c["partial_pearson"] == pytest.approx(1.0)
    assert c["partial_spearman"] == pytest.approx(1.0)
    assert c["pearson"] is not None and c["pearson"] < 0.9


def test_roc_auc_and_abstentions() -> None:
    c = correlations([0.1, 0.4, 0.35, 0.8, None, float("nan")], [0, 0, 1, 1, 1, 0], ["s"] * 6)
    assert c["roc_auc"] == pytest.approx(0.75)  # 3 of the 4 (positive, negative) pairs ordered right
    assert c["n"] == 4 and c["abstained"] == 2
    assert c["spearman"] == pytest.approx(2 / math.sqrt(20))  # ranks [1,3,2,4] vs [1.5,1.5,3.5,3.5]


def test_undefined_figures_are_none() -> None:
    c = correlations([0.2, 0.3, 0.4], [1.0, 1.0, 1.0], ["a", "b", "c"])
    assert c["roc_auc"] is None and c["pearson"] is None and c["partial_pearson"] is None
    # A constant score (a judge that always says "supported"): its residuals are rounding noise, not a signal.
    c = correlations([1.0] * 6, [0.1, 0.5, 0.9, 0.2, 0.6, 1.0], ["s", "t", "u", "s", "t", "u"])
    assert c["pearson"] is None and c["partial_pearson"] is None and c["partial_spearman"] is None
    assert c["roc_auc"] == 0.5
    with pytest.raises(ValueError):
        correlations([1.0], [1.0, 2.0], ["a"])


def _write_small_split(tmp_path: Path) -> tuple[Path, Path]:
    articles = [
        {
            "id": "a1",
            "dataset": "x",
            "article": "The mayor opened a new bridge in Leeds on Monday. It cost 5 million pounds.",
        },
        {
            "id": "a2",
            "dataset": "x",
            "article": "A storm hit the coast of Norway. Two ferries were cancelled on Friday.",
        },
    ]
    judgements = [
        ("a1", "s1", "The mayor opened a new bridge in Leeds.", 1.0, 0.9),
        ("a1", "s2", "The mayor closed a hospital in Paris at a cost of 9 million pounds.", 0.0, 0.4),
        ("a2", "s1", "A storm hit the coast of Norway.", 1.0, None),
        ("a2", "s2", "Ten ferries sank off Spain.", 0.0, 0.3),
        ("a1", "s1", "The new bridge in Leeds cost 5 million pounds.", 1.0, 0.8),
        ("a2", "s2", "Two ferries were cancelled.", 1.0, 0.2),
    ]
    ap, jp = tmp_path / "articles.jsonl", tmp_path / "judgements.jsonl"
    ap.write_text("".join(json.dumps(a) + "\n" for a in articles))
    jp.write_text(
        "".join(
            json.dumps({"id": i, "system": s, "summary": t, "factuality": f, "baselines": {"B": b}}) + "\n"
            for i, s, t, f, b in judgements
        )
    )
    return ap, jp


def test_run_meta_on_any_files_of_the_format(tmp_path: Path) -> None:
    ap, jp = _write_small_split(tmp_path)
    items = load_frank(ap, jp)
    assert len(items) == 6 and items[0].article.startswith("The mayor")
    out = tmp_path / "scores.jsonl"
    report = run_meta(ap, jp, scorer_name="faithfulness-lexical", scores_out=out)
    assert isinstance(report, MetaReport)
    assert [r.metric for r in report.rows] == ["faithfulness-lexical", "B"]
    ours, baseline = report.rows
    assert ours.n == 6 and ours.seconds is not None
    assert baseline.n == 5 and baseline.abstained == 1
    assert ours.roc_auc is not None and ours.roc_auc > 0.5
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 6 and all(0.0 <= x["score"] <= 1.0 for x in lines)
    table = report.to_table()
    assert "| B | 5 | 1 |" in table and "partial pearson" in table


def test_run_meta_rejects_unknown_scorer(tmp_path: Path) -> None:
    ap, jp = _write_small_split(tmp_path)
    with pytest.raises(ValueError):
        run_meta(ap, jp, scorer_name="nope")


def test_load_frank_needs_the_article(tmp_path: Path) -> None:
    ap, jp = _write_small_split(tmp_path)
    jp.write_text(json.dumps({"id": "zz", "system": "s", "summary": "x", "factuality": 1.0}) + "\n")
    with pytest.raises(ValueError, match="zz"):
        load_frank(ap, jp)


@pytest.mark.skipif(not (FRANK / "judgements.jsonl").exists(), reason="shared FRANK data not present")
def test_published_baselines_reproduce() -> None:
    report = run_meta(FRANK / "articles.jsonl", FRANK / "judgements.jsonl", scorer_name="none")
    rows = {r.metric: r for r in report.rows}
    bert = rows["BertScore P Art"]
    assert bert.partial_pearson == pytest.approx(0.220, abs=5e-4)
    assert bert.partial_spearman == pytest.approx(0.213, abs=5e-4)
    assert bert.roc_auc == pytest.approx(0.792, abs=5e-4)
    assert rows["Rouge 1"].pearson == pytest.approx(0.314, abs=5e-4)
    assert report.n_pairs == 671
