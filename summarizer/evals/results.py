"""The records a run produces: per-case results, aggregates with CIs, thresholds, and the whole :class:`Report`.

``report.json`` is ``Report.model_dump_json()``; :meth:`Report.load` reads it back (a run folder or the file).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..schema import Summary
from .scorers.base import CaseError, Direction, Score
from .stats import Estimate, bootstrap_mean
from .suite import Case, SuiteError

REPORT_FORMAT = 1
#: Exit code of ``summarizer eval run`` when a threshold fails (0 ok; 2-6 as for ``summarize``; 130 interrupted).
THRESHOLD_EXIT_CODE = 7


class CaseResult(BaseModel):
    case_id: str
    system: str
    summary: Summary | None
    error: CaseError | None = None
    scores: dict[str, Score] = Field(default_factory=dict)
    seconds: float = 0.0


class ScorerInfo(BaseModel):
    name: str
    description: str
    better: Direction
    options: dict[str, Any] = Field(default_factory=dict)


class Aggregate(BaseModel):
    system: str
    scorer: str
    estimate: Estimate
    abstained: int = Field(description="Cases where the scorer returned None (no summary, or cannot judge).")


class ThresholdResult(BaseModel):
    scorer: str
    system: str
    minimum: float
    mean: float | None
    passed: bool
    source: Literal["suite", "cli"]

    def message(self) -> str:
        if not self.system:
            return (f"threshold {'skipped' if self.passed else 'FAILED'}: {self.scorer} >= {self.minimum:g} gates no "
                    f"system: every system in the run is a baseline (gate one as {self.scorer}@<system>=…) "
                    f"({self.source})")
        got = "no scores" if self.mean is None else f"mean {self.mean:.3f}"
        verdict = "ok" if self.passed else "FAILED"
        return f"threshold {verdict}: {self.scorer} >= {self.minimum:g} for {self.system}: {got} ({self.source})"


class RunSpec(BaseModel):
    suite: str
    suite_path: str | None
    suite_spec: dict[str, Any]
    systems: list[str]
    baselines: list[str]
    scorers: list[ScorerInfo]
    prompt_versions: dict[str, list[str]] = Field(description="Per system, the prompt versions of its summaries.")
    current_prompt_version: str
    package_version: str
    python: str
    dataset: str | None
    dataset_sha256: str
    n_cases: int
    limit: int | None
    concurrency: int
    max_claims: int
    max_attempts: int = 3
    resamples: int
    cache: bool
    started_at: datetime
    finished_at: datetime | None = None


class Report(BaseModel):
    """Everything about a run; enough to re-render it, compare it, or gate on it without re-running."""

    format: int = REPORT_FORMAT
    spec: RunSpec
    cases: list[Case]
    results: list[CaseResult]
    aggregates: list[Aggregate] = Field(default_factory=list)
    thresholds: list[ThresholdResult] = Field(default_factory=list)
    interrupted: bool = False

    @property
    def failed_thresholds(self) -> list[ThresholdResult]:
        return [t for t in self.thresholds if not t.passed]

    @property
    def scorer_names(self) -> list[str]:
        return [s.name for s in self.spec.scorers]

    def aggregate(self, system: str, scorer: str) -> Aggregate | None:
        return find_aggregate(self.aggregates, system, scorer)

    def result(self, system: str, case_id: str) -> CaseResult | None:
        return next((r for r in self.results if r.system == system and r.case_id == case_id), None)

    @classmethod
    def load(cls, path: str | Path) -> Report:
        """Read ``report.json`` (or the run folder that holds it)."""
        file = Path(path)
        if file.is_dir():
            file = file / "report.json"
        if not file.is_file():
            raise SuiteError(f"no report at {file}")
        return cls.model_validate_json(file.read_text(encoding="utf-8"))


def aggregate(results: Iterable[CaseResult], systems: list[str], scorers: list[str], *,
              resamples: int) -> list[Aggregate]:
    """Per system and scorer: the mean over cases that have a value, its 95 % CI, and how many abstained."""
    results = list(results)
    out: list[Aggregate] = []
    for system in systems:
        mine = [r for r in results if r.system == system]
        for scorer in scorers:
            values = [v for r in mine if (s := r.scores.get(scorer)) is not None and (v := s.value) is not None]
            out.append(Aggregate(system=system, scorer=scorer, estimate=bootstrap_mean(values, resamples=resamples),
                                 abstained=len(mine) - len(values)))
    return out


def find_aggregate(aggregates: list[Aggregate], system: str, scorer: str) -> Aggregate | None:
    return next((a for a in aggregates if a.system == system and a.scorer == scorer), None)


def parse_thresholds(items: Iterable[str]) -> dict[str, float]:
    """``["faithfulness=0.8", "grounding@local/x=1"]`` → a threshold mapping (raises SuiteError if malformed)."""
    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.rpartition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            raise SuiteError(f"--fail-under takes scorer=value (e.g. faithfulness=0.8), got {item!r}")
    return out


def check_thresholds(aggregates: list[Aggregate], thresholds: dict[str, float], systems: list[str],
                     baselines: list[str], source: Literal["suite", "cli"]) -> list[ThresholdResult]:
    """``scorer`` applies to every non-baseline system; ``scorer@system`` to that one system only.

    A ``--fail-under`` that gates no system (``system=""``) fails: a CI gate that cannot fail is worse than none.
    A suite's threshold is skipped instead: it was written for the suite's models, not for a baselines-only run.
    """
    out: list[ThresholdResult] = []
    for key, minimum in thresholds.items():
        scorer, _, only = key.partition("@")
        targets = [only] if only else [s for s in systems if s not in baselines]
        if not targets:
            out.append(ThresholdResult(scorer=scorer, system="", minimum=minimum, mean=None,
                                       passed=source == "suite", source=source))
        for system in targets:
            agg = find_aggregate(aggregates, system, scorer)
            mean = agg.estimate.mean if agg else None
            out.append(ThresholdResult(scorer=scorer, system=system, minimum=minimum, mean=mean,
                                       passed=mean is not None and mean >= minimum, source=source))
    return out
