"""The summary as steps: split → render → ask → validate → ground → re-ask → merge → check.

:func:`summary_steps` reads top to bottom; each step is one helper below it. It never calls a model: it yields each
request and is sent the answer (:mod:`summarizer.conversation`), so the session drives it with whichever model and
call policy it has. Caching, limits and retries of transient failures are the session's
(:mod:`summarizer.session`); this module decides only what to ask and what to make of the answers.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel

from .attribution import GENERIC, SPEECH_VERBS
from .cache import cache_key
from .checks import ArticleChecks, ClaimView, Finding
from .conversation import Answered, Check, Conversation, Steps, Usage, converse, validate_as
from .errors import OutputError
from .grounding import (
    SUPPORT_SHARE,
    Grounder,
    content_words,
    copies,
    figure_moved,
    new_words,
    restates,
    sentence_spans,
    support,
)
from .hedges import KEEPS, cues, qualified_figures
from .injection import neutralize
from .models.base import ChatRequest, ChatResponse, ModelInfo, RepeatStop, flag_reasks_of
from .models.gbnf import CONTAINS_KEY, LATIN, PLAIN_KEY, is_latin
from .numbers import extract_numbers
from .options import SummarizeOptions
from .passages import Passages, cased, decoding_schema, unmarked
from .prompts import Prompt
from .schema import (
    SCHEMA_VERSION,
    Attribution,
    Claim,
    DraftClaim,
    DraftOverview,
    DraftSummary,
    Evidence,
    Provenance,
    RejectedClaim,
    Restated,
    Summary,
    schema_fingerprint,
    sha256_text,
)
from .schema_tools import plain_schema

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

#: Tokens kept free in the context window besides prompt and answer.
CONTEXT_MARGIN = 64


def summary_key(text: str, llm: ModelInfo, options: SummarizeOptions) -> str:
    """The cache key of this article's summary by this model with these options."""
    return cache_key(
        model=llm.name,
        endpoint=llm.endpoint,
        prompt_version="+".join(Prompt.load(name).version for name in ("summarize", "merge", "restate")),
        schema_version=f"{SCHEMA_VERSION}-{schema_fingerprint()}",
        article_sha256=sha256_text(text),
        options=options.cache_material(),
    )


def summary_steps(text: str, llm: ModelInfo, options: SummarizeOptions) -> Steps[Summary]:
    """Summarise a checked article (see :func:`~summarizer.article.coerce_article`) into a verified Summary."""
    started = time.perf_counter()
    prompt = Prompt.load("summarize")
    job = _Job(text, llm, options, ArticleChecks(text, prompt.instructions(), _descriptions(DraftSummary)))
    parts = _split(text, llm, prompt, options)
    drafts = []
    for i, span in enumerate(parts, 1):
        part = _Part(text, span, index=i if len(parts) > 1 else 0, count=len(parts))
        drafts.append((yield from _summarize_part(job, part, prompt)))
    headline, overview = yield from _overview(job, drafts)
    claims = _dedupe([c for d in drafts for c in d.claims])
    usage = job.usage
    if not claims:  # a summary none of whose claims could be grounded is not a result
        rejected = [r for d in drafts for r in d.rejected]
        raise OutputError(f"{llm.name}: no claim could be grounded in the article ({len(rejected)} rejected after "
                          f"{usage.calls} call(s)): {rejected[0].reason if rejected else 'no claims'}"[:400],
                          attempts=usage.calls)
    summary = Summary(
        headline=headline,
        summary=overview,
        claims=claims,
        rejected_claims=[r for d in drafts for r in d.rejected],
        flags=[f.flag() for f in job.checks.review(headline, overview, [_view(c) for c in claims])],
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
    return summary


@dataclass
class _Job:
    """What every step of one summary needs: the article, the model, the options, what it cost so far."""

    text: str
    llm: ModelInfo
    options: SummarizeOptions
    #: Everything an answer is checked against, read from the article once (:mod:`summarizer.checks`).
    checks: ArticleChecks
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class _Part:
    """One span of the article, asked about on its own (``index`` 0: the whole article)."""

    article: str
    span: tuple[int, int]
    index: int
    count: int

    @property
    def text(self) -> str:
        return self.article[self.span[0] : self.span[1]]


@dataclass
class _PartResult:
    draft: DraftSummary
    claims: list[Claim]
    rejected: list[RejectedClaim]


# -- render -------------------------------------------------------------------------------------------------------


def _messages(prompt: Prompt, schema: type[BaseModel], **context: Any) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": _system(prompt, schema)},
        *prompt.example_turns(),
        {"role": "user", "content": prompt.render("user", **context)},
    ]


