"""``summarizer eval run | rescore | compare | show | meta``.

Exit codes: 0 ok; 7 a threshold failed (suite ``thresholds`` or ``--fail-under``; the failed ones are printed);
130 interrupted (Ctrl-C: the partial report is written first); 4 a bad suite, dataset or model name; 2 usage.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

eval_app = typer.Typer(no_args_is_help=True, help="Evaluate models and baselines on suites of articles.")
INTERRUPTED_EXIT_CODE = 130


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


@eval_app.command("run")
def run_cmd(
    suite: Annotated[Path, typer.Argument(help="Suite YAML file, e.g. evals/seed.yaml.")],
    models: Annotated[list[str] | None, typer.Option("--models", "-m", help="Systems to run instead of the "
                                                     "suite's: comma-separated models, lead-3, reference.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N cases.")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, max=64, help="Summaries in flight at once "
                                                    "(embedded models still run one at a time).")] = None,
    fail_under: Annotated[list[str] | None, typer.Option("--fail-under", help="scorer=value (or "
                          "scorer@system=value): exit 7 if a system's mean is lower. Repeatable.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for run folders.")] = Path("runs"),
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Exact output folder "
                                                 "(default: <out>/<timestamp>-<suite>).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the summary cache.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no table.")] = False,
    max_attempts: Annotated[int | None, typer.Option(min=1, max=10, help="Model calls per article part before "
                            "giving up on invalid, ungrounded or hijacked output (default: the suite's, 3).")] = None,
) -> None:
    """Run a suite: summarise every case with every system, score, and write report.json/.md/.html."""
    from .report import rich_table, write_report
    from .results import THRESHOLD_EXIT_CODE, parse_thresholds
    from .runner import default_run_dir, run_suite
    from .suite import load_suite

    spec = load_suite(suite)
    thresholds = parse_thresholds(fail_under or [])
    report = run_suite(spec, models=_split(models), limit=limit, concurrency=concurrency, max_attempts=max_attempts,
                       cache=not no_cache,
                       fail_under=thresholds, progress=not quiet and sys.stderr.isatty())
    folder = run_dir or default_run_dir(out, spec.name, report.spec.started_at.astimezone())
    write_report(report, folder)
    console = Console()
    err = Console(stderr=True)
    if not quiet:
        console.print(rich_table(report))
    errors = [r for r in report.results if r.error]
    if errors:
        err.print(f"[yellow]{len(errors)} of {len(report.results)} results failed[/] (see report): "
                  + "; ".join(f"{r.system} · {r.case_id[:16]}: {r.error.type}" for r in errors[:3] if r.error))
    for t in report.thresholds:
        (console if t.passed else err).print(t.message(), style=None if t.passed else "bold red", highlight=False)
    typer.echo(f"report: {folder}")
    if report.interrupted:
        err.print("[bold red]interrupted[/]: the report holds the results that finished")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(INTERRUPTED_EXIT_CODE)  # do not wait for a generation still running in a worker thread
    if report.failed_thresholds:
        raise typer.Exit(THRESHOLD_EXIT_CODE)


@eval_app.command("compare")
def compare_cmd(
    a: Annotated[Path, typer.Argument(help="Run A (folder or report.json): the baseline.")],
    b: Annotated[Path, typer.Argument(help="Run B: what changed.")],
    system_a: Annotated[str | None, typer.Option(help="System of run A to pair (default: systems in both).")] = None,
    system_b: Annotated[str | None, typer.Option(help="System of run B to pair.")] = None,
    worst: Annotated[int, typer.Option(min=0, help="Worsened cases to list per scorer.")] = 10,
) -> None:
    """Pair the two runs' cases by id: per-scorer B − A with a paired bootstrap 95% CI, and what got worse."""
    from .compare import compare_reports
    from .results import Report

    comparison = compare_reports(Report.load(a), Report.load(b), label_a=str(a), label_b=str(b),
                                 system_a=system_a, system_b=system_b)
    typer.echo(comparison.to_markdown(worst=worst))


