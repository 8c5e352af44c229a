"""Locating the model's quotes in the article, so every evidence span is verified by the library.

A quote is looked for, in this order: exactly; then with whitespace runs, quote marks, dashes, ellipses and letter
case folded on both sides. The span returned is always the article's own text at its offsets, so
``article[start:end] == text`` holds whichever way it was found. A quote with an ellipsis may be found as its parts,
in order. Nothing fuzzier is tried: evidence is verbatim or it is not evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cached_property, lru_cache

from .schema import Evidence

#: A quote shorter than this (in words) proves nothing: "the", "3,000".
MIN_QUOTE_WORDS = 3

_FOLD = {
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"', "\u2033": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...",
}  # fmt: skip
_WRAPPING = " \t\r\n\"'\u201c\u201d\u2018\u2019\u00ab\u00bb"
_ELLIPSIS = re.compile(r"\s*(?:\.\s?\.\s?\.|\u2026)\s*")


def _fold(text: str) -> tuple[str, list[int]]:
    """Fold ``text`` for matching; also return, for each folded character, the index it came from."""
    out: list[str] = []
    origin: list[int] = []
    in_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not in_space:
                out.append(" ")
                origin.append(i)
            in_space = True
            continue
        in_space = False
        folded = _FOLD.get(ch, ch)
        if len(folded) == 1:
            lower = folded.lower()
            folded = lower if len(lower) == 1 else folded
        for c in folded:
            out.append(c)
            origin.append(i)
    return "".join(out), origin


@dataclass(frozen=True)
class Grounder:
    """Finds quotes in one article. Build once per article; folding is done once."""

    article: str

    @cached_property
    def _folded(self) -> tuple[str, list[int]]:
        return _fold(self.article)

    def locate(self, quote: str) -> list[Evidence] | None:
        """The evidence spans for ``quote`` (one, or one per ellipsis-separated part), or None if not verbatim."""
        if len(quote.split()) < MIN_QUOTE_WORDS:
            return None
        found = self._find_any(quote, 0)
        if found:
            return [found]
        parts = [p.strip(_WRAPPING) for p in _ELLIPSIS.split(quote.strip(_WRAPPING))]
        parts = [p for p in parts if p]
        if len(parts) < 2 or any(len(p.split()) < MIN_QUOTE_WORDS for p in parts):
            return None
        spans: list[Evidence] = []
        pos = 0
        for part in parts:
            found = self._find_any(part, pos)
            if found is None:
                return None
            spans.append(found)
            pos = found.end
        return spans

    def _find_any(self, quote: str, pos: int) -> Evidence | None:
        """Exact matches first (the quote as given, then trimmed); then folded ones, trimmed first."""
        candidates = _candidates(quote)
        for candidate in candidates:
            start = self.article.find(candidate, pos)
            if start >= 0:
                return Evidence(text=candidate, start=start, end=start + len(candidate), match="exact")
        for candidate in candidates[1:] + candidates[:1]:
            found = self._find_folded(candidate, pos)
            if found:
                return found
        return None

    def _find_folded(self, quote: str, pos: int) -> Evidence | None:
        folded_article, origin = self._folded
        folded_quote, _ = _fold(quote)
        folded_quote = folded_quote.strip()
        if not folded_quote:
            return None
        folded_pos = next((k for k, o in enumerate(origin) if o >= pos), len(origin))
        k = folded_article.find(folded_quote, folded_pos)
        if k < 0:
            return None
        start = origin[k]
        end = origin[k + len(folded_quote) - 1] + 1
        return Evidence(text=self.article[start:end], start=start, end=end, match="normalized")


def _candidates(quote: str) -> list[str]:
    """The quote as given, without wrapping quote marks, and without trailing punctuation."""
    out = [quote]
    unwrapped = quote.strip(_WRAPPING)
    out.append(unwrapped)
    out.append(unwrapped.rstrip(".,;:!?").strip(_WRAPPING))
    seen: list[str] = []
    for c in out:
        if c and c not in seen:
            seen.append(c)
    return seen


_SENTENCE_END = re.compile(r"""(?<=[.!?])[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])"""
                           # copy that lost its spaces ("in December 2000.A search", "the River Liffey.Gardaí"):
                           # two lower-case letters or digits, the stop, then a capitalised word
                           r"""|(?<=[a-z0-9][a-z0-9][.!?])[\"\u201d\u2019)\]]*(?=[A-Z](?:[a-z]|\s))""")
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "jr.", "sr.", "u.s.", "u.k.", "u.n.", "gen.", "sen.", "rep.",
                  "gov.", "lt.", "col.", "sgt.", "capt.", "prof.", "vs.", "jan.", "feb.", "aug.", "sept.",
                  "oct.", "nov.", "dec.", "inc.", "corp.", "co."}  # fmt: skip


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split text into sentences; return their ``(start, end)`` offsets (whitespace excluded).

    The library's splitter: it cuts long articles into parts, gives the embedded model its ``verbatim_choices``
    (the only passages its grammar lets it quote as evidence) and makes the ``lead-3`` baseline. Every line break
    ends a sentence, so an unpunctuated headline, dateline or list item is a passage of its own, never glued to the
    next sentence; a sentence ends at ``. ! ?`` (and closing quotes) before at most one opening quote or bracket and
    a capital or digit, unless the word before is in ``_ABBREVIATIONS`` (titles, ``Jan.``, ``Inc.``, ``Co.`` ...).
    Copy that lost the space after its stops ("…in December 2000.A search of…") is split where two lower-case
    letters or digits and a stop meet a capitalised word (not "U.S.A", "e.g.The", "Mr.Smith").

    :func:`summarizer.evals.faithfulness_text.split_sentences` differs on purpose: only a blank line ends a
    paragraph (a hard-wrapped line runs on), any single capital plus ``.`` is an initial ("John F. Kennedy" stays
    one sentence; here it is two), ``No.`` is an abbreviation but ``Jan.``, ``Inc.``, ``Corp.``, ``Co.``, ``Capt.`` are
    not, any number of opening quotes (a tokenised double backtick too) may open the next sentence, and spans with no
    letter or digit are dropped. It must stay as it is because the faithfulness model was fitted on its sentences.
    This one must stay as it is because its sentences are what the embedded model may quote and where articles are
    cut into parts: changing it changes summaries, and the summary cache key (model, endpoint, prompt and schema
    versions, article, options) does not cover it, so cached and fresh summaries of one article would disagree:
    a change to it bumps :data:`summarizer.schema.SCHEMA_VERSION`.

    An article is split by the pipeline, the grounder and the attribution reader alike: its spans are kept
    (:func:`functools.lru_cache`), so it is split once.
    """
    return list(_article_spans(text) if len(text) > _KEPT_CHARS else _sentence_spans(text))


#: Texts longer than this (articles and their parts) have their sentences kept; a headline or a claim's evidence
#: is split again, so that it does not push an article out of the cache.
_KEPT_CHARS = 600


@lru_cache(maxsize=64)
def _article_spans(text: str) -> tuple[tuple[int, int], ...]:
    return _sentence_spans(text)


def _sentence_spans(text: str) -> tuple[tuple[int, int], ...]:
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text):
        p_start = para.start()
        chunk = para.group()
        last = 0
        for m in _SENTENCE_END.finditer(chunk):
            before = chunk[last : m.start()].rsplit(None, 1)
            word = before[-1].lower() if before else ""
            if word.rstrip("\"'\u201d\u2019)") in _ABBREVIATIONS:
                continue
            end = m.start() + len(m.group().rstrip())
            spans.append((p_start + last, p_start + end))
            last = m.end()
        spans.append((p_start + last, p_start + len(chunk)))
    out = []
    for s, e in spans:
        seg = text[s:e]
        stripped = seg.strip()
        if stripped:
            lead = len(seg) - len(seg.lstrip())
            out.append((s + lead, s + lead + len(stripped)))
    return tuple(out)


def copies(statement: str, evidence: str) -> bool:
    """Whether ``statement`` merely repeats a sentence of its ``evidence``: at least :data:`COPY_SHARE` of that
    sentence's words appear in the statement in order, and they are at least that share of the statement. An
    atomic claim that takes a few words of a long passage ("North Korea moved at least 3,000 soldiers into eastern
    Russia", of Kirby's 25-word quotation) is not a copy; the whole lede with its attribution folded in is."""
    said = _COPY_WORD.findall(statement.lower())
    if len(said) < 4:
        return False
    for s, e in sentence_spans(evidence):
        passage = _COPY_WORD.findall(evidence[s:e].lower())
        if passage == said:
            return True
        if not COPY_SHARE * len(passage) <= len(said) <= len(passage) / COPY_SHARE:
            continue  # the matched words are at most the shorter of the two: it cannot reach the share
        matched = sum(b.size for b in SequenceMatcher(None, said, passage, autojunk=False).get_matching_blocks())
        if matched >= COPY_SHARE * len(passage) and matched >= COPY_SHARE * len(said):
            return True
    return False


def restates(new: str, old: str) -> bool:
    """Whether ``new`` says no more than ``old`` (a statement and its restatement): no number ``old`` does not give,
    and at most :data:`RESTATE_NEW_SHARE` of its content words (at least one) not found in ``old``, compared as in
    :func:`support`. "Grunsfeld says the life may look different", of "who knows what that life will look like?",
    brings a hedge and a word of its own, and is not a restatement."""
    from .numbers import extract_numbers

    if {n.value for n in extract_numbers(new)} - {n.value for n in extract_numbers(old)}:
        return False
    said = content_words(new)
    known = {w[:4] for w in _COPY_WORD.findall(old.lower())}
    return sum(w not in known for w in said) <= max(1, int(RESTATE_NEW_SHARE * len(said)))


def new_words(new: str, old: str) -> list[str]:
    """The words of ``new`` that ``old`` does not have, as :func:`restates` compares them (numbers by value, other
    content words by their first four letters), in order and each once: what a re-ask names."""
    from .numbers import extract_numbers

    values = {n.value for n in extract_numbers(old)}
    out = [n.text for n in extract_numbers(new) if n.value not in values]
    known = {w[:4] for w in _COPY_WORD.findall(old.lower())}
    for word in _COPY_WORD.findall(new):
        low = word.lower()
        if low not in _FUNCTION_WORDS and not low.isdigit() and low[:4] not in known and word not in out:
            out.append(word)
    return out


@dataclass(frozen=True)
class MovedFigure:
    """A figure a statement gives a word its evidence gives only other figures (see :func:`figure_moved`)."""

    figure: str
    others: tuple[str, ...]
    word: str

    def __str__(self) -> str:
        return f"{self.figure!r} what its evidence says of {' and '.join(map(repr, self.others))} ('{self.word}…')"


def figure_moved(statement: str, evidence: str) -> MovedFigure | None:
    """Where ``statement`` gives a figure a word its ``evidence`` gives only other figures ("Peter won eight Academy
    Awards", of "was nominated for a total of eight Academy Awards … and won four Golden Globes"): read in the
    :data:`FIGURE_WINDOW` words before each figure (content words, by their first four letters). None: no figure is
    moved. A word of the statement's own, and a figure the evidence lacks, are left to :func:`restates` and the
    number check."""
    from .numbers import extract_numbers

    def before(text: str) -> list[tuple[float, str, set[str]]]:
        out: list[tuple[float, str, set[str]]] = []
        last = None
        for n in extract_numbers(text):
            # the words since the figure before it, past that figure's unit, at most the window ("scoring 254 and
            # 71", "15.8 per cent by 2030": none)
            words = text[last.end if last else 0:n.start].split()[FIGURE_UNIT_WORDS if last else 0:]
            out.append((n.value, n.text, set(content_words(" ".join(words[-FIGURE_WINDOW:])))))
            last = n
        return out

    given = before(evidence)
    values = {v for v, _, _ in given}
    for value, said, words in before(statement):
        if value not in values:
            continue  # a figure the evidence lacks: the number check's
        for word in sorted(words):
            others = {text: v for v, text, near in given if word in near}
            if others and value not in others.values():
                return MovedFigure(said, tuple(others), word)
    return None


#: Words before a figure read as what a sentence says of it ("won four", "nominated for a total of eight") ...
FIGURE_WINDOW = 3
#: ... not counting this many words after the figure before it, its unit ("15.8 per cent by 2030").
FIGURE_UNIT_WORDS = 2


def support(statement: str, evidence: str) -> float:
    """The share of ``statement``'s content words that ``evidence`` holds, by their first four letters (so
    "revealed" covers "revelations" and "parks" covers "parking"); 1.0 for a statement with none."""
    said = content_words(statement)
    known = {w[:4] for w in _COPY_WORD.findall(evidence.lower())}
    return sum(w in known for w in said) / len(said) if said else 1.0


def content_words(text: str) -> list[str]:
    """``text``'s words that carry content, each by its first four letters."""
    return [w[:4] for w in _COPY_WORD.findall(text.lower()) if w not in _FUNCTION_WORDS and not w.isdigit()]


#: Share of a restatement's content words that may be its own, not its original's (see :func:`restates`).
RESTATE_NEW_SHARE = 0.25
#: Below this share of its content words in its evidence (and speaker), a statement is not what its evidence says:
#: a claim that cites one passage and states another's, often the next one ("Mr Beavis said he was furious", citing
#: "Barry Beavis launched a legal bid"). Measured on 58 claims of the default model on three attribution-suite
#: articles (four runs, each claim read by hand): cited right, 0.48 and more; cited wrong (12 of them), 0.28 and
#: less.
SUPPORT_SHARE = 0.34
_FUNCTION_WORDS = frozenset("""a an the of and or but to in on at by for with from as is are was were be been has
have had that this these those it its their his her he she they them who which what said says say""".split())  # noqa: SIM905


#: How much of an evidence sentence a statement must repeat, in order, to be a copy of it.
COPY_SHARE = 0.8
_COPY_WORD = re.compile(r"\w+")


def sentences(text: str) -> list[str]:
    """The article's sentences, verbatim."""
    return [text[s:e] for s, e in sentence_spans(text)]