def _system(prompt: Prompt, schema: type[BaseModel]) -> str:
    """The system message: the same for every article, so rendered once (pydantic's schema generation is slow)."""
    key = (prompt.version, schema)
    if (text := _SYSTEM.get(key)) is None:
        shown = json.dumps(plain_schema(_json_schema(schema)), separators=(",", ":"), ensure_ascii=False)
        text = _SYSTEM[key] = prompt.render("system", schema=shown)
    return text


_SYSTEM: dict[tuple[str, type[BaseModel]], str] = {}


@cache
def _descriptions(schema: type[BaseModel]) -> str:
    """The descriptions of ``schema``'s fields, as the prompt shows them in its JSON schema, one a line."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("description"), str):
                found.append(node["description"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(_json_schema(schema))
    return "\n".join(dict.fromkeys(found))


@cache
def _json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema, made once. Shared: callers must not mutate it (the schema tools build new dicts)."""
    return schema.model_json_schema()


def _delimit(article: str) -> str:
    """The article as data: a closing delimiter inside it cannot end the data block, nor a chat-template control
    sequence start a turn (:func:`~summarizer.injection.neutralize`)."""
    return neutralize(article).replace("</article>", "</ article>")


# -- split (long articles) ----------------------------------------------------------------------------------------


def _split(text: str, llm: ModelInfo, prompt: Prompt, options: SummarizeOptions) -> list[tuple[int, int]]:
    """Spans of the article that each fit the context with the prompt and the answer; usually just one."""
    overhead = sum(llm.count_tokens(m["content"]) for m in _messages(prompt, DraftSummary, article="", part=0,
                                                                        parts=0, max_claims=options.max_claims))
    budget = llm.context_window - overhead - options.max_tokens - CONTEXT_MARGIN
    if budget <= 0:
        raise OutputError(f"{llm.name}'s context ({llm.context_window} tokens) cannot hold the prompt", attempts=0)
    if _cost(llm, text) <= budget:
        return [(0, len(text))]
    parts: list[tuple[int, int]] = []
    start = end = None
    for s, e in _bounded_sentences(text, llm, budget):
        if start is None:
            start, end = s, e
        elif _cost(llm, text[start:e]) <= budget:
            end = e
        else:
            parts.append((start, end))  # type: ignore[arg-type]
            start, end = s, e
    if start is not None and end is not None:
        parts.append((start, end))
    log.info("article of %d characters split into %d parts for %s", len(text), len(parts), llm.name)
    return parts


#: Tokens a passage id takes in the prompt ("[P12] "), counted when an article is cut into parts.
PASSAGE_ID_TOKENS = 5


def _cost(llm: ModelInfo, text: str) -> int:
    """Tokens ``text`` takes in the prompt, shown as numbered passages."""
    return llm.count_tokens(text) + PASSAGE_ID_TOKENS * len(sentence_spans(text))


