"""A scripted model behind the same seam as the real ones, for tests and for trying the pipeline without a model.

``ScriptedModel(handler)`` answers each request with ``handler(request)``: a string (the model's text), a
:class:`ChatResponse`, or an exception to raise. ``ScriptedModel.replies([...])`` answers from a list in order.
``latency`` makes every call take that many seconds (slept, on the event loop for ``acomplete``), which is how a
test sees concurrency without a server.
The name ``fake/<anything>`` gives the default handler, :func:`extractive_answer`, which builds a valid summary
from the article's first sentences — deterministic, grounded, and free. Its token probabilities
(:class:`WordScores`) are a toy too: a word is likely when it was read before.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from typing import Any

from ..errors import ModelError
from .base import ChatRequest, ChatResponse, ModelBase, ModelFacts, TokenScores, estimate_tokens

Handler = Callable[[ChatRequest], "str | ChatResponse | BaseException"]

_ARTICLE = re.compile(r"<article>\n?(.*?)\n?</article>", re.DOTALL)


#: Requests a :class:`ScriptedModel` keeps for inspection.
REQUESTS_KEPT = 1024


class ScriptedModel(ModelBase):
    """A model whose answers are written by a function. Records every request it gets in ``requests``."""

    def __init__(self, handler: Handler | None = None, *, name: str = "fake/scripted",
                 context_window: int = 32768, latency: float = 0.0) -> None:
        self._handler = handler or extractive_answer
        self._name = name
        self._context = context_window
        self._latency = latency
        self._lock = threading.Lock()
        #: The latest requests, oldest first (at most :data:`REQUESTS_KEPT`: a fake serving for hours must not grow).
        self.requests: deque[ChatRequest] = deque(maxlen=REQUESTS_KEPT)
        #: The most calls that were ever in progress at once.
        self.max_in_flight = 0
        self._in_flight = 0
        self._scores: WordScores | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        """A copy for another process (a Ray actor, a worker): the same handler, name, window and latency; the
        requests recorded here stay here. The handler must pickle too (``cloudpickle`` takes closures)."""
        return (_rebuild, (self._handler, self._name, self._context, self._latency))

    @classmethod
    def replies(cls, replies: Iterable[str | ChatResponse | BaseException], **kwargs: Any) -> ScriptedModel:
        """Answer the n-th request with the n-th reply; fail loudly when they run out."""
        queue = list(replies)

        def handler(request: ChatRequest) -> str | ChatResponse | BaseException:
            if not queue:
                raise AssertionError("ScriptedModel ran out of replies")
            return queue.pop(0)

        return cls(handler, **kwargs)

    @property
    def name(self) -> str:
        return self._name

    @property
    def endpoint(self) -> str | None:
        return None

    @property
    def context_window(self) -> int:
        return self._context

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def facts(self) -> ModelFacts:
        return ModelFacts(self.name, self.endpoint, self.context_window, self.flag_reasks)  # tokens estimated

    def token_scores(self) -> TokenScores:
        if self._scores is None:
            self._scores = WordScores(self._context)
        return self._scores

    def complete(self, request: ChatRequest) -> ChatResponse:
        self._enter()
        try:
            time.sleep(self._latency)
            return self._answer(request)
        finally:
            self._leave()

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        self._enter()
        try:
            await asyncio.sleep(self._latency)
            return self._answer(request)
        finally:
            self._leave()

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _answer(self, request: ChatRequest) -> ChatResponse:
        with self._lock:
            self.requests.append(request)
            reply = self._handler(request)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, ChatResponse):
            return reply
        prompt = sum(estimate_tokens(m["content"]) for m in request.messages)
        return ChatResponse(reply, prompt, estimate_tokens(reply), structured_output="scripted", finish_reason="stop")


_WORD = re.compile(r"\w+")
#: The toy probabilities of :class:`WordScores`: a word read before, a new word, a supported answer.
SEEN, UNSEEN, SURE = math.log(0.5), math.log(1e-4), math.log(0.9)


class WordScores:
    """Token probabilities of the scripted model: words are its tokens, a word already in the prefix is likely
    (:data:`SEEN`) and a new one is not (:data:`UNSEEN`); a question's first answer is likely (:data:`SURE`) when
    every word of its "Sentence:" line occurs elsewhere in the question. Deterministic, free, and enough to tell a
    copied statement from an invented one. Records each call in ``reads``: its kind, the prefix's and the text's
    tokens."""

    def __init__(self, window: int) -> None:
        self.score_window = window
        self.reads: deque[tuple[str, int, int]] = deque(maxlen=REQUESTS_KEPT)

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text))

    def continuation_logprobs(self, prefix: str, text: str) -> list[float]:
        seen = {w.lower() for w in _WORD.findall(prefix)}
        words = _WORD.findall(text)
        if (size := self.count_tokens(prefix) + len(words)) > self.score_window:
            raise ModelError(f"{size} tokens do not fit the {self.score_window}-token window")
        self.reads.append(("continuation", self.count_tokens(prefix), len(words)))
        out = []
        for word in words:
            out.append(SEEN if word.lower() in seen else UNSEEN)
            seen.add(word.lower())
        return out

    def answer_logprobs(self, messages: tuple[dict[str, str], ...], answers: tuple[str, ...]) -> dict[str, float]:
        text = messages[-1]["content"]
        self.reads.append(("answer", 0, self.count_tokens(text)))
        claim = re.search(r"Sentence: (.*)", text)
        words = {w.lower() for w in _WORD.findall(claim.group(1))} if claim else set()
        rest = {w.lower() for w in _WORD.findall(text.replace(claim.group(0), ""))} if claim else set()
        sure = SURE if words <= rest else math.log(0.1)
        other = math.log1p(-math.exp(sure))
        return {answer: (sure if i == 0 else other) for i, answer in enumerate(answers)}


def _rebuild(handler: Handler, name: str, context_window: int, latency: float) -> ScriptedModel:
    return ScriptedModel(handler, name=name, context_window=context_window, latency=latency)


def extractive_answer(request: ChatRequest) -> str:
    """A valid answer built from the request: the article's first sentences as headline, summary and claims.

    Free text is cut (at a word) to the ``maxLength`` the request's schema (or the library's draft schema) gives each
    field, so the answer is valid for any article; quotes are whole sentences, cited by id where the request offers
    passage ids.
    """
    # The article is in the first user message; a re-ask's last message is the list of problems.
    match = next((m for msg in request.messages if (m := _ARTICLE.search(msg["content"]))), None)
    from ..grounding import sentences  # the library's own splitter, as the pipeline's passages are made
    from ..passages import PASSAGE_ID, PASSAGE_MARK

    text = PASSAGE_MARK.sub("", match.group(1)) if match else ""  # the article without its passage ids
    choices = list(request.verbatim_choices or ())
    cite: dict[str, str] = {}  # passage text -> the id the prompt shows it under
    if choices and all(PASSAGE_ID.fullmatch(c) for c in choices):
        choices = sentences(text)
        cite = {c: f"P{i}" for i, c in enumerate(choices, 1)}
    elif not choices:
        choices = [s for s in sentences(text) if len(s.split()) >= 3]
    properties = request.schema.get("properties", {})
    def limit(name: str) -> int | None:  # the request's bound, else the library's own (a strict schema drops them)
        return _max_length(request.schema, name) or _max_length(_draft_schema(), name)

    # whole sentences where they fit (a sentence cut short can lose its speaker or its hedge)
    fitting = [c for c in choices[:8] if len(c) <= (limit("statement") or len(c))]
    lead = (fitting or choices)[:3]
    # and each competing figure's sentence (as the library reads them), so every figure has its own claim
    rivals = [text[v[0].sentence[0]:v[0].sentence[1]] for g in _checks(text).competing for v in g
              if not any(text[f.sentence[0]:f.sentence[1]] in lead for f in v)]
    lead += [r for r in dict.fromkeys(rivals) if r not in lead and r in choices][:_max_items(request.schema) - 3]
    if len(request.messages) > 2:  # passages a re-ask asked claims for (a figure the claims left out)
        lead += [p for p in _ADD.findall(request.messages[-1]["content"]) if p not in lead and p in text]
    # the summary leaves out sentences of quotation whose speaker is named elsewhere (it would need naming)
    told_by_name: list[str] = []
    room = limit("summary") or 10**9
    for c in choices[:6]:
        if not _unnamed_quote(text, c) and len(" ".join([*told_by_name, c])) <= room and len(told_by_name) < 3:
            told_by_name.append(c)
    heads = [_fit(" ".join(c.split()[:12]), limit("headline")) for c in [*told_by_name, *lead]]
    answer: dict[str, Any] = {
        "headline": next((h for h in heads if not _unnamed_quote(text, h)), "Untitled"),
        "summary": _fit(" ".join(told_by_name or lead) or "No summary.", limit("summary")),
    }
    if "claims" in properties:
        # who says each sentence: as the library reads the article shown, or as a re-ask named them (a speaker
        # named in another part of a long article), like a model that takes the correction
        told = dict(_TOLD.findall(request.messages[-1]["content"])) if len(request.messages) > 2 else {}
        answer["claims"] = [
            {"statement": _fit(s, limit("statement")), "speaker": told.get(str(i), _speaker(text, s)),
             **_sureness(s), "quotes": [cite.get(s, s)]}
            for i, s in enumerate(lead, 1)
        ]
    return json.dumps(answer)


_ADD = re.compile("add a claim for the passage \u201c(.+?)\u201d with its speaker")
_TOLD = re.compile(r"claim (\d+): the article gives this passage to '([^']+)'")


def _sureness(sentence: str) -> dict[str, str]:
    """Kind and certainty as the library reads the sentence's hedges: the fake labels its claims right."""
    from ..hedges import cues

    found = cues(sentence)
    if not found:
        return {"kind": "fact", "certainty": "asserted"}
    return {"kind": "assessment", "certainty": "assessed" if found[0].kind == "assessment" else "hedged"}


