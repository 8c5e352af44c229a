"""The Ray engine: the same batch on a local Ray cluster (2 CPUs, a small object store), row for row the local
engine's — through the fake model and through a real HTTP endpoint — with the same resume rules and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import start_latency_server, stop_process
from rows import comparable  # bench/rows.py: the benchmarks compare runs the same way

from summarizer import Limits, ScriptedModel, SummarizeOptions, Summarizer, Summary
from summarizer.batch import BatchReport, JsonlSink, read_input, run_batch
from summarizer.models.fake import extractive_answer

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow  # each test runs a Ray Data pipeline (seconds of actor start-up)
from summarizer.ray_engine import RayEngine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, object_store_memory=80 * 1024 * 1024, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def article(i: int) -> str:
    return (f"Story {i} opens with a first sentence. Officials said {i} people were there. "
            f"A third sentence ends story {i}.")


def rows_file(path: Path, n: int, *, bad: bool = True) -> Path:
    lines = [{"id": i, "article": article(i), "desk": "world"} for i in range(n)]
    if bad:
        lines += [{"id": "blank", "article": "   "}, {"id": 3, "article": "a duplicate id"}, {"id": "no-text"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines) + "not json\n", encoding="utf-8")
    return path


def run(engine: Summarizer | RayEngine, source: Path, out: Path) -> BatchReport:
    sink = JsonlSink(out)
    try:
        return run_batch(engine, read_input(source), sink)
    finally:
        sink.close()


def test_fake_model_rows_equal_the_local_engines(tmp_path: Path) -> None:
    source = rows_file(tmp_path / "in.jsonl", 40)
    with Summarizer("fake/x", cache=False) as session:
        local = run(session, source, tmp_path / "local.jsonl")
    with RayEngine("fake/x", cache=False, actors=2) as engine:
        remote = run(engine, source, tmp_path / "ray.jsonl")
    assert comparable(tmp_path / "ray.jsonl") == comparable(tmp_path / "local.jsonl")
    assert (remote.done, remote.failed, remote.duplicates, len(remote.bad_lines)) == (40, 2, ["3"], 1)
    assert (remote.done, remote.failed, remote.model_calls) == (local.done, local.failed, local.model_calls)
    # the sink is compacted in input order, as locally
    ids = [json.loads(line)["id"] for line in (tmp_path / "ray.jsonl").read_text().splitlines()]
    assert ids == [json.loads(line)["id"] for line in (tmp_path / "local.jsonl").read_text().splitlines()]


def test_input_runs_in_windows_with_the_same_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import summarizer.ray_engine as engine_module

    monkeypatch.setattr(engine_module, "WINDOW_ROWS_PER_ACTOR", 4)  # 2 actors: windows of 8, so 3 pipelines
    source = rows_file(tmp_path / "in.jsonl", 20, bad=False)
    with Summarizer("fake/x", cache=False) as session:
        run(session, source, tmp_path / "local.jsonl")
    with RayEngine("fake/x", cache=False, actors=2) as engine:
        report = run(engine, source, tmp_path / "ray.jsonl")
    assert report.done == 20
    assert comparable(tmp_path / "ray.jsonl") == comparable(tmp_path / "local.jsonl")


def test_a_scripted_model_object_travels_to_the_actors_and_its_failures_are_rows(tmp_path: Path) -> None:
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the handler lives in this test module
    source = rows_file(tmp_path / "in.jsonl", 12, bad=False)
    model = ScriptedModel(failing_on_story_5)
    with RayEngine(model, cache=False, actors=2) as engine:
        report = run(engine, source, tmp_path / "ray.jsonl")
    rows = {r["id"]: r for r in comparable(tmp_path / "ray.jsonl")}
    assert report.done == 11 and report.failed == 1 and len(rows) == 12
    assert rows[5]["error"]["type"] == "ModelError" and "story five" in rows[5]["error"]["message"]
    assert all("summary" in r for i, r in rows.items() if i != 5)


def failing_on_story_5(request: Any) -> Any:
    from summarizer import ModelError

    if "ends story 5." in request.messages[-1]["content"]:
        return ModelError("the model refuses story five")
    return extractive_answer(request)


def set_faults(base_url: str, spec: dict[str, Any]) -> None:
    request = urllib.request.Request(base_url.removesuffix("/v1") + "/faults", data=json.dumps(spec).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def test_endpoint_rows_equal_and_resume_across_engines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through a real HTTP server: the first half run locally; Ray meets a failing endpoint (error rows for the
    rest, finished ids skipped); Ray again retries exactly the failed ids; the file equals one local run."""
    proc, base_url = start_latency_server(latency=0.05)
    try:
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)  # the actors get it from the driver
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        source = rows_file(tmp_path / "in.jsonl", 24, bad=False)
        half = rows_file(tmp_path / "half.jsonl", 12, bad=False)
        limits = Limits(concurrency=8, transient_attempts=1)
        with Summarizer("openai/latency", cache=False, limits=limits) as session:
            run(session, source, tmp_path / "local.jsonl")
            run(session, half, tmp_path / "resumed.jsonl")
        set_faults(base_url, {"always": "500"})
        with RayEngine("openai/latency", cache=False, limits=limits, actors=2) as engine:
            failing = run(engine, source, tmp_path / "resumed.jsonl")
            set_faults(base_url, {})
            again = run(engine, source, tmp_path / "resumed.jsonl")
    finally:
        stop_process(proc)
    assert (failing.skipped, failing.failed, failing.errors_left) == (12, 12, 12)
    assert (again.skipped, again.retried, again.done, again.failed) == (12, 12, 12, 0)
    assert comparable(tmp_path / "resumed.jsonl") == comparable(tmp_path / "local.jsonl")


