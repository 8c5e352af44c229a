"""Text helpers for the offline faithfulness scorer: sentences with offsets, tokens, crude stems.

Everything here is pure Python (``re`` only), deterministic and cheap; it is shared by the lexical and the
embedding modes of :mod:`summarizer.evals.faithfulness`.
"""

from __future__ import annotations

import re

__all__ = [
    "NEGATIONS",
    "STOPWORDS",
    "content_stems",
    "split_sentences",
    "split_statements",
    "stem",
    "tokens",
]

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before whitespace; in articles the
# next sentence must open with a capital, a digit or an opening quote, so "Mr. Smith" and "3.5" stay whole.
_ARTICLE_BOUNDARY = re.compile(r"(?<=[.!?])(?P<close>[\"'\u201d\u2019)\]]*)\s+(?=[\"'\u201c\u2018(\[`]*[A-Z0-9])")
# Summaries are often lower-cased and tokenised ("... in 2012 . the 23-year-old ..."): any . ! ? + space ends one.
_SUMMARY_BOUNDARY = re.compile(r"(?<=[.!?])(?P<close>[\"'\u201d\u2019)\]]*)\s+")
_ABBREV = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Prof|Gen|Col|Lt|Sgt|Rep|Sen|Gov|No|vs|U\.S|U\.K)|\b[A-Z])\.$")
_LINEBREAK = re.compile(r"\n\s*\n")
#: Statements longer than this many characters are cut at ; or , followed by a conjunction.
_MAX_STATEMENT_CHARS = 400

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[A-Za-z\u00c0-\u024f]+(?:'[A-Za-z]+)?")

_STOPWORDS_TEXT = """
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having he
her here hers herself him himself his how i if in into is it its itself just me more most my myself nor of
off on once only or other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up very was we were what
when where which while who whom why will with would you your yours yourself yourselves said says say told
tell according one two new year years last first us may might must shall been being get got make made s t ll
ve re d m mr mrs ms dr
"""
_NEGATIONS_TEXT = "not no never n't without nobody none nothing neither nor cannot denied denies deny"
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
NEGATIONS = frozenset(_NEGATIONS_TEXT.split())

_SUFFIXES = (("ies", "y"), ("ied", "y"), ("ing", ""), ("edly", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", ""))


def stem(word: str) -> str:
    """A crude, deterministic suffix stripper (enough to match 'killed'~'kill', 'cities'~'city')."""
    w = word.lower()
    if w.endswith("'s"):
        w = w[:-2]
    if w.endswith("n't"):
        return "n't"
    for suffix, repl in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3 and not w.endswith("ss"):
            return w[: len(w) - len(suffix)] + repl
    return w


def tokens(text: str) -> list[str]:
    """Lower-cased word and number tokens; "don't" stays one token, "3,000" stays one token."""
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0).lower()
        if tok.endswith("n't") and len(tok) > 3:
            out.extend([tok[:-3], "n't"])
        else:
            out.append(tok)
    return out


def content_stems(toks: list[str]) -> list[str]:
    """Stems of the tokens that carry content (not stopwords, not pure punctuation)."""
    return [stem(t) for t in toks if (t not in STOPWORDS and len(t) > 1) or t[:1].isdigit()]


def _spans(text: str, boundary: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    cur = start
    for m in boundary.finditer(text, start, end):
        if _ABBREV.search(text[max(cur, m.start() - 6) : m.start()]):
            continue
        spans.append((cur, m.start() + len(m.group("close"))))
        cur = m.end()
    spans.append((cur, end))
    return spans


def _strip(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if any(c.isalnum() for c in text[s:e]):
            out.append((s, e))
    return out


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Article sentences as ``(start, end)`` offsets into ``text`` (so ``text[start:end]`` is the sentence).

    The faithfulness splitter: its sentences are where the offline scorer looks for each statement's support (the
    best sentence, co-occurrence within one sentence, the evidence span) and what the judge numbers in its prompt.
    Only a blank line ends a paragraph, so hard-wrapped text runs on across single line breaks; a sentence ends at
    ``. ! ?`` (and closing quotes) before any run of opening quotes or brackets (a tokenised double backtick too)
    and a capital or digit, unless the text before it is a title, ``No.``, ``vs.``, ``U.S.``/``U.K.`` or a single
    capital (an initial); spans without a letter or digit are dropped.

    :func:`summarizer.grounding.sentence_spans` differs on purpose: every line break ends a sentence (a headline or
    dateline line is a sentence of its own), at most one opening quote may start the next sentence, and its
    abbreviations are a case-insensitive word list with ``Jan.``, ``Inc.``, ``Corp.``, ``Co.`` and ``Capt.`` but
    without initials or ``No.``, so "John F. Kennedy" is two sentences there and one here. That one must stay as it is
    because it decides what the embedded model may quote and where long articles are cut, which are part of the
    summaries themselves. This one must stay as it is because ``faithfulness_model.json`` was fitted
    (``scripts/fit_faithfulness.py``) on signals computed over these sentences: on FRANK's 149 articles the two
    splitters disagree on 11, and with the other splitter the fitted coefficients and threshold would no longer
    describe the signals the scorer computes (scores, and the meta-evaluation's correlations, would shift).
    """
    spans: list[tuple[int, int]] = []
    cur = 0
    for para in [*_LINEBREAK.finditer(text), None]:
        end = para.start() if para else len(text)
        spans.extend(_spans(text, _ARTICLE_BOUNDARY, cur, end))
        cur = para.end() if para else len(text)
    return _strip(text, spans)


def split_statements(summary: str) -> list[str]:
    """A summary's atomic statements: its sentences, with very long ones cut at clause boundaries."""
    out: list[str] = []
    for s, e in _strip(summary, _spans(summary, _SUMMARY_BOUNDARY, 0, len(summary))):
        sent = summary[s:e]
        if len(sent) > _MAX_STATEMENT_CHARS:
            parts = re.split(r"(?<=[;,])\s+(?=(?:and|but|while|whereas)\s)", sent)
            out.extend(p.strip() for p in parts if p.strip())
        else:
            out.append(sent)
    return out
