"""Rendering a :class:`~summarizer.evals.results.Report`: Markdown, self-contained HTML, and a rich table.

``write_report(report, folder)`` writes ``report.json``, ``report.md`` and ``report.html`` (used by the CLI only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from ..results import Report
from .plots import bar_chart, color, strip_plot

__all__ = ["aggregate_rows", "gold_rows", "render_html", "render_markdown", "rich_table", "write_report"]

_TEMPLATES = Path(__file__).with_name("templates")


def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env


def fmt_value(v: float | None, digits: int = 3) -> str:
    if v is None:
        return "–"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def aggregate_rows(report: Report) -> list[dict[str, Any]]:
    """One row per scorer: for each system, 'mean [lo, hi]' and how many cases abstained."""
    rows = []
    for info in report.spec.scorers:
        cells = []
        for system in report.spec.systems:
            agg = report.aggregate(system, info.name)
            cell: dict[str, Any]
            if agg is None or agg.estimate.mean is None:
                cell = {"text": "–", "mean": None, "abstained": agg.abstained if agg else 0, "n": 0}
                cells.append(cell)
                continue
            e = agg.estimate
            digits = 2 if abs(e.mean or 0) >= 10 else 3
            text = f"{fmt_value(e.mean, digits)} [{fmt_value(e.ci_low, digits)}, {fmt_value(e.ci_high, digits)}]"
            cells.append({"text": text, "mean": e.mean, "abstained": agg.abstained, "n": e.n})
        rows.append({"scorer": info.name, "better": info.better, "description": info.description, "cells": cells})
    return rows


def gold_rows(report: Report) -> list[dict[str, Any]]:
    """Per gold check: for each system, how many cases passed / failed / did not mention it."""
    out: dict[str, dict[str, Any]] = {}
    for r in report.results:
        gold = r.scores.get("gold")
        for check in (gold.details.get("checks", []) if gold else []):
            row = out.setdefault(check["id"], {"id": check["id"], "type": check["type"], "cells": {}})
            cell = row["cells"].setdefault(r.system, {"pass": 0, "fail": 0, "missing": 0, "notes": []})
            cell[check["status"]] += 1
            if check["status"] != "missing":
                cell["notes"].append(check["explanation"])
    for row in out.values():
        for system in report.spec.systems:
            cell = row["cells"].setdefault(system, {"pass": 0, "fail": 0, "missing": 0, "notes": []})
            total = cell["pass"] + cell["fail"] + cell["missing"]
            if total == 1:
                cell["text"] = next(k for k in ("pass", "fail", "missing") if cell[k])
            else:
                cell["text"] = f"{cell['pass']} pass / {cell['fail']} fail / {cell['missing']} missing"
    return list(out.values())


def render_markdown(report: Report) -> str:
    return _env(autoescape=False).get_template("report.md.j2").render(
        r=report, rows=aggregate_rows(report), gold=gold_rows(report), fmt=fmt_value,
        errors=[x for x in report.results if x.error])


def _highlight(article: str, spans: list[tuple[int, int, int]]) -> Markup:
    """The article as HTML with evidence spans marked (``<mark data-claim=n>``); overlapping spans merged."""
    out: list[str] = []
    pos = 0
    for start, end, claim in sorted(spans):
        if start < pos:
            start = pos
        if start >= end:
            continue
        out.append(str(escape(article[pos:start])))
        out.append(f'<mark data-claim="{claim}" title="evidence of claim {claim}">{escape(article[start:end])}</mark>')
        pos = end
    out.append(str(escape(article[pos:])))
    return Markup("".join(out))


def _case_views(report: Report) -> list[dict[str, Any]]:
    articles = {c.id: c for c in report.cases}
    views = []
    for i, r in enumerate(report.results):
        case = articles.get(r.case_id)
        article = case.article if case else ""
        spans = [(e.start, e.end, n) for n, c in enumerate(r.summary.claims, 1) for e in c.evidence] \
            if r.summary else []
        views.append({"anchor": f"r{i}", "result": r, "case": case, "article_html": _highlight(article, spans),
                      "system_index": report.spec.systems.index(r.system) if r.system in report.spec.systems else 0})
    return views


def _plots(report: Report) -> list[dict[str, Any]]:
    plots: list[dict[str, Any]] = []
    for info in report.spec.scorers:
        bars = []
        series = []
        for system in report.spec.systems:
            agg = report.aggregate(system, info.name)
            e = agg.estimate if agg else None
            bars.append((system, e.mean if e else None, e.ci_low if e else None, e.ci_high if e else None))
            values = [v for r in report.results if r.system == system
                      and (s := r.scores.get(info.name)) is not None and (v := s.value) is not None]
            series.append((system, values))
        arrow = {"higher": " (higher is better)", "lower": " (lower is better)"}.get(info.better, "")
        plots.append({"name": info.name,
                      "bars": Markup(bar_chart(f"{info.name}: mean, 95% CI{arrow}", bars)),
                      "dist": Markup(strip_plot(f"{info.name}: per case", series))})
    return plots


def render_html(report: Report) -> str:
    """A single self-contained HTML page: inline CSS, inline SVG plots, a few lines of inline JS for sorting."""
    return _env(autoescape=True).get_template("report.html.j2").render(
        r=report, rows=aggregate_rows(report), gold=gold_rows(report), plots=_plots(report),
        views=_case_views(report), colors=[color(i) for i in range(len(report.spec.systems))], fmt=fmt_value,
        errors=[x for x in report.results if x.error])


def rich_table(report: Report) -> Any:
    """The aggregate table (scorers × systems) for the terminal."""
    from rich.table import Table

    title = f"{report.spec.suite}: {report.spec.n_cases} case(s)" + (" — INTERRUPTED" if report.interrupted else "")
    table = Table("scorer", *report.spec.systems, title=title, caption="mean [95% bootstrap CI]; (k) = k abstained")
    for row in aggregate_rows(report):
        table.add_row(row["scorer"], *[c["text"] + (f" ({c['abstained']})" if c["abstained"] else "")
                                       for c in row["cells"]])
    return table


def write_report(report: Report, folder: str | Path) -> list[Path]:
    """Write report.json, report.md and report.html into ``folder`` (created if needed)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files = {"report.json": report.model_dump_json(indent=1), "report.md": render_markdown(report),
             "report.html": render_html(report)}
    paths = []
    for name, text in files.items():
        path = out / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        paths.append(path)
    return paths
