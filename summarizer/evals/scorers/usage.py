"""``latency``, ``tokens``, ``cost``, ``attempts`` and ``valid``: what producing the summary took.

Figures come from the summary's provenance, so a summary served from the cache reports what it cost when it was
made (``details.cached`` says so).
"""

from __future__ import annotations

from typing import Any

from ...models.pricing import price
from .base import Context, Score, register


def _cached(ctx: Context) -> dict[str, Any]:
    assert ctx.summary is not None
    return {"cached": ctx.summary.provenance.cached}


@register("latency", "Seconds to produce the summary (as measured when it was made).", better="lower")
def latency(ctx: Context) -> Score:
    assert ctx.summary is not None
    p = ctx.summary.provenance
    note = " (served from the cache now)" if p.cached else ""
    return Score(value=p.latency_s, explanation=f"{p.latency_s:.2f} s{note}.", details=_cached(ctx))


@register("tokens", "Prompt + completion tokens over every model call (re-asks included).", better="lower")
def tokens(ctx: Context) -> Score:
    assert ctx.summary is not None
    p = ctx.summary.provenance
    if ctx.baseline:
        return Score(value=0.0, explanation=f"{ctx.system} is a baseline: no model call.")
    return Score(value=float(p.prompt_tokens + p.completion_tokens),
                 explanation=f"{p.prompt_tokens} prompt + {p.completion_tokens} completion tokens.",
                 details={"prompt": p.prompt_tokens, "completion": p.completion_tokens, **_cached(ctx)})


@register("cost", "US dollars for the tokens, from a per-model price table (0 for in-process models and "
          "baselines).", better="lower", options=("prices",))
def cost(ctx: Context) -> Score:
    assert ctx.summary is not None
    p = ctx.summary.provenance
    if ctx.baseline:
        return Score(value=0.0, explanation=f"{ctx.system} runs locally: free.")
    prices = ctx.options.get("prices") or {}  # the suite's own table: {model: {prompt: $, completion: $}}
    extra = {name: (float(v["prompt"]), float(v["completion"])) for name, v in prices.items()}
    per_million = price(p.model, p.endpoint, extra=extra)
    if per_million is None:
        return Score(value=None, explanation=f"Cannot judge: no price for {p.model}; add it to the suite's "
                                             "`prices:` (dollars per million prompt/completion tokens).")
    if p.endpoint is None:
        return Score(value=0.0, explanation=f"{ctx.system} runs locally: free.")
    prompt, completion = per_million
    dollars = (p.prompt_tokens * prompt + p.completion_tokens * completion) / 1e6
    return Score(value=dollars, explanation=f"${dollars:.6f} at ${prompt}/${completion} per million tokens.",
                 details={"price_prompt": prompt, "price_completion": completion, **_cached(ctx)})


@register("attempts", "Model calls made (1 = valid and grounded first time; more = re-asks or a long article's "
          "parts).", better="lower")
def attempts(ctx: Context) -> Score:
    assert ctx.summary is not None
    p = ctx.summary.provenance
    if ctx.baseline:
        return Score(value=None, explanation=f"Not applicable: {ctx.system} is a baseline and calls no model.")
    return Score(value=float(p.attempts), explanation=f"{p.attempts} call(s) for {p.parts} part(s).",
                 details={"parts": p.parts})


@register("valid", "1 if the model's output was schema-valid (first try or after re-asks), 0 if it stayed invalid.",
          handles_errors=True)
def valid(ctx: Context) -> Score:
    if ctx.summary is None:
        error = ctx.error
        if error is not None and error.type == "OutputError":
            return Score(value=0.0, explanation=f"Invalid output after every re-ask: {error.message}",
                         details={"first_try": False})
        why = f"{error.type}: {error.message}" if error else "no summary"
        return Score(value=None, explanation=f"Cannot judge: no output to validate ({why}).")
    if ctx.baseline:
        return Score(value=None, explanation=f"Not applicable: {ctx.system} is a baseline, not model output.")
    p = ctx.summary.provenance
    first = p.attempts <= p.parts
    text = "Valid on the first try." if first else f"Valid after re-asks ({p.attempts} calls for {p.parts} part(s))."
    return Score(value=1.0, explanation=text, details={"first_try": first, "attempts": p.attempts})
