"""Numbers in running text, normalised so that differently written equal numbers compare equal.

"3,000" = "3000" = "three thousand" = "3 thousand"; "1.5 million" = "1,500,000" = "one and a half million";
"twenty-five" = "25"; "two dozen" = 24; "twenty-first" = 21; "40%" gives 40; "21st" gives 21; "10:30" gives 10:30
(a time: also 10 and 30). A number with a scale word or abbreviation ("£5m", "2bn") stands for both its scaled and its
bare value, so "£5m" matches "five million" and also "5" ("5m" may be metres). Words next to each other are one
number only where English reads them so: "between five and ten" is 5 and 10, "three-two" is 3 and 2, "two hundred
and fifty" is 250. Not numbers: a lone "one" (mostly a pronoun, unless asked for), lone ordinals ("first", "second"),
and the digits of names such as "COVID-19", "F-16" or "G7".

Used by the pipeline (numbers in a summary that the article does not contain are re-asked, then flagged), the
``numbers`` and ``gold`` scorers (values with offsets) and the faithfulness features (forms).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["NumberMention", "absent_numbers", "canon", "extract_numbers", "number_forms", "parse_number", "same"]

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
#: Ordinal units, counted only after a tens word ("twenty-first"); alone they are mostly not numbers ("first time").
_ORDINAL_UNITS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
                  "eighth": 8, "ninth": 9}  # fmt: skip
_CARDINALS = {**_UNITS, **_TEENS, **_TENS}
_BIG = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_SCALES = {"hundred": 100, "thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9,
           "bn": 1e9, "b": 1e9, "trillion": 1e12, "tn": 1e12}  # fmt: skip
_NUMBER_WORDS = [*_UNITS, *_TEENS, *_TENS, *_BIG, "hundred", "dozen", "half"]
_WORD = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_GLUE = "|".join(sorted([*_NUMBER_WORDS, *_ORDINAL_UNITS, "and", "a"], key=len, reverse=True))
_NUMERIC = re.compile(
    # both start with a digit: the lookahead lets the scan skip every other position at once (3x faster)
    r"(?=\d)(?:"
    # a time, "10:30" (not a ratio of two counts)
    r"(?<![\w.:])(?P<hour>[012]?\d):(?P<minute>[0-5]\d)(?![\d:])"
    # digits, not inside a name such as "G7", "COVID-19" or "F-16", with an ordinal suffix or a scale
    r"|(?<![\w.])(?-i:(?<![A-Z]-))(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:st|nd|rd|th)?"
    r"(?:\s?(?P<scale>hundred|thousand|million|billion|trillion|bn|mn|tn|m|k|b)\b)?)",
    re.IGNORECASE,
)
#: A run of number words (split into numbers by _words). Tried only at a word that *is* a number word (a run can only
#: start there: its first word must end where the letters do): an alternation of 40 words tried at every position was
#: most of the time spent reading an article.
_WORD_RUN = re.compile(rf"\b(?P<words>(?:{_WORD})(?:(?:\s+|-)(?:{_GLUE}))*)\b", re.IGNORECASE)


def _trie(words: list[str]) -> str:
    """An alternation of ``words`` as a trie ("t(?:en|hree|wo)"): the regex engine tries one branch per letter
    instead of every word at every word boundary."""
    tree: dict[str, Any] = {}
    for w in words:
        node = tree
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(tree)


#: A number word standing as a whole word: where a run of them may start.
_WORD_START = re.compile(rf"\b(?:{_trie(_NUMBER_WORDS)})(?![a-z])", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class NumberMention:
    """One number in a text: what it says, its value, where it is, and the value without its scale if it had one."""

    text: str
    value: float
    start: int
    end: int
    unscaled: float | None = None
    also: tuple[float, ...] = ()

    @property
    def forms(self) -> frozenset[str]:
        """Canonical strings of every value this mention may stand for (see :func:`canon`)."""
        values = [self.value, *self.also] + ([self.unscaled] if self.unscaled is not None else [])
        return frozenset(canon(v) for v in values)


def canon(value: float) -> str:
    """A value as a canonical string: ``3000.0`` → ``"3000"``, ``5e6`` → ``"5000000"``, ``1.5`` → ``"1.5"``."""
    return f"{value:.15g}"


class _WordNumber:
    """One number being read from words: ``total`` of finished scale groups plus the ``group`` under a thousand."""

    def __init__(self, start: int) -> None:
        self.start = self.end = start
        self.total = 0.0
        self.group = 0.0
        self.last = ""  # the kind of the last word read: unit, teen, tens, hundred, big, dozen, half
        self.words = 0

    @property
    def value(self) -> float:
        return self.total + self.group


def _kind(word: str) -> str:
    if word in _UNITS:
        return "unit"
    if word in _TEENS:
        return "teen"
    if word in _TENS:
        return "tens"
    if word in _ORDINAL_UNITS:
        return "ordinal"
    return word if word in ("hundred", "dozen", "half", "and", "a") else "big"


def _continues(current: _WordNumber, kind: str, joined_by_and: bool) -> bool:
    """Whether a word of ``kind`` extends the number read so far (English reading, not arithmetic)."""
    last = current.last
    if joined_by_and:  # "two hundred and fifty", "three thousand and six", "one and a half"
        return (last in ("hundred", "big") and kind in ("unit", "teen", "tens")) or kind == "half"
    if kind in ("unit", "ordinal"):
        return last in ("tens", "hundred", "big") and not (last == "tens" and current.group % 10)
    if kind in ("teen", "tens"):
        return last in ("hundred", "big")
    if kind == "hundred":
        return last in ("unit", "teen", "tens") and current.group < 100
    if kind == "big":
        return last in ("unit", "teen", "tens", "hundred", "dozen", "half")
    if kind == "dozen":
        return last in ("unit", "teen", "tens", "half") and current.group < 100
    return False


def _words(text: str, offset: int, keep_one: bool) -> list[NumberMention]:
    """The numbers in a run of number words (see the module docstring for how a run is split)."""
    out: list[NumberMention] = []
    current: _WordNumber | None = None
    pending: list[str] = []  # "and" / "a" read since the last number word

    def close() -> None:
        nonlocal current
        if current is not None and current.words:
            surface = text[current.start - offset : current.end - offset]
            if not (surface.lower() in ("one", "half", "a half") and not keep_one):
                out.append(NumberMention(surface, current.value, current.start, current.end))
        current = None

    for m in _TOKEN.finditer(text):
        word, start, end = m.group().lower(), offset + m.start(), offset + m.end()
        kind = _kind(word)
        if kind in ("and", "a"):
            pending.append(kind)
            continue
        joined_by_and = "and" in pending
        if kind == "half":  # "one and a half", "half a million", "a half"
            if current is not None and joined_by_and:
                current.group += 0.5
                current.last, current.end, current.words = "half", end, current.words + 1
                pending = []
                continue
            close()
            current = _WordNumber(start)
            current.group, current.last, current.end, current.words = 0.5, "half", end, 1
            pending = []
            continue
        if current is None or not _continues(current, kind, joined_by_and):
            if kind == "ordinal":  # a lone "first" is not a number
                close()
                pending = []
                continue
            close()
            current = _WordNumber(start)
        if kind in ("unit", "teen", "tens"):
            current.group += _CARDINALS[word]
        elif kind == "ordinal":
            current.group += _ORDINAL_UNITS[word]
        elif kind == "hundred":
            current.group = (current.group or 1) * 100
        elif kind == "dozen":
            current.group = (current.group or 1) * 12
        else:  # thousand, million, ...
            current.total += (current.group or 1) * _BIG[word]
            current.group = 0.0
        current.last, current.end, current.words = kind if kind != "ordinal" else "unit", end, current.words + 1
        pending = []
    close()
    return out


def extract_numbers(text: str, *, keep_one: bool = False) -> list[NumberMention]:
    """Every number in ``text``, in order, with its value and offsets."""
    if len(text) > _CACHED_CHARS:
        return _scan(text, keep_one)
    return list(_extract(text, keep_one))


#: Texts up to this long (a claim's evidence and statement, checked on every answer) are read once and kept.
_CACHED_CHARS = 2000


@lru_cache(maxsize=4096)
def _extract(text: str, keep_one: bool) -> tuple[NumberMention, ...]:
    return tuple(_scan(text, keep_one))


def _scan(text: str, keep_one: bool) -> list[NumberMention]:
    out: list[NumberMention] = []
    spans: list[tuple[int, int]] = []
    for m in _NUMERIC.finditer(text):
        spans.append(m.span())
        if m.group("hour"):
            hour, minute = int(m.group("hour")), int(m.group("minute"))
            out.append(NumberMention(m.group(0), hour + minute / 100, m.start(), m.end(),
                                     also=(float(hour), float(minute))))
        else:
            bare = float(m.group("digits").replace(",", ""))
            scale = (m.group("scale") or "").lower()
            value, unscaled = (bare * _SCALES[scale], bare) if scale else (bare, None)
            out.append(NumberMention(m.group(0), value, m.start(), m.end(), unscaled))
    words = list(_word_runs(text, spans))
    if not words:
        return out
    for start, run in words:
        out.extend(_words(run, start, keep_one))
    return sorted(out, key=lambda n: n.start)


def _word_runs(text: str, numeric: list[tuple[int, int]]) -> Iterator[tuple[int, str]]:
    """``(start, text)`` of each run of number words, as one scan of the combined pattern would find them: not
    inside a numeric match (the scale of "3 million"), and not inside the run before."""
    end = 0
    spans = iter(numeric)
    span = next(spans, None)
    for token in _WORD_START.finditer(text):
        pos = token.start()
        if pos < end:
            continue
        while span is not None and span[1] <= pos:
            span = next(spans, None)
        if span is not None and span[0] <= pos:
            continue
        m = _WORD_RUN.match(text, pos)
        if m:
            end = m.end()
            yield m.start("words"), m.group("words")


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
