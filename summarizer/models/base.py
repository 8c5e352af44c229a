"""The one seam between the pipeline and a model.

A model is anything with ``name``, ``endpoint``, ``context_window``, ``max_concurrency``, ``count_tokens(text)``,
``complete(request)``, ``acomplete(request)``, ``load()`` and ``close()``. Three implementations ship: an
OpenAI-compatible endpoint (:mod:`summarizer.models.openai_compat`), the embedded llama.cpp runtime
(:mod:`summarizer.models.local`) and a scripted fake (:mod:`summarizer.models.fake`). The pipeline never knows which
one it has; what differs between them (how many calls may run at once, whether a call is free) is asked of the model
object, never read from its name.

:class:`ModelBase` gives a new implementation the defaults: ``acomplete`` runs ``complete`` on a thread of its own
(not the event loop's small default pool, so concurrency is what the caller asks for); ``load`` and ``close`` do
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

#: Key marking a string in a JSON schema that must be a verbatim passage of the input. A backend that controls
#: decoding (a grammar) may enforce it with ``ChatRequest.verbatim_choices``; others drop the key.
VERBATIM_KEY = "x-verbatim"
#: Key marking a string in a JSON schema that names a source of the input (a claim's speaker). A backend that
#: controls decoding may restrict it to ``ChatRequest.source_choices()`` (and null); others drop the key.
SOURCE_KEY = "x-source"


@dataclass(frozen=True)
class RepeatStop:
    """When an answer loops: ``times`` items in a row of its top-level array ``array`` whose string ``field`` each
    repeats an earlier item's (:mod:`summarizer.models.repeats`)."""

    array: str
    field: str
    #: One repeat is not yet a loop: the default model repeats a claim, then goes on to a new one (measured).
    times: int = 2


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
    #: The names strings marked ``x-source`` may take, read only by a backend that enforces them (reading an
    #: article's sources costs a millisecond an endpoint should not pay). None: no restriction.
    source_choices: Callable[[], tuple[str, ...]] | None = None
    #: A tighter schema than ``schema`` (no markers): what this input allows, down to each passage's speakers and
    #: certainties (:func:`summarizer.passages.decoding_schema`), for a backend that enforces a grammar. Large, and
    #: built only when such a backend calls it; None: ``schema`` with the choices above.
    grammar_schema: Callable[[], dict[str, Any]] | None = None
    #: Seconds before an endpoint call is given up as a (transient) timeout. None: the backend's default.
    timeout_s: float | None = None
    #: A repeat that means the answer loops and will only repeat itself from there. A backend that decodes token by
    #: token may stop at it and answer with the items before it; others ignore it (the caller drops repeats anyway).
    repeat_stop: RepeatStop | None = None
    #: How many leading messages every request of this kind shares (the system message and any worked-example
    #: turns): a backend may keep the state of reading them (:mod:`summarizer.models.prefix`).
    shared_messages: int = 1


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


class ModelInfo(Protocol):
    """What the pipeline reads of a model: its name and endpoint (for the cache key and provenance), its context
    and how it counts tokens (to split a long article). A :class:`Model` is one; so is :class:`ModelFacts`."""

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


