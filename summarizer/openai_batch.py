"""Batch through a provider's batch service: the OpenAI Batch API's JSONL files (``vllm run-batch`` reads the same).

    summarizer batch articles.jsonl --export-openai-batch requests.jsonl -m openai/gpt-4o-mini      # no model call
    # submit requests.jsonl to the provider (or: vllm run-batch -i requests.jsonl -o results.jsonl --model …)
    summarizer batch articles.jsonl --import-openai-batch results.jsonl --out rows.jsonl -m openai/gpt-4o-mini
    # exit 9: rows.jsonl.next-batch.jsonl holds the next round's requests; submit, import, until exit 0 (or 8)

The conversation for an article is the live path's own (:func:`~summarizer.pipeline.summary_steps`: ask, validate,
ground, check, re-ask; a long article's parts, then the merge). It is driven here by *replay*: the state between
rounds is the answers each article has had so far, and each round the steps are run again from the start, fed those
answers, up to the first request that has no answer yet — which is either answered by the result file being
imported, or written to the next round's request file. The pipeline is deterministic given its answers, so this is
the same conversation the live path would have had with the same answers; nothing about it is copied here.

- **Request lines** are ``{"custom_id", "method": "POST", "url", "body"}``; the body is exactly what the live path
  sends in the chosen structured-output ``mode`` (the live path discovers it by trying; here it is named). The
  ``custom_id`` is ``<id>:<step>.<try>:<digest of the body>``, so an answer can only ever be fed to the request it
  answers: results from other options, another prompt version or another model, or an earlier try, are ignored (and
  counted).
- **Result lines** may come in any order. A line with status 200 is read as the live path reads an answer; a
  transient failure (429, 5xx, a line the provider expired or lost) asks the same request again next round, up to
  ``limits.transient_attempts`` rounds; any other failure is the id's error row, as live.
- **Rows** go to the same sink, in the same format, under the same resume rules as the local engine
  (:func:`summarizer.batch.plan`); verified summaries are cached under the model named here, as live.
- **State** lives beside the output (``<out>.openai-batch.jsonl``): a header (model, mode, options, round) and one
  line per article still in progress (its answers, its transient failures). It is replaced atomically at the end of
  an import, and importing the same result file twice is harmless (answers are matched by ``custom_id``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .batch import BadRow, BatchReport, InputRow, Sink, finish, input_error, plan, result_row
from .cache import SummaryCache
from .errors import ArticleError, ConfigurationError, SummarizerError, TransientModelError
from .models import Model
from .models.base import BatchFormat, ChatRequest, ChatResponse
from .options import Limits, SummarizeOptions
from .pipeline import summary_key, summary_steps
from .schema import Summary
from .session import Failure, Result, checked_article

log = logging.getLogger(__name__)

#: The state file's name: the output's, plus this.
STATE_SUFFIX = ".openai-batch.jsonl"
#: The next round's request file when none is named: the output's name, plus this.
NEXT_SUFFIX = ".next-batch.jsonl"
#: Hex digits of the body's SHA-256 in a ``custom_id``.
DIGEST_CHARS = 16
#: A request file's limits, as OpenAI documents them for one batch (50,000 requests, 200 MB); past them the round's
#: requests continue in another file.
MAX_FILE_REQUESTS = 50_000
MAX_FILE_BYTES = 200 * 1024 * 1024


def state_path(out: Path) -> Path:
    return out.with_name(out.name + STATE_SUFFIX)


def next_requests_path(out: Path) -> Path:
    return out.with_name(out.name + NEXT_SUFFIX)


@dataclass
class Progress:
    """One article in progress: the answers it has had, in order, and the transient failures of its next request."""

    answers: list[dict[str, Any]] = field(default_factory=list)
    #: Transient failures of its next request, and of all its requests so far.
    transient: int = 0
    retried: int = 0
    #: The ``custom_id`` last written to a request file for it: missing from the results, it was lost (transient).
    asked: str = ""


@dataclass
class RoundReport(BatchReport):
    """A round's :class:`~summarizer.batch.BatchReport`, plus what it leaves for the next round."""

    #: Rounds of results imported so far (0 after an export); the requests written are for round ``round + 1``.
    round: int = 0
    requests: int = 0
    answered: int = 0
    unmatched: int = 0
    requests_path: str = ""
    #: The request files written: ``requests_path``, then ``<stem>.2.jsonl``, … past a provider's file limits.
    request_files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return super().ok and self.requests == 0