def _bounded_sentences(text: str, llm: ModelInfo, budget: int) -> list[tuple[int, int]]:
    """Sentence spans, with any single sentence longer than the budget cut into pieces that fit."""
    out: list[tuple[int, int]] = []
    room = max(1, budget - PASSAGE_ID_TOKENS)  # a piece is shown behind its own passage id
    for s, e in sentence_spans(text):
        while llm.count_tokens(text[s:e]) > room:
            cut = s + max(1, (e - s) * room // max(1, llm.count_tokens(text[s:e])) - 1)
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


def _summarize_part(job: _Job, part: _Part, prompt: Prompt) -> Steps[_PartResult]:
    passages = Passages.of(part.text)  # the model cites these by id; the library maps ids back to text
    locate = _Locator(Grounder(part.text), passages)
    max_claims = job.options.max_claims
    messages = _messages(prompt, DraftSummary, article=_delimit(passages.numbered()), part=part.index,
                         parts=part.count, max_claims=max_claims)

    def check(draft: DraftSummary) -> tuple[list[str], list[str]]:
        problems = []
        if len(draft.claims) > max_claims:
            problems.append(f"give at most {max_claims} claims, not {len(draft.claims)}")
        unknown = passages.unknown_ids(draft)
        for i, pid in unknown:
            problems.append(f"claim {i}: the article has no passage {pid}; give the id of a passage shown")
        for i, claim in enumerate(draft.claims, 1):
            found = locate(claim)
            for quote in found.missing:
                if (i, quote) not in unknown:
                    problems.append(f"claim {i}: this quote is not in the article word for word: {quote!r}; "
                                    "give the passage's id instead")
            if found.unsupported:
                problems.append(f"claim {i}: the statement is not what its passage says, nor any other; state what "
                                "the cited passage says")  # one that another passage states is cited there
        findings = _review(job, draft, locate, part.span)
        costly, flagged = _problems(findings)
        if not problems and not costly and all(f.field in FREE_TEXT for f in findings):
            return [], []  # only the headline or summary would be flagged: asked again on their own (_reword)
        return problems + costly, flagged

    @cache  # built once for the part's first call, not again for each re-ask
    def tightened() -> dict[str, Any]:
        return decoding_schema(_draft_schema(max_claims), passages, job.checks, part.span[0], max_claims)

    answered = yield from _ask(job, prompt, messages, DraftSummary, _draft_schema(max_claims), check, passages.ids,
                               source_choices=job.checks.attributions.speaker_names, grammar_schema=tightened,
                               resolve=passages.resolve, repeat_stop=CLAIMS_LOOP)
    draft = answered.value.model_copy(update={"claims": answered.value.claims[:max_claims]})
    if part.count == 1:  # a long article's parts' free text is merged, and checked there (_overview)
        draft = yield from _reword(job, prompt, answered, draft, lambda d: _review(job, d, locate, part.span))
    _refuse_injection(job, _review(job, draft, locate, part.span))  # its review was kept from check
    claims, rejected = _ground(draft, locate, part.span[0], job.checks)
    if job.options.restate_copies:
        claims = yield from _restate(job, claims)
    return _PartResult(draft, claims, rejected)


def _review(job: _Job, draft: DraftSummary, locate: _Locator, span: tuple[int, int]) -> list[Finding]:
    """The checks' findings on a draft of one part (its evidence located in the part as grounding will locate it,
    shifted into the article)."""
    offset = span[0]
    views = []
    for c in draft.claims:
        spans = tuple((ev.start + offset, ev.end + offset) for ev in locate(c).evidence)
        views.append(ClaimView(c.statement, c.speaker, spans, c.kind.value, c.certainty.value))
    return job.checks.review(draft.headline, draft.summary, views, span)


def _problems(findings: list[Finding]) -> tuple[list[str], list[str]]:
    """What a re-ask says about the findings: those that cost content if they stay, and those that would be
    flagged."""
    return [f.problem for f in findings if f.costly], [f.problem for f in findings if not f.costly]


def _view(claim: Claim) -> ClaimView:
    return ClaimView(claim.statement, claim.speaker, tuple((e.start, e.end) for e in claim.evidence),
                     claim.kind.value, claim.certainty.value)


def _refuse_injection(job: _Job, findings: list[Finding]) -> None:
    """The answer chosen after every attempt still follows planted instructions, or repeats the prompt's: no
    result, a typed error."""
    strong = [f for f in findings if f.refuse]
    if strong and job.checks.injection.planted:
        raise OutputError(f"{job.llm.name}: prompt injection: the answer followed instructions in the article after "
                          f"{job.usage.calls} call(s) (planted: {', '.join(job.checks.injection.kinds)}): "
                          f"{strong[0].problem}"[:500], attempts=job.usage.calls)
    if strong:  # nothing planted: a leaked prompt or a chat marker
        raise OutputError(f"{job.llm.name}: the answer repeats the prompt's instructions or chat markers after "
                          f"{job.usage.calls} call(s): {strong[0].problem}"[:500], attempts=job.usage.calls)


#: The fields of free text. When only they have problems that would be flagged (a number the article does not give,
#: words given to the wrong source), only they are asked again (:func:`_reword`): the claims stand.
FREE_TEXT = ("headline", "summary")


def _reword(job: _Job, prompt: Prompt, answered: Answered[DraftSummary], draft: DraftSummary,
            review: Callable[[DraftSummary], list[Finding]]) -> Steps[DraftSummary]:
    """The draft (``answered``'s, cut to the claim bound) with its headline and summary asked again when only they
    have problems that would be flagged: the re-ask about flags the draft's conversation would otherwise have made
    with the whole draft (the check leaves those problems to this step), so made only when that conversation has
    such a re-ask (``flag_reasks``) and an attempt left unspent. The answer is the two fields
    (:class:`~summarizer.schema.DraftOverview`), a few dozen tokens instead of the whole draft again, sent after
    the draft as written; it is kept if the checks find less wrong with it, else the draft's own stay. Not for a
    long article's parts: their headlines and summaries are merged into one, checked and re-asked on its own
    (:func:`_overview`)."""

    def free_text(d: DraftSummary) -> list[Finding]:
        return [f for f in review(d) if f.field in FREE_TEXT]

    def reworded(overview: DraftOverview) -> DraftSummary:
        return draft.model_copy(update={"headline": unmarked(overview.headline), "summary": unmarked(overview.summary)})

    if answered.flag_reasks >= flag_reasks_of(job.llm) or answered.attempts >= job.options.max_attempts:
        return draft
    found = free_text(draft)
    if not found or any(f.costly for f in found):  # a costly one was re-asked whole (the check), refused if it stays
        return draft
    problems = [f.problem for f in found]
    log.info("%s: headline and summary asked again about %d problem(s): %s", job.llm.name, len(problems),
             "; ".join(problems)[:300])
    ask = prompt.render("reask", problems=problems, overview_only=True)
    try:
        overview = yield from _ask(job, prompt, [*answered.turns, {"role": "user", "content": ask}], DraftOverview,
                                   _json_schema(DraftOverview), lambda o: _problems(free_text(reworded(o))),
                                   max_attempts=1)
    except OutputError:
        return draft
    new = reworded(overview.value)
    return new if _rank(free_text(new)) < _rank(found) else draft


def _rank(findings: list[Finding]) -> tuple[int, int, int]:
    """How bad findings are, worst first: refused, costly, any."""
    return sum(f.refuse for f in findings), sum(f.costly for f in findings), len(findings)


#: A draft loops once two claims in a row each state what an earlier claim stated (:func:`_dedupe` would drop them):
#: a model that decodes token by token stops there (SmolLM2 wrote the seed's third statement three more times).
CLAIMS_LOOP = RepeatStop("claims", "statement")


@cache
def _draft_schema(max_claims: int) -> dict[str, Any]:
    """The draft's schema with the claim bound of these options (made once per bound; not to be mutated)."""
    schema = copy.deepcopy(_json_schema(DraftSummary))
    schema["properties"]["claims"]["maxItems"] = max_claims
    return schema


def _ask(job: _Job, prompt: Prompt, messages: list[dict[str, str]], model_cls: type[M], schema: dict[str, Any],
         check: Check[M], verbatim_choices: tuple[str, ...] | None = None,
         source_choices: Callable[[], tuple[str, ...]] | None = None,
         grammar_schema: Callable[[], dict[str, Any]] | None = None,
         resolve: Callable[[M], M] | None = None, max_attempts: int | None = None,
         max_tokens: int | None = None, repeat_stop: RepeatStop | None = None) -> Steps[Answered[M]]:
    """One conversation (:func:`~summarizer.conversation.converse`) with the options' sampling and re-ask budget;
    ``resolve`` rewrites each valid answer before it is checked (passage ids to their text)."""
    request = ChatRequest(
        messages=tuple(messages),
        schema=schema,
        schema_name=model_cls.__name__,
        temperature=job.options.temperature,
        max_tokens=min(max_tokens or job.options.max_tokens, job.options.max_tokens),
        seed=job.options.seed,
        verbatim_choices=verbatim_choices,
        source_choices=source_choices,
        grammar_schema=grammar_schema,
        repeat_stop=repeat_stop,
        shared_messages=1 + 2 * len(prompt.examples),  # see _messages: a user and an assistant turn each
    )
    validate = validate_as(model_cls)

    def parse(response: ChatResponse) -> tuple[M | None, list[str]]:
        answer, problems = validate(response)
        return (answer if answer is None or resolve is None else resolve(answer)), problems

    conversation = Conversation(
        request=request,
        parse=parse,
        reask=lambda problems: prompt.render("reask", problems=problems),
        check=check,
        max_attempts=max_attempts or job.options.max_attempts,
        model_name=job.llm.name,
        flag_reasks=flag_reasks_of(job.llm),
    )
    return (yield from converse(conversation, job.usage))


class _Locator:
    """Each claim's evidence in one part, located once (:func:`_located`) for the draft check, the review and
    grounding, which all read the same answer."""

    def __init__(self, grounder: Grounder, passages: Passages) -> None:
        self.grounder, self.passages = grounder, passages
        self._known: dict[tuple[str, str | None, tuple[str, ...]], _Located] = {}

    def __call__(self, claim: DraftClaim) -> _Located:
        key = (claim.statement, claim.speaker, tuple(claim.quotes))
        if key not in self._known:
            self._known[key] = _located(claim, self.grounder, self.passages)
        return self._known[key]


@dataclass(frozen=True)
class _Located:
    """A claim's evidence in its part (offsets in the part, each span once), the quotes that are not verbatim, and
    whether its statement says something that evidence does not (:func:`_unsupported`)."""

    evidence: list[Evidence]
    missing: list[str]
    unsupported: bool


def _located(claim: DraftClaim, grounder: Grounder, passages: Passages) -> _Located:
    """A claim located in its part (:class:`_Located`). A statement its cited passages do not state
    (:func:`_unsupported`) but another passage does (:meth:`~summarizer.passages.Passages.stating`) takes that
    passage instead, ``match`` "stated": small models often cite the passage next to the one they restate."""
    evidence: list[Evidence] = []
    missing: list[str] = []
    for quote in claim.quotes:
        spans = grounder.locate(quote)
        if spans is None:
            missing.append(quote)
        else:
            evidence += [ev for ev in spans if ev not in evidence]
    unsupported = bool(evidence) and not missing and _unsupported(claim, evidence)
    if unsupported and (stated := passages.stating(claim.statement)) is not None:
        s, e = passages.spans[passages.ids.index(stated)]
        evidence = [Evidence(text=passages.text[s:e], start=s, end=e, match="stated")]
        unsupported = _unsupported(claim, evidence)
    return _Located(evidence, missing, unsupported)


def _unsupported(claim: DraftClaim, evidence: list[Evidence]) -> bool:
    """Whether a claim's statement says something its evidence does not (:func:`~summarizer.grounding.support`
    below :data:`~summarizer.grounding.SUPPORT_SHARE`, the speaker's words counted as evidence)."""
    said = " ".join([claim.speaker or "", *(ev.text for ev in evidence)])
    return support(claim.statement, said) < SUPPORT_SHARE


def _ground(draft: DraftSummary, locate: _Locator, offset: int,
            checks: ArticleChecks) -> tuple[list[Claim], list[RejectedClaim]]:
    """Locate every quote; a claim is kept only if all its quotes are found verbatim, its statement is what its
    evidence says, and none is planted text. A statement that another passage states (the model cited the one
    before it, say) takes that passage as its evidence, located by the library (``match`` "stated"); one that no
    passage states is rejected. Each kept claim carries the source the article gives for its evidence
    (:mod:`summarizer.attribution`)."""
    claims: list[Claim] = []
    rejected: list[RejectedClaim] = []
    for claim in draft.claims:
        found = locate(claim)
        evidence = [ev.model_copy(update={"start": ev.start + offset, "end": ev.end + offset})
                    for ev in found.evidence]
        view = ClaimView(claim.statement, claim.speaker, tuple((e.start, e.end) for e in evidence))
        if found.missing or not evidence:
            reason = "evidence not found verbatim in the article: " + "; ".join(repr(q) for q in found.missing)
        elif found.unsupported:
            reason = "the statement is not what its evidence says, nor what any passage says"
        elif checks.planted_evidence(view):
            reason = "evidence is text planted in the article to instruct the model (prompt injection), not reporting"
        else:
            reason = ""
        if reason:
            rejected.append(RejectedClaim(statement=claim.statement, speaker=claim.speaker, quotes=claim.quotes,
                                          reason=reason))
            continue
        source = checks.source_of(view)
        attribution = Attribution(text=source.text, start=source.start, end=source.end, name=source.name,
                                  cue=source.cue) if source is not None else None
        claims.append(Claim(statement=claim.statement, speaker=claim.speaker, kind=claim.kind,
                            certainty=claim.certainty, evidence=evidence, attribution=attribution,
                            copies_evidence=copies(claim.statement, " ".join(e.text for e in evidence))))
    return claims, rejected


# -- restate ------------------------------------------------------------------------------------------------------

#: Tokens a restatement may take per statement (a short claim is about 20; a runaway stops here, unusable).
RESTATED_TOKENS = 60
#: A restatement's length under a grammar: this share of the copy's characters plus room for its speaker's name
#: (a short quotation becomes "<speaker> says ..."), within these bounds (a claim of a dozen words is about 70
#: characters), and at least the lower bound free beside each text it must keep. It only stops a runaway: a
#: restatement that reaches it was cut off, and is not kept.
RESTATED_SHARE = 1.0
RESTATED_CHARS = (60, 200)
#: A restatement may grow past its copy by its speaker's name and no more: a quotation's "I" or "we" becomes who
#: said it ("I filled up a bucket" -> "Frank Jordan filled up a bucket"), and a long copy said again at length is
#: fine so long as it is no copy (see :func:`_not_restated`).
RESTATE_ROUNDS = 2
#: Answers per round. Sending an answer back with what is wrong with each restatement (the copy repeated, words the
#: sentence does not have, cut off) was measured and is off: replayed on 29 copies of an attribution-suite run, no
#: restatement was usable after a re-ask that was not before, and the re-asks cost 1 min 49 s over 11 articles.
RESTATE_ATTEMPTS = 1
#: Words a sentence does not end on: a restatement ending on one was cut off ("..., but a", "..., but it's").
_DANGLING = frozenset("""a an the and or but nor of to in on at by for with from as than that which who whose his her
its their our my your this these those is are was were be been has have had will would can could may might it's
that's there's he's she's they're we're i'm i'll you'll he'll she'll it'll we'll they'll""".split())  # noqa: SIM905
_WORD = re.compile(r"[\w'’-]+")
_ELLIPSIS = ("...", "\u2026")
#: A restatement garbled in the writing: a word run into what follows its comma ("extradited back,3 charges").
_RUN_TOGETHER = re.compile(r"[^\W\d],\w")
#: ... or a run of this many words written twice ("... of a student in Utah ... of a student in Utah").
REPEATED_WORDS = 5
#: Fewer words than this are no claim ("Promise", of a sentence about Promise's make-up).
MIN_RESTATED_WORDS = 3
#: A word at least this long that the sentence does not have but two of its words make, run together
#: ("jarringbur", "permanentbasis"): the default model drops a space and cuts the second word short.
_FUSED_LENGTH = 8
#: Pronouns a speaker's name may stand for ("he is seen throwing a chair" -> "A video shows Tom Bell throwing ...").
_PERSONAL = frozenset("i we he she they me us him her them my our his their".split())  # noqa: SIM905
#: Verbs that name who says something: the speaker's name before one of them is who says it, not who did it.
_NAMING = frozenset({*SPEECH_VERBS, "states", "think", "thinks", "thought", "according"})
_NAME_WORD = re.compile(r"\b[A-Z]\w+")


def _restate(job: _Job, claims: list[Claim]) -> Steps[list[Claim]]:
    """Claims whose statement copies its evidence sentence, said again in the summary's own words: short calls that
    see only those statements and their speakers (never the article). A new statement is kept only if it is a
    sentence of its own, no copy, says no more than its evidence (:func:`~summarizer.grounding.restates`: no new
    number, its words the evidence's), and the checks find nothing in it they did not find in the old one (a figure
    or a hedge dropped); see :func:`_not_restated`. The prompt shows worked examples as chat turns
    (``prompts/restate/examples.json``). Each answer is taken as it is (:data:`RESTATE_ATTEMPTS`); the copies left
    are asked once more on their own (:data:`RESTATE_ROUNDS`: fewer statements, so each answer lines up with its
    sentence). Whatever is still a copy then, or if no answer is usable, stays grounded and marked
    ``copies_evidence``."""
    out = list(claims)
    for _ in range(RESTATE_ROUNDS):
        copied = [i for i, c in enumerate(out) if c.copies_evidence]
        if not copied:
            break
        try:
            restated = yield from _restated(job, [out[i] for i in copied])
        except OutputError:
            break
        for i, new in zip(copied, restated, strict=True):
            out[i] = new or out[i]
    return out


def _restated(job: _Job, claims: list[Claim]) -> Steps[list[Claim | None]]:
    """One conversation: each of ``claims`` with its statement said again, or None where no answer gave a usable
    restatement (:class:`OutputError` if no answer was valid JSON with one statement for each claim)."""
    prompt = Prompt.load("restate")
    items = [{"statement": c.statement, "speaker": c.speaker} for c in claims]
    schema = _restated_schema(len(claims))
    bounds = [_restated_bound(c, _restated_needs(c)) for c in claims]
    kept: list[Claim | None] = [None] * len(claims)

    def check(answer: Restated) -> tuple[list[str], list[str]]:
        if len(answer.statements) != len(claims):
            return [f"give exactly {len(claims)} statements, not {len(answer.statements)}"], []
        problems = []
        for n, (statement, old) in enumerate(zip(answer.statements, claims, strict=True)):
            if kept[n] is not None:
                continue
            why = _not_restated(statement, old, bounds[n])
            if why is None:
                new = old.model_copy(update={"statement": " ".join(unmarked(statement).split()),
                                             "copies_evidence": False})
                extra = _findings(job, new) - _findings(job, old)
                why = f"it drops what the sentence keeps ({', '.join(sorted(k for k, _ in extra))})" if extra else None
            if why is None:
                kept[n] = new
            else:
                log.debug("restatement of %r not kept (%s): %r", old.statement[:60], why, statement)
                problems.append(f"claim {n + 1}: {why}")
        return problems, []

    answer = (yield from _ask(job, prompt, _messages(prompt, Restated, items=items), Restated, schema, check,
                              grammar_schema=lambda: _restated_grammar(schema, claims),
                              max_attempts=RESTATE_ATTEMPTS, max_tokens=RESTATED_TOKENS * len(claims) + 32)).value
    if len(answer.statements) != len(claims):
        raise OutputError(f"{len(answer.statements)} restatements of {len(claims)} statements",  # which is which?
                          attempts=RESTATE_ATTEMPTS)
    return kept


def _not_restated(restated: str, old: Claim, bound: int) -> str | None:
    """Why ``restated`` cannot replace ``old``'s copied statement, worded for the model (a re-ask, when
    :data:`RESTATE_ATTEMPTS` allows one) and the debug log (None: it can, unless the checks find something new in
    it): empty, cut off (at the bound, on a word that needs another, inside a word), no sentence (too few words, more
    than one), garbled (an ellipsis, words run together or said twice, letters the sentence does not have), the
    speaker's name put in place of the sentence's subject, a copy again, more than the copy said (a number, words
    of another passage), or longer than the copy and its speaker's name."""
    statement = " ".join(unmarked(restated).split())
    evidence = " ".join(e.text for e in old.evidence)
    speaker = old.speaker or ""
    words = _WORD.findall(statement.lower())
    if not words:
        return "it is empty"
    known = {w.lower() for w in _WORD.findall(f"{old.statement} {evidence} {speaker}")}
    ended = statement.endswith((".", "!", "?"))
    if (len(restated) >= bound and not ended) or words[-1].replace("\u2019", "'") in _DANGLING or \
            (not ended and _cut_word(words[-1], known)):
        return "it is cut off: write a shorter sentence and finish it"
    if not (statement[0].isupper() or statement[0].isdigit()):
        return "it is not a sentence of its own: start it with who or what it is about"
    if len(words) < MIN_RESTATED_WORDS:
        return "it is no sentence: say who did what"
    if len(sentence_spans(statement)) > len(sentence_spans(old.statement)):
        return "it is more than one sentence: write one"
    if any(ord(ch) > 0x7F and ch not in old.statement + speaker + evidence
           and ch not in "\u2018\u2019\u201c\u201d\u2013\u2014" for ch in statement):
        return "it has letters the sentence does not have: write in the sentence's language"
    if any(e in statement and e not in old.statement for e in _ELLIPSIS):
        return "it leaves words out with an ellipsis: write a whole sentence"
    if (_RUN_TOGETHER.search(statement) and not _RUN_TOGETHER.search(old.statement)) or \
            any(_fused(w, known) for w in words):
        return "it runs words together: write a whole sentence"
    if (moved := figure_moved(statement, evidence)) is not None:
        return f"it gives {moved}: keep each figure with what the sentence says of it"
    if (who := _speaker_as_subject(statement, old.statement, evidence, speaker)) is not None:
        return (f"it makes {who} do what the sentence does not say they do: keep the sentence's subject, and name "
                f"the speaker only as who says it")
    runs = [tuple(words[i : i + REPEATED_WORDS]) for i in range(len(words) - REPEATED_WORDS + 1)]
    if len(set(runs)) < len(runs):
        return "it says the same words twice"
    if copies(statement, evidence):
        return "it repeats the sentence nearly word for word: say who did what in at most 12 words of your own"
    if not restates(statement, f"{speaker} {evidence}"):
        new = new_words(statement, f"{speaker} {evidence}")
        return ("it says what the sentence does not" + (f" ({', '.join(repr(w) for w in new[:4])})" if new else "")
                + ": use only what the sentence says")
    if len(statement) > len(old.statement) + len(speaker) + len(" says"):
        return "it is longer than the sentence: at most 12 words"
    return None


def _cut_word(word: str, known: set[str]) -> bool:
    """Whether ``word`` is the start of a word of the sentence cut short ("social med", "will be gunn")."""
    return word not in known and any(len(k) > len(word) and k.startswith(word) for k in known)


def _fused(word: str, known: set[str]) -> bool:
    """Whether ``word``, which the sentence does not have, is two of its words run together, the second perhaps cut
    short ("permanentbasis", "jarringbur")."""
    if len(word) < _FUSED_LENGTH or word in known or not word.isalpha():
        return False
    return any(word[:i] in known and (word[i:] in known or (len(word) - i >= 3 and _cut_word(word[i:], known)))
               for i in range(3, len(word) - 1))


def _speaker_as_subject(statement: str, sentence: str, evidence: str, speaker: str) -> str | None:
    """The speaker's name, where a restatement puts it in place of what ``sentence`` is about: capitalised words only
    the speaker has (not the sentence nor its evidence), the last not followed by a verb that says who speaks ("Rita Ora
    performs ...", of "Ms Moon performs ..." with a speaker misread), unless the sentence names the speaker itself
    ("Steve Harley met ...", of "Mr Harley met ...") or has a pronoun the name stands for ("A video shows Tom Bell
    throwing ...", of "he is seen throwing ..."). None: it does not."""
    own = set(content_words(speaker)) - set(content_words(f"{sentence} {evidence}"))
    if not own or _PERSONAL & {w.lower() for w in _WORD.findall(sentence)}:
        return None
    names = {w for w in _NAME_WORD.findall(speaker) if len(w) > 2 and w.lower() not in GENERIC}
    if names & set(_NAME_WORD.findall(f"{sentence} {evidence}")):
        return None
    tokens = _WORD.findall(statement)
    at = [i for i, t in enumerate(tokens) if t[0].isupper() and own.intersection(content_words(t)[:1])]
    if not at or (at[-1] + 1 < len(tokens) and tokens[at[-1] + 1].lower() in _NAMING):
        return None
    return speaker


def _findings(job: _Job, claim: Claim) -> set[tuple[str, str]]:
    """What the checks find in one claim on its own: (kind, the field's last part)."""
    return {(f.kind.value, f.field.rsplit(".", 1)[-1]) for f in job.checks.review("", "", [_view(claim)])}


@cache
def _restated_schema(count: int) -> dict[str, Any]:
    schema = copy.deepcopy(_json_schema(Restated))
    schema["properties"]["statements"].update(minItems=count, maxItems=count)
    return schema


def _restated_needs(claim: Claim) -> list[list[str]]:
    """What a restatement must keep (see :func:`_restated_grammar`)."""
    evidence = " ".join(e.text for e in claim.evidence)
    needs: list[list[str]] = []
    figures = extract_numbers(claim.statement)
    if figures:
        needs.append(cased([qualified_figures(evidence).get(figures[0].value, figures[0].text)]))
    if cues(evidence):
        needs.append(cased([*(c.text for c in cues(evidence)), *KEEPS]))
    return needs


def _restated_bound(claim: Claim, needs: list[list[str]]) -> int:
    """The most characters a restatement of ``claim`` may take under a grammar (:data:`RESTATED_SHARE`), room
    beside what it must keep (``needs``, :func:`_restated_needs`) included."""
    room = int(RESTATED_SHARE * len(claim.statement)) + len(claim.speaker or "") + len(" says ")
    bound = max(RESTATED_CHARS[0], min(RESTATED_CHARS[1], room))
    return max(bound, sum(max(map(len, n)) for n in needs) + RESTATED_CHARS[0] * len(needs))


def _restated_grammar(schema: dict[str, Any], claims: list[Claim]) -> dict[str, Any]:
    """The restatement's schema for a grammar: one string per claim with its first figure as written (qualifier
    included) and, where its evidence is hedged, a cue or whose word it is, at most :func:`_restated_bound`
    characters."""
    items = []
    for claim in claims:
        needs = _restated_needs(claim)
        item: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": _restated_bound(claim, needs),
                                PLAIN_KEY: LATIN if is_latin(claim.statement + (claim.speaker or "")) else True}
        if needs:
            item[CONTAINS_KEY] = needs
        items.append(item)
    plain = plain_schema(schema)
    statements = {**plain["properties"]["statements"], "prefixItems": items, "items": False}
    return {**plain, "properties": {**plain["properties"], "statements": statements}}


