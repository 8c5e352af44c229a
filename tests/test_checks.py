"""The library's checks of hedges and of quotations in the free text, on the seed article (and FRANK copy)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import KIRBY, answer, claim, kirby_claim, same_answer_each_time, seed_answer

from summarizer import ScriptedModel, Summarizer
from summarizer.checks import ArticleChecks, ClaimView
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
    s, reask = same_answer_each_time(seed, seed_answer(flat))
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
    with Summarizer(ScriptedModel.replies([seed_answer(odd)] * 3), cache=False) as session:
        s = session.summarize(seed)
    assert [(f.kind, f.field, f.text) for f in s.flags] == [("hedge", "claims[0].kind", "fact · assessed")]


def test_the_kirby_claim_of_the_helpers_passes_every_check(seed: str) -> None:
    with Summarizer(ScriptedModel.replies([seed_answer(kirby_claim())]), cache=False) as session:
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
    reply = seed_answer(kirby_claim(),
                        summary=f"The White House says 3,000 North Korean soldiers moved to Russia. {FAIR_GAME}")
    s, reask = same_answer_each_time(seed, reply)
    assert "is National Security Council spokesman John Kirby's words" in reask
    [flag] = s.flags
    assert (flag.kind, flag.field, flag.claim) == ("quote", "summary", None)


def test_daily_mail_single_quotation_marks_are_quotations() -> None:
    article = ("Tim Sherwood has urged Aston Villa to man up. 'This is without doubt the biggest game of the season "
               "for Villa,' Sherwood said on Friday. The club's owner declined to comment.")
    summary = "Villa face QPR. 'This is without doubt the biggest game of the season for Villa.'"
    found = [f for f in checks(article).review("Villa face QPR", summary, []) if f.kind == "quote"]
    assert [f.text for f in found] == ["This is without doubt the biggest game of the season for Villa."]
    assert "Tim Sherwood's words" in found[0].reason


def test_the_seeds_competing_troop_figures_are_read_with_their_sources(seed: str) -> None:
    [group] = checks(seed).competing
    assert [(v[0].text, v[0].kind, v[0].source.name) for v in group] == [
        ("3,000", "troops", "the White House"), ("10,000", "troops", "Ukrainian President Volodymyr Zelensky"),
        ("1,500", "troops", "the National Intelligence Service")]
    assert [f.source.name for f in group[0]] == ["the White House", "National Security Council spokesman John Kirby"]


def test_a_competing_figure_left_out_is_re_asked_once_then_flagged_as_coverage(seed: str) -> None:
    s, reask = same_answer_each_time(seed, answer(kirby_claim()))  # no claim for Zelensky's 10,000 or NIS's 1,500
    assert "no claim carries 10,000 from Ukrainian President Volodymyr Zelensky" in reask and "1,500" in reask
    assert s.provenance.attempts == 2
    assert [(f.kind, f.field, f.text) for f in s.flags] == [("coverage", "claims", "10,000"),
                                                            ("coverage", "claims", "1,500")]


def test_a_figure_given_to_the_wrong_source_does_not_cover_it(seed: str) -> None:
    # 1,500 in the statement, but neither the NIS's passage as evidence nor the NIS as speaker
    wrong = claim("Kirby said 1,500 soldiers were shipped.", [KIRBY], speaker="John Kirby")
    found = checks(seed).review("h", "s", [ClaimView(wrong["statement"], wrong["speaker"],
                                                     ((seed.index(KIRBY), seed.index(KIRBY) + len(KIRBY)),))])
    assert "1,500" in [f.text for f in found if f.kind == "coverage"]


@pytest.mark.parametrize("article", [
    # one source's own counts of two things; the article's own figures; years, sums and measures
    "Police said 12 people were hurt and 3 people were arrested after the match.",
    "The storm killed 40 people in 2019. In 2021 a flood killed 12 people.",
    "The council said the bridge cost $40 million. The minister said it would take 3 years and 200 miles of cable.",
])
def test_no_competing_figures_where_no_two_sources_count_one_thing(article: str) -> None:
    assert checks(article).competing == []


def test_two_sources_counting_one_thing_compete() -> None:
    article = ("Police said 2,000 people joined the march on Saturday. Organisers said 15,000 people took part.")
    [group] = checks(article).competing
    assert [(v[0].text, v[0].source.name) for v in group] == [("2,000", "Police"), ("15,000", "Organisers")]


LEDE = ("At least 3,000 North Korean soldiers arrived in eastern Russia this month, the White House said Wednesday, "
        "and while it remains unclear what exactly they will do, it is a “highly concerning probability” that they "
        "will join the fight against Ukraine.")


@pytest.mark.parametrize(("statement", "copied"), [
    (LEDE, True),  # the whole lede, its attribution and hedge folded in
    (LEDE.replace("Wednesday, and while", "on Wednesday; while"), True),  # a word or two changed is still a copy
    ("The White House says at least 3,000 North Korean soldiers arrived in eastern Russia this month.", False),
    ("North Korea moved at least 3,000 soldiers into eastern Russia, the US assesses.", False),
    ("Troops arrived.", False),
])
def test_a_statement_that_repeats_its_evidence_sentence_is_a_copy(statement: str, copied: bool) -> None:
    from summarizer.grounding import copies

    assert copies(statement, LEDE + " Another sentence follows it here.") is copied


def test_claims_say_whether_they_copy_their_evidence_and_the_harness_counts_them(seed: str) -> None:
    from summarizer.evals import Case
    from summarizer.evals.scorers.base import REGISTRY, Context

    own = claim("The White House says at least 3,000 North Korean soldiers arrived in eastern Russia.", [LEDE],
                speaker="the White House", kind="assessment", certainty="hedged")
    copied = claim(LEDE, [LEDE], speaker="the White House", kind="assessment", certainty="hedged")
    with Summarizer(ScriptedModel.replies([seed_answer(own, copied)]), cache=False) as session:
        s = session.summarize(seed)
    assert [c.copies_evidence for c in s.claims][:2] == [False, True]
    score = REGISTRY["copies"].fn(Context(case=Case(id="seed", article=seed), system="x", baseline=False, summary=s))
    assert score.value == pytest.approx(1 / len(s.claims)) and score.details["copied"] == [2]


ATTRIBUTION = Path(__file__).resolve().parents[1] / "evals" / "attribution"


@pytest.mark.parametrize(("case", "field", "sentence", "cue"), [
    # the article: "... has reportedly been killed in a skirmish"
    ("9a1dd9e7fc95", "headline", "Iraqi militant leader Izzat Ibrahim al-Douri killed in skirmish", "reportedly"),
    # "Now pictures have emerged which appear to reveal Ms Watson's party girl lifestyle."
    ("60e99bf7b0f7", "summary", "The row went to court and pictures emerged revealing her party girl lifestyle.",
     "appear to"),
    # kept in its own words, or given to whoever says it: nothing to flag
    ("9a1dd9e7fc95", "headline", "Iraqi militant leader Izzat Ibrahim al-Douri reportedly killed in skirmish", None),
    ("9a1dd9e7fc95", "summary", "Iraqi officials said militant leader al-Douri was killed in a skirmish.", None),
    # "All of her marriages took place in New York state, allegedly starting in 1999.": the hedge bears on when
    # they started, not on where they took place
    ("340cf468232e", "summary", "All of Barrientos's marriages took place in New York state.", None),
])
def test_a_hedge_the_article_gives_is_kept_in_the_headline_and_summary(case: str, field: str, sentence: str,
                                                                       cue: str | None) -> None:
    article = (ATTRIBUTION / f"{case}.txt").read_text(encoding="utf-8")
    headline, summary = (sentence, "") if field == "headline" else ("A headline", sentence)
    found = [f for f in checks(article).review(headline, summary, []) if f.kind == "hedge"]
    assert [(f.field, f.claim) for f in found] == ([(field, None)] if cue else [])
    if cue:
        assert repr(cue) in found[0].reason and sentence[:40] in found[0].text


def test_a_hedge_dropped_from_the_summary_is_re_asked_then_flagged(seed: str) -> None:
    """The lede: "while it remains unclear what exactly they will do, it is a 'highly concerning probability' that
    they will join the fight against Ukraine"."""
    reply = seed_answer(kirby_claim(), summary="North Korean soldiers will join the fight against Ukraine.")
    s, reask = same_answer_each_time(seed, reply)
    assert "keep it, or say whose word it is" in reask
    assert [(f.kind, f.field, f.claim) for f in s.flags] == [("hedge", "summary", None)]


