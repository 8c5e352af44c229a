"""The evaluation harness: run a suite of articles through models and baselines, score, aggregate, report.

>>> from summarizer.evals import load_suite, run_suite
>>> report = run_suite(load_suite("evals/seed.yaml"), models=["fake/x", "lead-3"])
>>> for a in report.aggregates: print(a.system, a.scorer, a.estimate.fmt())

The library returns objects; ``summarizer eval run`` (``summarizer.evals.cli``) writes ``report.json``,
``report.md`` and ``report.html``. See docs/evals.md. Names are imported on first use, so ``summarizer`` itself
starts without numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .compare import Comparison, compare_reports
    from .results import THRESHOLD_EXIT_CODE, Aggregate, CaseResult, Report, ThresholdResult
    from .runner import rescore, run_suite
    from .scorers import REGISTRY as SCORERS
    from .scorers import Score
    from .suite import Case, GoldCheck, Suite, SuiteError, load_cases, load_suite

_WHERE = {
    "Comparison": "compare", "compare_reports": "compare",
    "THRESHOLD_EXIT_CODE": "results", "Aggregate": "results", "CaseResult": "results", "Report": "results",
    "ThresholdResult": "results", "run_suite": "runner", "rescore": "runner", "Score": "scorers", "Case": "suite",
    "GoldCheck": "suite",
    "Suite": "suite", "SuiteError": "suite", "load_cases": "suite", "load_suite": "suite",
}  # fmt: skip

__all__ = [
    "SCORERS",
    "THRESHOLD_EXIT_CODE",
    "Aggregate",
    "Case",
    "CaseResult",
    "Comparison",
    "GoldCheck",
    "Report",
    "Score",
    "Suite",
    "SuiteError",
    "ThresholdResult",
    "compare_reports",
    "load_cases",
    "load_suite",
    "rescore",
    "run_suite",
]


def __getattr__(name: str) -> Any:
    if name == "SCORERS":
        return importlib.import_module(".scorers", __name__).REGISTRY
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
