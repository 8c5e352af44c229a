"""run_suite, the report files and the CLI: fake models and baselines on tiny suites, so all of it takes seconds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from evals_helpers import write_suite
from typer.testing import CliRunner

from summarizer import ScriptedModel
from summarizer.cli import app
from summarizer.evals import THRESHOLD_EXIT_CODE, Report, load_cases, load_suite, rescore, run_suite
from summarizer.evals import systems as systems_module
from summarizer.evals.compare import compare_reports
from summarizer.evals.report import render_html, render_markdown
from summarizer.evals.stats import bootstrap_mean, paired_difference
from summarizer.evals.suite import SuiteError
from summarizer.models.base import ChatRequest, ChatResponse, in_thread

REPO = Path(__file__).resolve().parents[1]
cli = CliRunner()


def test_shipped_suites_load(seed: str) -> None:
    seed_suite = load_suite(REPO / "evals" / "seed.yaml")
    [case] = load_cases(seed_suite)
    assert case.article == seed and case.reference
    ids = {c.id for c in case.checks}
    assert {"troops-3000-white-house", "troops-10000-zelensky", "troops-1500-nis", "quote-fair-game-kirby",
            "quote-co-belligerent-austin", "combat-hedged"} <= ids
    frank = load_suite(REPO / "evals" / "frank-valid.yaml")
    cases = load_cases(frank, limit=5)
    assert len(cases) == 5 and all(c.reference and c.article for c in cases)
    assert {"lead-3", "reference"} <= set(frank.models)
    # the file lists its CNN/DailyMail articles first: a limit takes them alternately with the XSum ones
    assert [c.meta["dataset"] for c in load_cases(frank, limit=20)] == ["cnndm", "xsum"] * 10
    assert [c.meta["dataset"] for c in load_cases(frank)][:3] == ["cnndm"] * 3  # no limit: every case, in order


@pytest.mark.parametrize(("text", "message"), [
    ("models: [fake/x]\n", "dataset"),
    ("[1, 2]", "mapping"),
    ("dataset: data.jsonl\nmodels: [fake/x]\nscorers: [bleu]\n", "unknown scorer"),
    ("dataset: nowhere.jsonl\nmodels: [fake/x]\n", "no dataset"),
    ("dataset: data.jsonl\nmodels: [fake/x]\nscorers: [rouge]\nthresholds: {grounding: 1}\n", "not in this suite"),
    ("dataset: data.jsonl\nmodels: [nomodel]\n", "provider/model"),
])
def test_bad_suites_fail_before_any_work(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "data.jsonl").write_text('{"id": "a", "article": "One two three. Four five six."}\n')
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(Exception, match=message) as info:
        run_suite(path)
    assert getattr(info.value, "exit_code", None) == 4


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    (tmp_path / "data.jsonl").write_text('{"id": "a", "article": "x"}\n{"id": "a", "article": "y"}\n')
    (tmp_path / "s.yaml").write_text("dataset: data.jsonl\nmodels: [lead-3]\n")
    with pytest.raises(SuiteError, match="duplicate"):
        load_cases(load_suite(tmp_path / "s.yaml"))


def test_run_scores_every_case_and_the_report_reloads(tmp_path: Path, seed_path: Path) -> None:
    suite = write_suite(tmp_path, seed_path, models=["fake/x", "lead-3", "reference"],
                        thresholds={"grounding": 1.0})
    report = run_suite(suite)
    assert len(report.results) == 3 * 3 and not report.interrupted
    assert all(set(r.scores) == set(report.scorer_names) for r in report.results)
    assert report.spec.baselines == ["lead-3", "reference"]
    assert report.spec.prompt_versions["fake/x"] == [report.spec.current_prompt_version]
    assert len(report.spec.dataset_sha256) == 64 and report.spec.package_version
    rouge_ref = report.aggregate("reference", "rouge")
    assert rouge_ref is not None and rouge_ref.estimate.mean == pytest.approx(1.0)
    for agg in report.aggregates:
        e = agg.estimate
        if e.mean is not None:
            assert e.ci_low is not None and e.ci_high is not None and e.ci_low <= e.mean <= e.ci_high
    [threshold] = report.thresholds  # baselines are not gated
    assert threshold.system == "fake/x" and threshold.passed
    again = Report.model_validate_json(report.model_dump_json())
    assert again == report


def test_a_rerun_reuses_the_cache(tmp_path: Path, seed_path: Path) -> None:
    suite = write_suite(tmp_path, seed_path, models=["fake/x"], scorers=["length"])
    first = run_suite(suite)
    second = run_suite(suite)
    assert not any(r.summary and r.summary.provenance.cached for r in first.results)
    assert all(r.summary and r.summary.provenance.cached for r in second.results)


def test_per_case_errors_are_recorded_and_the_run_goes_on(tmp_path: Path, seed_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str) -> ScriptedModel:
        return ScriptedModel(lambda request: "not json at all", name=name)

    monkeypatch.setattr(systems_module, "get_model", broken)
    suite = write_suite(tmp_path, seed_path, models=["fake/broken", "lead-3"], scorers=["valid", "grounding"])
    report = run_suite(suite)
    broken_results = [r for r in report.results if r.system == "fake/broken"]
    assert len(broken_results) == 3 and all(r.error and r.error.type == "OutputError" for r in broken_results)
    assert all(r.scores["valid"].value == 0.0 for r in broken_results)
    assert all(r.summary is not None for r in report.results if r.system == "lead-3")


def test_concurrency_is_bounded(tmp_path: Path, seed_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from summarizer.models.fake import extractive_answer

    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def slow(request: ChatRequest) -> str:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return extractive_answer(request)

    class Unlocked(ScriptedModel):  # ScriptedModel serialises its handler; this one lets calls overlap
        def complete(self, request: ChatRequest) -> ChatResponse:
            return ChatResponse(slow(request), 10, 10, structured_output="scripted", finish_reason="stop")

        async def acomplete(self, request: ChatRequest) -> ChatResponse:  # the session's path: on its own thread
            return await in_thread(self.complete, request)

    monkeypatch.setattr(systems_module, "get_model", lambda name: Unlocked(name=name))
    suite = write_suite(tmp_path, seed_path, models=["fake/a", "fake/b"], scorers=["length"], extra_rows=4)
    report = run_suite(suite, concurrency=2, cache=False)
    assert len(report.results) == 10 and state["peak"] == 2


def test_ctrl_c_returns_a_partial_report(tmp_path: Path, seed_path: Path) -> None:
    suite = write_suite(tmp_path, seed_path, models=["lead-3"], scorers=["length"], extra_rows=6)

    def interrupt(result: object, done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    report = run_suite(suite, concurrency=1, on_result=interrupt)
    assert report.interrupted and len(report.results) == 2
    assert "INTERRUPTED" in render_markdown(report)


def test_bootstrap_intervals() -> None:
    assert bootstrap_mean([]).mean is None
    const = bootstrap_mean([0.7] * 5)
    assert (const.mean, const.ci_low, const.ci_high) == (0.7, 0.7, 0.7)
    coin = bootstrap_mean([0.0, 1.0] * 50)
    assert coin.ci_low is not None and coin.ci_high is not None
    assert 0.35 < coin.ci_low < 0.5 < coin.ci_high < 0.65
    shifted = paired_difference([0.1 * i for i in range(20)], [0.1 * i - 0.2 + 0.01 * (i % 3) for i in range(20)])
    assert shifted.mean is not None and shifted.ci_high is not None and shifted.ci_high < 0


def test_compare_pairs_cases_and_lists_what_got_worse(tmp_path: Path, seed_path: Path) -> None:
    suite = write_suite(tmp_path, seed_path, models=["fake/x", "lead-3"])
    a = run_suite(suite)
    b = a.model_copy(deep=True)
    target = next(r for r in b.results if r.system == "fake/x" and r.case_id == "seed")
    target.scores["numbers"] = target.scores["numbers"].model_copy(update={"value": 0.25})
    comparison = compare_reports(a, b)
    delta = next(d for d in comparison.deltas if d.system_a == "fake/x" and d.scorer == "numbers")
    assert delta.n_pairs == 3 and delta.diff.mean == pytest.approx((0.25 - 1.0) / 3)
    assert [(w.case_id, w.scorer) for w in comparison.worse] == [("seed", "numbers")]
    text = comparison.to_markdown()
    assert "B − A [95% CI]" in text and "seed" in text
    with pytest.raises(SuiteError, match="no system"):
        compare_reports(a, b, system_a="local/none")


def test_rescore_scores_stored_summaries_again_without_a_model(tmp_path: Path, seed_path: Path) -> None:
    suite = write_suite(tmp_path, seed_path, models=["fake/x", "lead-3"], scorers=["length", "rouge"])
    run = tmp_path / "runs" / "a"
    assert cli.invoke(app, ["eval", "run", str(suite), "--run-dir", str(run), "-q"]).exit_code == 0
    report = Report.load(run)
    # A report from an older version: one score was computed differently then.
    old = report.model_copy(deep=True)
    old.results[0].scores["rouge"] = old.results[0].scores["rouge"].model_copy(update={"value": 0.0})
    again = rescore(old)
    assert again.results[0].scores["rouge"] == report.results[0].scores["rouge"]
    assert [r.summary for r in again.results] == [r.summary for r in old.results]
    assert again.aggregates == report.aggregates
    # Another suite's scorers and thresholds; no model is built (a model call would fail: none is configured).
    (tmp_path / "other").mkdir()
    other = write_suite(tmp_path / "other", seed_path, models=["openai/none"], scorers=["numbers", "compression"],
                        thresholds={"numbers": 1.01})
    scored = rescore(report, other)
    assert scored.scorer_names == ["numbers", "compression"]
    assert all(set(r.scores) == {"numbers", "compression"} for r in scored.results)
    [threshold] = scored.thresholds
    assert threshold.system == "fake/x" and not threshold.passed
    out = tmp_path / "runs" / "a2"
    done = cli.invoke(app, ["eval", "rescore", str(run), "--suite", str(other), "--run-dir", str(out), "-q"])
    assert done.exit_code == THRESHOLD_EXIT_CODE, done.output
    assert Report.load(out).scorer_names == ["numbers", "compression"]
    assert Report.load(run).scorer_names == ["length", "rouge"]  # the run itself is left as it was
    same = cli.invoke(app, ["eval", "rescore", str(run), "--run-dir", str(run)])
    assert same.exit_code == 2 and "never overwrites" in same.output


def test_html_report_is_self_contained_with_plots_and_highlighted_evidence(tmp_path: Path, seed_path: Path) -> None:
    report = run_suite(write_suite(tmp_path, seed_path, models=["fake/x", "lead-3"]))
    page = render_html(report)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<link" not in page and "src=" not in page
    assert page.count('<svg class="plot bars"') == len(report.scorer_names)
    assert page.count('<svg class="plot dist"') == len(report.scorer_names)
    assert '<mark data-claim="1"' in page  # the fake model's claims' evidence, highlighted in the article
    assert page.count("<tr><td><a href=") == len(report.results)
    md = render_markdown(report)
    assert "| scorer | fake/x | lead-3 |" in md and "## Gold checks" in md


def test_cli_run_show_compare_and_thresholds(tmp_path: Path, seed_path: Path) -> None:
    suite = write_suite(tmp_path, seed_path)
    run_a = tmp_path / "runs" / "a"
    ok = cli.invoke(app, ["eval", "run", str(suite), "--run-dir", str(run_a), "--models", "fake/x,lead-3"])
    assert ok.exit_code == 0, ok.output
    assert {p.name for p in run_a.iterdir()} == {"report.json", "report.md", "report.html"}
    assert json.loads((run_a / "report.json").read_text())["spec"]["suite"] == "tiny"
    run_b = tmp_path / "runs" / "b"
    bad = cli.invoke(app, ["eval", "run", str(suite), "--run-dir", str(run_b), "--models", "fake/x",
                           "--fail-under", "rouge=0.99", "--fail-under", "grounding=1"])
    assert bad.exit_code == THRESHOLD_EXIT_CODE == 7
    assert "threshold FAILED: rouge >= 0.99 for fake/x" in bad.output
    assert (run_b / "report.html").is_file()  # the report is written even when a threshold fails
    shown = cli.invoke(app, ["eval", "show", str(run_a)])
    assert shown.exit_code == 0 and "faithfulness" in shown.output and "fake/x" in shown.output
    compared = cli.invoke(app, ["eval", "compare", str(run_a), str(run_b)])
    assert compared.exit_code == 0, compared.output
    assert "| fake/x | rouge | 3 |" in compared.output and "+0.000 [+0.000, +0.000]" in compared.output
    default = cli.invoke(app, ["eval", "run", str(suite), "--out", str(tmp_path / "many"), "--models", "lead-3", "-q"])
    assert default.exit_code == 0
    [folder] = (tmp_path / "many").iterdir()
    assert folder.name.endswith("-tiny") and (folder / "report.md").is_file()


def test_cli_exit_codes_in_a_real_process(tmp_path: Path, seed_path: Path) -> None:
    suite = write_suite(tmp_path, seed_path, models=["lead-3"], scorers=["length", "rouge"],
                        thresholds={"rouge@lead-3": 0.99})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "summarizer", "eval", "run", str(suite), "--run-dir",
                           str(tmp_path / "r"), "-q"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 7 and "threshold FAILED: rouge >= 0.99 for lead-3" in proc.stderr
    missing = subprocess.run([sys.executable, "-m", "summarizer", "eval", "run", str(tmp_path / "nope.yaml")],
                             capture_output=True, text=True, env=env, timeout=120)
    assert missing.returncode == 4 and "no suite file" in missing.stderr


def test_cli_meta_prints_the_agreement_table(tmp_path: Path) -> None:
    articles = tmp_path / "articles.jsonl"
    judgements = tmp_path / "judgements.jsonl"
    articles.write_text("".join(json.dumps({"id": str(i), "article": f"Article {i}. It rained."}) + "\n"
                                for i in range(4)))
    judgements.write_text("".join(
        json.dumps({"id": str(i % 4), "system": f"s{i % 2}", "summary": "It rained.", "factuality": (i % 3) / 2,
                    "baselines": {"rouge1": (i % 5) / 4}}) + "\n" for i in range(12)))
    result = cli.invoke(app, ["eval", "meta", str(articles), str(judgements), "--scorer", "none"])
    assert result.exit_code == 0, result.output
    assert "| metric |" in result.output and "rouge1" in result.output


def test_a_threshold_that_gates_no_system_fails_on_the_command_line_and_is_skipped_in_a_suite() -> None:
    from summarizer.evals.results import Aggregate, check_thresholds

    aggregates = [Aggregate(system="lead-3", scorer="rouge", estimate=bootstrap_mean([0.4, 0.5]), abstained=0)]
    [cli] = check_thresholds(aggregates, {"rouge": 0.1}, ["lead-3"], ["lead-3"], "cli")
    assert not cli.passed and "gates no system" in cli.message() and "rouge@<system>" in cli.message()
    [suite] = check_thresholds(aggregates, {"rouge": 0.1}, ["lead-3"], ["lead-3"], "suite")
    assert suite.passed and suite.message().startswith("threshold skipped")
    [named] = check_thresholds(aggregates, {"rouge@lead-3": 0.6}, ["lead-3"], ["lead-3"], "cli")
    assert not named.passed and named.mean == pytest.approx(0.45)