# -- merge --------------------------------------------------------------------------------------------------------


def _overview(job: _Job, parts: list[_PartResult]) -> Steps[tuple[str, str]]:
    """Headline and summary: the part's own, or one merged from every part's (its numbers checked like a part's)."""
    if len(parts) == 1:
        return parts[0].draft.headline, parts[0].draft.summary
    prompt = Prompt.load("merge")
    messages = _messages(prompt, DraftOverview, parts=[p.draft for p in parts])

    def check(draft: DraftOverview) -> tuple[list[str], list[str]]:
        return _problems(job.checks.review(draft.headline, draft.summary, []))

    merged = (yield from _ask(job, prompt, messages, DraftOverview, _json_schema(DraftOverview), check)).value
    _refuse_injection(job, job.checks.review(merged.headline, merged.summary, []))
    return merged.headline, merged.summary


def _dedupe(claims: list[Claim]) -> list[Claim]:
    """Drop repeats across parts: the same statement. Claims that share evidence stay (a lede that carries a figure,
    a source and a hedge yields several claims on the same sentence)."""
    seen: set[str] = set()
    out: list[Claim] = []
    for claim in claims:
        statement = " ".join(claim.statement.casefold().split())
        if statement not in seen:
            seen.add(statement)
            out.append(claim)
    return out
