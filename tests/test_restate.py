"""Claims whose statement copies its evidence are said again in the summary's own words: one short call that sees
only the statements, kept only where the restatement is no copy and the checks find nothing new in it."""

from __future__ import annotations

import json
from typing import Any

from helpers import KIRBY, NIS, claim, seed_answer

from summarizer import ScriptedModel, SummarizeOptions, Summarizer
from summarizer.grounding import restates, sentence_spans
from summarizer.models.gbnf import CONTAINS_KEY, PLAIN_KEY
from summarizer.prompts import Prompt

NIS_SENTENCE = ("Meanwhile, South Korea\u2019s spy agency, the National Intelligence Service, said Friday that North "
                "Korea has shipped 1,500 soldiers, including special forces fighters, to Russia for training.")
KIRBY_COPY = ("We assess that between early- to mid-October, North Korea moved at least 3,000 soldiers into "
              "eastern Russia.")


#: The seed's lede, in the summary's own words: with it the answers carry every competing figure.
LEDE = claim("The White House says at least 3,000 North Korean soldiers arrived in eastern Russia, though it is "
             "unclear what they will do.", ["P1"],
             speaker="the White House", kind="assessment", certainty="hedged")


def _summarize(seed: str, *replies: str) -> tuple[Any, ScriptedModel]:
    model = ScriptedModel.replies(list(replies))
    with Summarizer(model, cache=False, options=SummarizeOptions(restate_copies=True)) as session:
        return session.summarize(seed), model


def _copies(seed: str) -> str:
    """The NIS sentence and Kirby's quotation copied out as statements (cited by passage id: the whole sentence)."""
    nis = next(f"P{i}" for i, (s, e) in enumerate(sentence_spans(seed), 1) if NIS in seed[s:e])
    return seed_answer(claim(NIS_SENTENCE, [nis], speaker="the National Intelligence Service"),
                       claim(KIRBY_COPY, [KIRBY], speaker="National Security Council spokesman John Kirby",
                             kind="assessment", certainty="assessed"), LEDE)


def test_copied_statements_are_said_again_in_one_call_that_never_sees_the_article(seed: str) -> None:
    restated = json.dumps({"statements": ["South Korea's spy agency says North Korea sent 1,500 soldiers to Russia.",
                                          "The US assesses North Korea moved at least 3,000 soldiers to Russia."]})
    s, model = _summarize(seed, _copies(seed), restated)
    assert [c.statement for c in s.claims[:2]] == json.loads(restated)["statements"]
    assert [c.copies_evidence for c in s.claims[:2]] == [False, False] and s.provenance.attempts == 2
    ask = model.requests[1]
    assert "<article>" not in ask.messages[-1]["content"] and "(speaker: the National Intelligence Service)" in \
        ask.messages[-1]["content"]
    # what every restatement request shares, which a backend may hold: the system message and the worked examples
    examples = Prompt.load("restate").example_turns()
    assert examples and ask.shared_messages == 1 + len(examples)
    assert ask.messages[1 : ask.shared_messages] == tuple(examples) and model.requests[0].shared_messages == 1
    # the grammar keeps each figure as written (qualifier included) and, for the hedged one, a cue or whose word
    grammar = ask.grammar_schema() if ask.grammar_schema else {}
    items = grammar["properties"]["statements"]["prefixItems"]
    assert items[0][CONTAINS_KEY] == [["1,500"]] and items[0][PLAIN_KEY]
    assert "at least 3,000" in items[1][CONTAINS_KEY][0] and "We assess" in items[1][CONTAINS_KEY][1]
    assert not [f for f in s.flags if f.claim in (0, 1)]


