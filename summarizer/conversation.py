"""The one ask → validate → check → re-ask loop, written once for every caller that needs one.

It is written as *steps*: a generator that yields each :class:`ChatRequest` and is sent the model's
:class:`ChatResponse`. The steps never call a model, so the same loop runs under a blocking driver
(:func:`run_steps`, used by the faithfulness judge) and an async one (:func:`arun_steps`, used by the
:class:`~summarizer.session.Summarizer`), and a pipeline built of several conversations (a long article's parts, then
the merge) is one generator of steps too (``yield from``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import OutputError
from .models.base import DEFAULT_FLAG_REASKS, ChatRequest, ChatResponse

T = TypeVar("T")
D = TypeVar("D")
M = TypeVar("M", bound=BaseModel)

log = logging.getLogger(__name__)

#: What a pipeline yields (requests) and is sent (responses) until it returns its result.
Steps = Generator[ChatRequest, ChatResponse, T]
#: Turns an answer into a value, or None and the problems to re-ask with.
Parse = Callable[[ChatResponse], tuple[D | None, list[str]]]
#: Checks a valid value: (problems that cost content if they stay, such as a quote not in the article, whose claim
#: would be rejected; problems that would only be flagged, such as a number the article does not give). Both are
#: re-asked; the first kind weighs more when the best answer is chosen.
Check = Callable[[D], tuple[list[str], list[str]]]


#: Re-asks spent on problems that would only be flagged (see :data:`~summarizer.models.base.DEFAULT_FLAG_REASKS`).
FLAG_REASKS = DEFAULT_FLAG_REASKS


@dataclass
class Usage:
    """What the model calls of one job cost, failed attempts included."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    modes: set[str] = field(default_factory=set)

    def add(self, response: ChatResponse) -> None:
        self.calls += 1
        self.prompt_tokens += response.prompt_tokens
        self.completion_tokens += response.completion_tokens
        if response.structured_output:
            self.modes.add(response.structured_output)


@dataclass(frozen=True)
class Conversation(Generic[D]):
    """One question to a model: the first request, how to read an answer, and how to ask again."""

    request: ChatRequest
    parse: Parse[D]
    #: The user message that sends the problems back (the model's own answer goes before it).
    reask: Callable[[list[str]], str]
    check: Check[D] | None = None
    max_attempts: int = 3
    #: For messages: which model this is (errors name it).
    model_name: str = "model"
    #: Re-asks about problems that would only be flagged (the model's ``flag_reasks``).
    flag_reasks: int = FLAG_REASKS


@dataclass(frozen=True)
class Answered(Generic[D]):
    """What a conversation settled on: the best valid answer, its remaining problems, and the turns that led to it."""

    value: D
    problems: list[str]
    #: The chosen answer's request messages, then the answer as the model wrote it: a question about that answer
    #: continues from here.
    turns: tuple[dict[str, str], ...]
    #: Answers the conversation asked for, the chosen one and any after it included.
    attempts: int = 1
    #: Of its re-asks, those that named problems that would only be flagged (``Conversation.flag_reasks`` is the
    #: budget of them).
    flag_reasks: int = 0


def converse(conversation: Conversation[D], usage: Usage) -> Steps[Answered[D]]:
    """Ask, parse, check; re-ask with the problems until none remain or attempts run out.

    Returns the best valid answer (fewest problems that cost content, then fewest others) with its remaining
    problems; raises :class:`OutputError` if no answer was ever valid.
    """
    request = conversation.request
    best: Answered[D] | None = None
    best_rank = (0, 0)
    last_output = ""
    problems: list[str] = []
    flag_reasks = 0
    for attempt in range(1, conversation.max_attempts + 1):
        response = yield request
        usage.add(response)
        log.info("%s: %s answer %d of at most %d: %d prompt and %d completion tokens (%s)", conversation.model_name,
                 request.schema_name, attempt, conversation.max_attempts, response.prompt_tokens,
                 response.completion_tokens, response.finish_reason or "done")
        last_output = response.content
        value, problems = conversation.parse(response)
        if value is not None:
            costly, flagged = conversation.check(value) if conversation.check else ([], [])
            problems = costly + flagged
            if best is None or (len(costly), len(flagged)) < best_rank:
                turns = (*request.messages, {"role": "assistant", "content": response.content})
                best, best_rank = Answered(value, problems, turns), (len(costly), len(flagged))
            if not problems or (not best_rank[0] and flag_reasks >= conversation.flag_reasks):
                break  # problems that would only be flagged are re-asked flag_reasks times, not the whole budget
            flag_reasks += bool(flagged)
        if attempt < conversation.max_attempts:
            log.info("%s: %s re-asked about %d problem(s): %s", conversation.model_name, request.schema_name,
                     len(problems), "; ".join(problems)[:300])
        request = replace(request, messages=(
            *request.messages,
            {"role": "assistant", "content": response.content},
            {"role": "user", "content": conversation.reask(problems[:12])},
        ))
    if best is None:
        raise OutputError(
            f"{conversation.model_name} gave no valid answer in {conversation.max_attempts} attempt(s): "
            f"{'; '.join(problems)[:300]}",
            attempts=conversation.max_attempts,
            last_output=last_output,
        )
    return replace(best, attempts=attempt, flag_reasks=flag_reasks)


def run_steps(steps: Steps[T], call: Callable[[ChatRequest], ChatResponse]) -> T:
    """Drive ``steps`` with a blocking model call."""
    try:
        request = next(steps)
        while True:
            request = steps.send(call(request))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        steps.close()


async def arun_steps(steps: Steps[T], call: Callable[[ChatRequest], Awaitable[ChatResponse]]) -> T:
    """Drive ``steps`` with an async model call."""
    try:
        request = next(steps)
        while True:
            request = steps.send(await call(request))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        steps.close()


# -- reading answers ----------------------------------------------------------------------------------------------


def validate_as(model_cls: type[M]) -> Parse[M]:
    """A parser: the answer's JSON validated as ``model_cls``; on failure, the problems as sentences for the re-ask."""

    def parse(response: ChatResponse) -> tuple[M | None, list[str]]:
        if not response.content.strip() and response.extra.get("refusal"):
            return None, [f"you refused ({str(response.extra['refusal'])[:200]!r}); the article is news to summarise "
                          "as data, as asked"]
        cut = response.finish_reason == "length"
        try:
            data = extract_json(response.content)
        except ValueError as exc:
            problem = "the answer was cut off; write fewer, shorter claims" if cut else f"the answer is not JSON: {exc}"
            return None, [problem]
        try:
            return model_cls.model_validate(data), []
        except ValidationError as exc:
            problems = [f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()[:12]]
            if cut:
                problems.insert(0, "the answer was cut off; write fewer, shorter claims")
            return None, problems

    return parse


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def extract_json(content: str) -> Any:
    """The JSON object in a reply, tolerating code fences, prose around it and raw control characters in strings
    (some servers emit a literal newline or tab inside a string)."""
    text = _FENCE.sub("", content.strip())
    try:
        return json.loads(text, strict=False)
    except json.JSONDecodeError as first:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(text[start : end + 1], strict=False)
            except json.JSONDecodeError:
                pass
        raise ValueError(f"{first.msg} at character {first.pos}") from None
