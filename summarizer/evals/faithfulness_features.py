"""Per-statement support signals for the offline faithfulness scorer.

An :class:`ArticleIndex` is built once per article (sentences with offsets, stems, n-grams, numbers and, in the
embedding mode, unit-normalised sentence embeddings); :func:`statement_signals` then measures one summary
statement against it. All signals are plain floats, named in :data:`SIGNALS`; the fitted model in
``faithfulness_model.json`` says which of them it uses and with which weights.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..numbers import absent_numbers as numbers_absent_from
from ..numbers import number_forms
from .faithfulness_text import (
    NEGATIONS,
    STOPWORDS,
    content_stems,
    split_sentences,
    stem,
    tokens,
)

__all__ = [
    "EMBED_CANDIDATES",
    "SIGNALS",
    "ArticleIndex",
    "StatementSignals",
    "candidates",
    "lcs_length",
    "statement_signals",
]

#: A statement is compared by embedding with its this-many lexically closest article sentences only: that keeps
#: the embedding cost to the sentences that can matter, and a statement's signals independent of its batch.
EMBED_CANDIDATES = 3

FloatArray = npt.NDArray[np.float32]

#: Every signal :func:`statement_signals` computes, in a fixed order.
SIGNALS: tuple[str, ...] = (
    "content_in_article",  # share of the statement's content stems found anywhere in the article
    "content_in_best",  # same share in the best window (one sentence or two adjacent ones)
    "novel_content",  # log(1 + count) of content stems absent from the article
    "novel_bigrams",  # share of the statement's stem bigrams absent from the article
    "trigram_cover",  # share of the statement's tokens inside a trigram copied from the article
    "numbers_absent",  # count of numbers (normalised: 3,000 = 3000 = three thousand) absent from the article
    "negation_mismatch",  # 1 if the statement and its best window disagree on carrying a negation
    "length",  # log(1 + tokens in the statement)
    "fragments",  # log(1 + number of maximal article fragments the statement is stitched from)
    "fragment_density",  # mean squared length of copied fragments per token (Grusky et al. 2018), log-scaled
    "source_sentences",  # distinct article sentences the copied fragments (3+ tokens) come from
    "pair_cooccur",  # share of consecutive content-word pairs that co-occur in one article sentence
    "pair_cooccur_all",  # share of all content-word pairs that co-occur in one article sentence
    "lcs_best",  # longest common token subsequence with the best article sentence, per statement token (order)
    "embed_at_lexical",  # cosine of the statement with its best lexical window (embedding mode only)
    "embed_best",  # highest cosine of the statement with a candidate article sentence (embedding mode only)
)


def _bigrams(stems: Sequence[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(stems))


def _trigrams(toks: Sequence[str]) -> set[tuple[str, str, str]]:
    return set(zip(toks, toks[1:], toks[2:], strict=False))


@dataclass
class ArticleIndex:
    """What the signals need to know about one article; build it once, reuse it for every summary."""

    text: str
    spans: list[tuple[int, int]]
    sentence_stems: list[frozenset[str]]
    sentence_negated: list[bool]
    stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    trigrams: frozenset[tuple[str, str, str]]
    numbers: frozenset[str]
    token_seq: list[str] = field(default_factory=list, repr=False)
    token_sentence: list[int] = field(default_factory=list, repr=False)
    sentence_tokens: list[list[str]] = field(default_factory=list, repr=False)
    positions: dict[str, list[int]] = field(default_factory=dict, repr=False)
    stem_sentences: dict[str, frozenset[int]] = field(default_factory=dict, repr=False)
    embeddings: FloatArray | None = field(default=None, repr=False)
    embedded: set[int] = field(default_factory=set, repr=False)

    @classmethod
    def build(cls, text: str) -> ArticleIndex:
        spans = split_sentences(text)
        sent_tokens = [tokens(text[s:e]) for s, e in spans]
        all_stems = [stem(t) for toks in sent_tokens for t in toks]
        bigrams: set[tuple[str, str]] = set()
        trigrams: set[tuple[str, str, str]] = set()
        for toks in sent_tokens:
            bigrams |= _bigrams([stem(t) for t in toks])
            trigrams |= _trigrams(toks)
        numbers = number_forms(text)
        token_seq = [t for toks in sent_tokens for t in toks]
        token_sentence = [i for i, toks in enumerate(sent_tokens) for _ in toks]
        positions: dict[str, list[int]] = {}
        for p, t in enumerate(token_seq):
            positions.setdefault(t, []).append(p)
        sentence_stems = [frozenset(content_stems(toks)) for toks in sent_tokens]
        stem_sentences: dict[str, set[int]] = {}
        for i, ss in enumerate(sentence_stems):
            for st in ss:
                stem_sentences.setdefault(st, set()).add(i)
        return cls(
            text=text,
            spans=spans,
            sentence_stems=sentence_stems,
            sentence_negated=[any(t in NEGATIONS for t in toks) for toks in sent_tokens],
            stems=frozenset(all_stems),
            bigrams=frozenset(bigrams),
            trigrams=frozenset(trigrams),
            numbers=frozenset(numbers),
            token_seq=token_seq,
            token_sentence=token_sentence,
            sentence_tokens=sent_tokens,
            positions=positions,
            stem_sentences={k: frozenset(v) for k, v in stem_sentences.items()},
        )

    def sentence(self, i: int) -> str:
        start, end = self.spans[i]
        return self.text[start:end]

    def add_embeddings(self, ids: Sequence[int], vectors: FloatArray) -> None:
        """Store the unit-normalised embeddings of the sentences ``ids`` (rows of ``vectors``, in order)."""
        if len(ids) != len(vectors):
            raise ValueError(f"{len(vectors)} embeddings for {len(ids)} sentences")
        if not len(ids):
            return
        if self.embeddings is None:
            self.embeddings = np.zeros((len(self.spans), vectors.shape[1]), dtype=np.float32)
        self.embeddings[list(ids)] = vectors
        self.embedded.update(ids)


def _lexical_shares(content: set[str], index: ArticleIndex) -> FloatArray:
    if not content:
        return np.ones(len(index.spans), dtype=np.float32)
    return np.array([len(content & ss) / len(content) for ss in index.sentence_stems], dtype=np.float32)


def _top(shares: FloatArray, k: int = EMBED_CANDIDATES) -> list[int]:
    """The ``k`` sentences with the largest shares, in article order (ties: earlier first)."""
    return sorted(np.argsort(-shares, kind="stable")[:k].tolist())


def candidates(statement: str, index: ArticleIndex, k: int = EMBED_CANDIDATES) -> list[int]:
    """The ``k`` article sentences sharing most of the statement's content words (ties: earlier first)."""
    return _top(_lexical_shares(set(content_stems(tokens(statement))), index), k)


