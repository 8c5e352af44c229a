"""`summarizer batch` and its engine: row format, resume rules, a real SIGKILL mid-run, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED_DATA
from helpers import alive, server_stats, start_latency_server, stop_process, worker_pids

from summarizer import ChatRequest, ConfigurationError, Limits, ScriptedModel, Summarizer, Summary
from summarizer.batch import JsonlSink, read_input, run_batch
from summarizer.models.fake import extractive_answer

REPO = Path(__file__).resolve().parents[1]
SUMMARIZER = [sys.executable, "-m", "summarizer"]


def article(i: int) -> str:
    return f"Story {i} opens with a first sentence. Officials said a second thing. A third sentence ends story {i}."


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SUMMARIZER, *args], capture_output=True, text=True, cwd=REPO, timeout=300,
                          env={**os.environ, **(env or {})})


# -- the engine ---------------------------------------------------------------------------------------------------


def test_rows_carry_their_fields_and_a_summary_or_an_error(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "article": article(1), "source": "wire", "summary": "an input field, not ours"},
        {"id": 7, "article": "   "},
        {"id": "b", "article": article(2)},
        {"id": "a", "article": "a duplicate id: only the first one runs"},
        {"id": "c"},
    ]
    source = write_rows(tmp_path / "in.jsonl", rows)
    with source.open("a") as f:
        f.write("not json\n")
    out = tmp_path / "out.jsonl"
    model = ScriptedModel()
    with Summarizer(model, cache=False) as session:
        sink = JsonlSink(out)
        report = run_batch(session, read_input(source), sink)
        sink.close()
    got = {str(r["id"]): r for r in read_rows(out)}
    assert [str(r["id"]) for r in read_rows(out)] == ["a", "7", "b", "c"]  # input order, one row each
    assert got["a"]["source"] == "wire" and got["a"]["input_summary"] == "an input field, not ours"
    assert Summary.model_validate(got["a"]["summary"]).claims[0].evidence[0].text.startswith("Story 1")
    assert got["7"]["id"] == 7 and got["7"]["error"]["type"] == "ArticleError" and got["7"]["error"]["attempts"] == 0
    assert got["c"]["error"]["type"] == "InputError" and "article" in got["c"]["error"]["message"]
    assert set(got["b"]) == {"id", "summary"}
    assert report.duplicates == ["a"] and len(report.bad_lines) == 1 and "line 6" in report.bad_lines[0]
    assert (report.done, report.failed) == (2, 2) and not report.ok
    assert len(model.requests) == 2


def test_a_rerun_skips_finished_ids_retries_failed_ones_and_replaces_their_rows(tmp_path: Path) -> None:
    source = write_rows(tmp_path / "in.jsonl", [{"id": f"r{i}", "article": article(i)} for i in range(6)])
    out = tmp_path / "out.jsonl"
    broken = {"r1", "r4"}

    def flaky(request: ChatRequest) -> str | BaseException:
        text = request.messages[-1]["content"]
        if any(f"story {i[1:]}." in text for i in broken):
            return RuntimeError("the model fell over")  # a bug-like failure: still just this row's error
        return extractive_answer(request)

    def batch(model: ScriptedModel, **kwargs: Any) -> Any:
        with Summarizer(model, cache=False) as session:
            sink = JsonlSink(out)
            try:
                return run_batch(session, read_input(source), sink, **kwargs)
            finally:
                sink.close()

    first = batch(ScriptedModel(flaky))
    assert (first.done, first.failed, first.errors_left) == (4, 2, 2)
    kept = batch(model := ScriptedModel(flaky), retry_failed=False)
    assert (kept.skipped, kept.errors_left, len(model.requests)) == (6, 2, 0)
    broken.clear()
    second = batch(model := ScriptedModel(flaky))
    assert (second.skipped, second.retried, second.done, second.failed) == (4, 2, 2, 0) and second.ok
    assert len(model.requests) == 2  # only the two that had failed
    rows = read_rows(out)
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(6)] and all("summary" in r for r in rows)


def test_a_configuration_error_met_mid_run_stops_the_batch_instead_of_failing_every_row(tmp_path: Path) -> None:
    source = write_rows(tmp_path / "in.jsonl", [{"id": f"x{i}", "article": article(i)} for i in range(20)])
    out = tmp_path / "out.jsonl"
    refused = ScriptedModel(lambda r: ConfigurationError("the endpoint refused the API key (HTTP 401)"), latency=0.05)
    with Summarizer(refused, cache=False, limits=Limits(concurrency=2)) as session:
        sink = JsonlSink(out)
        with pytest.raises(ConfigurationError, match="401"):
            run_batch(session, read_input(source), sink)
        sink.close()
    assert read_rows(out) == [] and len(refused.requests) < 20


def test_a_torn_last_line_is_dropped_and_its_id_runs_again(tmp_path: Path) -> None:
    source = write_rows(tmp_path / "in.jsonl", [{"id": f"t{i}", "article": article(i)} for i in range(3)])
    out = tmp_path / "out.jsonl"
    with Summarizer(ScriptedModel(), cache=False) as session:
        sink = JsonlSink(out)
        run_batch(session, read_input(source), sink)
        sink.close()
    whole = out.read_bytes()
    out.write_bytes(whole[: len(whole) - 40])  # as a kill mid-write leaves it
    sink = JsonlSink(out)
    assert sink.dropped_torn and set(sink.existing()) == {"t0", "t1"}
    model = ScriptedModel()
    with Summarizer(model, cache=False) as session:
        run_batch(session, read_input(source), sink)
        sink.close()
    assert [r["id"] for r in read_rows(out)] == ["t0", "t1", "t2"] and len(model.requests) == 1


def test_a_folder_of_text_files(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "one.txt").write_text(article(1), encoding="utf-8")
    (folder / "two.txt").write_bytes(b"\xff\xfe\x00binary\x00")
    (folder / "notes.md").write_text("not an article", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run("batch", str(folder), "--out", str(out), "-m", "fake/x", "--quiet")
    assert result.returncode == 8, result.stderr
    rows = {r["id"]: r for r in read_rows(out)}
    assert set(rows) == {"one.txt", "two.txt"}
    assert "summary" in rows["one.txt"] and rows["two.txt"]["error"]["type"] == "ArticleError"
    assert "2 rows · 1 done · 1 failed" in result.stderr and "Traceback" not in result.stderr


# -- the command --------------------------------------------------------------------------------------------------


def test_exit_codes_and_errors_before_any_row(tmp_path: Path) -> None:
    source = write_rows(tmp_path / "in.jsonl", [{"id": i, "article": article(i)} for i in range(3)])
    out = tmp_path / "out.jsonl"
    ok = run("batch", str(source), "--out", str(out), "-m", "fake/x", "--quiet")
    assert ok.returncode == 0 and len(read_rows(out)) == 3, ok.stderr
    assert "3 rows · 3 done · 0 failed" in ok.stderr
    again = run("batch", str(source), "--out", str(out), "-m", "fake/x", "--quiet")
    assert again.returncode == 0 and "3 skipped" in again.stderr and "0 model calls" in again.stderr
    for args, code in [(["-m", "nope/x"], 4), (["-m", "openai/gpt-4o-mini"], 4), (["-m", "local/nope"], 4)]:
        fresh = tmp_path / f"fresh-{code}-{args[1].replace('/', '_')}.jsonl"
        failed = run("batch", str(source), "--out", str(fresh), *args)
        assert failed.returncode == code, failed.stderr
        assert not fresh.exists() and failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr
    missing = run("batch", str(tmp_path / "nope.jsonl"), "--out", str(out), "-m", "fake/x")
    assert missing.returncode == 3 and "no such file" in missing.stderr


@pytest.fixture
def slow_endpoint() -> Iterator[str]:
    proc, url = start_latency_server(latency=0.1)
    yield url
    stop_process(proc)


def test_sigkill_mid_batch_then_rerun_finishes_each_id_once_without_resending_finished_ones(
        tmp_path: Path, slow_endpoint: str) -> None:
    n = 60
    source = write_rows(tmp_path / "in.jsonl", [{"id": f"k{i}", "article": article(i)} for i in range(n)])
    out = tmp_path / "out.jsonl"
    env = {"OPENAI_BASE_URL": slow_endpoint, "OPENAI_API_KEY": "k"}
    args = [*SUMMARIZER, "batch", str(source), "--out", str(out), "-m", "openai/latency", "--concurrency", "2",
            "--workers", "1", "--no-cache", "--quiet"]  # the answers checked in a worker process, killed too
    proc = subprocess.Popen(args, cwd=REPO, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or out.read_bytes().count(b"\n") < 12):
        time.sleep(0.05)
    workers = worker_pids(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert len(workers) == 1
    while alive(workers[0]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(workers[0]), "the worker process outlived the killed batch"
    finished = {r["id"] for r in read_rows(out) if "summary" in r} if out.exists() else set()
    assert 12 <= len(finished) < n
    server_stats(slow_endpoint, reset=True)

    rerun = run("batch", str(source), "--out", str(out), "-m", "openai/latency", "--concurrency", "8", "--no-cache",
                "--quiet", env=env)
    assert rerun.returncode == 0, rerun.stderr
    rows = read_rows(out)
    assert sorted(r["id"] for r in rows) == sorted(f"k{i}" for i in range(n)) and all("summary" in r for r in rows)
    assert server_stats(slow_endpoint)["requests"] == n - len(finished)  # finished articles never sent again
    assert f"{len(finished)} skipped" in rerun.stderr


@pytest.fixture()
def slower_endpoint() -> Iterator[str]:
    """0.5 s a call: 40 articles two at a time take 10 s, so the interrupt comes mid-run even on a busy machine."""
    proc, url = start_latency_server(latency=0.5)
    yield url
    stop_process(proc)


def _sigint_default() -> None:
    """In the child: Ctrl-C as a terminal delivers it. A test run started in the background (``cmd &``) inherits
    SIGINT ignored, and Python then leaves it ignored, so the batch would rightly run to the end."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_keeps_the_rows_written_and_says_how_to_resume(tmp_path: Path, slower_endpoint: str) -> None:
    source = write_rows(tmp_path / "in.jsonl", [{"id": f"c{i}", "article": article(i)} for i in range(40)])
    out = tmp_path / "out.jsonl"
    env = {"OPENAI_BASE_URL": slower_endpoint, "OPENAI_API_KEY": "k"}
    proc = subprocess.Popen([*SUMMARIZER, "batch", str(source), "--out", str(out), "-m", "openai/latency",
                             "--concurrency", "2", "--no-cache", "--quiet"], cwd=REPO, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=_sigint_default)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or out.read_bytes().count(b"\n") < 6):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "rerun the same command to resume" in stderr and "Traceback" not in stderr
    kept = read_rows(out)
    assert 6 <= len(kept) < 40 and all("summary" in r for r in kept)
    rerun = run("batch", str(source), "--out", str(out), "-m", "openai/latency", "--quiet", env=env)
    assert rerun.returncode == 0 and len(read_rows(out)) == 40, rerun.stderr


