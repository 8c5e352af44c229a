"""What every scorer returns, what it is given, and the registry suites pick scorers from by name."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from ...schema import Summary
from ..suite import Case, ScorerSpec, SuiteError

Direction = Literal["higher", "lower", "none"]


class Score(BaseModel):
    """One scorer's verdict on one summary: ``value`` (None with the reason when it cannot judge; never NaN)."""

    value: float | None
    explanation: str
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("a score is a finite number or None")
        return value


class CaseError(BaseModel):
    """Why a system produced no summary for a case."""

    type: str
    message: str
    exit_code: int | None = None


@dataclass(frozen=True)
class Context:
    """Everything a scorer may look at for one (system, case)."""

    case: Case
    system: str
    baseline: bool
    summary: Summary | None
    error: CaseError | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The summary text proper (no headline)."""
        return self.summary.summary if self.summary else ""


ScoreFn = Callable[[Context], Score]


@dataclass(frozen=True)
class ScorerDef:
    name: str
    fn: ScoreFn
    description: str
    better: Direction
    options: frozenset[str]
    #: Called even when the system produced no summary (e.g. ``valid``); others get None with the error.
    handles_errors: bool = False


REGISTRY: dict[str, ScorerDef] = {}


def register(name: str, description: str, *, better: Direction = "higher", options: tuple[str, ...] = (),
             handles_errors: bool = False) -> Callable[[ScoreFn], ScoreFn]:
    def wrap(fn: ScoreFn) -> ScoreFn:
        REGISTRY[name] = ScorerDef(name, fn, description, better, frozenset(options), handles_errors)
        return fn

    return wrap


@dataclass(frozen=True)
class BoundScorer:
    """A registered scorer with a suite's options for it."""

    spec: ScorerDef
    options: dict[str, Any]

    @property
    def name(self) -> str:
        return self.spec.name

    def __call__(self, case: Case, system: str, baseline: bool, summary: Summary | None,
                 error: CaseError | None) -> Score:
        if summary is None and not self.spec.handles_errors:
            why = f"{error.type}: {error.message}" if error else "no summary"
            return Score(value=None, explanation=f"Cannot judge: {system} produced no summary ({why}).")
        ctx = Context(case=case, system=system, baseline=baseline, summary=summary, error=error,
                      options=self.options)
        try:
            return self.spec.fn(ctx)
        except Exception as exc:  # a scorer bug must not lose the run: record it on the case
            return Score(value=None, explanation=f"Scorer {self.name} failed: {type(exc).__name__}: {exc}",
                         details={"scorer_error": True})


def build_scorers(specs: list[ScorerSpec]) -> list[BoundScorer]:
    out: list[BoundScorer] = []
    for spec in specs:
        if spec.name not in REGISTRY:
            raise SuiteError(f"unknown scorer {spec.name!r}; known: {', '.join(sorted(REGISTRY))}")
        scorer = REGISTRY[spec.name]
        unknown = set(spec.options) - scorer.options
        if unknown:
            allowed = ", ".join(sorted(scorer.options)) or "none"
            raise SuiteError(f"scorer {spec.name!r}: unknown option(s) {', '.join(sorted(unknown))} "
                             f"(allowed: {allowed})")
        out.append(BoundScorer(scorer, dict(spec.options)))
    return out


def no_claims(ctx: Context, what: str) -> Score | None:
    """The None score for a summary without claims (baselines never have any), or None if it has claims."""
    assert ctx.summary is not None
    if ctx.summary.claims or ctx.summary.rejected_claims:
        return None
    if ctx.baseline:
        return Score(value=None, explanation=f"Not applicable: {ctx.system} is a baseline without claims, "
                                             f"so there is no {what} to check.")
    return Score(value=None, explanation=f"Cannot judge: the summary has no claims, so there is no {what} to check.")
