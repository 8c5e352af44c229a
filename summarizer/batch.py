"""The batch engine: rows of articles in, one result row per id out, resumable after a crash.

The row format and the resume rules live here and nowhere else.

Input rows are ``{"id", "article", ...}`` (a JSONL file, or a folder of ``.txt`` files whose id is the file name).
Each output row is ``{"id", ...the input's other fields..., "summary": {...}}`` or
``{"id", ..., "error": {"type", "message", "attempts", "prompt_tokens", "completion_tokens"}}`` (what the failed
tries cost); input fields named ``summary`` or ``error`` are copied as ``input_summary`` / ``input_error`` so they
cannot be mistaken for results.

Resume rules:

- Rows are appended as they finish and flushed, so a killed run keeps what was done. A torn last line (a kill
  mid-write) is detected and dropped when the output is opened again.
- An id that already has a summary row is skipped: it never reaches the model (or the cache) again.
- An id whose row is an error is run again (unless ``retry_failed=False``), and its new row replaces the old.
- A duplicate id in the input runs once (its first occurrence); the rest are counted and named.
- When the run ends the sink is compacted (atomically): exactly one row per id, in input order.

A result goes to a :class:`Sink`: :class:`JsonlSink` here; other sinks (a database table, a Ray dataset) implement the
same four methods.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import ArticleError, ConfigurationError
from .options import SummarizeOptions
from .schema import Summary
from .session import Failure, Result

log = logging.getLogger(__name__)

#: Input fields that would collide with a result row's own, and the names they are copied under.
RESERVED = {"summary": "input_summary", "error": "input_error"}
#: Row ids are JSON strings or integers; they are compared as text ("7" and 7 are the same id).
RowId = str | int


@dataclass(frozen=True)
class InputRow:
    """One article to summarise. ``article`` is text, or bytes to decode (a file); ``extra`` is copied out."""

    id: RowId
    article: str | bytes
    extra: dict[str, Any] = field(default_factory=dict)
    line: int = 0

    @property
    def key(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class BadRow:
    """An input line that is not a usable row. With an id it becomes an error row; without one, a warning."""

    line: int
    message: str
    id: RowId | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def result_row(row_id: RowId, extra: dict[str, Any], result: Result) -> dict[str, Any]:
    """The output row for one id."""
    out: dict[str, Any] = {"id": row_id}
    out.update({RESERVED.get(k, k): v for k, v in extra.items()})
    if isinstance(result, Summary):
        out["summary"] = result.model_dump(mode="json")
    else:
        out["error"] = result.model_dump(mode="json")
    return out


# -- reading input ------------------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> Iterator[InputRow | BadRow]:
    """Rows of a JSONL file, read lazily; a line that is not a usable row is a :class:`BadRow`."""
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except ValueError as exc:
                yield BadRow(n, f"line {n} is not JSON: {exc}")
                continue
            if not isinstance(data, dict):
                yield BadRow(n, f"line {n} is not a JSON object")
                continue
            row_id = data.pop("id", None)
            if isinstance(row_id, bool) or not isinstance(row_id, str | int) or row_id == "":
                yield BadRow(n, f"line {n} has no \"id\" (a string or an integer)")
                continue
            article = data.pop("article", None)
            if not isinstance(article, str):
                yield BadRow(n, f"line {n} (id {row_id!r}) has no \"article\" string", id=row_id, extra=data)
                continue
            yield InputRow(row_id, article, data, n)


def read_folder(path: Path) -> Iterator[InputRow]:
    """The ``.txt`` files of a folder, in name order; id = file name, the bytes decoded when summarised."""
    for n, file in enumerate(sorted(p for p in path.iterdir() if p.suffix == ".txt" and p.is_file()), 1):
        yield InputRow(file.name, file.read_bytes(), {}, n)


def read_input(path: Path) -> Iterator[InputRow | BadRow]:
    """A JSONL file or a folder of .txt files."""
    if path.is_dir():
        return read_folder(path)
    if not path.is_file():
        raise ArticleError(f"no such file or folder: {path}")
    return read_jsonl(path)


def count_input(path: Path) -> int:
    """How many rows the input has (non-blank lines, or .txt files): the progress bar's total."""
    if path.is_dir():
        return sum(1 for p in path.iterdir() if p.suffix == ".txt" and p.is_file())
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