@pytest.mark.parametrize(("case", "field", "sentence", "source"), [
    # "… and seemed to be badly beaten and was not defending himself the Swedes told the Post."
    ("59177dda40fb", "summary", "The victim had a bloody mouth and was not defending himself.", "the Swedes"),
    # "… after his parents dangled him over the edge, officials said."
    ("2c37d44d03ce", "summary", "A two-year-old boy was dangled over a cheetah exhibit at the Cleveland Metroparks "
     "Zoo after his parents let him fall.", "officials"),
    ("2c37d44d03ce", "headline", "Boy dangled over cheetah exhibit at Cleveland Metroparks Zoo by his parents",
     "officials"),
    # the source named, or another word of whose word it is: nothing to flag
    ("59177dda40fb", "summary", "The victim had a bloody mouth and was not defending himself, the Swedes said.", None),
    ("2c37d44d03ce", "summary", "Officials say the boy was dangled over the cheetah exhibit at the Cleveland "
     "Metroparks Zoo by his parents.", None),
    # "… was shot in the back on August 16, 2013, in what police said was a random killing": the police's word is on
    # what follows the cue, not on the shooting
    ("270fdae145aa", "headline", "Australian baseball player Chris Lane shot in back on August 16, 2013", None),
    # a caption run into the copy: "… leaving Duncan District Court Duncan woman Joy Smith (right) leaves court after
    # she told court how she saw Mr Lane stumble": what she told is what follows
    ("270fdae145aa", "summary", "His parents, Donna and Peter, left Duncan District Court on Wednesday.", None),
])
def test_reported_speech_in_the_free_text_says_whose_word_it_is(case: str, field: str, sentence: str,
                                                                source: str | None) -> None:
    article = (ATTRIBUTION / f"{case}.txt").read_text(encoding="utf-8")
    headline, summary = (sentence, "") if field == "headline" else ("A headline", sentence)
    found = [f for f in checks(article).review(headline, summary, []) if f.kind == "speaker"]
    assert [(f.field, f.claim) for f in found] == ([(field, None)] if source else [])
    if source:
        assert f"gives this to {source} " in found[0].reason and "states it as fact" in found[0].reason


