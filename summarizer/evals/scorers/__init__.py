"""Scorers, registered by name; a suite picks them with options. See :mod:`.base` for the record they return."""

from __future__ import annotations

from .base import REGISTRY, BoundScorer, CaseError, Context, Score, ScorerDef, build_scorers, register


def load_all() -> None:
    """Import every scorer family (each registers its scorers on import)."""
    from . import claims, gold, injection, numbers, overlap, support, usage  # noqa: F401


load_all()

__all__ = ["REGISTRY", "BoundScorer", "CaseError", "Context", "Score", "ScorerDef", "build_scorers", "load_all",
           "register"]
