"""The library's checks of hedges and of quotations in the free text, on the seed article (and FRANK copy)."""

from __future__ import annotations

import pytest
from helpers import KIRBY, answer, claim, kirby_claim

from summarizer import ScriptedModel, Summarizer
from summarizer.checks import ArticleChecks
from summarizer.hedges import cues, dropped_qualifiers, keeps_hedge
from summarizer.prompts import Prompt

FAIR_GAME = "If they do deploy to fight against Ukraine, they’re fair game."


def checks(article: str) -> ArticleChecks:
    return ArticleChecks(article, Prompt.load("summarize").instructions())


@pytest.mark.parametrize(("text", "expected"), [
    ("We assess that between early- to mid-October, North Korea moved", [("assessment", "We assess")]),
    ("these soldiers could travel to western Russia", [("hedge", "could")]),
    ("The US does not believe the North Korean troops have reached Ukraine",
     [("assessment", "The US does not believe")]),
    ("What, exactly, they’re doing is left to be seen.", [("hedge", "left to be seen")]),
    ("while it remains unclear what exactly they will do", [("hedge", "remains unclear")]),
    ("North Korea has shipped 1,500 soldiers to Russia for training", []),
    ("The suspect was allegedly seen near the bank", [("hedge", "allegedly")]),
])
def test_hedge_and_assessment_cues(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(c.kind, c.text) for c in cues(text)] == expected


def test_a_qualifier_dropped_from_a_figure() -> None:
    assert dropped_qualifiers("North Korea moved at least 3,000 soldiers", "North Korea moved 3,000 soldiers") == [
        "at least 3,000"]
    assert dropped_qualifiers("North Korea moved at least 3,000 soldiers", "at least 3,000 soldiers moved") == []
    assert dropped_qualifiers("more than 200 people", "over 200 people were hurt") == []
    assert keeps_hedge("The US assesses that 3,000 soldiers moved") and not keeps_hedge("3,000 soldiers moved")


def test_an_assessment_labelled_asserted_with_its_hedge_dropped_is_re_asked_then_flagged(seed: str) -> None:
    flat = claim("North Korea moved 3,000 soldiers into eastern Russia.", [KIRBY],
                 speaker="John Kirby, National Security Council spokesman", kind="fact", certainty="asserted")
    model = ScriptedModel.replies([answer(flat)] * 3)
    with Summarizer(model, cache=False) as session:
        s = session.summarize(seed)
    reask = model.requests[1].messages[-1]["content"]
    assert "claim 1: its evidence is an assessment ('We assess'), so its certainty is assessed" in reask
    assert "claim 1: the statement drops the evidence's assessment ('We assess')" in reask
    assert "claim 1: the evidence says 'at least 3,000'" in reask
    assert sorted((f.kind, f.field) for f in s.flags) == [("hedge", "claims[0].certainty"),
                                                          ("hedge", "claims[0].statement"),
                                                          ("hedge", "claims[0].statement")]
    assert all(f.claim == 0 for f in s.flags)


def test_a_fact_that_is_assessed_is_a_contradiction(seed: str) -> None:
    odd = kirby_claim()
    odd["kind"] = "fact"
    with Summarizer(ScriptedModel.replies([answer(odd)] * 3), cache=False) as session:
        s = session.summarize(seed)
    assert [(f.kind, f.field, f.text) for f in s.flags] == [("hedge", "claims[0].kind", "fact · assessed")]


def test_the_kirby_claim_of_the_helpers_passes_every_check(seed: str) -> None:
    with Summarizer(ScriptedModel.replies([answer(kirby_claim())]), cache=False) as session:
        s = session.summarize(seed)
    assert s.flags == [] and s.provenance.attempts == 1


@pytest.mark.parametrize(("summary", "flagged"), [
    # Kirby's words as if the article said them: copied without quotation marks, and in quotation marks
    (f"North Korea sent troops to Russia. {FAIR_GAME}", ["they do deploy to fight …"]),
    (f"North Korea sent troops to Russia, and “{FAIR_GAME}”", [FAIR_GAME]),
    # the same words with their speaker in the sentence
    (f"Kirby said: “{FAIR_GAME}”", []),
    ("National Security Council spokesman John Kirby said that if they do deploy to fight against Ukraine, "
     "they’re fair game.", []),
    # quoted words the article does not have at all
    ("Austin said the troops were “ready to strike Kyiv”.", ["ready to strike Kyiv"]),
    # a single quoted word is a term, not a quotation; the article's own narrative in quotation marks needs no one
    ("The so-called “co-belligerent” question remains.", []),
    ("Austin spoke of a “co-belligerent” and of “fair game”.", []),  # two words in quotes are a term too
    ("The troops went, “as North Korea and Russia have forged increasingly friendly ties”.", []),
])
def test_quotations_in_the_summary_name_their_speaker(seed: str, summary: str, flagged: list[str]) -> None:
    found = [f for f in checks(seed).review("North Korean troops in Russia", summary, []) if f.kind == "quote"]
    assert [f.text for f in found] == flagged


def test_an_unattributed_quote_in_the_summary_is_re_asked_then_flagged(seed: str) -> None:
    reply = answer(kirby_claim(), summary=f"At least 3,000 North Korean soldiers moved to Russia. {FAIR_GAME}")
    model = ScriptedModel.replies([reply] * 3)
    with Summarizer(model, cache=False) as session:
        s = session.summarize(seed)
    assert "is National Security Council spokesman John Kirby's words" in model.requests[1].messages[-1]["content"]
    [flag] = s.flags
    assert (flag.kind, flag.field, flag.claim) == ("quote", "summary", None)


def test_daily_mail_single_quotation_marks_are_quotations() -> None:
    article = ("Tim Sherwood has urged Aston Villa to man up. 'This is without doubt the biggest game of the season "
               "for Villa,' Sherwood said on Friday. The club's owner declined to comment.")
    summary = "Villa face QPR. 'This is without doubt the biggest game of the season for Villa.'"
    found = [f for f in checks(article).review("Villa face QPR", summary, []) if f.kind == "quote"]
    assert [f.text for f in found] == ["This is without doubt the biggest game of the season for Villa."]
    assert "Tim Sherwood's words" in found[0].reason
