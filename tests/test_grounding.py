from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from summarizer import Grounder
from summarizer.grounding import sentence_spans, sentences


def _check(article: str, quote: str) -> list[tuple[int, int, str]]:
    found = Grounder(article).locate(quote)
    assert found is not None, quote
    for ev in found:
        assert article[ev.start : ev.end] == ev.text
    return [(e.start, e.end, e.match) for e in found]


def test_exact_quote(seed: str) -> None:
    quote = "North Korea has shipped 1,500 soldiers"
    [(start, end, match)] = _check(seed, quote)
    assert match == "exact" and seed[start:end] == quote


def test_straight_quotes_and_spacing_match_the_articles_curly_ones(seed: str) -> None:
    quote = '"We assess that between early- to  mid-October, North Korea moved at least 3,000 soldiers'
    [(start, _, match)] = _check(seed, quote)
    assert match == "normalized"
    assert seed[start:].startswith("We assess that between early-")


def test_case_and_trailing_punctuation_are_forgiven(seed: str) -> None:
    _check(seed, "they're fair game.")
    _check(seed, "IF THEY DO DEPLOY TO FIGHT AGAINST UKRAINE")


def test_quote_with_ellipsis_is_found_as_its_parts_in_order(seed: str) -> None:
    found = _check(seed, "We assess that these soldiers traveled by ship ... to Vladivostok, Russia")
    assert len(found) == 2 and found[0][1] <= found[1][0]


def test_fabricated_or_trivial_quotes_are_not_found(seed: str) -> None:
    g = Grounder(seed)
    assert g.locate("North Korea moved at least 10,000 soldiers into eastern Russia") is None
    assert g.locate("Austin said they are fair targets") is None
    assert g.locate("3,000") is None  # too short to prove anything
    assert g.locate("Vladivostok, Russia ... We assess that these soldiers") is None  # parts out of order


def test_sentences_are_verbatim_and_respect_abbreviations() -> None:
    text = "The U.S. said no. “We assess it,” Kirby said. … Then Mr. Smith left!\nNew paragraph here."
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == sentences(text)
    assert sentences(text) == [
        "The U.S. said no.",
        "“We assess it,” Kirby said. … Then Mr. Smith left!",
        "New paragraph here.",
    ]


def test_seed_sentences_cover_the_troop_figures(seed: str) -> None:
    found = sentences(seed)
    assert len(found) > 20
    assert any("1,500 soldiers" in s for s in found) and any("“10,000”" in s for s in found)
    assert all(s == s.strip() and s in seed for s in found)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_real_passage_is_located_even_with_its_spacing_changed(seed: str, data: st.DataObject) -> None:
    words = seed.split(" ")
    i = data.draw(st.integers(0, len(words) - 4))
    n = data.draw(st.integers(3, 12))
    passage = " ".join(words[i : i + n]).strip()
    if len(passage.split()) < 3:
        return
    respaced = data.draw(st.sampled_from([passage, passage.replace(" ", "  "), " " + passage + "\n"]))
    found = Grounder(seed).locate(respaced)
    assert found is not None
    for ev in found:
        assert seed[ev.start : ev.end] == ev.text