# -- sinks --------------------------------------------------------------------------------------------------------


class Sink(Protocol):
    """Where result rows go. The engine asks what is there, writes rows as they finish, and finalises."""

    def existing(self) -> dict[str, bool]:
        """Ids that already have a row: True for a summary, False for an error."""
        ...

    def write(self, row: dict[str, Any]) -> None:
        """Store one row durably enough to survive the process being killed right after."""
        ...

    def finalize(self, order: list[str]) -> None:
        """Keep exactly one row per id (the newest), ids in ``order`` first; atomically."""
        ...

    def close(self) -> None: ...


class JsonlSink:
    """Result rows in a JSONL file: appended and flushed as they come, compacted at the end."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        #: id → (offset, length, ok) of its newest row in the file.
        self._rows: dict[str, tuple[int, int, bool]] = {}
        self.dropped_torn = False
        self._load()
        self._file = self.path.open("ab")

    def _load(self) -> None:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return
        good_end = 0
        with self.path.open("rb") as f:
            offset = 0
            for raw in f:
                start, offset = offset, offset + len(raw)
                if not raw.endswith(b"\n"):
                    self.dropped_torn = True  # the last line of a killed run: drop it
                    break
                try:
                    data = json.loads(raw)
                    key, ok = str(data["id"]), "summary" in data
                except (ValueError, KeyError, TypeError):
                    log.warning("%s: ignoring unreadable line at byte %d", self.path, start)
                    good_end = offset
                    continue
                self._rows[key] = (start, len(raw), ok)
                good_end = offset
        if self.dropped_torn:
            log.warning("%s: dropped a torn last line left by an interrupted run", self.path)
            with self.path.open("r+b") as f:
                f.truncate(good_end)

    def existing(self) -> dict[str, bool]:
        return {key: ok for key, (_, _, ok) in self._rows.items()}

    def write(self, row: dict[str, Any]) -> None:
        try:
            line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate ("\ud83d") in the input: escaped, still the same JSON
            line = (json.dumps(row) + "\n").encode("ascii")
        offset = self._file.seek(0, os.SEEK_END)
        self._file.write(line)
        self._file.flush()  # in the kernel now: a killed process loses nothing
        self._rows[str(row["id"])] = (offset, len(line), "summary" in row)

    def finalize(self, order: list[str]) -> None:
        self._file.flush()
        listed = set(order)
        keys = [k for k in order if k in self._rows] + [k for k in self._rows if k not in listed]
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as out, self.path.open("rb") as src:
                positions: dict[str, tuple[int, int, bool]] = {}
                for key in keys:
                    offset, length, ok = self._rows[key]
                    src.seek(offset)
                    positions[key] = (out.tell(), length, ok)
                    out.write(src.read(length))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._rows = positions
        self._file.close()
        self._file = self.path.open("ab")

    def close(self) -> None:
        self._file.close()


# -- the engine ---------------------------------------------------------------------------------------------------


@dataclass
class BatchReport:
    """What a run did. ``done``/``failed`` count this run's rows; ``skipped`` the ids finished before it."""

    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    retried: int = 0
    cached: int = 0
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duplicates: list[str] = field(default_factory=list)
    bad_lines: list[str] = field(default_factory=list)
    #: Error rows in the output after the run (failed now, or kept from before with ``retry_failed=False``).
    errors_left: int = 0
    wall_s: float = 0.0
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """Every input row has a summary."""
        return not self.bad_lines and not self.interrupted and self.errors_left == 0

    def add(self, result: Result) -> None:
        """Count one finished row: a summary (from the cache or not) or a failure, and what its calls cost."""
        if isinstance(result, Summary):
            self.done += 1
            p = result.provenance
            if p.cached:
                self.cached += 1
            else:
                self.model_calls += p.attempts + p.transient_retries
                self.prompt_tokens += p.prompt_tokens
                self.completion_tokens += p.completion_tokens
        else:
            self.failed += 1
            self.model_calls += result.attempts
            self.prompt_tokens += result.prompt_tokens  # what the failed tries cost counts too
            self.completion_tokens += result.completion_tokens


