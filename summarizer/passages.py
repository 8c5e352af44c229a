"""The article as numbered passages: what the model cites by id, and what a grammar lets it say of each.

The model is shown each sentence of the article behind a short id (``[P3] At least 3,000 …``) and names its evidence
by id (``"quotes": ["P3"]``) instead of copying the passage out token by token; the library maps ids back to the
text and its offsets, so evidence stays verbatim on every path. A quote written out in full is still accepted (an
endpoint that ignores the instruction), and is located like any quote.

Where decoding is constrained by a grammar, :func:`decoding_schema` goes further and writes the library's own
reading of each passage into the schema, so that the answer cannot contradict what the checks would flag:

* the speaker of a claim on a passage is the source the attribution reader gives it (its fullest mention), or
  the own source of a quotation inside it (captions run into a quotation: the check reads the claim's statement to
  tell which, :meth:`~summarizer.attribution.Attributions.of_statement`); a passage the article states itself
  takes null; a quotation whose speaker the reader cannot place takes null or a person the passage names;
* a claim's kind and certainty are those its passage bears out (:func:`~summarizer.hedges.labels`): a passage
  with a hedge or an assessment cue is never ``asserted`` and never a ``fact``, one without is never ``assessed``
  nor ``hedged``; ``quote`` needs a quotation, ``denied`` a denial, and so on;
* each competing figure's passage opens the claim list, its statement carrying the figure as the article writes it,
  so every figure gets a claim of its own with its source; and the model writes at least two thirds of the claims
  it may;
* text planted in the article to instruct the model is not a passage it may cite.

Endpoints get the same ids as an ``enum`` (:data:`~summarizer.models.base.VERBATIM_KEY`); the per-passage schema
is only built for a backend that asks for it (``ChatRequest.grammar_schema``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .attribution import agrees, looks_like_person
from .checks import ArticleChecks, ClaimView
from .grounding import sentence_spans, support
from .hedges import KEEPS, QUOTATION_MARK, cues, labels, qualified_figures
from .models.gbnf import CONTAINS_KEY, LATIN, PLAIN_KEY, is_latin
from .schema import DraftSummary
from .schema_tools import plain_schema

#: A passage id as the model writes it ("P3", or "[P3]" as the prompt shows it).
PASSAGE_ID = re.compile(r"\[?P([1-9][0-9]{0,4})\]?")
#: The mark before each passage in the prompt (:meth:`Passages.numbered`).
PASSAGE_MARK = re.compile(r"\[P[0-9]+\] ")

#: Share of a statement's content words a passage must hold for the re-ask to name it as the one to cite.
STATES_SHARE = 0.6
#: The fewest claims a grammar lets the model stop at, in thirds of the options' ``max_claims`` (4 of 6): a small
#: model otherwise stops at the claims it must write.
MIN_CLAIMS_SHARE = 2


@dataclass(frozen=True)
class Passages:
    """The sentences of one part of an article, numbered from P1 (offsets within the part)."""

    text: str
    spans: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, text: str) -> Passages:
        return cls(text, tuple(sentence_spans(text)))

    @cached_property
    def ids(self) -> tuple[str, ...]:
        return tuple(f"P{i}" for i in range(1, len(self.spans) + 1))

    def numbered(self) -> str:
        """The part as the prompt shows it: each passage behind its id, line breaks and spacing kept."""
        out, last = [], 0
        for pid, (s, e) in zip(self.ids, self.spans, strict=True):
            out += [self.text[last:s], f"[{pid}] ", self.text[s:e]]
            last = e
        out.append(self.text[last:])
        return "".join(out)

    def passage(self, quote: str) -> str | None:
        """The text of the passage a quote names by id ("P3"); None when the quote is no id of this part's
        passages (an id it does not have, or a quote written out)."""
        m = PASSAGE_ID.fullmatch(quote.strip())
        if m is None or int(m.group(1)) > len(self.spans):
            return None
        s, e = self.spans[int(m.group(1)) - 1]
        return self.text[s:e]

    def resolve(self, draft: DraftSummary) -> DraftSummary:
        """The draft with every quote that is a passage id replaced by that passage's text, and the passage marks
        the prompt shows ("[P3]") taken out of its free text. An id the article does not have is kept as written:
        the grounder cannot find it, and the re-ask says so."""
        claims = []
        for claim in draft.claims:
            quotes = [self.passage(q) or q for q in claim.quotes]
            statement = unmarked(claim.statement)
            changed = quotes != claim.quotes or statement != claim.statement
            claims.append(claim.model_copy(update={"quotes": quotes, "statement": statement}) if changed else claim)
        return draft.model_copy(update={"claims": claims, "headline": unmarked(draft.headline),
                                        "summary": unmarked(draft.summary)})

    def stating(self, statement: str) -> str | None:
        """The id of the passage that best states ``statement`` (:func:`~summarizer.grounding.support` at least
        :data:`STATES_SHARE`), or None."""
        scored = [(support(statement, self.text[s:e]), pid) for pid, (s, e) in zip(self.ids, self.spans, strict=True)]
        best = max(scored, default=(0.0, ""))
        return best[1] if best[0] >= STATES_SHARE else None

    def unknown_ids(self, draft: DraftSummary) -> list[tuple[int, str]]:
        """(claim number, id) of every id in the draft that names no passage of this part."""
        return [(i, q) for i, c in enumerate(draft.claims, 1) for q in c.quotes
                if PASSAGE_ID.fullmatch(q.strip()) and self.passage(q) is None]


def unmarked(text: str) -> str:
    """``text`` without the passage marks of the prompt ("[P3] "), which are not the article's words; unchanged
    (the same object) when it has none. A statement left empty keeps its marks, and validation says why."""
    if "[P" not in text:
        return text
    out = " ".join(_MARK_IN_TEXT.sub(" ", text).split())
    return out or text


#: A passage mark anywhere in free text, with the spaces around it.
_MARK_IN_TEXT = re.compile(r"\s*\[P[0-9]+\]\s*")


def decoding_schema(schema: dict[str, Any], passages: Passages, checks: ArticleChecks, offset: int,
                    max_claims: int) -> dict[str, Any]:
    """The draft's ``schema`` with each claim tied to one passage and what the article says
    of it (see the module's docstring); ``offset`` is where the part starts in the article."""
    base = plain_schema(schema)
    # free text: no passage marks copied into it, and no letters of another script into an article in Latin letters
    # (the default model slips Chinese and Cyrillic into English: "an intimate library场景", "loитsaid")
    plain = LATIN if is_latin(passages.text) else True
    for name in ("headline", "summary"):
        base["properties"][name] = {**base["properties"][name], PLAIN_KEY: plain}
    claim = base["properties"]["claims"]["items"]
    attributions = checks.attributions
    names = attributions.speaker_names()
    variants: dict[str, dict[str, Any]] = {}
    for pid, (s, e) in zip(passages.ids, passages.spans, strict=True):
        start, end = s + offset, e + offset
        if checks.planted_evidence(ClaimView("", None, ((start, end),))):
            continue
        text = passages.text[s:e]
        cited = attributions.sources_within(start, end)
        speakers: list[str | None]
        if cited:  # the source as the library reads it, its fullest mention (and its quotations' own sources)
            speakers = [c.name for c in cited]
        elif QUOTATION_MARK.search(text):  # a quotation whose speaker the reader could not place: null, or a person
            # the passage itself names (what the speaker check accepts there)
            speakers = [None, *(n for n in names if looks_like_person(n) and agrees(n, [None], text, attributions))]
        else:  # the article's own voice
            speakers = [None]
        found = cues(text)
        variants[pid] = _variant(claim, pid, speakers, *labels(text), plain=plain)
        if found:  # the statement keeps a hedge, or says whose word it is (as the hedge check reads it)
            variants[pid] = _needing(variants[pid], cased([*(c.text for c in found), *KEEPS]))
    if not variants:  # nothing may be cited: the plain schema, so the answer fails grounding and says why
        return base
    claims: dict[str, Any] = {
        **{k: v for k, v in base["properties"]["claims"].items() if k not in ("items", "prefixItems")},
        "items": {"anyOf": list(variants.values())},
        "maxItems": max_claims,
    }
    opening = [_needing(variants[pid], cased([figure])) for pid, figure in _figure_passages(passages, checks, offset)
               if pid in variants][:max_claims]
    if opening:
        claims["prefixItems"] = opening
    fewest = min(len(variants), MIN_CLAIMS_SHARE * max_claims // 3)  # no more than there are passages to cite
    claims["minItems"] = max(1, min(max_claims, max(len(opening), fewest)))
    return {**base, "properties": {**base["properties"], "claims": claims}}


def _variant(claim: dict[str, Any], pid: str, speakers: list[str | None], kinds: list[str],
             certainties: list[str], *, plain: bool | str) -> dict[str, Any]:
    properties = copy.deepcopy(claim["properties"])
    properties["quotes"] = {"type": "array", "items": {"const": pid}, "minItems": 1, "maxItems": 1}
    properties["speaker"] = {"enum": speakers}
    properties["kind"] = {"enum": kinds}
    properties["certainty"] = {"enum": certainties}
    properties["statement"] = {**properties["statement"], PLAIN_KEY: plain}
    return {**{k: v for k, v in claim.items() if k != "properties"}, "properties": properties}


def _needing(variant: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    """The claim ``variant`` with a statement that must hold one of ``texts`` (besides what it already needs)."""
    properties = {**variant["properties"]}
    statement = properties["statement"]
    properties["statement"] = {**statement, CONTAINS_KEY: [*statement.get(CONTAINS_KEY, []), texts]}
    return {**variant, "properties": properties}


def cased(texts: list[str]) -> list[str]:
    """Each text as written, and with its first letter in the other case (it may open the statement)."""
    out: dict[str, None] = {}
    for t in texts:
        out[t] = None
        out[t[:1].swapcase() + t[1:]] = None
    return list(out)


def _figure_passages(passages: Passages, checks: ArticleChecks, offset: int) -> list[tuple[str, str]]:
    """(passage id, figure as written, with its qualifier: "At least 3,000") of each of this part's competing
    figures (its first mention), in the article's order."""
    found: dict[tuple[int, str], None] = {}
    for group in checks.competing:
        for value in group:
            inside = [f for f in value if offset <= f.start < offset + len(passages.text)]
            if not inside:
                continue
            at = inside[0].start - offset
            index = next((i for i, (s, e) in enumerate(passages.spans) if s <= at < e), None)
            if index is not None:
                s, e = passages.spans[index]
                figure = inside[0]
                found[(index, qualified_figures(passages.text[s:e]).get(figure.value, figure.text))] = None
    return [(passages.ids[i], text) for i, text in sorted(found)]

