"""Slow: the HTML report rendered by a real headless Chromium, and a real embedded model through the harness."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from evals_helpers import write_suite

from summarizer.evals import run_suite
from summarizer.evals.report import write_report

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium is not installed: scripts/setup.sh test installs it (apt-get install chromium)")
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.slow
def test_report_html_renders_in_headless_chromium(tmp_path: Path, seed_path: Path) -> None:
    report = run_suite(write_suite(tmp_path, seed_path, models=["fake/x", "lead-3", "reference"]))
    write_report(report, tmp_path / "run")
    url = (tmp_path / "run" / "report.html").as_uri()
    dom = chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout)
    assert body is not None and 'data-ready="1"' in body.group() and "data-js-error" not in body.group()
    n_plots = 2 * len(report.scorer_names)
    assert f"{len(report.results)} rows, {n_plots} plots." in dom.stdout  # written by the page's own script
    assert dom.stdout.count("<rect") >= len(report.spec.systems)  # bars drawn
    shot = tmp_path / "report.png"
    done = chromium(tmp_path, "--window-size=1280,1600", f"--screenshot={shot}", url)
    assert done.returncode == 0 and shot.is_file() and shot.stat().st_size > 20_000, done.stderr[-2000:]


@pytest.mark.slow
def test_smollm2_runs_through_the_harness(tmp_path: Path, seed_path: Path) -> None:
    suite = write_suite(tmp_path, seed_path, models=["local/smollm2-135m"], extra_rows=0,
                        scorers=["grounding", "numbers", "gold", "valid", "latency"])
    report = run_suite(suite)
    [result] = report.results
    if result.error is not None:  # a tiny model may fail to produce valid output: then it is recorded as such
        assert result.error.type == "OutputError" and result.scores["valid"].value == 0.0
    else:
        assert result.scores["valid"].value == 1.0 and result.summary is not None
        assert result.scores["grounding"].value in (None, 1.0) or result.summary.rejected_claims
        latency = result.scores["latency"].value
        assert latency is not None and latency > 0
