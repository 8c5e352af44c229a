"""What a model call costs: US dollars per million prompt and completion tokens, where known.

In-process models (embedded, scripted: no endpoint) cost nothing. Endpoint prices are a table of OpenAI's published
prices by model name; a caller's own table (a suite's ``prices:``) adds to or overrides it. An endpoint model not in
either is *unknown* (None), not free.
"""

from __future__ import annotations

from collections.abc import Mapping

#: US dollars per million (prompt, completion) tokens, by ``provider/model`` name.
PRICES: dict[str, tuple[float, float]] = {
    "openai/gpt-4o-mini": (0.15, 0.60),
    "openai/gpt-4o": (2.50, 10.00),
    "openai/gpt-4.1": (2.00, 8.00),
    "openai/gpt-4.1-mini": (0.40, 1.60),
    "openai/gpt-4.1-nano": (0.10, 0.40),
}


def price(model: str, endpoint: str | None, extra: Mapping[str, tuple[float, float]] | None = None,
          ) -> tuple[float, float] | None:
    """Dollars per million (prompt, completion) tokens for ``model``; (0, 0) in-process; None if unknown."""
    if endpoint is None:
        return (0.0, 0.0)
    table = {**PRICES, **(extra or {})}
    return table.get(model)


def cost_usd(model: str, endpoint: str | None, prompt_tokens: int, completion_tokens: int,
             extra: Mapping[str, tuple[float, float]] | None = None) -> float | None:
    """The dollars these tokens cost on ``model``, or None where its price is not known."""
    per_million = price(model, endpoint, extra)
    if per_million is None:
        return None
    return (prompt_tokens * per_million[0] + completion_tokens * per_million[1]) / 1e6
