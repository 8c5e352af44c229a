"""``summarize()``: check → render → cache → call → validate → ground → re-ask.

Read :func:`summarize` top to bottom; each step is one helper below it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .article import coerce_article
from .cache import SummaryCache, cache_key
from .errors import OutputError
from .grounding import Grounder, sentence_spans
from .models import Model, get_model
from .models.base import ChatRequest, ChatResponse
from .numbers import absent_numbers, number_forms
from .prompts import Prompt
from .retry import MAX_TRANSIENT_ATTEMPTS, call_with_retries
from .schema import (
    MAX_CLAIMS,
    SCHEMA_VERSION,
    Claim,
    DraftOverview,
    DraftSummary,
    Evidence,
    Flag,
    Provenance,
    RejectedClaim,
    Summary,
    schema_fingerprint,
    sha256_text,
)
from .schema_tools import plain_schema

log = logging.getLogger(__name__)

#: Model calls per request before giving up on invalid or ungrounded output (the first call included).
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_MAX_CLAIMS = 6
DEFAULT_MAX_TOKENS = 1536
#: Tokens kept free in the context window besides prompt and answer.
CONTEXT_MARGIN = 64

D = TypeVar("D", bound=BaseModel)


def summarize(
    article: str | bytes,
    *,
    model: str | Model | None = None,
    cache: bool | SummaryCache = True,
    max_claims: int = DEFAULT_MAX_CLAIMS,
    temperature: float = 0.0,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    transient_attempts: int = MAX_TRANSIENT_ATTEMPTS,
) -> Summary:
    """Summarise a news article into a headline, a summary and claims grounded in verbatim evidence.

    ``model`` is a name (``local/qwen2.5-coder-1.5b``, ``openai/gpt-4o-mini``, ``fake/x``) or a model object;
    the default is ``$SUMMARIZER_MODEL`` or the embedded default. Claims whose evidence cannot be located in the
    article are re-asked and, failing that, moved to ``rejected_claims``.

    Raises :class:`~summarizer.errors.ArticleError` for unusable input (before any model call),
    :class:`~summarizer.errors.ConfigurationError`, :class:`~summarizer.errors.ModelError` and
    :class:`~summarizer.errors.OutputError`.
    """
    if not 1 <= max_claims <= MAX_CLAIMS:
        raise ValueError(f"max_claims must be between 1 and {MAX_CLAIMS}")
    text = coerce_article(article)
    llm = get_model(model)
    prompt = Prompt.load("summarize")
    settings = _Settings(max_claims, temperature, max_tokens, max_attempts, transient_attempts)

    store = _open_cache(cache)
    key = cache_key(
        model=llm.name,
        endpoint=llm.endpoint,
        prompt_version=f"{prompt.version}+{Prompt.load('merge').version}",
        schema_version=f"{SCHEMA_VERSION}-{schema_fingerprint()}",
        article_sha256=sha256_text(text),
        options={"max_claims": max_claims, "temperature": temperature, "max_tokens": max_tokens},
    )
    if store is not None and (hit := store.get(key)) is not None:
        return hit.model_copy(update={"provenance": hit.provenance.model_copy(update={"cached": True})})

    started = time.perf_counter()
    usage = _Usage()
    parts = _split(text, llm, prompt, settings)
    article_numbers = number_forms(text)
    drafts = [
        _summarize_part(text, span, article_numbers, llm, prompt, settings, usage, part=i if len(parts) > 1 else 0,
                        parts=len(parts))
        for i, span in enumerate(parts, 1)
    ]
    headline, overview = _overview(drafts, article_numbers, llm, settings, usage)
    claims = _dedupe([c for d in drafts for c in d.claims])
    summary = Summary(
        headline=headline,
        summary=overview,
        claims=claims,
        rejected_claims=[r for d in drafts for r in d.rejected],
        flags=_number_flags(headline, overview, [c.statement for c in claims], article_numbers),
        article_sha256=sha256_text(text),
        article_chars=len(text),
        provenance=Provenance(
            model=llm.name,
            endpoint=llm.endpoint,
            prompt_version=prompt.version,
            structured_output="+".join(sorted(usage.modes)),
            attempts=usage.calls,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            latency_s=round(time.perf_counter() - started, 3),
            parts=len(parts),
        ),
    )
    summary.verify(text)  # the invariant, checked before anything is returned or stored
    if store is not None:
        store.set(key, summary)
    return summary


async def asummarize(article: str | bytes, **kwargs: Any) -> Summary:
    """:func:`summarize` for callers inside an event loop (runs in a worker thread)."""
    return await asyncio.to_thread(summarize, article, **kwargs)


@dataclass(frozen=True)
class _Settings:
    max_claims: int
    temperature: float
    max_tokens: int
    max_attempts: int
    transient_attempts: int


@dataclass
class _Usage:
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


@dataclass
class _PartResult:
    draft: DraftSummary
    claims: list[Claim]
    rejected: list[RejectedClaim]


def _open_cache(cache: bool | SummaryCache) -> SummaryCache | None:
    if isinstance(cache, SummaryCache):
        return cache
    return SummaryCache() if cache else None


# -- render -------------------------------------------------------------------------------------------------------


def _messages(prompt: Prompt, schema: type[BaseModel], **context: Any) -> list[dict[str, str]]:
    shown = json.dumps(_prompt_schema(schema), separators=(",", ":"), ensure_ascii=False)
    return [
        {"role": "system", "content": prompt.render("system", schema=shown)},
        {"role": "user", "content": prompt.render("user", **context)},
    ]


def _prompt_schema(schema: type[BaseModel]) -> dict[str, Any]:
    return plain_schema(schema.model_json_schema())


def _delimit(article: str) -> str:
    """The article as data: a closing delimiter inside it cannot end the data block."""
    return article.replace("</article>", "</ article>")


# -- split (long articles) ----------------------------------------------------------------------------------------


def _split(text: str, llm: Model, prompt: Prompt, settings: _Settings) -> list[tuple[int, int]]:
    """Spans of the article that each fit the context with the prompt and the answer; usually just one."""
    overhead = sum(llm.count_tokens(m["content"]) for m in _messages(prompt, DraftSummary, article="", part=0,
                                                                        parts=0, max_claims=settings.max_claims))
    budget = llm.context_window - overhead - settings.max_tokens - CONTEXT_MARGIN
    if budget <= 0:
        raise OutputError(f"{llm.name}'s context ({llm.context_window} tokens) cannot hold the prompt", attempts=0)
    if llm.count_tokens(text) <= budget:
        return [(0, len(text))]
    parts: list[tuple[int, int]] = []
    start = end = None
    for s, e in _bounded_sentences(text, llm, budget):
        if start is None:
            start, end = s, e
        elif llm.count_tokens(text[start:e]) <= budget:
            end = e
        else:
            parts.append((start, end))  # type: ignore[arg-type]
            start, end = s, e
    if start is not None and end is not None:
        parts.append((start, end))
    log.info("article of %d characters split into %d parts for %s", len(text), len(parts), llm.name)
    return parts


def _bounded_sentences(text: str, llm: Model, budget: int) -> list[tuple[int, int]]:
    """Sentence spans, with any single sentence longer than the budget cut into pieces that fit."""
    out: list[tuple[int, int]] = []
    for s, e in sentence_spans(text):
        while llm.count_tokens(text[s:e]) > budget:
            cut = s + max(1, (e - s) * budget // max(1, llm.count_tokens(text[s:e])) - 1)
            space = text.rfind(" ", s + 1, cut)
            cut = space if space > s else cut
            out.append((s, cut))
            s = cut
            while s < e and text[s].isspace():
                s += 1
        if s < e:
            out.append((s, e))
    return out


# -- call, validate, ground, re-ask ------------------------------------------------------------------------------


def _summarize_part(text: str, span: tuple[int, int], article_numbers: frozenset[str], llm: Model, prompt: Prompt,
                    settings: _Settings, usage: _Usage, *, part: int, parts: int) -> _PartResult:
    start, end = span
    part_text = text[start:end]
    grounder = Grounder(part_text)
    messages = _messages(
        prompt,
        DraftSummary,
        article=_delimit(part_text),
        part=part,
        parts=parts,
        max_claims=settings.max_claims,
    )
    schema = _draft_schema(settings.max_claims)
    choices = tuple(part_text[s:e] for s, e in sentence_spans(part_text))

    def check(draft: DraftSummary) -> tuple[list[str], list[str]]:
        problems = []
        if len(draft.claims) > settings.max_claims:
            problems.append(f"give at most {settings.max_claims} claims, not {len(draft.claims)}")
        for i, claim in enumerate(draft.claims, 1):
            for quote in claim.quotes:
                if grounder.locate(quote) is None:
                    problems.append(f"claim {i}: this quote is not in the article word for word: {quote!r}")
        statements = [c.statement for c in draft.claims]
        return problems, _number_problems(draft.headline, draft.summary, statements, article_numbers)

    draft, _ = _converse(llm, prompt, messages, DraftSummary, schema, check, choices, settings, usage)
    draft = draft.model_copy(update={"claims": draft.claims[: settings.max_claims]})
    claims, rejected = _ground(draft, grounder, offset=start)
    return _PartResult(draft, claims, rejected)


def _draft_schema(max_claims: int) -> dict[str, Any]:
    schema = DraftSummary.model_json_schema()
    schema["properties"]["claims"]["maxItems"] = max_claims
    return schema


#: What :func:`_converse` checks a valid answer with: (problems that cost content if they stay, such as a quote
#: not in the article, whose claim would be rejected; problems that would only be flagged, such as a number the
#: article does not give). Both are re-asked; the first kind weighs more when the best answer is chosen.
Check = Callable[[D], tuple[list[str], list[str]]]


def _converse(llm: Model, prompt: Prompt, messages: list[dict[str, str]], model_cls: type[D], schema: dict[str, Any],
              check: Check[D], choices: tuple[str, ...] | None, settings: _Settings,
              usage: _Usage) -> tuple[D, list[str]]:
    """Ask, validate, check; re-ask with the problems until none remain or attempts run out.

    Returns the best valid answer (fewest problems that cost content, then fewest others) and its remaining
    problems; raises OutputError if no answer was ever valid.
    """
    best: tuple[D, list[str]] | None = None
    best_rank = (0, 0)
    last_output = ""
    problems: list[str] = []
    for attempt in range(1, settings.max_attempts + 1):
        request = ChatRequest(
            messages=tuple(messages),
            schema=schema,
            schema_name=model_cls.__name__,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            verbatim_choices=choices,
        )
        response = call_with_retries(partial(llm.complete, request), attempts=settings.transient_attempts)
        usage.add(response)
        last_output = response.content
        draft, problems = _validate(response, model_cls)
        if draft is not None:
            costly, flagged = check(draft)
            problems = costly + flagged
            if best is None or (len(costly), len(flagged)) < best_rank:
                best, best_rank = (draft, problems), (len(costly), len(flagged))
            if not problems:
                break
        log.info("%s attempt %d: %d problem(s): %s", llm.name, attempt, len(problems), "; ".join(problems)[:500])
        messages = [
            *messages,
            {"role": "assistant", "content": response.content},
            {"role": "user", "content": prompt.render("reask", problems=problems[:12])},
        ]
    if best is None:
        raise OutputError(
            f"{llm.name} gave no valid answer in {settings.max_attempts} attempt(s): {'; '.join(problems)[:300]}",
            attempts=settings.max_attempts,
            last_output=last_output,
        )
    return best


def _validate(response: ChatResponse, model_cls: type[D]) -> tuple[D | None, list[str]]:
    """Parse the answer as JSON and validate it; on failure, the problems as sentences for the re-ask."""
    cut = response.finish_reason == "length"
    try:
        data = _extract_json(response.content)
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


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def _extract_json(content: str) -> Any:
    """The JSON object in a reply, tolerating code fences and prose around it."""
    text = _FENCE.sub("", content.strip())
    try:
        return json.loads(text)
    except json.JSONDecodeError as first:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(text[start : end + 1])
            except json.JSONDecodeError:
                pass
        raise ValueError(f"{first.msg} at character {first.pos}") from None


def _ground(draft: DraftSummary, grounder: Grounder, offset: int) -> tuple[list[Claim], list[RejectedClaim]]:
    """Locate every quote; a claim is kept only if all its quotes are found verbatim."""
    claims: list[Claim] = []
    rejected: list[RejectedClaim] = []
    for claim in draft.claims:
        evidence: list[Evidence] = []
        missing: list[str] = []
        for quote in claim.quotes:
            spans = grounder.locate(quote)
            if spans is None:
                missing.append(quote)
                continue
            for ev in spans:
                shifted = Evidence(text=ev.text, start=ev.start + offset, end=ev.end + offset, match=ev.match)
                if shifted not in evidence:
                    evidence.append(shifted)
        if missing or not evidence:
            rejected.append(
                RejectedClaim(
                    statement=claim.statement,
                    speaker=claim.speaker,
                    quotes=claim.quotes,
                    reason="evidence not found verbatim in the article: " + "; ".join(repr(q) for q in missing),
                )
            )
            continue
        claims.append(
            Claim(
                statement=claim.statement,
                speaker=claim.speaker,
                kind=claim.kind,
                certainty=claim.certainty,
                evidence=evidence,
            )
        )
    return claims, rejected


def _number_problems(headline: str, summary: str, statements: list[str], article_numbers: frozenset[str]) -> list[str]:
    """:func:`_number_flags` as re-ask problems, naming claims as the quote problems do ("claim 1")."""
    problems = []
    for flag in _number_flags(headline, summary, statements, article_numbers):
        where = re.sub(r"claims\[(\d+)\]\.", lambda m: f"claim {int(m.group(1)) + 1} ", flag.field)
        problems.append(f"{where}: the article gives no number {flag.text!r}; use the article's own figure with its "
                        "source, or leave it out")
    return problems


def _number_flags(headline: str, summary: str, statements: list[str], article_numbers: frozenset[str]) -> list[Flag]:
    """Numbers in the free text that the article does not contain ("3,000" = "three thousand" = "3000")."""
    fields = [("headline", headline), ("summary", summary)]
    fields += [(f"claims[{i}].statement", statement) for i, statement in enumerate(statements)]
    return [
        Flag(field=name, text=n.text, reason="number not in the article")
        for name, text in fields
        for n in absent_numbers(text, article_numbers)
    ]


# -- merge --------------------------------------------------------------------------------------------------------


def _overview(parts: list[_PartResult], article_numbers: frozenset[str], llm: Model, settings: _Settings,
              usage: _Usage) -> tuple[str, str]:
    """Headline and summary: the part's own, or one merged from every part's (its numbers checked like a part's)."""
    if len(parts) == 1:
        return parts[0].draft.headline, parts[0].draft.summary
    prompt = Prompt.load("merge")
    messages = _messages(prompt, DraftOverview, parts=[p.draft for p in parts])
    schema = DraftOverview.model_json_schema()

    def check(draft: DraftOverview) -> tuple[list[str], list[str]]:
        return [], _number_problems(draft.headline, draft.summary, [], article_numbers)

    merged, _ = _converse(llm, prompt, messages, DraftOverview, schema, check, None, settings, usage)
    return merged.headline, merged.summary


def _dedupe(claims: list[Claim]) -> list[Claim]:
    """Drop repeats across parts: the same statement, or the same evidence."""
    seen_statements: set[str] = set()
    seen_evidence: set[tuple[tuple[int, int], ...]] = set()
    out: list[Claim] = []
    for claim in claims:
        statement = " ".join(claim.statement.casefold().split())
        spans = tuple(sorted((e.start, e.end) for e in claim.evidence))
        if statement in seen_statements or (spans in seen_evidence and claim.speaker is None):
            continue
        seen_statements.add(statement)
        seen_evidence.add(spans)
        out.append(claim)
    return out