def test_a_restatement_that_drops_a_qualifier_invents_a_number_or_copies_again_is_not_kept(seed: str) -> None:
    restated = json.dumps({"statements": [
        "North Korea sent 2,000 soldiers to Russia, South Korea says.",  # a number the article does not give
        "North Korea moved 3,000 soldiers into eastern Russia, the US assesses.",  # "at least" dropped
    ]})
    s, model = _summarize(seed, _copies(seed), restated, restated)
    assert [c.statement for c in s.claims[:2]] == [NIS_SENTENCE, KIRBY_COPY]
    assert [c.copies_evidence for c in s.claims[:2]] == [True, True]
    assert len(model.requests) == 3  # the copies asked once more, then left as they were
    again = json.dumps({"statements": [NIS_SENTENCE.replace("Meanwhile, ", ""), "The US assesses 3,000 or more."]})
    s, _ = _summarize(seed, _copies(seed), again, again)
    assert s.claims[0].statement == NIS_SENTENCE and s.claims[0].copies_evidence  # still a copy: kept as it was


def test_the_copies_left_are_asked_once_more_on_their_own(seed: str) -> None:
    """The first answer restates Kirby's quotation and copies the NIS sentence again: the second call sees only the
    NIS sentence, and its restatement is kept."""
    first = json.dumps({"statements": [NIS_SENTENCE.replace("Meanwhile, ", ""),
                                       "The US assesses North Korea moved at least 3,000 soldiers to Russia."]})
    second = json.dumps({"statements": ["South Korea's spy agency says North Korea sent 1,500 soldiers to Russia."]})
    s, model = _summarize(seed, _copies(seed), first, second)
    assert [c.statement for c in s.claims[:2]] == [json.loads(second)["statements"][0],
                                                   json.loads(first)["statements"][1]]
    assert not any(c.copies_evidence for c in s.claims) and len(model.requests) == 3
    last = model.requests[2].messages[-1]["content"]
    assert "1. Meanwhile, South Korea" in last and "2." not in last and KIRBY_COPY not in last


def test_a_restatement_is_a_sentence_of_its_own_that_brings_nothing_new(seed: str) -> None:
    """Not kept: the rest of another statement (no capital), one cut off on "the", and one that brings a hedge and
    words of its own. Each stays a copy, asked again once (the same answer here)."""
    bad = json.dumps({"statements": ["sent 1,500 soldiers, including special forces fighters, to Russia.",
                                     "The US assesses that North Korea moved at least 3,000 soldiers into the"]})
    s, model = _summarize(seed, _copies(seed), bad, bad)
    assert [c.copies_evidence for c in s.claims[:2]] == [True, True] and len(model.requests) == 3
    assert not restates("John Grunsfeld says the life may look different.",
                        "John Grunsfeld And, he added, who knows what that life will look like?")
    assert restates("Frank Jordan filled up a bucket", "Frank Jordan I filled up a bucket")


def test_an_unusable_restatement_keeps_the_grounded_copies_and_no_error(seed: str) -> None:
    for bad in ("not JSON at all", json.dumps({"statements": ["only one"]})):
        s, model = _summarize(seed, _copies(seed), bad)
        assert [c.statement for c in s.claims[:2]] == [NIS_SENTENCE, KIRBY_COPY]
        assert len(model.requests) == 2  # asked once, never re-asked nor asked again


def test_no_copy_no_call(seed: str) -> None:
    own = claim("South Korea's spy agency says North Korea sent 1,500 soldiers to Russia.", [NIS],
                speaker="the National Intelligence Service")
    s, model = _summarize(seed, seed_answer(own, LEDE))
    assert len(model.requests) == 1 and not any(c.copies_evidence for c in s.claims)


def test_a_restatement_says_no_more_than_the_copy() -> None:
    old = ("Mr Beavis's action comes after the Daily Mail revealed how rogue firms are making millions of pounds from "
           "fines handed to motorists who overstay in car parks.")
    assert restates("Beavis's action follows revelations about parking firms.", old)
    assert not restates("Beavis's action follows revelations about 300 parking firms.", old)  # a new number
    assert not restates("South Korea's spy agency says North Korea sent troops.", old)  # another passage's words


