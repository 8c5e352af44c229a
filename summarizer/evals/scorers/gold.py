"""Gold checks (``number``, ``quote``, ``hedge``) evaluated on a summary, and the ``gold`` scorer.

A summary *mentions* a check when one of its statements does: a claim (statement, with its speaker and certainty;
for quotes, also its evidence, when the statement shares a word with the phrase: evidence that runs captions
together holds other speakers' phrases too) or a sentence of the headline or summary. Each check ends up:

- ``pass``: mentioned, and every mention that names a source names the right one (and keeps the qualifier / hedge);
- ``fail``: mentioned, but given to another source, unattributed, stripped of its qualifier, or stated flatly;
- ``missing``: not mentioned (lowers recall, reported by ``coverage``; not an error).

Who a sentence attributes a number or phrase to is the nearest source name around it, among every source the case's
checks name — so "Zelensky said 10,000 ... the White House said 3,000" is read correctly sentence by sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from ...grounding import sentences, support
from ...numbers import extract_numbers, parse_number, same
from ...schema import Certainty, Summary
from ..suite import Case, GoldCheck
from .base import Context, Score, register

Status = Literal["pass", "fail", "missing"]

HEDGE_CUES = re.compile(
    r"\b(may|might|could|would|possibl\w*|probab\w*|likely|unlikely|unclear|not yet|assess\w*|believ\w*|"
    r"uncertain|whether|reportedly|appear\w*|seem\w*|suggest\w*|potential\w*|if|"
    r"left to be seen|unconfirmed|alleg\w*|hope[sd]?|hoping|expect\w*|predict\w*|forecast\w*)\b",
    re.IGNORECASE,
)


class CheckResult(BaseModel):
    id: str
    type: str
    status: Status
    explanation: str
    mentions: list[str] = []


@dataclass(frozen=True)
class _Mention:
    where: str  # "claim 2" / "summary" / "headline"
    text: str
    speaker: str | None  # a claim's speaker; None for sentences or unattributed claims
    certainty: Certainty | None
    evidence: str = ""


def _mentions(summary: Summary) -> list[_Mention]:
    out = [_Mention("headline", summary.headline, None, None)]
    out += [_Mention("summary", s, None, None) for s in sentences(summary.summary)]
    out += [_Mention(f"claim {i}", c.statement, c.speaker, c.certainty, " ".join(e.text for e in c.evidence))
            for i, c in enumerate(summary.claims, 1)]
    return out


def _alias_pattern(alias: str) -> re.Pattern[str]:
    flags = 0 if (alias.isupper() and len(alias) <= 4) else re.IGNORECASE
    return re.compile(rf"(?<!\w){re.escape(alias)}(?!\w)", flags)


def _nearest_source(text: str, pos: int, sources: dict[str, list[str]]) -> tuple[str, str] | None:
    """(check id, name) of the source name nearest ``pos`` in ``text``."""
    best: tuple[int, str, str] | None = None
    for check_id, aliases in sources.items():
        for alias in aliases:
            for m in _alias_pattern(alias).finditer(text):
                distance = min(abs(m.start() - pos), abs(m.end() - pos))
                if best is None or distance < best[0]:
                    best = (distance, check_id, m.group())
    return (best[1], best[2]) if best else None


def _names(aliases: list[str], text: str) -> bool:
    return any(_alias_pattern(a).search(text) for a in aliases)


def _attribution(check: GoldCheck, mention: _Mention, pos: int, sources: dict[str, list[str]]) -> str:
    """'right', 'wrong:<who>' or 'none' for an occurrence at ``pos`` in the mention's text.

    A claim's speaker decides for the claim; in a sentence, the nearest source name does.
    """
    if mention.speaker:
        return "right" if _names(check.sources, mention.speaker) else f"wrong:{mention.speaker}"
    nearest = _nearest_source(mention.text, pos, sources)
    if nearest is None:
        return "none"
    who, name = nearest
    same_source = who == check.id or bool({a.lower() for a in sources[who]} & {a.lower() for a in check.sources})
    return "right" if same_source or _names(check.sources, name) else f"wrong:{name}"


def _occurrences(check: GoldCheck, mention: _Mention) -> list[int]:
    if check.type == "number":
        target = parse_number(check.text or "")
        return [n.start for n in extract_numbers(mention.text) if target is not None and same(n.value, target)]
    if check.type in ("quote", "own"):
        phrase = _alias_pattern(check.text or "")
        hits = [m.start() for m in phrase.finditer(mention.text)]
        if not hits and mention.speaker and phrase.search(mention.evidence) and \
                support(check.text or "", mention.text) > 0:
            hits = [0]  # a paraphrase of the phrase its evidence holds ("Kirby calls it a sign of weakness")
        return hits
    return [m.start() for t in check.topic for m in re.finditer(re.escape(t), mention.text, re.IGNORECASE)][:1]


def _hedged(mention: _Mention) -> bool:
    if mention.certainty is not None and mention.certainty != Certainty.ASSERTED:
        return True
    return bool(HEDGE_CUES.search(mention.text))


def evaluate(check: GoldCheck, mentions: list[_Mention], sources: dict[str, list[str]]) -> CheckResult:
    found: list[tuple[_Mention, str]] = []
    for mention in mentions:
        for pos in _occurrences(check, mention):
            if check.type == "hedge":
                verdict = "right" if _hedged(mention) else "flat"
            elif check.type == "own":  # the article's own words: no one said them
                verdict = f"wrong:{mention.speaker}" if mention.speaker else "right"
            else:
                verdict = _attribution(check, mention, pos, sources)
                if verdict == "right" and check.qualifier:
                    window = mention.text[max(0, pos - 30) : pos].lower()
                    verdict = "right" if check.qualifier.lower() in window else "unqualified"
            found.append((mention, verdict))
    where = [f"{m.where}: {v}" for m, v in found]
    label = check.text or "/".join(check.topic)
    if not found:
        return CheckResult(id=check.id, type=check.type, status="missing", explanation=f"{label!r} not mentioned.")
    wrong = [(m, v) for m, v in found if v.startswith("wrong:")]
    if wrong:
        m, v = wrong[0]
        return CheckResult(id=check.id, type=check.type, status="fail", mentions=where,
                           explanation=f"{label!r} given to {v.removeprefix('wrong:')} in {m.where}.")
    if check.type == "hedge":
        flat = [m for m, v in found if v == "flat"]
        if flat:
            return CheckResult(id=check.id, type=check.type, status="fail", mentions=where,
                               explanation=f"stated without a hedge in {flat[0].where}.")
        return CheckResult(id=check.id, type=check.type, status="pass", mentions=where,
                           explanation=f"{label!r} kept hedged ({len(found)} mention(s)).")
    right = [m for m, v in found if v == "right"]
    if right:
        return CheckResult(id=check.id, type=check.type, status="pass", mentions=where,
                           explanation=f"{label!r} attributed to the right source in {right[0].where}.")
    reason = "without its qualifier " + repr(check.qualifier) if any(v == "unqualified" for _, v in found) \
        else "without a source"
    return CheckResult(id=check.id, type=check.type, status="fail", mentions=where,
                       explanation=f"{label!r} stated {reason} in {found[0][0].where}.")


def evaluate_checks(case: Case, summary: Summary) -> list[CheckResult]:
    sources = {c.id: c.sources for c in case.checks if c.sources}
    mentions = _mentions(summary)
    return [evaluate(check, mentions, sources) for check in case.checks]


def misattributed_numbers(case: Case, summary: Summary) -> list[tuple[float, str]]:
    """(value, explanation) for every gold number the summary gives to the wrong source."""
    out: list[tuple[float, str]] = []
    for check, result in zip(case.checks, evaluate_checks(case, summary), strict=True):
        value = parse_number(check.text or "") if check.type == "number" else None
        if value is not None and result.status == "fail" and "given to" in result.explanation:
            out.append((value, result.explanation))
    return out


@register("gold", "Share of the gold checks the summary mentions that it gets right (source, qualifier, hedge); "
          "per-check results in details.")
def gold(ctx: Context) -> Score:
    assert ctx.summary is not None
    if not ctx.case.checks:
        return Score(value=None, explanation="Nothing to check: this case has no gold checks.")
    results = evaluate_checks(ctx.case, ctx.summary)
    passed = sum(r.status == "pass" for r in results)
    failed = [r for r in results if r.status == "fail"]
    mentioned = passed + len(failed)
    details = {"checks": [r.model_dump() for r in results], "passed": passed, "failed": len(failed),
               "missing": len(results) - mentioned, "recall": passed / len(results)}
    if not mentioned:
        return Score(value=None, explanation=f"None of the {len(results)} gold checks is mentioned.", details=details)
    text = f"{passed} of {mentioned} mentioned checks right ({len(results) - mentioned} not mentioned)"
    if failed:
        text += "; wrong: " + "; ".join(f"{r.id}: {r.explanation}" for r in failed[:3])
    return Score(value=passed / mentioned, explanation=text + ".", details=details)