def _unnamed_quote(article: str, sentence: str) -> bool:
    """Whether ``sentence`` carries words of a quotation, or of reported speech, without naming their speaker, as
    the library's own checks read it (quotation that continues a speaker named in another sentence; a lede cut
    before its ", the White House said")."""
    from ..schema import FlagKind

    return any(f.kind in (FlagKind.QUOTE, FlagKind.SPEAKER) for f in _checks(article).review("", sentence, []))


@lru_cache(maxsize=64)
def _checks(article: str) -> Any:
    from ..checks import ArticleChecks

    return ArticleChecks(article, "")


def _speaker(article: str, sentence: str) -> str | None:
    """Who the article gives ``sentence`` to, as the library reads it: the fake names its speakers right."""

    start = article.find(sentence)
    if start < 0:
        return None
    source = _attributions(article).of(start, start + len(sentence))
    return source.name if source is not None else None


def _attributions(article: str) -> Any:
    return _checks(article).attributions


@cache
def _draft_schema() -> dict[str, Any]:
    from ..schema import DraftSummary

    return DraftSummary.model_json_schema()


def _max_length(schema: Any, name: str) -> int | None:
    """The ``maxLength`` of the first property called ``name`` anywhere in ``schema``."""
    if isinstance(schema, dict):
        prop = schema.get("properties", {}).get(name)
        if isinstance(prop, dict) and isinstance(prop.get("maxLength"), int):
            return int(prop["maxLength"])
        for value in schema.values():
            if (found := _max_length(value, name)) is not None:
                return found
    elif isinstance(schema, list):
        for value in schema:
            if (found := _max_length(value, name)) is not None:
                return found
    return None


def _max_items(schema: Any) -> int:
    """The claims' ``maxItems`` the request's schema gives (a strict schema drops it: the library's own, then)."""
    for source in (schema, _draft_schema()):
        found = source.get("properties", {}).get("claims", {}).get("maxItems")
        if isinstance(found, int):
            return found
    return 6


def _fit(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return (cut or text[: limit - 1]) + "…"