def test_a_statement_that_says_what_another_passage_says_is_reasked_then_rejected(seed: str) -> None:
    """Citing by id is cheap, and a small model sometimes cites one passage and states another's: that claim is not
    grounded, whatever its evidence's offsets say."""
    from helpers import same_answer_each_time

    wrong = claim("Austin called the deployment dangerous and a sign of weakness.", [NIS],
                  speaker="the National Intelligence Service")
    s, reask = same_answer_each_time(seed, seed_answer(wrong, LEDE))
    assert "claim 1: the statement is not what its passage says" in reask
    assert [r.statement for r in s.rejected_claims] == [wrong["statement"]]
    assert s.rejected_claims[0].reason.startswith("the statement is not what its evidence says")
    assert wrong["statement"] not in [c.statement for c in s.claims]


def test_a_statement_another_passage_states_takes_that_passage_as_its_evidence(seed: str) -> None:
    """The model cited the NIS passage for Kirby's words: no re-ask, the library cites the passage that states
    them (verbatim, its offsets checked like any evidence) and says so in ``match``; the speaker check then reads
    the claim against that passage."""
    from summarizer.passages import Passages

    nis = next(f"P{i}" for i, (s, e) in enumerate(sentence_spans(seed), 1) if NIS in seed[s:e])
    kirby_words = claim("North Korea moved at least 3,000 soldiers into eastern Russia between early- and mid-October, "
                        "the US assesses.", [nis], speaker="National Security Council spokesman John Kirby",
                        kind="assessment", certainty="assessed")
    s, model = _summarize(seed, seed_answer(kirby_words, LEDE))
    assert len(model.requests) == 1  # nothing to re-ask: the library found the passage
    kirby = Passages.of(seed).stating(kirby_words["statement"])
    evidence = s.claims[0].evidence
    assert kirby is not None and kirby != nis and [e.match for e in evidence] == ["stated"]
    assert KIRBY in evidence[0].text and seed[evidence[0].start:evidence[0].end] == evidence[0].text
    assert s.claims[0].attribution is not None and s.claims[0].attribution.name.endswith("John Kirby")
    assert not [f for f in s.flags if f.claim == 0]



def test_a_restatement_cut_off_at_the_grammars_bound_is_not_kept(seed: str) -> None:
    from summarizer.pipeline import _restated_bound, _restated_needs

    s, _ = _summarize(seed, _copies(seed), *[json.dumps({"statements": ["x", "y"]})] * 2)
    bound = _restated_bound(s.claims[0], _restated_needs(s.claims[0]))
    cut = ("South Korea's spy agency says North Korea sent 1,500 soldiers to Russia for training and " * 3)[:bound]
    answer = json.dumps({"statements": [cut, "The US assesses 3,000 or more."]})
    s, _ = _summarize(seed, _copies(seed), answer, answer)
    assert s.claims[0].statement == NIS_SENTENCE and s.claims[0].copies_evidence


def test_a_restatement_may_name_its_speaker_where_the_copy_did_not() -> None:
    """Longer than the copy by the speaker's name and no more: no longer "not shorter", as a restatement that is no
    copy and says nothing new is what the restatement is for."""
    from summarizer.pipeline import _not_restated, _restated_bound, _restated_needs
    from summarizer.schema import Claim, Evidence

    quote = ("The zoo had received 'a number of eyewitness accounts' that indicate the 'strong likelihood that the "
             "child was dangled over the railing',")
    old = Claim(statement=quote, speaker="Christopher Kuhar", kind="fact", certainty="asserted",
                evidence=[Evidence(text=quote, start=0, end=len(quote))], copies_evidence=True)
    bound = _restated_bound(old, _restated_needs(old))
    named = ("Christopher Kuhar says the zoo received eyewitness accounts that indicate a strong likelihood that the "
             "child was dangled over the railing.")
    assert len(named) > 0.85 * len(quote) and _not_restated(named, old, bound) is None
    longer = ("Christopher Kuhar says the zoo received eyewitness accounts, a number of eyewitness accounts, that "
              "indicate a strong likelihood, a strong likelihood, that the child was dangled over the railing.")
    assert "longer than the sentence" in (_not_restated(longer, old, 300) or "")
    # garbled: words left out with an ellipsis the copy did not have
    assert "ellipsis" in (_not_restated("The zoo received accounts...the child was dangled.", old, bound) or "")
    # garbled in the writing, as the default model garbles long copies
    assert "runs words" in (_not_restated("The zoo received accounts,3 the child was dangled.", old, bound) or "")
    assert "twice" in (_not_restated("The zoo says the child was dangled over the railing, the child was dangled over "
                                     "the railing.", old, bound) or "")
    assert "cut off" in (_not_restated("The zoo says the child was dangled, and he'll", old, bound) or "")
    # a whole sentence that happens to end at the grammar's bound is not cut off
    whole = "Christopher Kuhar says witnesses saw the child dangled over the railing."
    assert _not_restated(whole, old, len(whole)) is None
    assert "cut off" in (_not_restated(whole.rstrip("."), old, len(whole) - 1) or "")


