"""A scripted model behind the same seam as the real ones, for tests and for trying the pipeline without a model.

``ScriptedModel(handler)`` answers each request with ``handler(request)``: a string (the model's text), a
:class:`ChatResponse`, or an exception to raise. ``ScriptedModel.replies([...])`` answers from a list in order.
The name ``fake/<anything>`` gives the default handler, :func:`extractive_answer`, which builds a valid summary
from the article's first sentences — deterministic, grounded, and free.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .base import ChatRequest, ChatResponse, estimate_tokens

Handler = Callable[[ChatRequest], "str | ChatResponse | BaseException"]

_ARTICLE = re.compile(r"<article>\n?(.*?)\n?</article>", re.DOTALL)


class ScriptedModel:
    """A model whose answers are written by a function. Records every request it gets in ``requests``."""

    def __init__(self, handler: Handler | None = None, *, name: str = "fake/scripted",
                 context_window: int = 32768) -> None:
        self._handler = handler or extractive_answer
        self._name = name
        self._context = context_window
        self._lock = threading.Lock()
        self.requests: list[ChatRequest] = []

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

    def complete(self, request: ChatRequest) -> ChatResponse:
        with self._lock:
            self.requests.append(request)
            reply = self._handler(request)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, ChatResponse):
            return reply
        prompt = sum(estimate_tokens(m["content"]) for m in request.messages)
        return ChatResponse(reply, prompt, estimate_tokens(reply), structured_output="scripted", finish_reason="stop")


def extractive_answer(request: ChatRequest) -> str:
    """A valid answer built from the request: the article's first sentences as headline, summary and claims."""
    choices = list(request.verbatim_choices or ())
    if not choices:
        match = _ARTICLE.search(request.messages[-1]["content"]) if request.messages else None
        text = match.group(1) if match else ""
        choices = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 3]
    properties = request.schema.get("properties", {})
    lead = choices[:3]
    answer: dict[str, Any] = {
        "headline": " ".join((lead[0] if lead else "Untitled").split()[:12]),
        "summary": " ".join(lead) or "No summary.",
    }
    if "claims" in properties:
        answer["claims"] = [
            {"statement": s, "speaker": None, "kind": "fact", "certainty": "asserted", "quotes": [s]} for s in lead
        ]
    return json.dumps(answer)
