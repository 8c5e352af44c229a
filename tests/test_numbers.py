"""The number reader behind the pipeline's number check and the numbers, gold and faithfulness scorers."""

from __future__ import annotations

import pytest

from summarizer.numbers import absent_numbers, extract_numbers, number_forms


@pytest.mark.parametrize(("text", "values"), [
    ("3,000 and 3000 and three thousand and 3 thousand", [3000, 3000, 3000, 3000]),
    ("1.5 million, one and a half million, two and a half thousand", [1.5e6, 1.5e6, 2500]),
    ("Half a million; half a dozen; a dozen; two dozen", [5e5, 6, 12, 24]),
    ("two hundred and fifty, three thousand and six, twenty-five hundred", [250, 3006, 2500]),
    ("twenty-first century, the 21st, twenty one", [21, 21, 21]),
    # words next to each other are separate numbers unless English reads them as one
    ("between five and ten", [5, 10]),
    ("Spain beat Italy three-two", [3, 2]),
    ("in two three-hour sessions at four five-star hotels", [2, 3, 4, 5]),
    ("nineteen ninety-nine", [19, 99]),
    # not numbers: a lone "one", lone ordinals, "half of", names with digits
    ("one of them came first, half of them second", []),
    ("COVID-19, an F-16 and the G7", []),
    ("mid-2020, aged 5-10, 40%, No. 10", [2020, 5, 10, 40, 10]),
    ("£5m, 2bn, 1,234,567", [5e6, 2e9, 1234567]),
])
def test_values(text: str, values: list[float]) -> None:
    assert [n.value for n in extract_numbers(text)] == pytest.approx(values)


def test_offsets_point_at_the_number() -> None:
    text = "They said between five and ten, then two hundred and fifty."
    assert [text[n.start : n.end] for n in extract_numbers(text)] == ["five", "ten", "two hundred and fifty"]


@pytest.mark.parametrize(("article", "summary"), [
    ("Children aged between five and ten were tested.", "Children aged 5 to 10 were tested."),
    ("Spain beat Italy three-two.", "Spain won 3-2."),
    ("The meeting started at 10.30am.", "The meeting started at 10:30."),
    ("Half a million people marched.", "500,000 people marched."),
    ("A £5m grant was approved.", "A five million pound grant was approved."),
    ("Police said 1.5 million people attended.", "One and a half million people attended, police said."),
])
def test_the_same_numbers_written_differently_are_not_absent(article: str, summary: str) -> None:
    assert absent_numbers(summary, number_forms(article)) == []


def test_different_numbers_are_absent_even_when_close() -> None:
    assert [n.text for n in absent_numbers("1,234,571 residents", number_forms("1,234,567 residents"))] == ["1,234,571"]
    assert [n.text for n in absent_numbers("12,000 troops", number_forms("at least 3,000 troops"))] == ["12,000"]


def test_the_fast_scan_finds_exactly_what_one_combined_pattern_finds(seed: str) -> None:
    """extract_numbers scans digits and number words separately (fast); the reference is the single pattern it
    replaced, read by finditer: the same mentions, in the same order, on every shared text."""
    import json
    import re

    from conftest import SHARED_DATA

    from summarizer import numbers

    combined = re.compile(numbers._NUMERIC.pattern.removeprefix("(?=\\d)") + "|" + numbers._WORD_RUN.pattern,
                          re.IGNORECASE)

    def reference(text: str, keep_one: bool) -> list[numbers.NumberMention]:
        out: list[numbers.NumberMention] = []
        for m in combined.finditer(text):
            if m.group("words"):
                out.extend(numbers._words(m.group("words"), m.start("words"), keep_one))
            elif m.group("hour"):
                hour, minute = int(m.group("hour")), int(m.group("minute"))
                out.append(numbers.NumberMention(m.group(0), hour + minute / 100, m.start(), m.end(),
                                                 also=(float(hour), float(minute))))
            else:
                bare = float(m.group("digits").replace(",", ""))
                scale = (m.group("scale") or "").lower()
                value, unscaled = (bare * numbers._SCALES[scale], bare) if scale else (bare, None)
                out.append(numbers.NumberMention(m.group(0), value, m.start(), m.end(), unscaled))
        return out

    texts = [seed, "3 million people, 3 millionaire, 3million, twenty-one and a half", "5five one_two oneself",
             "Two hundred and fifty 7 million", "at 10:30 three; 1.5bn; thirty 3 forty; ONE hundred; x-two"]
    frank = SHARED_DATA / "frank"
    for line in (frank / "articles.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        texts += [row["article"], row["reference"]]
    texts += [json.loads(line)["summary"] for line in (frank / "judgements.jsonl").read_text().splitlines()]
    for text in texts:
        for keep_one in (False, True):
            assert extract_numbers(text, keep_one=keep_one) == reference(text, keep_one), text[:80]