def test_a_restatement_of_latin_text_is_written_in_latin_letters(seed: str) -> None:
    """The coder model slips Chinese words into English restatements ("a phone call" -> "a电话"): its grammar keeps
    other scripts out when the copy and its speaker are Latin text (see test_local_models for the real model)."""
    from summarizer.models.gbnf import LATIN
    from summarizer.pipeline import _not_restated

    s, model = _summarize(seed, _copies(seed), json.dumps({"statements": ["x", "y"]}), json.dumps(
        {"statements": ["x"]}))
    items = model.requests[1].grammar_schema()["properties"]["statements"]["prefixItems"]  # type: ignore[misc]
    assert [item[PLAIN_KEY] for item in items] == [LATIN, LATIN]
    assert "letters" in (_not_restated("North Korea sent 1,500 soldiers to \u4fc4\u7f57\u65af.", s.claims[0], 200)
                         or "")


def test_the_words_a_restatement_adds_are_named() -> None:
    from summarizer.grounding import new_words

    old = "Iraqi forces, supported by US-led air strikes, have captured large areas from the terrorist group."
    # by their first four letters, as restates() compares them: "territory" passes for "terrorist"
    assert new_words("Iraq forces have captured substantial territory from ISIS.", old) == ["substantial", "ISIS"]
    assert new_words("Iraqi forces captured 300 areas.", old) == ["300"]
    assert new_words("Iraqi forces captured large areas.", old) == []


def test_the_restatement_shows_its_worked_examples_as_chat_turns(seed: str, tmp_path: Any) -> None:
    """A 1.5B model follows examples it has answered itself far better than examples in the instructions: replayed
    on 29 copies of an attribution-suite run it kept 6 restatements without them and 12 with them."""
    import pytest

    from summarizer.errors import ConfigurationError
    from summarizer.prompts import Prompt

    _, model = _summarize(seed, _copies(seed), json.dumps({"statements": ["x", "y"]}), json.dumps({"statements": []}))
    messages = model.requests[1].messages
    prompt = Prompt.load("restate")
    assert [m["role"] for m in messages] == ["system", *["user", "assistant"] * len(prompt.examples), "user"]
    assert json.loads(messages[2]["content"]) == prompt.examples[0]["answer"]
    assert "1. Firefighters battled" in messages[1]["content"] and "Meanwhile, South Korea" in messages[-1]["content"]
    # a broken examples file is a configuration error that names it, not a crash mid-summary
    folder = tmp_path / "restate"
    folder.mkdir()
    for name in ("system.jinja", "user.jinja", "reask.jinja"):
        (folder / name).write_text("x")
    (folder / "examples.json").write_text('[{"context": {}}]')
    with pytest.raises(ConfigurationError, match=r"examples\.json"):
        Prompt.load("restate", tmp_path)


def _copied(sentence: str, speaker: str | None = None) -> Any:
    from summarizer.schema import Claim, Evidence

    return Claim(statement=sentence, speaker=speaker, kind="fact", certainty="asserted",
                 evidence=[Evidence(text=sentence, start=0, end=len(sentence))], copies_evidence=True)