def _batch_format(model: Model) -> BatchFormat:
    make = getattr(model, "batch_format", None)  # optional in the Model protocol
    fmt: BatchFormat | None = make() if make is not None else None
    if fmt is None:
        raise ConfigurationError(f"{model.name} cannot be asked through batch files; use an openai/<model> name "
                                 "(the provider's, or vLLM's)")
    return fmt


class OpenAIBatch:
    """Rounds of request and result files for one output. ``model`` must offer a batch format (an endpoint
    model); ``mode`` is the structured-output mode the bodies are written in (one of the model's ``batch_modes``)."""

    def __init__(self, model: Model, out: Path | None, *, mode: str, options: SummarizeOptions | None = None,
                 limits: Limits | None = None, cache: SummaryCache | None = None) -> None:
        self.model = model
        self.format = _batch_format(model)
        if mode not in self.format.batch_modes:
            raise ConfigurationError(f"unknown structured-output mode {mode!r}; use one of "
                                     f"{', '.join(self.format.batch_modes)}")
        self.mode = mode
        self.options = options or SummarizeOptions()
        self.limits = limits or Limits()
        self.cache = cache
        self.state_file = state_path(out) if out is not None else None
        self.round = 0
        self.progress: dict[str, Progress] = {}
        self._load_state()

    # -- state --------------------------------------------------------------------------------------------------

    def _header(self) -> dict[str, Any]:
        return {"model": self.model.name, "mode": self.mode, "options": self.options.model_dump(mode="json")}

    def _load_state(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        lines = self.state_file.read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0]) if lines else {}
        wanted = self._header()
        for name in ("model", "mode", "options"):
            if header.get(name) != wanted[name]:
                raise ConfigurationError(
                    f"{self.state_file} holds rounds with {name} {header.get(name)!r}, not {wanted[name]!r}: import "
                    f"with the same model, mode and options as the export (or remove the state to start over)")
        self.round = int(header.get("round", 0))
        for line in lines[1:]:
            entry = json.loads(line)
            self.progress[entry["id"]] = Progress(entry["answers"], entry["transient"], entry["retried"],
                                                  entry["asked"])

    def _save_state(self) -> None:
        if self.state_file is None:
            return
        lines = [json.dumps({**self._header(), "round": self.round})]
        lines += [json.dumps({"id": key, **asdict(p)}, ensure_ascii=False) for key, p in self.progress.items()]
        _write_atomically(self.state_file, "".join(line + "\n" for line in lines))

    # -- one round ----------------------------------------------------------------------------------------------

    def run_round(self, rows: Iterable[InputRow | BadRow], sink: Sink | None, requests: Path,
                  results: Iterable[Path] = (), *, retry_failed: bool = True) -> RoundReport:
        """Feed the result files (the provider's output and error files; none: an export) to every unfinished
        article; write each finished one's row to ``sink`` (none: an export with no output, which only writes
        requests); write the requests still needed to ``requests``. Returns what the round did.

        ``retry_failed`` is the local engine's rule, for an export: ids whose row is an error are asked again (the
        row is replaced when they finish). An import keeps the error rows of earlier rounds."""
        started = time.perf_counter()
        files = list(results)
        # round n's results are read by the n-th import, and the requests it writes are round n + 1's
        report = RoundReport(round=self.round + (1 if files else 0), requests_path=str(requests))
        answers: dict[str, dict[str, Any]] = {}
        for path in files:
            answers.update(_read_results(path))
        importing = bool(files)
        # An import goes on with the articles in progress; error rows from earlier rounds stay (retrying the failed
        # ids is the next export's business, as it is the next run's locally). An id in progress whose old row is
        # an error (from a run before the export) is not skipped for it.
        before = sink.existing() if sink is not None else {}
        if files:
            before = {k: ok for k, ok in before.items() if k not in self.progress}
            retry_failed = False
        order: list[str] = []
        used: set[str] = set()
        still: dict[str, Progress] = {}
        out_files = RequestFiles(requests)
        try:
            for item in plan(rows, before, report, order, retry_failed=retry_failed):
                assert item.id is not None  # plan() yields rows with ids only
                key = str(item.id)
                result: Result
                if isinstance(item, BadRow):
                    result = input_error(item)
                else:
                    progress = self.progress.get(key, Progress())
                    outcome = self._advance(item, progress, answers, used, importing)
                    if isinstance(outcome, ChatRequest):
                        still[key] = progress
                        out_files.write(self._request_line(key, progress, outcome))
                        continue
                    result = outcome
                if sink is not None:
                    sink.write(result_row(item.id, item.extra, result))
                report.add(result)
        except BaseException:
            out_files.abort()
            raise
        report.request_files = [str(p) for p in out_files.close()]
        report.requests = out_files.count
        report.answered = len(used)
        report.unmatched = len(set(answers) - used)
        if report.unmatched:
            log.warning("%d result line(s) answer no request of this round (other options, model or prompt "
                        "version, or an earlier round); ignored", report.unmatched)
        if sink is not None:
            sink.finalize(order)
        self.progress, self.round = still, report.round
        self._save_state()
        report.errors_left += report.failed
        finish(report)
        report.wall_s = round(time.perf_counter() - started, 3)
        return report

    def _advance(self, item: InputRow, progress: Progress, answers: dict[str, dict[str, Any]], used: set[str],
                 importing: bool) -> Result | ChatRequest:
        """Replay the article's steps with its answers, feed it this round's answer if there is one; its result, or
        the request it needs next (``progress.asked``)."""
        try:
            text = checked_article(item.article, self.limits)
        except ArticleError as exc:
            return Failure.of(exc, 0)
        key = summary_key(text, self.model, self.options) if self.cache is not None else ""
        if not progress.answers and self.cache is not None and (hit := self.cache.get(key)) is not None:
            return hit.model_copy(update={"provenance": hit.provenance.model_copy(update={"cached": True})})
        steps = summary_steps(text, self.model, self.options)
        try:
            request = next(steps)
            for answer in progress.answers:
                request = steps.send(ChatResponse(**answer))
            while True:
                custom_id = self._custom_id(str(item.id), progress, request)
                line = answers.get(custom_id)
                try:
                    if line is None:
                        if importing and custom_id == progress.asked:  # asked last round, and no line came back
                            raise TransientModelError(f"{self.model.name}: the batch results have no line for "
                                                      f"request {custom_id}")
                        progress.asked = custom_id
                        return request  # asked in the next round
                    used.add(custom_id)
                    response = self._answer(line)
                except TransientModelError as exc:
                    progress.transient += 1
                    progress.retried += 1
                    if progress.transient >= self.limits.transient_attempts:
                        return self._failed(exc, progress)
                    progress.asked = self._custom_id(str(item.id), progress, request)
                    return request  # the same request again, next round (its next try)
                progress.transient = 0  # a budget per request, as live
                progress.answers.append(asdict(response))
                request = steps.send(response)
        except StopIteration as done:
            summary: Summary = done.value
            if progress.retried:
                summary = summary.model_copy(update={"provenance": summary.provenance.model_copy(
                    update={"transient_retries": progress.retried})})
            if self.cache is not None:
                self.cache.set(key, summary)
            return summary
        except SummarizerError as exc:
            return self._failed(exc, progress)
        finally:
            steps.close()

    def _answer(self, line: dict[str, Any]) -> ChatResponse:
        response = line.get("response")
        if not isinstance(response, dict):  # an error line: expired, cancelled, failed at the provider
            error = line.get("error")
            error = error if isinstance(error, dict) else {}
            raise TransientModelError(f"{self.model.name}: the batch has no answer for this request: "
                                      f"{error.get('code', '')} {error.get('message', '')}".strip())
        status = response.get("status_code", 200)
        return self.format.batch_answer(status if isinstance(status, int) else 500, response.get("body"), self.mode)

    def _failed(self, exc: BaseException, progress: Progress) -> Failure:
        answers = [ChatResponse(**a) for a in progress.answers]
        return Failure.of(exc, len(answers) + progress.retried, sum(a.prompt_tokens for a in answers),
                          sum(a.completion_tokens for a in answers))

    def _custom_id(self, key: str, progress: Progress, request: ChatRequest) -> str:
        """``<id>:<step>.<try>:<digest>``: step = answers so far + 1, try = this request's transient failures + 1."""
        body = self.format.batch_body(request, self.mode)
        return f"{key}:{len(progress.answers) + 1}.{progress.transient + 1}:{_digest(body)}"

    def _request_line(self, key: str, progress: Progress, request: ChatRequest) -> str:
        return json.dumps({"custom_id": self._custom_id(key, progress, request), "method": "POST",
                           "url": self.format.batch_url, "body": self.format.batch_body(request, self.mode)},
                          ensure_ascii=False)