def _cooccur_share(pairs: Iterable[tuple[str, str]], index: ArticleIndex) -> float:
    """Share of the word pairs that occur together in some article sentence (1.0 with no pairs)."""
    empty: frozenset[int] = frozenset()
    hits = [bool(index.stem_sentences.get(a, empty) & index.stem_sentences.get(b, empty)) for a, b in pairs]
    return sum(hits) / len(hits) if hits else 1.0


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences (dynamic programming, O(len(a)·len(b)))."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, yv in enumerate(b):
            cur.append(prev[j] + 1 if x == yv else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _fragments(toks: Sequence[str], index: ArticleIndex) -> list[tuple[int, int]]:
    """Greedy maximal copied fragments (Grusky et al. 2018): ``(length, article start)`` pairs."""
    out: list[tuple[int, int]] = []
    art = index.token_seq
    i = 0
    while i < len(toks):
        best, best_p = 0, -1
        for p in index.positions.get(toks[i], ()):
            n = 0
            while i + n < len(toks) and p + n < len(art) and toks[i + n] == art[p + n]:
                n += 1
            if n > best:
                best, best_p = n, p
        if best:
            out.append((best, best_p))
            i += best
        else:
            i += 1
    return out


@dataclass
class StatementSignals:
    """The signals of one statement and the article span that supports it best."""

    values: dict[str, float]
    evidence_span: tuple[int, int] | None
    absent_numbers: list[str]
    novel_words: list[str]
    #: Why a model-based reader has no signals for this statement (None: read, or no reader).
    unread: str | None = None
    #: What a model-based reader read (its :class:`~summarizer.evals.faithfulness_lm.Reading`), for inspection.
    reading: Any = None


def statement_signals(statement: str, index: ArticleIndex, embedding: FloatArray | None) -> StatementSignals:
    """Measure one statement against an article (``embedding``: the statement's unit vector, or None)."""
    toks = tokens(statement)
    stems_all = [stem(t) for t in toks]
    content = content_stems(toks)
    content_set = set(content)
    n_content = len(content_set)

    novel = sorted(c for c in content_set if c not in index.stems)
    in_article = 1.0 - len(novel) / n_content if n_content else 1.0

    # Best lexical window: a sentence, or a sentence with its neighbour.
    lex = _lexical_shares(content_set, index)
    single = int(np.argmax(lex)) if len(lex) else 0
    best_lex = float(lex[single]) if len(lex) else 0.0
    best_lex_window = (single, single)
    if n_content:  # a pair of adjacent sentences wins only if it adds something real over the best single one
        stems = index.sentence_stems
        pair_share, pair = 0.0, 0
        for i in range(len(stems) - 1):
            share = len(content_set & (stems[i] | stems[i + 1])) / n_content
            if share > pair_share:
                pair_share, pair = share, i
        if pair_share > best_lex + 0.1:
            best_lex, best_lex_window = pair_share, (pair, pair + 1)

    bigrams = list(itertools.pairwise(stems_all))
    novel_bigrams = sum(b not in index.bigrams for b in bigrams) / len(bigrams) if bigrams else 0.0
    covered = [False] * len(toks)
    for j in range(len(toks) - 2):
        if (toks[j], toks[j + 1], toks[j + 2]) in index.trigrams:
            covered[j] = covered[j + 1] = covered[j + 2] = True
    trigram_cover = sum(covered) / len(toks) if toks else 0.0

    frags = _fragments(toks, index)
    n_frag = sum(1 for n, _ in frags if n >= 2)
    density = sum(n * n for n, _ in frags) / len(toks) if toks else 0.0
    sources = {index.token_sentence[p] for n, p in frags if n >= 3}
    cooccur = _cooccur_share(itertools.pairwise(content), index)
    cooccur_all = _cooccur_share(itertools.combinations(sorted(content_set), 2), index)

    absent_numbers = [n.text for n in numbers_absent_from(statement, index.numbers)]

    values: dict[str, float] = {
        "content_in_article": in_article,
        "content_in_best": best_lex,
        "novel_content": math.log1p(len(novel)),
        "novel_bigrams": novel_bigrams,
        "trigram_cover": trigram_cover,
        "numbers_absent": float(len(absent_numbers)),
        "length": math.log1p(len(toks)),
        "fragments": math.log1p(n_frag),
        "fragment_density": math.log1p(density),
        "source_sentences": float(len(sources)),
        "pair_cooccur": cooccur,
        "pair_cooccur_all": cooccur_all,
        # Word order: the same words in another order (roles swapped, clauses recombined) share less of a sequence.
        "lcs_best": lcs_length(toks, index.sentence_tokens[single]) / len(toks) if toks and index.spans else 0.0,
    }

    window = best_lex_window if index.spans else None
    if embedding is not None and index.spans:
        cands = _top(lex)
        if index.embeddings is None or not index.embedded.issuperset(cands):
            raise ValueError("embed the statement's candidate sentences first (see candidates())")
        sims = index.embeddings[cands] @ embedding
        values["embed_best"] = float(np.max(sims))
        at_lex = [sims[j] for j, c in enumerate(cands) if best_lex_window[0] <= c <= best_lex_window[1]]
        values["embed_at_lexical"] = float(max(at_lex)) if at_lex else 0.0
        # Evidence: the candidate sentence that is best on embedding and words together.
        k = cands[int(np.argmax(sims + lex[cands]))]
        window = (k, k)
        if best_lex_window[0] != best_lex_window[1] and best_lex_window[0] in (k, k - 1) and best_lex > lex[k]:
            window = best_lex_window

    negated = any(t in NEGATIONS for t in toks)
    if window is not None:
        window_negated = any(index.sentence_negated[window[0] : window[1] + 1])
        values["negation_mismatch"] = float(negated != window_negated)
        span: tuple[int, int] | None = (index.spans[window[0]][0], index.spans[window[1]][1])
    else:
        values["negation_mismatch"] = float(negated)
        span = None
    novel_set = set(novel)
    novel_words = list(dict.fromkeys(t for t in toks if t not in STOPWORDS and stem(t) in novel_set))
    return StatementSignals(values=values, evidence_span=span, absent_numbers=absent_numbers, novel_words=novel_words)
