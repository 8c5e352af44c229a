"""Turning a Summary into text for people: plain terminal text and Markdown (the CLI's job, not the library's)."""

from __future__ import annotations

from .schema import Claim, Flag, Summary


def _who(claim: Claim) -> str:
    return claim.speaker or "the article"


def _source(claim: Claim) -> str:
    """What the library read: who the article gives the evidence to."""
    a = claim.attribution
    return f"article: {a.name} ({a.cue})" if a is not None else "article: its own voice"


def _copy(claim: Claim) -> str:
    return " · copies its evidence" if claim.copies_evidence else ""


def _claim_flags(summary: Summary, index: int) -> list[Flag]:
    return [f for f in summary.flags if f.claim == index]


def provenance_line(summary: Summary) -> str:
    p = summary.provenance
    source = "cache" if p.cached else f"{p.latency_s:.1f} s"
    return (
        f"{p.model} · {p.prompt_version} · {p.attempts} call(s) · {p.prompt_tokens}+{p.completion_tokens} tokens"
        f" · {source}" + (f" · {p.parts} parts" if p.parts > 1 else "")
    )


def to_markdown(summary: Summary) -> str:
    lines = [f"# {summary.headline}", "", summary.summary, "", f"## Claims ({len(summary.claims)})", ""]
    for i, claim in enumerate(summary.claims, 1):
        lines.append(f"{i}. {claim.statement}  ")
        lines.append(f"   *{_who(claim)}* · {claim.kind.value} · {claim.certainty.value} · {_source(claim)}"
                     f"{_copy(claim)}")
        for ev in claim.evidence:
            lines.append(f"   > {ev.text} `[{ev.start}:{ev.end}]`")
        for f in _claim_flags(summary, i - 1):
            lines.append(f"   - **{f.kind.value}**: `{f.text}` — {f.reason}")
        lines.append("")
    if summary.rejected_claims:
        lines += [f"## Rejected claims ({len(summary.rejected_claims)})", ""]
        for r in summary.rejected_claims:
            lines.append(f"- ~~{r.statement}~~ — {r.reason}")
        lines.append("")
    if summary.flags:
        lines += [f"## Not verified ({len(summary.flags)})", ""]
        lines += [f"- {f.kind.value} · {f.field}: `{f.text}` — {f.reason}" for f in summary.flags]
        lines.append("")
    lines.append(f"<sub>{provenance_line(summary)}</sub>")
    return "\n".join(lines) + "\n"


def to_rich(summary: Summary) -> list[object]:
    """Renderables for a rich Console."""
    from rich.markup import escape
    from rich.text import Text

    out: list[object] = [Text(summary.headline, style="bold"), Text(summary.summary), Text("")]
    out.append(Text(f"Claims ({len(summary.claims)} grounded, {len(summary.rejected_claims)} rejected)",
                    style="bold underline"))
    for i, claim in enumerate(summary.claims, 1):
        out.append(Text.from_markup(
            f"{i:>2}. {escape(claim.statement)}\n    [cyan]{escape(_who(claim))}[/] · {claim.kind.value} · "
            f"[yellow]{claim.certainty.value}[/] · [dim]{escape(_source(claim))}{_copy(claim)}[/]"
        ))
        for ev in claim.evidence:
            out.append(Text.from_markup(f"    [dim]“{escape(ev.text)}” [{ev.start}:{ev.end}][/]"))
        for f in _claim_flags(summary, i - 1):
            out.append(Text.from_markup(f"    [red]? {f.kind.value}[/]: {escape(f.reason)}"))
    for r in summary.rejected_claims:
        out.append(Text.from_markup(f"  [red]✗[/] {escape(r.statement)} [dim]({escape(r.reason)})[/]"))
    for f in summary.flags:
        if f.claim is None:
            out.append(Text.from_markup(f"  [red]? {f.kind.value}[/] {escape(f.field)}: “{escape(f.text)}” "
                                        f"[dim]({escape(f.reason)})[/]"))
    out.append(Text(""))
    out.append(Text(provenance_line(summary), style="dim"))
    return out