@runtime_checkable
class Model(ModelInfo, Protocol):
    """A chat model behind the seam."""

    @property
    def max_concurrency(self) -> int | None:
        """Calls that can usefully run at once (an embedded model: 1), or None for no limit of the model's own."""
        ...

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Answer one request. Raise :class:`~summarizer.errors.TransientModelError` for retryable failures."""
        ...

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        """:meth:`complete` for an event loop; must not block it."""
        ...

    def load(self) -> None:
        """Make ready what the first call needs (weights, a runtime); a ConfigurationError here, not mid-batch."""
        ...

    def close(self) -> None:
        """Release clients, connections or memory the model holds."""
        ...


#: Re-asks spent on problems that would only be flagged (a number, a speaker, a hedge), once an answer has none that
#: cost content: a model that did not fix them when told rarely does on the next try, and each try of an embedded
#: model is a minute. A model may say it is worth fewer (``flag_reasks``, optional in the :class:`Model` protocol).
DEFAULT_FLAG_REASKS = 1


def flag_reasks_of(model: object) -> int:
    """How many re-asks about problems that would only be flagged ``model`` is worth (optional in the protocol)."""
    return int(getattr(model, "flag_reasks", DEFAULT_FLAG_REASKS))


@dataclass(frozen=True)
class ModelFacts:
    """A model's :class:`ModelInfo` as a plain value that pickles: what a worker process needs to run the pipeline's
    steps for a model that stays in the calling process (:mod:`summarizer.workers`). Tokens are estimated."""

    name: str
    endpoint: str | None
    context_window: int
    flag_reasks: int = DEFAULT_FLAG_REASKS

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)


class BatchFormat(Protocol):
    """A model that can be asked through a provider's batch service (the OpenAI Batch API's JSONL files, which
    ``vllm run-batch`` reads too): the body the live path would send, and an answer read back from a result line.
    See :mod:`summarizer.openai_batch`."""

    #: The structured-output modes a request can be written in, the live path's order of preference.
    batch_modes: tuple[str, ...]
    #: The ``url`` of each request line.
    batch_url: str

    def batch_body(self, request: ChatRequest, mode: str) -> dict[str, Any]:
        """Exactly the body the live path sends in ``mode``."""
        ...

    def batch_answer(self, status: int, body: Any, mode: str) -> ChatResponse:
        """A result line's response read as the live path reads an answer; a failure raised typed, as live."""
        ...


class TokenScores(Protocol):
    """A model whose token probabilities can be read, not only its generated text (the embedded runtime; an endpoint
    that returns log-probabilities). What the model-based faithfulness scorer reads
    (:mod:`summarizer.evals.faithfulness_lm`)."""

    #: Tokens of prefix plus text one call can take.
    score_window: int

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes for this model."""
        ...

    def continuation_logprobs(self, prefix: str, text: str) -> list[float]:
        """The natural log-probability of each token of ``text`` read after ``prefix`` (raw text, no chat template).
        Consecutive calls that share a prefix pay for reading it once."""
        ...

    def answer_logprobs(self, messages: tuple[dict[str, str], ...], answers: tuple[str, ...]) -> dict[str, float]:
        """For each answer, the log-probability that the assistant's reply to ``messages`` starts with the answer's
        first token (normalised over the whole vocabulary, not over the answers)."""
        ...


class ModelBase:
    """Defaults for :class:`Model` implementations: subclass and write ``complete`` (and the properties)."""

    def batch_format(self) -> BatchFormat | None:
        """How to ask this model through a provider's batch files, or None (the default) when it cannot be."""
        return None

    def token_scores(self) -> TokenScores | None:
        """How to read this model's token probabilities, or None (the default) when they cannot be read."""
        return None

    @property
    def max_concurrency(self) -> int | None:
        return None

    @property
    def flag_reasks(self) -> int:
        """Re-asks about problems that would only be flagged that this model is worth (see
        :data:`DEFAULT_FLAG_REASKS`)."""
        return DEFAULT_FLAG_REASKS

    def facts(self) -> ModelFacts | None:
        """This model's :class:`ModelInfo` as a value another process can use, or None (the default) when the
        pipeline needs the model itself to read it (a real tokenizer): then answers are checked in this process."""
        return None

    def complete(self, request: ChatRequest) -> ChatResponse:
        raise NotImplementedError

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        return await in_thread(self.complete, request)

    def load(self) -> None:
        return None

    def close(self) -> None:
        return None


R = TypeVar("R")


async def in_thread(fn: Callable[..., R], *args: Any) -> R:
    """Run a blocking call on a daemon thread of its own and await its result.

    Not ``asyncio.to_thread``: its shared pool has a handful of threads on a small machine, which would cap the
    concurrency a caller asked for; and a daemon thread does not keep the process alive after Ctrl-C.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[R] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.cancelled():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            result, error = fn(*args), None
        except BaseException as exc:
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed while we worked: nobody is waiting
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="summarizer-call", daemon=True).start()
    return await future


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: about four characters a token for English news text."""
    return max(1, (len(text) + 3) // 4)
