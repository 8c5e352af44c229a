"""Judge mode of the faithfulness scorer: a model judges each statement of a summary against the article.

For every statement the model (any ``provider/model`` behind :func:`summarizer.models.get_model`, e.g.
``local/smollm2-135m``, ``local/qwen2.5-coder-1.5b`` or ``openai/<model>``) gets the article as numbered sentences
and the statement, and answers with grammar-constrained JSON: a verdict, ``supported`` or ``not_supported``, then
the number of the article sentence that best supports it (0 for none). The summary's value is the share of
its statements judged supported (FRANK's own definition of factuality: the share of error-free sentences).

The prompt (``prompts/judge/``) puts the article FIRST and the statement LAST, and the statements of one article
are judged one after another, so llama.cpp reuses the evaluated article prefix (its prompt cache keeps the longest
common token prefix of consecutive calls): only the statement and the answer are new for each call.

Each question is one :class:`~summarizer.conversation.Conversation` (the library's one ask → validate → re-ask
loop), driven call by call with :func:`~summarizer.retry.call_with_retries` (transient failures are retried there,
invalid answers are re-asked here). A statement whose answer stays invalid after the re-asks (one by default), or a
model error, makes the summary abstain (``value=None`` with the reason); the value is never NaN.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from ..conversation import Conversation, Usage, converse, run_steps
from ..errors import OutputError, SummarizerError
from ..models import get_model
from ..models.base import ChatRequest, ChatResponse, Model
from ..prompts import Prompt
from ..retry import call_with_retries
from .faithfulness_result import (
    FaithfulnessResult,
    StatementVerdict,
    cannot_judge,
    shorten,
    statements_of,
    supported_head,
)
from .faithfulness_text import split_sentences

__all__ = ["VERDICTS", "JudgeFaithfulnessScorer", "judge_schema"]

log = logging.getLogger(__name__)

VERDICTS = ("supported", "not_supported")
#: Answer tokens: {"sentence": 12, "verdict": "not_supported"} is about 15 tokens; room for whitespace.
MAX_TOKENS = 48
#: Verdicts remembered per scorer (keyed by article and statement) before the memory is cleared.
VERDICT_CACHE_SIZE = 100_000


def judge_schema() -> dict[str, Any]:
    """The answer's JSON schema: a verdict, then a sentence number (0 = none; its range is checked after parsing)."""
    return {
        "type": "object",
        "properties": {  # in this order: the grammar makes the model decide the verdict first
            "verdict": {"type": "string", "enum": list(VERDICTS)},
            # A plain integer (range checked after parsing): an enum of n numbers makes llama.cpp's grammar, which
            # is checked against the whole vocabulary at every token, several times slower.
            "sentence": {"type": "integer"},
        },
        "required": ["verdict", "sentence"],
        "additionalProperties": False,
    }


def _parse(content: str, n_sentences: int) -> tuple[tuple[int, bool] | None, list[str]]:
    """``((sentence, supported), [])`` from a valid answer (sentence -1: out of range), else ``(None, problems)``."""
    try:
        data = json.loads(content)
    except ValueError:
        return None, ["the answer is not valid JSON"]
    if not isinstance(data, dict):
        return None, ["the answer is not a JSON object"]
    sentence, verdict = data.get("sentence"), data.get("verdict")
    if verdict not in VERDICTS:
        return None, ['"verdict" must be "supported" or "not_supported"']
    # The verdict is what counts; a sentence number out of range (small models invent some) just means no evidence.
    if isinstance(sentence, bool) or not isinstance(sentence, int) or not 0 <= sentence <= n_sentences:
        sentence = -1
    return (sentence, verdict == "supported"), []