def test_austins_words_stated_as_fact_in_the_summary_are_re_asked_then_flagged(seed: str) -> None:
    """"Austin said the US is still trying to determine what role the North Koreans will play and whether they intend
    to travel to Ukraine." """
    reply = seed_answer(kirby_claim(), summary="The US is still trying to determine what role the North Koreans will "
                        "play and whether they intend to travel to Ukraine.")
    s, reask = same_answer_each_time(seed, reply)
    assert "gives this to Secretary of Defense Lloyd Austin" in reask and "say whose word it is" in reask
    assert [(f.kind, f.field, f.claim) for f in s.flags] == [("speaker", "summary", None)]
    said = seed_answer(kirby_claim(), summary="Austin said the US is still trying to determine what role the North "
                       "Koreans will play and whether they intend to travel to Ukraine.")
    model = ScriptedModel.replies([said])
    with Summarizer(model, cache=False) as session:
        assert session.summarize(seed).flags == []
    assert len(model.requests) == 1


def test_each_model_call_and_re_ask_is_logged(seed: str, caplog: pytest.LogCaptureFixture) -> None:
    """`summarizer -v` promises a line per model call and per re-ask, with what was wrong."""
    import logging

    reply = seed_answer(kirby_claim(), summary="North Korean soldiers will join the fight against Ukraine.")
    with caplog.at_level(logging.INFO, logger="summarizer"):
        same_answer_each_time(seed, reply)
    lines = [r.getMessage() for r in caplog.records if r.name == "summarizer.conversation"]
    assert "DraftSummary answer 1 of at most 3:" in lines[0] and "prompt and" in lines[0]
    assert any("DraftOverview answer 1 of at most 1" in m and "completion tokens" in m for m in lines)
    asked = [r.getMessage() for r in caplog.records if r.name == "summarizer.pipeline"]
    assert any("headline and summary asked again about 1 problem(s): summary: the article says this with" in m
               for m in asked)
    wrong = seed_answer(kirby_claim() | {"speaker": "Lloyd Austin"})
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="summarizer.conversation"):
        same_answer_each_time(seed, wrong)
    lines = [r.getMessage() for r in caplog.records if r.name == "summarizer.conversation"]
    assert any("DraftSummary re-asked about 1 problem(s): claim 1: the article gives this passage to" in m
               for m in lines)
    assert any("DraftSummary answer 2 of at most 3" in m and "completion tokens" in m for m in lines)