@pytest.mark.slow
def test_a_batch_on_an_embedded_model(tmp_path: Path) -> None:
    frank = SHARED_DATA / "frank" / "articles.jsonl"
    rows = [json.loads(line) for line in frank.read_text(encoding="utf-8").splitlines()[:2]]
    source = write_rows(tmp_path / "in.jsonl", [{"id": r["id"], "article": r["article"]} for r in rows])
    out = tmp_path / "out.jsonl"
    result = run("batch", str(source), "--out", str(out), "-m", "local/smollm2-135m", "--concurrency", "4",
                 env={"SUMMARIZER_THREADS": "2"})
    assert result.returncode in (0, 8), result.stderr
    got = read_rows(out)
    assert [r["id"] for r in got] == [r["id"] for r in rows]
    for row, src in zip(got, rows, strict=True):
        if "summary" in row:
            summary = Summary.model_validate(row["summary"])
            summary.verify(src["article"])
            assert summary.provenance.model == "local/smollm2-135m"
        else:
            assert row["error"]["type"] in {"OutputError", "ModelError"}
    assert "2 rows" in result.stderr


def test_odd_input_neither_crashes_the_batch_nor_undoes_a_finished_row(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "s\\ud83d", "article": "' + article(1) + '", "note": "lone \\udc00 surrogate"}\n'
                      + json.dumps({"id": "done", "article": article(2)}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"

    def batch() -> Any:
        with Summarizer(ScriptedModel(), cache=False) as session:
            sink = JsonlSink(out)
            try:
                return run_batch(session, read_input(source), sink)
            finally:
                sink.close()

    assert batch().ok
    assert {r["id"] for r in read_rows(out)} == {"s\ud83d", "done"}
    source.write_text(json.dumps({"id": "done"}) + "\n", encoding="utf-8")  # its article is gone from the input now
    report = batch()
    assert report.skipped == 1 and report.failed == 0
    assert "summary" in {r["id"]: r for r in read_rows(out)}["done"]  # the finished row is kept, not replaced
