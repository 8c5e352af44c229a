"""``grounding``, ``attribution`` and ``copies``: checks on a summary's claims and their evidence."""

from __future__ import annotations

import re

from ...grounding import copies as copies_evidence
from .base import Context, Score, no_claims, register

_GENERIC = {"The", "US", "U.S.", "UK", "UN", "A", "An", "Mr", "Mrs", "Ms", "Dr", "President", "Secretary",
            "Minister", "Spokesman", "Spokeswoman", "Officials", "Official", "Senior"}
_STOP = {"the", "a", "an", "of", "and", "for", "to", "in", "on", "at", "s", "its", "their", "his", "her", "by"}


@register("grounding", "Share of claims whose evidence the library located verbatim in the article (rejected "
          "claims count against it; every span is re-checked against the article).")
def grounding(ctx: Context) -> Score:
    assert ctx.summary is not None
    if (skip := no_claims(ctx, "evidence")) is not None:
        return skip
    article = ctx.case.article
    bad = [i for i, c in enumerate(ctx.summary.claims, 1)
           if not c.evidence or any(article[e.start : e.end] != e.text for e in c.evidence)]
    grounded = len(ctx.summary.claims) - len(bad)
    total = len(ctx.summary.claims) + len(ctx.summary.rejected_claims)
    text = f"{grounded} of {total} claims grounded verbatim"
    if ctx.summary.rejected_claims:
        text += f"; {len(ctx.summary.rejected_claims)} rejected (evidence not found)"
    if bad:
        text += f"; evidence of claim(s) {', '.join(map(str, bad))} is not at its offsets"
    return Score(value=grounded / total, explanation=text + ".",
                 details={"grounded": grounded, "rejected": len(ctx.summary.rejected_claims), "misplaced": bad})


@register("copies", "Share of claims whose statement merely repeats a sentence of its evidence "
          "(Claim.copies_evidence: 80 % of the sentence's words, in order) instead of one claim in the summary's "
          "own words. Lower is better.", better="lower")
def copies(ctx: Context) -> Score:
    assert ctx.summary is not None
    if (skip := no_claims(ctx, "statement")) is not None:
        return skip
    claims = ctx.summary.claims
    copied = [i for i, c in enumerate(claims, 1)
              if copies_evidence(c.statement, " ".join(e.text for e in c.evidence))]
    text = f"{len(copied)} of {len(claims)} statements repeat their evidence"
    if copied:
        text += f" (claim(s) {', '.join(map(str, copied))})"
    return Score(value=len(copied) / len(claims), explanation=text + ".", details={"copied": copied})


def _name_keys(speaker: str) -> tuple[list[str], list[str]]:
    """The speaker's name words to look for: the last word of each run of capitalised words ("Kirby" in "John
    Kirby, National Security Council spokesman"), and, when it names no one, its content words."""
    runs = re.findall(r"[A-Z][\w.\-]*(?:\s+[A-Z][\w.\-]*)*", speaker)
    keys = []
    for run in runs:
        words = [w for w in run.split() if w not in _GENERIC]
        if words and len(words[-1].rstrip(".")) >= 3:
            keys.append(words[-1].rstrip("."))
    content = [w for w in re.findall(r"[a-z]+", speaker.lower()) if w not in _STOP and len(w) > 2]
    return keys, content


def _window(article: str, start: int, end: int) -> str:
    """The evidence's paragraph. Not a character window: in news copy the next paragraph is often another
    speaker's ("Kirby said …" / "Austin said …"), and a window would credit either with both."""
    para_start = article.rfind("\n", 0, start) + 1
    para_end = article.find("\n", end)
    para_end = len(article) if para_end < 0 else para_end
    return article[para_start:para_end]


@register("attribution", "For claims with a speaker: share whose speaker is named in or next to the evidence "
          "(the evidence's own paragraph).")
def attribution(ctx: Context) -> Score:
    assert ctx.summary is not None
    if (skip := no_claims(ctx, "speaker")) is not None:
        return skip
    spoken = [(i, c) for i, c in enumerate(ctx.summary.claims, 1) if c.speaker]
    if not spoken:
        return Score(value=None, explanation="Nothing to check: no claim has a speaker (all are the article's own).")
    results = []
    for i, claim in spoken:
        assert claim.speaker is not None
        keys, content = _name_keys(claim.speaker)
        windows = [_window(ctx.case.article, e.start, e.end) for e in claim.evidence]
        if keys:
            ok = any(re.search(rf"\b{re.escape(k)}\b", w) for k in keys for w in windows)
        else:
            ok = bool(content) and any(all(word in w.lower() for word in content) for w in windows)
        results.append({"claim": i, "speaker": claim.speaker, "looked_for": keys or content, "named": ok})
    good = sum(bool(r["named"]) for r in results)
    text = f"{good} of {len(results)} speakers named next to their evidence"
    wrong = [f"claim {r['claim']} ({r['speaker']})" for r in results if not r["named"]]
    if wrong:
        text += "; not found: " + ", ".join(wrong[:4])
    return Score(value=good / len(results), explanation=text + ".", details={"claims": results})
