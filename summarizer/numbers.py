"""Numbers in running text, normalised so that differently written equal numbers compare equal.

"3,000" = "3000" = "three thousand" = "3 thousand"; "1.5 million" = "1,500,000"; "twenty-five" = "25";
"a dozen" = 12; "40%" gives 40; "21st" gives 21. A number with a scale word or abbreviation ("£5m", "2bn") stands
for both its scaled and its bare value, so "£5m" matches "five million" and also "5" ("5m" may be metres). A lone
"one" is skipped unless asked for: it is mostly a pronoun ("one of them").

Used by the pipeline (numbers in a summary that the article does not contain are re-asked, then flagged), the
``numbers`` and ``gold`` scorers (values with offsets) and the faithfulness features (forms).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NumberMention", "absent_numbers", "canon", "extract_numbers", "number_forms", "parse_number", "same"]

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9,
           "bn": 1e9, "b": 1e9, "trillion": 1e12, "tn": 1e12}  # fmt: skip
_SCALE_WORDS = ("hundred", "thousand", "million", "billion", "trillion")
_WORD = "|".join(sorted([*_UNITS, *_SCALE_WORDS], key=len, reverse=True))
_NUMBER = re.compile(
    r"(?<![\w.])(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:st|nd|rd|th)?"
    r"(?:\s?(?P<scale>hundred|thousand|million|billion|trillion|bn|mn|tn|m|k|b)\b)?"
    rf"|\b(?P<words>(?:{_WORD})(?:(?:\s+and\s+|[\s-]+)(?:{_WORD}))*)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class NumberMention:
    """One number in a text: what it says, its value, where it is, and the value without its scale if it had one."""

    text: str
    value: float
    start: int
    end: int
    unscaled: float | None = None

    @property
    def forms(self) -> frozenset[str]:
        """Canonical strings of every value this mention may stand for (see :func:`canon`)."""
        return frozenset({canon(self.value)} | ({canon(self.unscaled)} if self.unscaled is not None else set()))


def canon(value: float) -> str:
    """A value as a short canonical string: ``3000.0`` → ``"3000"``, ``5e6`` → ``"5e+06"``."""
    return f"{value:.6g}"


def _words_value(words: str) -> float:
    total, current = 0.0, 0.0
    for w in re.split(r"[\s-]+", words.lower()):
        if w in _UNITS:
            current += _UNITS[w]
        elif w == "hundred":
            current = max(current, 1) * 100
        elif w in _SCALES:
            total += max(current, 1) * _SCALES[w]
            current = 0.0
    return total + current


def extract_numbers(text: str, *, keep_one: bool = False) -> list[NumberMention]:
    """Every number in ``text``, in order, with its value and offsets."""
    out: list[NumberMention] = []
    for m in _NUMBER.finditer(text):
        if m.group("digits"):
            bare = float(m.group("digits").replace(",", ""))
            scale = (m.group("scale") or "").lower()
            value, unscaled = (bare * _SCALES[scale], bare) if scale else (bare, None)
        else:
            if m.group("words").lower() == "one" and not keep_one:
                continue
            value, unscaled = _words_value(m.group("words")), None
        out.append(NumberMention(m.group(0), value, m.start(), m.end(), unscaled))
    return out


def parse_number(text: str) -> float | None:
    """The value of the first number in ``text`` ("at least 3,000 troops" → 3000.0), or None."""
    found = extract_numbers(text)
    return found[0].value if found else None


def same(a: float, b: float) -> bool:
    """Equal up to floating-point noise."""
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def number_forms(text: str) -> frozenset[str]:
    """Every form of every number in ``text`` (a lone "one" included): what another text's numbers are checked
    against."""
    return frozenset(form for n in extract_numbers(text, keep_one=True) for form in n.forms)


def absent_numbers(text: str, forms: frozenset[str]) -> list[NumberMention]:
    """The numbers in ``text`` none of whose forms is in ``forms`` (see :func:`number_forms`)."""
    return [n for n in extract_numbers(text) if not n.forms & forms]
