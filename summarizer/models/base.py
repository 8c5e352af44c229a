"""The one seam between the pipeline and a model.

A model is anything with ``name``, ``endpoint``, ``context_window``, ``count_tokens(text)`` and
``complete(request) -> response``. Three implementations ship: an OpenAI-compatible endpoint
(:mod:`summarizer.models.openai_compat`), the embedded llama.cpp runtime (:mod:`summarizer.models.local`) and a
scripted fake (:mod:`summarizer.models.fake`). The pipeline never knows which one it has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

#: Key marking a string in a JSON schema that must be a verbatim passage of the input. A backend that controls
#: decoding (a grammar) may enforce it with ``ChatRequest.verbatim_choices``; others drop the key.
VERBATIM_KEY = "x-verbatim"


@dataclass(frozen=True)
class ChatRequest:
    """What the pipeline asks of a model: chat messages and the JSON schema the answer must follow."""

    messages: tuple[dict[str, str], ...]
    schema: dict[str, Any]
    schema_name: str = "answer"
    temperature: float = 0.0
    max_tokens: int = 1536
    seed: int | None = 0
    #: Verbatim passages of the input that strings marked ``x-verbatim`` may take. None: no restriction.
    verbatim_choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ChatResponse:
    """The model's answer: text that should be JSON, plus what it cost."""

    content: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: How JSON was obtained: "grammar", "json_schema", "json_object", "prompt" or "scripted".
    structured_output: str = ""
    finish_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Model(Protocol):
    """A chat model behind the seam."""

    @property
    def name(self) -> str:
        """``provider/model`` as the user gave it."""
        ...

    @property
    def endpoint(self) -> str | None:
        """Where it runs (a base URL), or None for in-process models; part of the cache key."""
        ...

    @property
    def context_window(self) -> int:
        """Tokens of prompt plus answer the model can take."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes for this model (an estimate where the tokenizer is not at hand)."""
        ...

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Answer one request. Raise :class:`~summarizer.errors.TransientModelError` for retryable failures."""
        ...


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: about four characters a token for English news text."""
    return max(1, (len(text) + 3) // 4)