class RequestFiles:
    """The next round's request lines, written as they come into ``path`` and, past :data:`MAX_FILE_REQUESTS`
    lines or :data:`MAX_FILE_BYTES`, into ``<stem>.2<suffix>``, ``<stem>.3<suffix>``, … (one provider batch each).
    Files are written beside their final names and renamed on :meth:`close`; stale parts of an earlier, larger
    round are removed then."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._paths: list[Path] = []
        self._tmp: list[Path] = []
        self._file: Any = None
        self._lines = self._bytes = 0

    def _part(self, n: int) -> Path:
        return self.path if n == 1 else self.path.with_name(f"{self.path.stem}.{n}{self.path.suffix}")

    def _open(self) -> None:
        if self._file is not None:
            self._file.close()
        final = self._part(len(self._paths) + 1)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", dir=final.parent)
        self._file = os.fdopen(fd, "wb")
        self._paths.append(final)
        self._tmp.append(Path(tmp))
        self._lines = self._bytes = 0

    def write(self, line: str) -> None:
        data = (line + "\n").encode("utf-8", "surrogatepass")
        if self._file is None or self._lines >= MAX_FILE_REQUESTS or self._bytes + len(data) > MAX_FILE_BYTES:
            self._open()
        self._file.write(data)
        self._lines += 1
        self._bytes += len(data)
        self.count += 1

    def abort(self) -> None:
        """Drop what was written (the round failed): the files from before stay as they were."""
        if self._file is not None:
            self._file.close()
        for tmp in self._tmp:
            tmp.unlink(missing_ok=True)

    def close(self) -> list[Path]:
        """Rename the files into place (an empty first file when nothing is left to ask); the files written."""
        if self._file is None:
            self._open()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        for tmp, final in zip(self._tmp, self._paths, strict=True):
            os.replace(tmp, final)
        n = len(self._paths) + 1
        while (stale := self._part(n)).exists():  # parts of an earlier, larger round
            stale.unlink()
            n += 1
        return list(self._paths)


def _digest(body: dict[str, Any]) -> str:
    raw = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:DIGEST_CHARS]


def _read_results(path: Path) -> dict[str, dict[str, Any]]:
    """A provider's result lines by ``custom_id`` (the last one wins); unreadable lines are skipped, counted."""
    if not path.is_file():
        raise ArticleError(f"no such result file: {path}")
    lines: dict[str, dict[str, Any]] = {}
    bad = 0
    with path.open("rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
                lines[str(data["custom_id"])] = data
            except (ValueError, KeyError, TypeError):
                bad += 1
    if bad:
        log.warning("%s: %d line(s) are not batch result lines; ignored", path, bad)
    return lines


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
