"""Competing figures: the article gives different counts of the same thing from different sources.

The seed article counts North Korean soldiers three times — at least 3,000 (the White House), 10,000 (Zelensky),
1,500 (South Korea's spy agency). A summary that keeps one of them states it as the count; a complete claim list
carries each with its own source. This module finds such groups: every count in the article (a number followed,
within a few words, by the noun it counts), the noun folded to a kind ("soldiers", "troops", "fighters" are one
kind), the source the attribution reader gives its sentence. A kind counted with two or more values by two or more
named sources competes; each of its figures must then be carried by a claim (the value in its statement, and its
evidence holding the figure or its speaker naming the figure's source).

What is not a count: years, times, percentages, sums of money, measures ("10 miles", "three days"), ordinals, and
"one". A figure the article states in its own voice does not compete (an article's own counts of two things are
not rival estimates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .attribution import Attributions, Source, name_keys
from .numbers import NumberMention, extract_numbers


@dataclass(frozen=True)
class Figure:
    """One count in the article, with what it counts and who gives it."""

    #: The number as written ("3,000", "10,000"), its value and offsets in the article.
    text: str
    value: float
    start: int
    end: int
    #: What it counts, folded ("troops" for soldiers, troops, fighters ...).
    kind: str
    #: The source the article gives the figure's sentence to.
    source: Source
    #: The sentence holding the figure (offsets in the article).
    sentence: tuple[int, int]


def competing_figures(article: str, attributions: Attributions) -> list[list[list[Figure]]]:
    """Groups of figures for one kind of thing that named sources give different values for, in article order:
    each group a list of values, each value the list of its figures (3,000 from the White House and from Kirby)."""
    by_kind: dict[str, list[Figure]] = {}
    for figure in _figures(article, attributions):
        by_kind.setdefault(figure.kind, []).append(figure)
    groups = []
    for figures in by_kind.values():
        values: dict[float, list[Figure]] = {}
        for f in figures:
            values.setdefault(f.value, []).append(f)
        sources = {_source_key(f.source) for fs in values.values() for f in fs}
        if len(values) >= 2 and len(sources) >= 2:
            groups.append(list(values.values()))
    return sorted(groups, key=lambda g: g[0][0].start)


def _figures(article: str, attributions: Attributions) -> list[Figure]:
    counts = [(n, kind) for n in extract_numbers(article) if (kind := _counted_kind(article, n)) is not None]
    values: dict[str, set[float]] = {}
    for n, kind in counts:
        values.setdefault(kind, set()).add(n.value)
    out = []
    for n, kind in counts:
        if len(values[kind]) < 2:
            continue  # one value of its kind: nothing competes, and its source need not be read
        sentence = next(((s, e) for s, e in attributions.sentences if s <= n.start < e), None)
        if sentence is None:
            continue
        source = attributions.of(*sentence)
        if source is None or source.name.lower() in ("he", "she", "they", "it"):
            continue  # the article's own count, or one whose source the reader could not name
        out.append(Figure(n.text, n.value, n.start, n.end, kind, source, sentence))
    return out


def _counted_kind(article: str, n: NumberMention) -> str | None:
    """The kind of thing ``n`` counts, or None when it is not a count (a year, a time, a sum, a measure, "one")."""
    if n.value < 2 or n.value != int(n.value) or n.also:
        return None
    if n.text.isdigit() and len(n.text) == 4 and 1900 <= n.value <= 2100:
        return None  # a year
    before = article[max(0, n.start - 2):n.start]
    if any(c in before for c in "$£€¥#"):
        return None
    if re.match(r"(?:st|nd|rd|th)\b", article[n.end:n.end + 2]):
        return None
    after = article[n.end:n.end + 60]
    m = _COUNTED.match(after)
    if m is None:
        return None
    noun = m.group("noun").lower()
    if noun in _NOT_COUNTS or noun.rstrip("s") in _NOT_COUNTS:
        return None
    return _KINDS.get(noun, _KINDS.get(noun.rstrip("s"), noun.rstrip("s")))


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: After a number: closing quote marks, then up to three modifiers (capitalised words, hyphenated or -ed/-ing/-ian
#: words, "more", "new", "other"), then the noun counted.
_COUNTED = re.compile(
    r"[\u201d\"'\u2019]?\s+(?:(?:more|new|other|extra|additional|[A-Z][\w\u2019'-]*|[a-z]+-[a-z]+|[a-z]+(?:ed|ing|ian|"
    r"ese|ish))\s+){0,3}(?P<noun>[a-z]{3,})\b")
_NOT_COUNTS = _words("""percent per cent pc times time year years month months week weeks day days hour hours
minute minutes second seconds mile miles kilometre kilometres kilometer kilometers km metre metres meter meters feet
foot inch inches yard yards pound pounds dollar dollars euro euros cent pence million billion trillion thousand
hundred dozen and or to of in on at by from for with the a an than more less which who that was were is are has
have had will would said says also people's""")
#: Nouns folded to one kind: different words for the same thing counted.
_KINDS = {w: kind for kind, words in {
    "troops": _words("troops troop soldier soldiers fighter fighters personnel servicemen servicemembers forces"),
    "people": _words("people person persons individuals residents civilians"),
    "deaths": _words("deaths dead fatalities killed victims"),
    "migrants": _words("migrants migrant refugees refugee asylum-seekers"),
    "jobs": _words("jobs job posts positions"),
}.items() for w in words}


def _source_key(source: Source) -> frozenset[str]:
    """What tells two sources apart: the words of the fullest name (Kirby and the White House, whose spokesman he
    is, are told apart only if the reader resolved them to different names)."""
    return frozenset(name_keys(source.name)) or frozenset({source.name.lower()})