def test_a_model_worth_no_flag_re_ask_is_asked_once_and_flagged(seed: str) -> None:
    """A model may say it is worth no re-ask about problems that would only be flagged (the embedded catalogue says
    so of SmolLM2): its answer is flagged at once; a problem that costs content is still re-asked."""
    from summarizer.models.local import LocalModel

    class Stubborn(ScriptedModel):
        flag_reasks = 0  # type: ignore[assignment]

    assert LocalModel.from_name("local/smollm2-135m").flag_reasks == 0
    assert LocalModel.from_name("local/qwen2.5-coder-1.5b").flag_reasks == 1
    flat = seed_answer(kirby_claim(), summary="North Korean soldiers will join the fight against Ukraine.")
    model = Stubborn.replies([flat] * 3)
    with Summarizer(model, cache=False) as session:
        s = session.summarize(seed)
    assert len(model.requests) == 1 and [(f.kind, f.field) for f in s.flags] == [("hedge", "summary")]
    assert model.facts().flag_reasks == 0  # and so in a worker process that checks its answers
    invented = seed_answer(claim("Kirby spoke.", ["Kirby said the troops were already fighting in Kursk."]))
    model = Stubborn.replies([invented, flat])
    with Summarizer(model, cache=False) as session:
        session.summarize(seed)
    assert len(model.requests) == 2  # the quote not in the article was re-asked


def test_a_figure_given_what_its_passage_says_of_another_figure_is_found() -> None:
    """The default model restated "was nominated for a total of eight Academy Awards, received an honorary Oscar, and
    won four Golden Globes" as "Peter won eight Academy Awards" (frank-valid): every word is the passage's, the
    figure too, but "won" belongs to four. A statement that gives a figure a word its passage gives only other
    figures is re-asked, then flagged as a number; the restatement is not kept."""
    import json

    from conftest import SHARED_DATA

    from summarizer.grounding import figure_moved
    from summarizer.pipeline import _not_restated
    from summarizer.schema import Claim, Evidence

    rows = (SHARED_DATA / "frank" / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    article = next(row["article"] for row in map(json.loads, rows)
                   if row["id"] == "236c65a580afbdabcd2b7ba5b779e026d698d978")
    passage = ("O\u2019Toole enjoyed a long and decorated career and was nominated for a total of eight Academy "
               "Awards, received an honorary Oscar, and won four Golden Globes.")
    start = article.index(passage)
    moved = figure_moved("Peter won eight Academy Awards and received an honorary Oscar.", passage)
    assert moved is not None and (moved.figure, moved.others, moved.word) == ("eight", ("four",), "won")
    assert figure_moved("O'Toole was nominated for eight Academy Awards and won four Golden Globes.", passage) is None
    assert figure_moved("Peter O'Toole won four Golden Globes.", passage) is None
    # a list shares its verb, and a figure's unit is not the next figure's word
    assert figure_moved("Root scored 254 and 71.", "Root scored 254 in the first innings and 71 in the second.") is None
    assert figure_moved("It will reach 15.8 per cent by 2030.", "From 2010 it will reach 15.8 per cent (57million) of "
                        "the population by 2030, 17.1 per cent by 2040.") is None
    # a word the passage does not give any figure is left to the other checks ("killed", of "died")
    assert figure_moved("Police say a bus crash killed at least 40 people.",
                        "At least 40 people died when a bus left the road near Lyon on Sunday, police said.") is None
    view = ClaimView("Peter won eight Academy Awards.", None, ((start, start + len(passage)),))
    found = [f for f in checks(article).review("", "", [view]) if f.kind.value == "number"]
    assert [(f.field, f.text, f.costly) for f in found] == [("claims[0].statement", "eight", False)]
    assert "'eight' what its evidence says of 'four'" in found[0].problem
    old = Claim(statement=passage, speaker=None, kind="fact", certainty="asserted",
                evidence=[Evidence(text=passage, start=start, end=start + len(passage))], copies_evidence=True)
    assert "keep each figure" in (_not_restated("Peter won eight Academy Awards and an honorary Oscar.", old, 300)
                                  or "")
