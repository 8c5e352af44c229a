"""The command line: ``summarizer summarize``, ``batch``, ``models``, ``schema``, ``cache`` and ``eval``.

Errors print one line on stderr and exit with the error's code: 3 bad article, 4 configuration, 5 model failure,
6 invalid model output, 2 bad usage, 8 a batch that finished with error rows, 9 a batch-file import that needs
another round, 130 Ctrl-C, 1 anything unexpected (a bug: the traceback is shown).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from . import __version__
from .article import decode_article
from .cache import SummaryCache
from .config import default_model
from .errors import ArticleError, SummarizerError
from .evals.cli import eval_app
from .options import (
    AUTO_WORKERS_AT,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_CLAIMS,
    DEFAULT_TIMEOUT_S,
    MAX_ARTICLE_CHARS,
    Limits,
    SummarizeOptions,
)
from .redact import SecretFilter, public_url, redact
from .render import to_markdown, to_rich
from .schema import MAX_CLAIMS, summary_json_schema
from .service.cli import keys_app
from .session import Summarizer, summarize

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .batch import BadRow, InputRow
    from .ray_engine import RayEngine

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="News summaries you can check.")
cache_app = typer.Typer(no_args_is_help=True, help="Inspect or clear the summary cache.")
app.add_typer(cache_app, name="cache")
app.add_typer(eval_app, name="eval")
app.add_typer(keys_app, name="keys")
err = Console(stderr=True)


class BatchMode(StrEnum):
    json_schema = "json_schema"
    json_object_schema = "json_object_schema"
    json_object = "json_object"
    prompt = "prompt"


class Engine(StrEnum):
    local = "local"
    ray = "ray"


class Format(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


#: Exit code of a batch that ran to the end but left some rows as errors.
EXIT_BATCH_ERRORS = 8
#: Exit code of a batch-file import that left requests for another round.
EXIT_BATCH_PENDING = 9
EXIT_INTERRUPTED = 130


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each model call and re-ask "
                                          "(--log-level info).")] = False,
    log_level: Annotated[LogLevel | None, typer.Option("--log-level", help="Logging threshold (default: "
                                                       "warning).")] = None,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()
    level = log_level.upper() if log_level else ("INFO" if verbose else "WARNING")
    logging.basicConfig(level=level, format="%(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:  # every logger's records, the HTTP client's included
        handler.addFilter(SecretFilter())


def _read(source: str) -> str:
    if source == "-":
        return decode_article(sys.stdin.buffer.read())
    path = Path(source)
    if not path.is_file():
        raise ArticleError(f"no such file: {source}")
    try:
        return decode_article(path.read_bytes())
    except ArticleError as exc:
        raise ArticleError(f"{source}: {exc}") from None


@app.command("summarize")
def summarize_cmd(
    source: Annotated[str, typer.Argument(help="Article file (UTF-8 text), or - for standard input.")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="provider/model; default $SUMMARIZER_MODEL "
                                               "or the embedded default.")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    max_claims: Annotated[int, typer.Option(min=1, max=MAX_CLAIMS, help="Most claims to extract.")] = (
        DEFAULT_MAX_CLAIMS
    ),
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache.")] = False,
    max_chars: Annotated[int, typer.Option(min=1, help="Longest article accepted (characters).")] = (
        MAX_ARTICLE_CHARS
    ),
) -> None:
    """Summarise an article into a headline, a summary and claims with verified evidence."""
    article = _read(source)
    summary = summarize(article, model=model, cache=not no_cache, max_claims=max_claims,
                        limits=Limits(max_article_chars=max_chars))
    if fmt is Format.json:
        typer.echo(summary.model_dump_json(indent=2))
    elif fmt is Format.markdown:
        typer.echo(to_markdown(summary), nl=False)
    else:
        out = Console()
        for renderable in to_rich(summary):
            out.print(renderable)


@app.command("batch")
def batch_cmd(
    source: Annotated[Path, typer.Argument(help="A JSONL file of {\"id\", \"article\"} rows, or a folder of .txt "
                                           "files (id = file name).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Result rows (JSONL); rerunning resumes it. "
                                             "Needed unless only exporting a batch request file.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="provider/model; default $SUMMARIZER_MODEL "
                                               "or the embedded default.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=4096, help="Articles in flight at once (an embedded "
                                             "model still runs one at a time).")] = DEFAULT_CONCURRENCY,
    rpm: Annotated[float | None, typer.Option(min=1, help="Requests per minute to the model.")] = None,
    tpm: Annotated[float | None, typer.Option(min=1, help="Tokens per minute to the model.")] = None,
    timeout: Annotated[float, typer.Option(min=0.001, help="Seconds per model request.")] = DEFAULT_TIMEOUT_S,
    workers: Annotated[int | None, typer.Option(min=0, max=64, help="Worker processes checking answers off the "
                                                "event loop (0: none; default: one for an endpoint at "
                                                f"--concurrency {AUTO_WORKERS_AT} or more).")] = None,
    max_claims: Annotated[int, typer.Option(min=1, max=MAX_CLAIMS, help="Most claims per article.")] = (
        DEFAULT_MAX_CLAIMS
    ),
    no_retry_failed: Annotated[bool, typer.Option("--no-retry-failed", help="Keep the error rows of an earlier "
                                                  "run instead of retrying those ids.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the summary cache.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (the summary line stays).")] = False,
    max_chars: Annotated[int, typer.Option(min=1, help="Longest article accepted (characters); longer ones are "
                                           "error rows.")] = MAX_ARTICLE_CHARS,
    engine: Annotated[Engine, typer.Option(help="Where the articles run: this process, or a Ray cluster "
                                           "(summarizer[ray]; the same rows and resume rules).")] = Engine.local,
    address: Annotated[str | None, typer.Option(help="Ray cluster to join (auto, ray://host:10001); default: a "
                                                "local Ray started for the run.")] = None,
    actors: Annotated[int | None, typer.Option(min=1, max=4096, help="Ray actors, each one session (default: one "
                                               "per CPU, or per --actor-cpus for an embedded model).")] = None,
    actor_cpus: Annotated[float | None, typer.Option(min=0.01, help="CPUs per Ray actor (embedded models: their "
                                                     "threads).")] = None,
    export_batch: Annotated[Path | None, typer.Option("--export-openai-batch", help="Write the requests of the "
                                                      "next round as an OpenAI Batch API file (no model call).")] = (
        None
    ),
    import_batch: Annotated[list[Path] | None, typer.Option("--import-openai-batch", help="Read a round's Batch "
                                                            "API results (repeat for the error file) into --out, "
                                                            "and write the next round's requests.")] = None,
    mode: Annotated[BatchMode, typer.Option(help="Structured output the exported requests ask for (see "
                                            "docs/scale.md for which server takes which).")] = BatchMode.json_schema,
) -> None:
    """Summarise many articles into a JSONL file of result rows, resuming where an earlier run stopped."""
    from .batch import JsonlSink, count_input, read_input, run_batch
    from .progress import BatchProgress

    rows = read_input(source)  # a missing input is an ArticleError (exit 3) before anything starts
    limits = Limits(concurrency=concurrency, rpm=rpm, tpm=tpm, timeout_s=timeout, workers=workers,
                    max_article_chars=max_chars)
    options = SummarizeOptions(max_claims=max_claims)
    if export_batch or import_batch:
        if engine is Engine.ray:
            raise typer.BadParameter("batch files are made and read here; --engine ray runs the model calls itself")
        _batch_files(rows, model, out, export_batch, import_batch or [], mode.value, options, limits,
                     cache=not no_cache, retry_failed=not no_retry_failed)
        return
    if out is None:
        raise typer.BadParameter("--out is needed (where the result rows go)")
    if engine is not Engine.ray and (address or actors or actor_cpus):
        raise typer.BadParameter("--address, --actors and --actor-cpus need --engine ray")
    session: Summarizer | RayEngine
    if engine is Engine.ray:
        from .ray_engine import RayEngine

        session = RayEngine(model, cache=not no_cache, options=options, limits=limits, address=address,
                            actors=actors, cpus_per_actor=actor_cpus)
    else:
        session = Summarizer(model, cache=not no_cache, options=options, limits=limits)
    with session:
        session.load()  # configuration errors (exit 4) before any row is written
        sink = JsonlSink(out)
        try:
            with BatchProgress(count_input(source), session.model.name, quiet=quiet, console=err) as progress:
                report = run_batch(session, rows, sink, retry_failed=not no_retry_failed, on_row=progress.update)
        finally:
            sink.close()
    err.print(BatchProgress.summary_line(report, session.model), soft_wrap=True, highlight=False)
    if report.interrupted:
        err.print(f"interrupted: the rows written are kept in {out}; rerun the same command to resume",
                  soft_wrap=True)
        raise SystemExit(EXIT_INTERRUPTED)
    if not report.ok:
        raise SystemExit(EXIT_BATCH_ERRORS)


def _batch_files(rows: Iterable[InputRow | BadRow], model: str | None, out: Path | None, export: Path | None,
                 results: list[Path], mode: str, options: SummarizeOptions, limits: Limits, *, cache: bool,
                 retry_failed: bool) -> None:
    """``batch --export-openai-batch`` / ``--import-openai-batch``: one round of provider batch files."""
    from .batch import JsonlSink
    from .models import get_model
    from .openai_batch import OpenAIBatch, next_requests_path

    if results and out is None:
        raise typer.BadParameter("--import-openai-batch needs --out (where the result rows and the state go)")
    if export is not None:
        requests = export
    else:  # an import with no file named: the next round's requests go beside the output
        assert out is not None
        requests = next_requests_path(out)
    llm = get_model(model)
    store = SummaryCache() if cache else None
    sink = JsonlSink(out) if out is not None else None
    try:
        report = OpenAIBatch(llm, out, mode=mode, options=options, limits=limits, cache=store).run_round(
            rows, sink, requests, results, retry_failed=retry_failed)
    finally:
        if sink is not None:
            sink.close()
        if store is not None:
            store.close()
    read = f"round {report.round} results: {report.answered} answers read · " if results else ""
    line = (f"{read}{report.done} done · {report.failed} failed · {report.skipped} skipped (finished before) · "
            f"{report.requests} requests for round {report.round + 1} written to {', '.join(report.request_files)}")
    if report.unmatched:
        line += f" · {report.unmatched} result lines matched no request"
    err.print(line, soft_wrap=True, highlight=False)
    if not results:
        return  # an export: the requests are the product
    if report.requests:
        err.print(f"submit {' and '.join(report.request_files)} as the next batch(es), then import the results "
                  "the same way", soft_wrap=True)
        raise SystemExit(EXIT_BATCH_PENDING)
    if not report.ok:
        raise SystemExit(EXIT_BATCH_ERRORS)


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to bind (beyond loopback only with a key, or --allow-open).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=0, max=65535)] = 8080,
    model: Annotated[str | None, typer.Option("--model", "-m", help="provider/model to serve; default "
                                               "$SUMMARIZER_MODEL or the embedded default.")] = None,
    also: Annotated[list[str] | None, typer.Option("--also", help="Another model a request may name (repeat for "
                                                   "more).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=4096, help="Summaries worked on at once.")] = (
        DEFAULT_CONCURRENCY
    ),
    queue: Annotated[int, typer.Option(min=0, help="Requests that may wait for a slot; past it, 503.")] = 64,
    max_body: Annotated[int, typer.Option(min=1, help="Largest request body in bytes; past it, 413.")] = 1_000_000,
    timeout: Annotated[float, typer.Option(min=0.001, help="Seconds a summary request may take; past it, 504.")] = (
        600.0
    ),
    key_rpm: Annotated[float | None, typer.Option(min=1, help="Requests per minute per key (unless the key has "
                                                  "its own).")] = 120.0,
    db: Annotated[Path | None, typer.Option(help="The service database (keys, jobs); default "
                                            "$SUMMARIZER_HOME/service.db.")] = None,
    cors_origin: Annotated[list[str] | None, typer.Option(help="Allow browser calls from this origin (repeat for "
                                                          "more); CORS is off without it.")] = None,
    allow_open: Annotated[bool, typer.Option("--allow-open", help="Serve without keys beyond loopback.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the summary cache.")] = False,
) -> None:
    """Serve the summarizer over HTTP (needs the serve extra): POST /v1/summaries, /healthz, /readyz, /metrics."""
    from .service.cli import serve

    serve(host, port, model, also or [], concurrency, queue, max_body, timeout, key_rpm, db, cors_origin or [],
          allow_open, not no_cache, logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower())


@app.command("schema")
def schema_cmd() -> None:
    """Print the JSON schema of `summarize --format json` output."""
    typer.echo(json.dumps(summary_json_schema(), indent=2))


@app.command("models")
def models_cmd() -> None:
    """List the models that can be used here, and what each needs."""
    from rich.table import Column, Table

    from .models.weights import EMBEDDED

    table = Table(Column("model", no_wrap=True), Column("status", no_wrap=True), "notes")
    default = default_model()
    hints: list[str] = []
    for key, weights in EMBEDDED.items():
        name = f"local/{key}"
        missing = weights.missing_packages()
        status = "[green]installed[/]" if not missing else "[red]not installed[/]"
        if missing:
            hints.append(f"{name}: {weights.install}")
        table.add_row(name + (" (default)" if name == default else ""), status, weights.description)
    table.add_row("local/<file.gguf>", "any GGUF file", "runs in-process with llama-cpp-python")
    base = os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
    has_key = bool(os.environ.get("OPENAI_API_KEY"))
    status = "[green]configured[/]" if has_key or os.environ.get("OPENAI_BASE_URL") else "[red]set OPENAI_API_KEY[/]"
    table.add_row("openai/<model>", status, f"endpoint {public_url(base)}")
    table.add_row("fake/<anything>", "[green]always[/]", "scripted, extractive; for tests and dry runs")
    Console().print(table)
    for hint in hints:
        typer.echo(f"to install {hint}")


@cache_app.command("info")
def cache_info() -> None:
    """Where the cache is and how many summaries it holds."""
    store = SummaryCache()
    typer.echo(f"{store.directory}: {len(store)} summaries")


@cache_app.command("clear")
def cache_clear() -> None:
    """Delete every cached summary."""
    store = SummaryCache()
    typer.echo(f"removed {store.clear()} summaries from {store.directory}")


def main() -> None:
    """Entry point: run the app, turning library errors into one line and a distinct exit code."""
    from rich.text import Text

    try:
        app()  # standalone: usage errors exit 2 with click's message; success exits 0
    except SummarizerError as exc:
        message = redact(" ".join(str(exc).split()))
        err.print(Text.assemble(("error: ", "bold red"), f"{type(exc).__name__}: {message}"), soft_wrap=True)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(EXIT_INTERRUPTED) from None