def test_a_restatement_that_is_no_sentence_or_garbles_words_is_not_kept() -> None:
    """The default model's restatements of frank-valid copies that replaced them though they were wrong (replayed on a
    stored run: bench/replay_restate.py), each refused by a rule about the writing, not about the one sentence."""
    from summarizer.pipeline import _not_restated

    burden = _copied("But one man's catchy viral song may prove to be another's jarring burden")
    # a space dropped and the second word cut short by the token budget
    assert "runs words" in (_not_restated("One man's catchy song may prove to be another's jarringbur", burden, 200)
                            or "")
    assert "runs words" in (_not_restated("One man's song may prove another's jarringburden.", burden, 200) or "")
    assert "cut off" in (_not_restated("One man's catchy song may prove to be another's burd", burden, 200) or "")
    assert _not_restated("One man's catchy song may be another's burden.", burden, 200) is None
    horns = _copied("The finished result is uncannny as she dons a latex headdress with horns just like Jolie's own.")
    assert "no sentence" in (_not_restated("Promise", horns, 200) or "")
    root = _copied("England's Joe Root was named man of the match after scoring 254 in the first innings and an "
                   "unbeaten 71 off 48 balls in the second.")
    assert "more than one sentence" in (_not_restated("Joe Root scored 254 in the first innings and an unbeaten 71 "
                                                      "off 48 balls. They are three for this series.", root, 200) or "")
    assert _not_restated("Joe Root was man of the match after scoring 254 and 71.", root, 200) is None
    lashes = _copied("Promise uses a pair of tweezers to place false eyelashes onto her eyelid.")
    assert "letters" in (_not_restated("Promise uses tweezers to place false eyel\u00e0four.", lashes, 200) or "")
    cafe = _copied("The caf\u00e9 on the pier will close in March.")
    assert _not_restated("The pier caf\u00e9 closes in March.", cafe, 200) is None


def test_a_restatement_names_the_speaker_only_as_who_says_it_or_for_a_pronoun() -> None:
    """A speaker's name put where the sentence names someone else changes who the claim is about: "Rita Ora performs
    ...", of "Ms Moon performs ..." whose speaker the reader took from a song title beside it. The name may stand
    for the sentence's "he" or "I", or say who says it."""
    from summarizer.pipeline import _not_restated

    moon = _copied("Ms Moon performs a very diverse range of musical styles including country, pop, R&B and rap",
                   speaker="Rita Ora's I Will Never Let You Down")
    assert "Rita Ora" in (_not_restated("Rita Ora performs a wide range of musical styles including country, pop, "
                                        "R&B and rap.", moon, 200) or "")
    assert _not_restated("Ms Moon performs many styles, from country to rap.", moon, 200) is None
    plan = _copied("This would be achieved by greater investment, cost savings and utilising spare capacity at "
                   "Bernard Matthews to process chicken and not just turkeys.",
                   speaker="Mr Boparan's private investment")
    assert "what the sentence does not say they do" in (_not_restated(
        "Mr Boparan's private investment would increase efficiency by processing chicken.", plan, 200) or "")
    ward = _copied("There are bound to be teething problems.", speaker="Transport councillor Ian Ward")
    assert _not_restated("Transport councillor Ian Ward says there will be teething problems.", ward, 200) is None
    refused = _not_restated("Transport councillor Ian Ward will have teething problems.", ward, 200)
    assert "does not say they do" in (refused or "")
    chair = _copied("In one of the videos, he is seen throwing a chair across the classroom at a teacher.",
                    speaker="Tom Bell")
    assert _not_restated("A video shows Tom Bell throwing a chair at a teacher.", chair, 200) is None
    harley = _copied("Mr Harley met with representatives from Boparan at the Great Witchingham headquarters.",
                     speaker="Unite regional officer Steve Harley")
    assert _not_restated("Steve Harley met Boparan representatives at the headquarters.", harley, 200) is None
    tests = _copied("Tests are being carried out in a dedicated flying room based at the University of Sheffield.",
                    speaker="Green Brain Project")
    refused = _not_restated("Green Brain Project is conducting tests in a flying room.", tests, 200)
    assert "does not say they do" in (refused or "")
