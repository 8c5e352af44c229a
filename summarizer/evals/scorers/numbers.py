"""``numbers``: every number in the headline, summary and claims appears in the article, from the right source.

Numbers are normalised before they are compared: "3,000" = "3000" = "three thousand" = "3 thousand";
"1.5 million" = "1,500,000"; "40%" = "40 per cent" (the value 40). A lone "one" is not counted (it is mostly
idiomatic: "one of", "one thing"). Where a case has gold ``number`` checks, a number the summary attributes to
another source than the gold's counts as wrong even though it is in the article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .base import Context, Score, register

_UNITS = {w: i for i, w in enumerate([
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"])}
_TENS = {w: 10 * i for i, w in enumerate(
    ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]) if i >= 2}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
           "trillion": 1_000_000_000_000, "bn": 1_000_000_000, "m": 1_000_000, "k": 1_000}
_WORD = "|".join(sorted([*_UNITS, *_TENS, "hundred", "thousand", "million", "billion", "trillion"], key=len,
                        reverse=True))
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_NUMBER = re.compile(
    rf"(?<![\w.])(?P<digits>{_DIGITS})(?:\s?(?P<scale>thousand|million|billion|trillion|bn|m|k)\b)?"
    rf"|\b(?P<words>(?:{_WORD})(?:(?:\s+|-|\s+and\s+)(?:{_WORD}))*)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class NumberMention:
    text: str
    value: float
    start: int
    end: int


def _words_value(words: str) -> float | None:
    total = current = 0
    seen = False
    for w in re.split(r"[\s-]+", words.lower()):
        if w == "and":
            continue
        if w in _UNITS:
            current += _UNITS[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w == "hundred":
            current = max(current, 1) * 100
        elif w in _SCALES:
            total += max(current, 1) * _SCALES[w]
            current = 0
        else:
            return None
        seen = True
    return float(total + current) if seen else None


def extract_numbers(text: str) -> list[NumberMention]:
    """Every number in ``text`` with its normalised value and offsets."""
    out: list[NumberMention] = []
    for m in _NUMBER.finditer(text):
        if m.group("digits"):
            value = float(m.group("digits").replace(",", ""))
            scale = (m.group("scale") or "").lower()
            if scale:
                value *= _SCALES[scale]
        else:
            words = m.group("words")
            if words.lower() == "one":
                continue
            parsed = _words_value(words)
            if parsed is None:
                continue
            value = parsed
        out.append(NumberMention(m.group(), value, m.start(), m.end()))
    return out


def parse_number(text: str) -> float | None:
    found = extract_numbers(text)
    return found[0].value if found else None


def same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


@register("numbers", "Share of the numbers in headline, summary and claims found in the article "
          "(normalised), and attributed to the gold source where the suite says.")
def numbers(ctx: Context) -> Score:
    from .gold import misattributed_numbers

    assert ctx.summary is not None
    s = ctx.summary
    parts = [("headline", s.headline), ("summary", s.summary)] + [
        (f"claim {i}", c.statement) for i, c in enumerate(s.claims, 1)
    ]
    article_values = [n.value for n in extract_numbers(ctx.case.article)]
    wrong_source = misattributed_numbers(ctx.case, s)
    checked: list[dict[str, object]] = []
    for where, text in parts:
        for n in extract_numbers(text):
            in_article = any(same(n.value, v) for v in article_values)
            bad_source = next((w for v, w in wrong_source if same(v, n.value)), None)
            checked.append({"where": where, "number": n.text, "value": n.value, "in_article": in_article,
                            "wrong_source": bad_source})
    if not checked:
        return Score(value=None, explanation="Nothing to check: no numbers in the headline, summary or claims.")
    ok = [c for c in checked if c["in_article"] and not c["wrong_source"]]
    text = f"{len(ok)} of {len(checked)} numbers found in the article"
    missing = [str(c["number"]) for c in checked if not c["in_article"]]
    if missing:
        text += "; not in the article: " + ", ".join(dict.fromkeys(missing))
    misattributed = [f"{c['number']} ({c['wrong_source']})" for c in checked if c["in_article"] and c["wrong_source"]]
    if misattributed:
        text += "; wrong source: " + ", ".join(dict.fromkeys(misattributed))
    return Score(value=len(ok) / len(checked), explanation=text + ".", details={"numbers": checked})
