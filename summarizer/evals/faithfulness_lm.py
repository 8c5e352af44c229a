"""Model-based faithfulness signals: what a language model's own token probabilities say about each statement.

Two readings, both of probabilities and never of generated text, through the model seam's
:class:`~summarizer.models.base.TokenScores` (asked of the model object: the embedded runtime offers it):

- **Likelihood given the article** (in the spirit of BARTScore and of pointwise mutual information): each statement's
  tokens are read after the article (``prompts/read/article.jinja``) and after no article, each time following the
  summary's earlier statements. A statement the article makes likely is supported; a token the article makes
  *less* likely than no article does (``lm_pmi_min``) is typically an invented name, number or role.
- **A yes/no question read from probabilities** (``prompts/read/question.jinja``): "is everything the sentence says
  stated in the passage?", with the article sentences the lexical scorer found closest as the passage; the signal
  is log P("Yes") - log P("No") of the reply's first token, a continuous score where a generated verdict is binary.

Transient failures (an endpoint's 429s and timeouts) are retried by the library's one retry function; what still
fails leaves the statement unread, with the reason. Work is ordered so that llama.cpp's prefix reuse pays: every
statement of every summary of one article is read after the article before any is read without it, so the article
is evaluated once per article.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from ..errors import ConfigurationError, ModelError
from ..models import get_model
from ..models.base import Model, TokenScores
from ..prompts import Prompt
from ..retry import call_with_retries

__all__ = ["LIKELIHOOD_SIGNALS", "MODEL_SIGNALS", "ModelReader", "Reading", "model_signals", "read_prompt"]

#: The signals read from a statement's likelihood with and without the article.
LIKELIHOOD_SIGNALS = ("lm_cond_mean", "lm_cond_min", "lm_pmi_mean", "lm_pmi_min")
#: Every signal a :class:`ModelReader` can add to a statement's (``lm_yes``: the question's log-odds).
MODEL_SIGNALS = (*LIKELIHOOD_SIGNALS, "lm_yes")
#: The answers whose first-token probabilities the question reads.
ANSWERS = ("Yes", "No")
#: Tokens kept for the statements after the article; a longer article is cut to fit the model's window.
STATEMENT_ROOM = 512


def read_prompt() -> Prompt:
    return Prompt.load("read", files=("article.jinja", "question.jinja"))


@dataclass(frozen=True)
class Reading:
    """One statement as the model read it: its tokens' log-probabilities after the article (``cond``) and after no
    article (``base``), the question's log-odds (``yes``, None when not asked); or, with ``values`` None, why not."""

    values: dict[str, float] | None
    reason: str | None = None
    cond: tuple[float, ...] = ()
    base: tuple[float, ...] = ()
    yes: float | None = None
    #: When the article was longer than the model's window: how many of its characters the model read first.
    article_read: int | None = None


class ModelReader:
    """Reads statements with a model that offers token probabilities (``model.token_scores()``)."""

    def __init__(self, model: str | Model, *, question: bool = True) -> None:
        """``question``: also ask the yes/no question (``lm_yes``); its cost is a prompt per statement."""
        self.question = question
        self.model = get_model(model) if isinstance(model, str) else model
        scores = self.model.token_scores() if hasattr(self.model, "token_scores") else None
        if scores is None:
            raise ConfigurationError(
                f"{self.model.name} cannot give token probabilities, which the model-based faithfulness mode reads; "
                "use an embedded model such as local/smollm2-135m"
            )
        self.scores: TokenScores = scores
        self.prompt = read_prompt()

    @property
    def name(self) -> str:
        return self.model.name

    def read_article(
        self, article: str, summaries: Sequence[Sequence[str]], passages: Sequence[Sequence[str | None]]
    ) -> list[list[Reading]]:
        """Signals for every statement of several summaries of one article (``passages``: each statement's
        evidence, the question's passage; None where the lexical scorer found none)."""
        with_article, kept = self._prefix(article)
        read = kept if kept < len(article) else None
        without = self.prompt.render("article", article="")
        cond = [self._likelihoods(with_article, statements) for statements in summaries]
        plain = [self._likelihoods(without, statements) for statements in summaries]
        out = []
        for statements, lps, bases, evidence in zip(summaries, cond, plain, passages, strict=True):
            row = []
            for statement, lp, base, passage in zip(statements, lps, bases, evidence, strict=True):
                if isinstance(lp, str) or isinstance(base, str):
                    row.append(Reading(None, lp if isinstance(lp, str) else str(base), article_read=read))
                    continue
                try:
                    yes = self._yes(statement, passage) if self.question else None
                except ModelError as exc:
                    row.append(Reading(None, str(exc), article_read=read))
                    continue
                row.append(Reading(model_signals(lp, base, yes), None, tuple(lp), tuple(base), yes, read))
            out.append(row)
        return out

    def _prefix(self, article: str) -> tuple[str, int]:
        """The article prompt, the article cut (at a word) so that the statements keep :data:`STATEMENT_ROOM` (or half
        of a smaller window); and how many of the article's characters it holds."""
        text = self.prompt.render("article", article=article)
        window = self.scores.score_window
        budget = max(window // 2, window - STATEMENT_ROOM)
        tokens = self.scores.count_tokens(text)
        while tokens > budget and article:
            keep = int(len(article) * budget / tokens * 0.95)
            article = article[:keep].rsplit(" ", 1)[0]
            text = self.prompt.render("article", article=article)
            tokens = self.scores.count_tokens(text)
        return text, len(article)

    def _likelihoods(self, prefix: str, statements: Sequence[str]) -> list[list[float] | str]:
        """Each statement's token log-probabilities after ``prefix`` and the statements before it (a string: why
        it could not be read)."""
        out: list[list[float] | str] = []
        for statement in statements:
            try:
                out.append(call_with_retries(partial(self.scores.continuation_logprobs, prefix, " " + statement)))
            except ModelError as exc:
                out.append(str(exc))
            prefix += " " + statement
        return out

    def _yes(self, statement: str, passage: str | None) -> float:
        """log P(Yes) - log P(No) for the question; with no passage the question is asked of an empty one."""
        question = self.prompt.render("question", passage=passage or "(none)", statement=statement)
        messages = ({"role": "user", "content": question},)
        logs = call_with_retries(lambda: self.scores.answer_logprobs(messages, ANSWERS))
        return logs["Yes"] - logs["No"]


#: Where a log-probability is floored (a token llama.cpp gives -inf would otherwise make a signal infinite).
FLOOR = -50.0


def model_signals(cond: Sequence[float], base: Sequence[float], yes: float | None) -> dict[str, float]:
    """A statement's model signals from its tokens' log-probabilities with (``cond``) and without (``base``) the
    article: their mean and minimum, and those of the gain the article gives each token (pointwise mutual
    information); plus the question's log-odds when it was asked."""
    cond = [max(FLOOR, c) if math.isfinite(c) else FLOOR for c in cond]
    base = [max(FLOOR, b) if math.isfinite(b) else FLOOR for b in base]
    gain = [c - b for c, b in zip(cond, base, strict=True)] or [0.0]
    cond = cond or [0.0]
    values = {
        "lm_cond_mean": sum(cond) / len(cond),
        "lm_cond_min": min(cond),
        "lm_pmi_mean": sum(gain) / len(gain),
        "lm_pmi_min": min(gain),
    }
    if yes is not None:
        values["lm_yes"] = yes if math.isfinite(yes) else FLOOR
    return values