def test_an_actor_that_dies_mid_batch_is_replaced_and_each_id_has_one_row(tmp_path: Path) -> None:
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "died-once"
    source = rows_file(tmp_path / "in.jsonl", 16, bad=False)

    def dies_once_on_story_7(request: Any) -> Any:
        if "ends story 7." in request.messages[-1]["content"] and not marker.exists():
            marker.write_text("x")
            os._exit(1)  # the actor's process dies mid-batch, as an OOM kill would
        return extractive_answer(request)

    with RayEngine(ScriptedModel(dies_once_on_story_7), cache=False, actors=2,
                   limits=Limits(concurrency=8)) as engine:
        report = run(engine, source, tmp_path / "ray.jsonl")
    rows = comparable(tmp_path / "ray.jsonl")
    assert marker.exists()  # it did die
    assert [r["id"] for r in rows] == sorted(range(16), key=str) and all("summary" in r for r in rows)
    assert report.done == 16


def test_cli_engine_ray_exit_codes(tmp_path: Path) -> None:
    source = rows_file(tmp_path / "in.jsonl", 6)
    env = {**os.environ, "SUMMARIZER_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-m", "summarizer", "batch", str(source), "--out", str(tmp_path / "out.jsonl"),
           "-m", "fake/x", "--engine", "ray", "--actors", "1", "-q"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert done.returncode == 8, done.stderr  # error rows (the blank article), as the local engine
    assert "6 done · 2 failed" in done.stderr
    rerun = subprocess.run([*cmd, "--no-retry-failed"], capture_output=True, text=True, cwd=REPO, env=env,
                           timeout=300)
    assert rerun.returncode == 8 and "0 done" in rerun.stderr and "8 skipped" in rerun.stderr
    usage = subprocess.run([*cmd[:-5], "--actors", "2"], capture_output=True, text=True, cwd=REPO, env=env,
                           timeout=60)
    assert usage.returncode == 2 and "--engine ray" in usage.stderr


def test_an_embedded_model_runs_one_per_actor_with_the_actors_cpus_as_threads(tmp_path: Path) -> None:
    """A real embedded model (SmolLM2-135M) loaded in the actor, threads = the actor's CPUs."""
    pytest.importorskip("llama_cpp")
    # SmolLM2 grounds a claim of this text (of the same text worded the other way round, since flash attention,
    # none: a 135M model's answer turns on one token; what is tested here is the actor, not the model)
    text = ("At least 3,000 North Korean soldiers have moved into eastern Russia, the White House said on Wednesday. "
            "The soldiers are being trained for combat, officials said.")
    engine = RayEngine("local/smollm2-135m", cache=False, actors=1, cpus_per_actor=2,
                       options=SummarizeOptions(max_claims=2))
    assert engine._env(2)["SUMMARIZER_THREADS"] == "2"  # what the actor's llama.cpp is told
    with engine:
        results = dict(engine.as_completed([text]))
    summary = results[0]
    assert isinstance(summary, Summary), summary
    assert summary.provenance.structured_output == "grammar" and summary.claims
    assert all(text[e.start:e.end] == e.text for c in summary.claims for e in c.evidence)


def test_a_window_smaller_than_the_pool_starts_only_the_actors_it_can_use(tmp_path: Path) -> None:
    import warnings

    with RayEngine("fake/x", cache=False, actors=2) as engine, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        results = list(engine.as_completed([article(1)]))  # one article: one block, one actor
    assert len(results) == 1 and results[0][0] == 0 and isinstance(results[0][1], Summary)
    assert not [w for w in seen if "concurrent actors" in str(w.message)]  # Ray's warning of an idle pool


def test_the_jobs_limits_are_split_across_the_actors() -> None:
    engine = RayEngine("fake/x", cache=False, actors=4, limits=Limits(concurrency=16, rpm=600, tpm=200_000))
    engine.load()
    actors, cpus, in_flight = engine._shape()
    assert (actors, cpus, in_flight) == (4, 0.5, 4)  # 4 actors asked for on 2 CPUs: half a CPU each
    limits = engine._actor_limits(actors, in_flight)
    assert (limits.concurrency, limits.rpm, limits.tpm, limits.workers) == (4, 150, 50_000, 0)
    default = RayEngine("fake/x", cache=False, limits=Limits(concurrency=16)).load()
    assert default._shape() == (2, 1.0, 8)  # one actor per CPU by default