@eval_app.command("rescore")
def rescore_cmd(
    run: Annotated[Path, typer.Argument(help="A run folder or its report.json.")],
    suite: Annotated[Path | None, typer.Option("--suite", help="Suite YAML whose scorers to use (default: the "
                                               "run's own suite, as stored in its report).")] = None,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Output folder (default: <run>-rescored).")] = None,
    fail_under: Annotated[list[str] | None, typer.Option("--fail-under", help="scorer=value (or "
                          "scorer@system=value): exit 7 if a system's mean is lower. Repeatable.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table.")] = False,
) -> None:
    """Score a finished run's summaries again with this version's scorers; no model is called.

    Two runs made by different versions of the library are compared on one scale by rescoring both first.
    """
    from .report import rich_table, write_report
    from .results import THRESHOLD_EXIT_CODE, Report, parse_thresholds
    from .runner import rescore

    report = rescore(Report.load(run), suite, fail_under=parse_thresholds(fail_under or []))
    source = run if run.is_dir() else run.parent
    folder = run_dir or source.with_name(source.name + "-rescored")
    if folder.resolve() == source.resolve():
        raise typer.BadParameter("--run-dir is the run itself; rescoring never overwrites a run")
    write_report(report, folder)
    console = Console()
    if not quiet:
        console.print(rich_table(report))
    for t in report.thresholds:
        (console if t.passed else Console(stderr=True)).print(t.message(), highlight=False,
                                                              style=None if t.passed else "bold red")
    typer.echo(f"report: {folder}")
    if report.failed_thresholds:
        raise typer.Exit(THRESHOLD_EXIT_CODE)


@eval_app.command("show")
def show_cmd(
    run: Annotated[Path, typer.Argument(help="A run folder or its report.json.")],
    markdown: Annotated[bool, typer.Option("--markdown", help="Print report.md instead of the table.")] = False,
    rerender: Annotated[bool, typer.Option("--rerender", help="Rewrite report.md and report.html from "
                                           "report.json (e.g. after a template change).")] = False,
) -> None:
    """Show a finished run's table again, without re-running anything."""
    from .report import render_markdown, rich_table, write_report
    from .results import Report

    report = Report.load(run)
    if rerender:
        folder = run if run.is_dir() else run.parent
        write_report(report, folder)
        typer.echo(f"re-rendered {folder}")
    if markdown:
        typer.echo(render_markdown(report))
    else:
        Console().print(rich_table(report))
        for t in report.thresholds:
            typer.echo(t.message())


@eval_app.command("meta")
def meta_cmd(
    articles: Annotated[Path, typer.Argument(help="Articles JSONL (id, article, ...), e.g. "
                                             "../shared/data/frank/articles.jsonl.")],
    judgements: Annotated[Path, typer.Argument(help="Human judgements JSONL (id, system, summary, factuality).")],
    scorer: Annotated[str, typer.Option(help="faithfulness, faithfulness-lexical, faithfulness-embedding, "
                                        "faithfulness-model or none.")] = "faithfulness",
    scores_out: Annotated[Path | None, typer.Option(help="Write our score per judgement here (JSONL).")] = None,
    judge: Annotated[str | None, typer.Option(help="Also score in judge mode with this provider/model "
                                              "(e.g. local/qwen2.5-coder-1.5b).")] = None,
    reader: Annotated[str | None, typer.Option(help="The model whose token probabilities the faithfulness-model "
                                               "scorer reads (default: local/qwen2.5-coder-1.5b).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the judgements of the first N articles.")] = None,
) -> None:
    """How well the faithfulness scorer agrees with human judges (correlations, partial correlations, AUC)."""
    from .meta import SCORERS, run_meta

    if scorer not in SCORERS:
        raise typer.BadParameter(f"unknown scorer {scorer!r}; use one of {', '.join(SCORERS)}")
    if reader is not None and scorer != "faithfulness-model":
        raise typer.BadParameter("--reader is the faithfulness-model scorer's option")
    for path in (articles, judgements):
        if not path.is_file():
            raise typer.BadParameter(f"no such file: {path}")
    report = run_meta(articles, judgements, scorer_name=scorer, scores_out=scores_out, judge=judge, reader=reader,
                      limit=limit)
    typer.echo(report.to_table())