class JudgeFaithfulnessScorer:
    """Scores summaries by asking a model for a per-statement verdict (see the module docstring).

    ``model``: a ``provider/model`` name or a :class:`~summarizer.models.base.Model`. ``reasks``: how many times
    an invalid answer is sent back with its problems before the summary abstains.
    """

    def __init__(self, model: str | Model, *, reasks: int = 1, max_tokens: int = MAX_TOKENS) -> None:
        self._model_arg = model
        self._model: Model | None = model if not isinstance(model, str) else None
        self.reasks = reasks
        self.max_tokens = max_tokens
        self.prompt = Prompt.load("judge")
        self._verdicts: dict[tuple[int, str], tuple[int, bool]] = {}  # (article hash, statement) -> verdict
        #: What every judge call so far cost (re-asks included).
        self.usage = Usage()

    @property
    def calls(self) -> int:
        return self.usage.calls

    @property
    def prompt_tokens(self) -> int:
        return self.usage.prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return self.usage.completion_tokens

    @property
    def model_name(self) -> str:
        return self._model_arg if isinstance(self._model_arg, str) else self._model_arg.name

    @property
    def mode(self) -> str:
        return "judge"

    @property
    def model(self) -> Model:
        if self._model is None:
            self._model = get_model(self.model_name)
        return self._model

    def score(self, article: str, summary: str | list[str]) -> FaithfulnessResult:
        """Score one summary (a text, or a list of the caller's own claim statements) against its article."""
        return self._score(article, summary)

    def score_many(self, pairs: Iterable[tuple[str, str | list[str]]]) -> list[FaithfulnessResult]:
        """Score pairs in order (keep the pairs of one article together: its prefix stays in the model's cache)."""
        out = []
        for n, (article, summary) in enumerate(pairs, 1):
            t0 = time.perf_counter()
            out.append(self._score(article, summary))
            log.info("judged pair %d in %.1fs: %s", n, time.perf_counter() - t0, out[-1].value)
        return out

    def _messages(self, sentences: list[str], statement: str) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.prompt.render("system")},
            {"role": "user", "content": self.prompt.render("user", sentences=sentences, statement=statement)},
        ]

    def _judge(self, sentences: list[str], statement: str) -> tuple[int, bool]:
        """One statement's (sentence number, supported); raises SummarizerError when it cannot get one."""
        key = (hash(tuple(sentences)), statement)
        if key not in self._verdicts:  # the same statement of the same article (another system's copy) is asked once
            if len(self._verdicts) >= VERDICT_CACHE_SIZE:
                self._verdicts.clear()
            self._verdicts[key] = self._ask(sentences, statement)
        return self._verdicts[key]

    def _ask(self, sentences: list[str], statement: str) -> tuple[int, bool]:
        """Ask the model (re-asking an invalid answer); raises OutputError when every answer stays invalid."""
        messages = self._messages(sentences, statement)
        window = self.model.context_window
        needed = self.model.count_tokens("\n".join(m["content"] for m in messages)) + self.max_tokens + 64
        if needed > window:
            raise SummarizerError(f"the article and statement need about {needed} tokens; the model has {window}")
        n_sentences = len(sentences)

        def parse(response: ChatResponse) -> tuple[tuple[int, bool] | None, list[str]]:
            return _parse(response.content, n_sentences)

        conversation = Conversation(
            request=ChatRequest(
                messages=tuple(messages),
                schema=judge_schema(),
                schema_name="verdict",
                temperature=0.0,
                max_tokens=self.max_tokens,
            ),
            parse=parse,
            reask=lambda problems: self.prompt.render("reask", problems=problems),
            max_attempts=self.reasks + 1,
            model_name=self.model_name,
        )
        model = self.model
        answered = run_steps(converse(conversation, self.usage),
                             lambda request: call_with_retries(lambda: model.complete(request)))
        return answered.value

    def _score(self, article: str, summary: str | list[str]) -> FaithfulnessResult:
        spans = split_sentences(article)
        statements = statements_of(summary)
        if (cannot := cannot_judge(has_article=bool(spans), statements=statements)) is not None:
            return cannot
        sentences = [" ".join(article[s:e].split()) for s, e in spans]
        verdicts: list[StatementVerdict] = []
        for statement in statements:
            try:
                number, supported = self._judge(sentences, statement)
            except OutputError as exc:  # every answer invalid, re-asks included; exc names the model and problems
                return FaithfulnessResult(
                    value=None,
                    explanation=f"Cannot judge: no valid verdict for '{shorten(statement)}' ({exc}).",
                    statements=verdicts,
                )
            except SummarizerError as exc:
                return FaithfulnessResult(
                    value=None,
                    explanation=f"Cannot judge: {self.model_name} gave no verdict for '{shorten(statement)}' ({exc}).",
                    statements=verdicts,
                )
            start, end = spans[number - 1] if number > 0 else (None, None)
            verdicts.append(
                StatementVerdict(
                    statement=statement,
                    score=1.0 if supported else 0.0,
                    supported=supported,
                    evidence=article[start:end] if start is not None else None,
                    evidence_start=start,
                    evidence_end=end,
                    signals={"judge_supported": float(supported), "judge_sentence": float(number)},
                )
            )
        n_ok = sum(v.supported for v in verdicts)
        text = f"{supported_head(verdicts)} according to {self.model_name}"
        bad = [v for v in verdicts if not v.supported]
        if bad:
            text += f"; not supported: '{shorten(bad[0].statement)}'"
        return FaithfulnessResult(value=n_ok / len(verdicts), explanation=text + ".", statements=verdicts)

