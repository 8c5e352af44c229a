"""``run_suite``: every system on every case, with bounded concurrency; scores, aggregates, thresholds.

Summaries are produced in worker threads (at most ``concurrency`` at once, and one at a time per embedded model);
scoring happens in the calling thread as each summary arrives. A failing case is recorded with its error and the run
goes on. Ctrl-C (KeyboardInterrupt) stops it: the report built from what finished is returned with
``interrupted=True``. The summarizer's cache is used, so a rerun only re-scores. Nothing is written to disk here
except through the summarizer's cache; the CLI writes the report files.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from .. import __version__
from ..cache import SummaryCache
from ..errors import SummarizerError
from ..prompts import Prompt
from ..schema import Summary
from .results import CaseResult, Report, RunSpec, ScorerInfo, aggregate, check_thresholds
from .scorers import BoundScorer, CaseError, build_scorers
from .suite import Case, ScorerSpec, Suite, SuiteError, dataset_sha256, load_cases, load_suite
from .systems import System, make_system

log = logging.getLogger(__name__)

OnResult = Callable[[CaseResult, int, int], None]


def _scorers(suite: Suite) -> list[BoundScorer]:
    specs = []
    for spec in suite.scorers:
        if spec.name == "cost" and suite.prices and "prices" not in spec.options:
            spec = ScorerSpec(name="cost", options={**spec.options,
                                                    "prices": {k: v.model_dump() for k, v in suite.prices.items()}})
        specs.append(spec)
    return build_scorers(specs)


def _thresholds(suite: Suite, fail_under: dict[str, float] | None,
                names: list[str]) -> dict[Literal["suite", "cli"], dict[str, float]]:
    """The suite's thresholds and the command line's, each on a scorer the suite has (else a SuiteError)."""
    thresholds: dict[Literal["suite", "cli"], dict[str, float]] = {"suite": suite.thresholds, "cli": fail_under or {}}
    for source, table in thresholds.items():
        for key in table:
            if key.partition("@")[0] not in names:
                raise SuiteError(f"threshold on {key!r} ({source}): that scorer is not in this suite's scorers "
                                 f"({', '.join(names)})")
    return thresholds


def _produce(system: System, case: Case, cache: SummaryCache | None, suite: Suite,
             gate: threading.Semaphore) -> tuple[Summary | None, CaseError | None, float]:
    started = time.perf_counter()
    with gate:
        try:
            summary = system.run(case, cache=cache, max_claims=suite.max_claims, max_attempts=suite.max_attempts)
            return summary, None, time.perf_counter() - started
        except SummarizerError as exc:
            error = CaseError(type=type(exc).__name__, message=" ".join(str(exc).split()), exit_code=exc.exit_code)
        except Exception as exc:  # a bug in one case must not lose the run; it is recorded with its type
            log.exception("%s failed on case %s", system.name, case.id)
            error = CaseError(type=type(exc).__name__, message=" ".join(str(exc).split()))
    return None, error, time.perf_counter() - started


def run_suite(
    suite: Suite | str | os.PathLike[str],
    *,
    models: list[str] | None = None,
    limit: int | None = None,
    concurrency: int | None = None,
    max_attempts: int | None = None,
    cache: bool | SummaryCache = True,
    fail_under: dict[str, float] | None = None,
    progress: bool = False,
    on_result: OnResult | None = None,
) -> Report:
    """Run a suite (a :class:`Suite` or the path of its YAML file) and return its :class:`Report`.

    ``models`` replaces the suite's systems; ``limit`` its case limit; ``fail_under`` adds thresholds (like the
    suite's own: ``scorer`` or ``scorer@system`` → minimum mean).
    """
    spec_suite = suite if isinstance(suite, Suite) else load_suite(suite)
    if max_attempts is not None:
        spec_suite = spec_suite.model_copy(update={"max_attempts": max_attempts})
    systems_names = list(dict.fromkeys(models or spec_suite.models))
    if not systems_names:
        raise SuiteError("no models to run")
    cases = load_cases(spec_suite, limit)
    scorers = _scorers(spec_suite)
    names = [s.name for s in scorers]
    thresholds = _thresholds(spec_suite, fail_under, names)
    systems = [make_system(name) for name in systems_names]  # unknown model names fail here, before any work
    store: SummaryCache | None = cache if isinstance(cache, SummaryCache) else (SummaryCache() if cache else None)
    workers = concurrency or spec_suite.concurrency
    spec = RunSpec(
        suite=spec_suite.name,
        suite_path=spec_suite.base_dir,
        suite_spec=spec_suite.model_dump(mode="json"),
        systems=systems_names,
        baselines=[s.name for s in systems if s.baseline],
        scorers=[ScorerInfo(name=s.name, description=s.spec.description, better=s.spec.better,
                            options={k: v for k, v in s.options.items() if k != "prices"}) for s in scorers],
        prompt_versions={},
        current_prompt_version=Prompt.load("summarize").version,
        package_version=__version__,
        python=platform.python_version(),
        dataset=str(spec_suite.resolve(spec_suite.dataset).resolve()) if spec_suite.dataset else None,
        dataset_sha256=dataset_sha256(cases),
        n_cases=len(cases),
        limit=limit if limit is not None else spec_suite.limit,
        concurrency=workers,
        max_claims=spec_suite.max_claims,
        max_attempts=spec_suite.max_attempts,
        resamples=spec_suite.bootstrap,
        cache=store is not None,
        started_at=datetime.now(UTC),
    )
    results: list[CaseResult] = []
    interrupted = False
    gates = {s.name: threading.Semaphore(s.parallel) for s in systems}
    jobs = [(system, case) for case in cases for system in systems]
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval")
    bar = _Progress(len(jobs)) if progress else None
    try:
        pending: dict[Future[tuple[Summary | None, CaseError | None, float]], tuple[System, Case]] = {
            pool.submit(_produce, system, case, store, spec_suite, gates[system.name]): (system, case)
            for system, case in jobs
        }
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                system, case = pending.pop(future)
                summary, error, seconds = future.result()
                result = CaseResult(case_id=case.id, system=system.name, summary=summary, error=error,
                                    seconds=round(seconds, 3),
                                    scores={s.name: s(case, system.name, system.baseline, summary, error)
                                            for s in scorers})
                results.append(result)
                if bar is not None:
                    bar.advance(result)
                if on_result is not None:
                    on_result(result, len(results), len(jobs))
    except KeyboardInterrupt:
        interrupted = True
        log.warning("interrupted: reporting the %d of %d results that finished", len(results), len(jobs))
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)
        if bar is not None:
            bar.stop()
    order = {(s.name, c.id): i for i, (s, c) in enumerate(jobs)}
    results.sort(key=lambda r: order[(r.system, r.case_id)])
    for r in results:
        if r.summary is not None:
            versions = spec.prompt_versions.setdefault(r.system, [])
            if r.summary.provenance.prompt_version not in versions:
                versions.append(r.summary.provenance.prompt_version)
    spec.finished_at = datetime.now(UTC)
    aggregates = aggregate(results, systems_names, names, resamples=spec_suite.bootstrap)
    checked = [t for source, table in thresholds.items()
               for t in check_thresholds(aggregates, table, systems_names, spec.baselines, source)]
    return Report(spec=spec, cases=cases, results=results, aggregates=aggregates, thresholds=checked,
                  interrupted=interrupted)


def rescore(report: Report, suite: Suite | str | os.PathLike[str] | None = None, *,
            fail_under: dict[str, float] | None = None) -> Report:
    """Score a finished run's summaries again with this code's scorers, without calling any model.

    ``suite`` gives the scorers, their options and thresholds (default: the run's own suite, as stored in the
    report). Use it when scorers changed since the run, or to put two runs made by different versions of the library
    on one scale before ``compare``. The summaries, errors and seconds are the run's; only scores, aggregates and
    thresholds are new, and ``spec.scorers`` names the scorers that made them.
    """
    if suite is None:
        spec_suite = Suite.model_validate(report.spec.suite_spec)
    else:
        spec_suite = suite if isinstance(suite, Suite) else load_suite(suite)
    scorers = _scorers(spec_suite)
    names = [s.name for s in scorers]
    thresholds = _thresholds(spec_suite, fail_under, names)
    cases = {c.id: c for c in report.cases}
    baselines = set(report.spec.baselines)
    results = []
    for r in report.results:
        case = cases.get(r.case_id)
        if case is None:
            raise SuiteError(f"the report has a result for case {r.case_id!r} but not the case itself")
        scores = {s.name: s(case, r.system, r.system in baselines, r.summary, r.error) for s in scorers}
        results.append(r.model_copy(update={"scores": scores}))
    spec = report.spec.model_copy(update={
        "scorers": [ScorerInfo(name=s.name, description=s.spec.description, better=s.spec.better,
                               options={k: v for k, v in s.options.items() if k != "prices"}) for s in scorers],
        "suite_spec": spec_suite.model_dump(mode="json"),
        "resamples": spec_suite.bootstrap,
    })
    systems = report.spec.systems
    aggregates = aggregate(results, systems, names, resamples=spec_suite.bootstrap)
    checked = [t for source, table in thresholds.items()
               for t in check_thresholds(aggregates, table, systems, report.spec.baselines, source)]
    return report.model_copy(update={"spec": spec, "results": results, "aggregates": aggregates,
                                     "thresholds": checked})


class _Progress:
    """A rich progress bar on stderr: one tick per (system, case)."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(TextColumn("[bold]eval[/]"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TextColumn("{task.description}"),
                                  console=Console(stderr=True), transient=False)
        self._task = self._progress.add_task("", total=total)
        self._progress.start()

    def advance(self, result: CaseResult) -> None:
        status = "[red]error[/]" if result.error else "ok"
        self._progress.update(self._task, advance=1, description=f"{result.system} · {result.case_id[:16]} {status}")

    def stop(self) -> None:
        self._progress.stop()


def default_run_dir(root: str | os.PathLike[str], suite: str, when: datetime | None = None) -> Path:
    """``<root>/<YYYYMMDD-HHMMSS>-<suite>``."""
    stamp = (when or datetime.now()).strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in suite)
    return Path(root) / f"{stamp}-{safe}"
