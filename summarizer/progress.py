"""The batch command's progress bar (rich) and its closing summary line. Only the CLI uses this."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .batch import BatchReport
from .models import Model
from .models.pricing import cost_usd


class BatchProgress:
    """done / failed / remaining, rate and ETA, on stderr; nothing when ``quiet`` or stderr is not a terminal."""

    def __init__(self, total: int, model: str, *, quiet: bool, console: Console) -> None:
        self.total = total
        self._started = time.perf_counter()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[done]} done · [red]{task.fields[failed]} failed[/] · {task.fields[left]} left"),
            TextColumn("· {task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=quiet,
            transient=False,
        )
        self._task: TaskID | None = None
        self._model = model

    def __enter__(self) -> BatchProgress:
        self._progress.start()
        self._task = self._progress.add_task(self._model, total=self.total or None, done=0, failed=0,
                                             left=self.total, rate="–")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.stop()

    def update(self, report: BatchReport, row: dict[str, Any]) -> None:
        assert self._task is not None
        finished = report.done + report.failed
        elapsed = time.perf_counter() - self._started
        rate = f"{finished / elapsed * 60:.1f}/min" if elapsed > 0 and finished else "–"
        settled = finished + report.skipped + len(report.duplicates) + len(report.bad_lines)
        self._progress.update(self._task, completed=settled, done=report.done + report.skipped,
                              failed=report.failed, left=max(0, self.total - settled), rate=rate)

    @staticmethod
    def summary_line(report: BatchReport, model: Model) -> str:
        """One line for the end of a run: counts, tokens, cost where known, wall time."""
        tokens = report.prompt_tokens + report.completion_tokens
        cost = cost_usd(model.name, model.endpoint, report.prompt_tokens, report.completion_tokens)
        parts = [
            f"{report.total} rows",
            f"{report.done} done",
            f"{report.failed} failed",
            f"{report.skipped} skipped (finished before)",
        ]
        if report.retried:
            parts.append(f"{report.retried} retried")
        if report.cached:
            parts.append(f"{report.cached} from the cache")
        if report.duplicates:
            parts.append(f"{len(report.duplicates)} duplicate ids")
        if report.bad_lines:
            parts.append(f"{len(report.bad_lines)} unreadable lines")
        parts += [
            f"{report.model_calls} model calls",
            f"{tokens:,} tokens ({report.prompt_tokens:,} prompt + {report.completion_tokens:,} completion)",
            f"cost ${cost:.4f}" if cost is not None else "cost unknown",
            f"{report.wall_s:.1f} s",
        ]
        return "batch: " + " · ".join(parts)