class Engine(Protocol):
    """What runs the articles: a :class:`Summarizer` session, or :class:`summarizer.ray_engine.RayEngine`."""

    def as_completed(self, articles: Iterable[str | bytes], *,
                     options: SummarizeOptions | None = None) -> Iterator[tuple[int, Result]]: ...


#: Called after each finished row with the report so far and the row.
OnRow = Callable[[BatchReport, dict[str, Any]], None]


def plan(rows: Iterable[InputRow | BadRow], before: dict[str, bool], report: BatchReport, order: list[str], *,
         retry_failed: bool = True) -> Iterator[InputRow | BadRow]:
    """The rows to run, by the resume rules: each id once (duplicates counted), lines with no id counted as bad,
    ids with a summary in ``before`` skipped, ids with an error run again (or skipped with ``retry_failed=False``).
    A :class:`BadRow` that has an id is yielded: it becomes that id's error row. Ids are appended to ``order``."""
    seen: set[str] = set()
    for item in rows:
        report.total += 1
        key = str(item.id) if item.id is not None else None
        if key is not None and key in seen:
            report.duplicates.append(key)
            continue
        if key is not None:
            seen.add(key)
            order.append(key)
        if isinstance(item, BadRow) and item.id is None:
            report.bad_lines.append(item.message)
            log.warning("%s", item.message)
            continue
        if key in before and (before[key] or not retry_failed):
            report.skipped += 1
            report.errors_left += 0 if before[key] else 1
            continue
        if key in before:
            report.retried += 1
        yield item


def input_error(bad: BadRow) -> Failure:
    """The error row's result for an input line that has an id but no usable article."""
    return Failure(type="InputError", message=bad.message, attempts=0)


def finish(report: BatchReport) -> None:
    """Warn about duplicates once the run is over."""
    if report.duplicates:
        shown = ", ".join(repr(d) for d in report.duplicates[:10])
        log.warning("%d duplicate id(s) in the input ran once (first occurrence): %s%s", len(report.duplicates),
                    shown, " …" if len(report.duplicates) > 10 else "")


def run_batch(session: Engine, rows: Iterable[InputRow | BadRow], sink: Sink, *, retry_failed: bool = True,
              on_row: OnRow | None = None, options: SummarizeOptions | None = None) -> BatchReport:
    """Summarise every row not already finished in ``sink``; write each result as it comes; compact at the end.

    Per-article problems (bad text, model failures, invalid output) are error rows; the run goes on. Ctrl-C stops
    it with what was written kept (``interrupted``), and the file left as it is for the next run to resume. A
    :class:`ConfigurationError` met mid-run (the endpoint refuses the key, does not know the model) is raised: it is
    no article's fault, and every other row would fail the same way. ``options``: instead of the session's.
    """
    started = time.perf_counter()
    report = BatchReport()
    before = sink.existing()
    order: list[str] = []
    pending: dict[int, InputRow] = {}
    invalid: deque[BadRow] = deque()  # found while reading (on the session's loop); written here, in order

    def emit(row: dict[str, Any], result: Result) -> None:
        sink.write(row)
        report.add(result)
        if on_row is not None:
            on_row(report, row)

    def todo() -> Iterator[str | bytes]:
        index = 0
        for item in plan(rows, before, report, order, retry_failed=retry_failed):
            if isinstance(item, BadRow):
                invalid.append(item)
                continue
            pending[index] = item
            yield item.article
            index += 1

    def drain() -> None:
        while invalid:
            bad = invalid.popleft()
            assert bad.id is not None
            failure = input_error(bad)
            emit(result_row(bad.id, bad.extra, failure), failure)

    try:
        for index, result in session.as_completed(todo(), options=options):
            drain()
            if isinstance(result, Failure) and isinstance(result.exception, ConfigurationError):
                raise result.exception  # a refused key or unknown model is not this article's fault: stop, resumable
            item = pending.pop(index)
            emit(result_row(item.id, item.extra, result), result)
        drain()
    except KeyboardInterrupt:
        report.interrupted = True
    else:
        sink.finalize(order)
    report.errors_left += report.failed
    finish(report)
    report.wall_s = round(time.perf_counter() - started, 3)
    return report

