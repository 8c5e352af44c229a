"""Provider batch files (OpenAI Batch API / vllm run-batch): export, import, rounds. The results are made by a real
HTTP server (bench/latency_server.py) answering the exported bodies; the slow test in test_local_models.py does the
same with llama.cpp's server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import answer_batch, start_latency_server, stop_process
from rows import comparable  # bench/rows.py: the benchmarks compare runs the same way

from summarizer import ConfigurationError, Limits, SummarizeOptions, Summarizer
from summarizer.batch import JsonlSink, read_input, run_batch
from summarizer.cache import SummaryCache
from summarizer.models import get_model
from summarizer.openai_batch import OpenAIBatch, RoundReport, next_requests_path, state_path

REPO = Path(__file__).resolve().parents[1]


def article(i: int) -> str:
    return (f"Story {i} opens with a first sentence. Officials said {i} people were there. "
            f"A third sentence ends story {i}.")


def rows_file(path: Path, n: int) -> Path:
    lines = [{"id": f"a{i}", "article": article(i), "desk": "world"} for i in range(n)]
    lines += [{"id": "blank", "article": "   "}]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return path


def bodies(path: Path) -> list[str]:
    return sorted(json.dumps(json.loads(line).get("body", json.loads(line)), sort_keys=True)
                  for line in path.read_text(encoding="utf-8").splitlines())


@pytest.fixture()
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    log = tmp_path / "bodies.jsonl"
    proc, base_url = start_latency_server("--bodies", str(log), latency=0.0)
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    yield base_url, log
    stop_process(proc)


def one_round(batch: OpenAIBatch, source: Path, out: Path, results: list[Path]) -> RoundReport:
    sink = JsonlSink(out)
    try:
        return batch.run_round(read_input(source), sink, next_requests_path(out), results)
    finally:
        sink.close()


def test_exported_bodies_are_the_live_paths_and_the_import_gives_the_live_rows(server: Any, tmp_path: Path) -> None:
    base_url, log = server
    source = rows_file(tmp_path / "in.jsonl", 8)
    with Summarizer("openai/latency", cache=False) as session:  # the live path, through the same server
        sink = JsonlSink(tmp_path / "live.jsonl")
        run_batch(session, read_input(source), sink)
        sink.close()
    live_bodies = bodies(log)
    log.unlink()

    out = tmp_path / "rows.jsonl"
    batch = OpenAIBatch(get_model("openai/latency"), out, mode="json_schema")
    export = one_round(batch, source, out, [])
    requests = next_requests_path(out)
    assert (export.requests, export.failed, export.round) == (8, 1, 0)  # the blank article is an error row at once
    assert bodies(requests) == live_bodies  # byte for byte what the live path sent
    lines = [json.loads(line) for line in requests.read_text().splitlines()]
    assert all(line["custom_id"].startswith(f"a{i}:1.1:") for i, line in enumerate(lines))
    assert {(line["method"], line["url"]) for line in lines} == {("POST", "/v1/chat/completions")}

    answer_batch(requests, tmp_path / "results.jsonl", base_url)
    done = one_round(OpenAIBatch(get_model("openai/latency"), out, mode="json_schema"), source, out,
                     [tmp_path / "results.jsonl"])
    assert (done.round, done.answered, done.done, done.skipped, done.requests) == (1, 8, 8, 1, 0)
    assert done.ok is False  # the blank article's error row stays
    assert comparable(out) == comparable(tmp_path / "live.jsonl")
    assert requests.read_text() == ""  # nothing left to ask


def test_reasks_failures_and_lost_lines_take_more_rounds(server: Any, tmp_path: Path) -> None:
    """a0: invalid JSON (re-asked, step 2); a1: HTTP 500 (the same request again); a2: an error line (expired);
    a3: its line lost in both rounds (a transient failure each time: an error row after 2); a4: HTTP 400 (an error
    row at once, as live); the rest answered at once."""
    base_url, _ = server
    source = rows_file(tmp_path / "in.jsonl", 8)
    out = tmp_path / "rows.jsonl"
    limits = Limits(transient_attempts=2)
    requests = next_requests_path(out)

    def first(line: dict[str, Any]) -> dict[str, Any] | None:
        key = line["custom_id"].split(":")[0]
        if key == "a0":
            line["response"]["body"]["choices"][0]["message"]["content"] = "not JSON at all"
        elif key == "a1":
            line["response"] = {"status_code": 500, "body": {"error": {"message": "overloaded"}}}
        elif key == "a2":
            line["response"], line["error"] = None, {"code": "batch_expired", "message": "not run in 24 h"}
        elif key == "a3":
            return None
        elif key == "a4":
            line["response"] = {"status_code": 400, "body": {"error": {"message": "max_tokens is too large"}}}
        return line

    def model() -> OpenAIBatch:
        return OpenAIBatch(get_model("openai/latency"), out, mode="json_schema", limits=limits)

    one_round(model(), source, out, [])
    exported = {json.loads(line)["custom_id"] for line in requests.read_text().splitlines()}
    answer_batch(requests, tmp_path / "r1.jsonl", base_url, reshape=first)
    r1 = one_round(model(), source, out, [tmp_path / "r1.jsonl"])
    assert (r1.done, r1.requests) == (3, 4)  # a5, a6, a7 done; a4 failed; a0 … a3 asked again
    assert (r1.failed, r1.skipped) == (1, 1)  # a4; the blank article's row (written by the export) stays
    second = {json.loads(line)["custom_id"]: json.loads(line) for line in requests.read_text().splitlines()}
    by_key = {cid.split(":")[0]: cid for cid in second}
    assert by_key["a0"].startswith("a0:2.1:")  # the re-ask: step 2, with the answer and its problems
    assert second[by_key["a0"]]["body"]["messages"][-2] == {"role": "assistant", "content": "not JSON at all"}
    assert "not JSON" in second[by_key["a0"]]["body"]["messages"][-1]["content"]
    for key in ("a1", "a2", "a3"):  # the very same requests as round 1, their second try
        assert by_key[key].replace(":1.2:", ":1.1:") in exported

    answer_batch(requests, tmp_path / "r2.jsonl", base_url,
                 reshape=lambda line: None if line["custom_id"].startswith("a3:") else line)
    r2 = one_round(model(), source, out, [tmp_path / "r2.jsonl", tmp_path / "r1.jsonl"])  # r1 again: harmless
    assert (r2.round, r2.done, r2.failed, r2.requests, r2.skipped) == (2, 3, 1, 0, 5)
    rows = {r["id"]: r for r in comparable(out)}
    assert sorted(rows) == sorted([f"a{i}" for i in range(8)] + ["blank"])  # exactly one row per id
    assert rows["a0"]["summary"]["provenance"]["attempts"] == 2
    assert rows["a1"]["summary"]["provenance"]["transient_retries"] == 1
    assert rows["a2"]["summary"]["provenance"]["transient_retries"] == 1
    assert rows["a3"]["error"]["type"] == "TransientModelError" and "no line" in rows["a3"]["error"]["message"]
    assert rows["a4"]["error"]["type"] == "ModelError" and "HTTP 400" in rows["a4"]["error"]["message"]
    assert not state_path(out).read_text().splitlines()[1:]  # nothing in progress


def test_a_long_article_takes_a_round_per_part_then_the_merge(server: Any, tmp_path: Path) -> None:
    """A context too small for the article: its parts are asked one round after another, then the merge; the
    row equals the live path's for the same model."""
    from summarizer.models.openai_compat import OpenAIModel

    base_url, _ = server
    long = " ".join(f"Officials said {n} trucks crossed the border at dawn on day {n} of the operation."
                    for n in range(1, 80))
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "long", "article": long}) + "\n" + json.dumps({"id": "short",
                      "article": article(1)}) + "\n")
    model = OpenAIModel("latency", context_window=3000)
    with Summarizer(model, cache=False) as session:
        sink = JsonlSink(tmp_path / "live.jsonl")
        run_batch(session, read_input(source), sink)
        sink.close()
    live = comparable(tmp_path / "live.jsonl")
    parts = live[0]["summary"]["provenance"]["parts"]
    assert parts >= 2  # the live path split it

    out = tmp_path / "rows.jsonl"
    one_round(OpenAIBatch(model, out, mode="json_schema"), source, out, [])
    rounds = 0
    while (requests := next_requests_path(out)).read_text() and rounds < 10:
        rounds += 1
        answer_batch(requests, tmp_path / f"r{rounds}.jsonl", base_url)
        one_round(OpenAIBatch(model, out, mode="json_schema"), source, out, [tmp_path / f"r{rounds}.jsonl"])
    assert rounds == parts + 1  # each part, then the merge: sequential steps, one round each
    assert comparable(out) == live


def test_summaries_are_cached_under_the_model_named_at_export(server: Any, tmp_path: Path) -> None:
    base_url, log = server
    source = rows_file(tmp_path / "in.jsonl", 3)
    out = tmp_path / "rows.jsonl"
    cache = SummaryCache(tmp_path / "cache")
    batch = OpenAIBatch(get_model("openai/latency"), out, mode="json_schema", cache=cache)
    one_round(batch, source, out, [])
    answer_batch(next_requests_path(out), tmp_path / "r1.jsonl", base_url)
    one_round(batch, source, out, [tmp_path / "r1.jsonl"])
    log.unlink()
    with Summarizer("openai/latency", cache=cache) as session:  # the live path now finds them
        results = session.map([article(i) for i in range(3)])
    assert all(r.provenance.cached for r in results)  # type: ignore[union-attr]
    assert not log.exists()  # and made no call
    cache.close()


def test_state_belongs_to_one_model_mode_and_options(server: Any, tmp_path: Path) -> None:
    base_url, _ = server
    source = rows_file(tmp_path / "in.jsonl", 2)
    out = tmp_path / "rows.jsonl"
    batch = OpenAIBatch(get_model("openai/latency"), out, mode="json_schema")
    one_round(batch, source, out, [])
    answer_batch(next_requests_path(out), tmp_path / "r1.jsonl", base_url,
                 reshape=lambda line: None if line["custom_id"].startswith("a1:") else line)
    one_round(batch, source, out, [tmp_path / "r1.jsonl"])  # a1 still in progress
    with pytest.raises(ConfigurationError, match="options"):
        OpenAIBatch(get_model("openai/latency"), out, mode="json_schema", options=SummarizeOptions(max_claims=2))
    with pytest.raises(ConfigurationError, match="mode"):
        OpenAIBatch(get_model("openai/latency"), out, mode="json_object")
    with pytest.raises(ConfigurationError, match="batch files"):
        OpenAIBatch(get_model("fake/x"), tmp_path / "other.jsonl", mode="json_schema")
    # answers to requests made with other options are never fed to this conversation
    other = tmp_path / "other.jsonl"
    one_round(OpenAIBatch(get_model("openai/latency"), other, mode="json_schema",
                          options=SummarizeOptions(max_claims=2)), source, other, [])
    answer_batch(next_requests_path(other), tmp_path / "r-other.jsonl", base_url)
    mixed = one_round(OpenAIBatch(get_model("openai/latency"), out, mode="json_schema"), source, out,
                      [tmp_path / "r-other.jsonl"])
    assert (mixed.answered, mixed.unmatched, mixed.requests) == (0, 2, 1)


def test_a_round_past_a_files_limits_continues_in_more_files(server: Any, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import summarizer.openai_batch as module

    monkeypatch.setattr(module, "MAX_FILE_REQUESTS", 3)
    base_url, _ = server
    source = rows_file(tmp_path / "in.jsonl", 8)
    out = tmp_path / "rows.jsonl"
    requests = tmp_path / "req.jsonl"

    def batch() -> OpenAIBatch:
        return OpenAIBatch(get_model("openai/latency"), out, mode="json_schema")

    sink = JsonlSink(out)
    export = batch().run_round(read_input(source), sink, requests)
    sink.close()
    files = [Path(f) for f in export.request_files]
    assert [f.name for f in files] == ["req.jsonl", "req.2.jsonl", "req.3.jsonl"]
    assert [len(f.read_text().splitlines()) for f in files] == [3, 3, 2] and export.requests == 8
    for n, f in enumerate(files):  # three provider batches; the first one's results lose a line
        answer_batch(f, tmp_path / f"res{n}.jsonl", base_url,
                     reshape=lambda line: None if line["custom_id"].startswith("a0:") else line)
    sink = JsonlSink(out)
    again = batch().run_round(read_input(source), sink, requests, [tmp_path / f"res{n}.jsonl" for n in range(3)])
    sink.close()
    assert (again.answered, again.done, again.requests, again.request_files) == (7, 7, 1, [str(requests)])
    assert not (tmp_path / "req.2.jsonl").exists()  # the earlier round's extra parts are gone
    assert not list(tmp_path.glob(".req*"))  # no temporary file left


def test_cli_rounds_and_exit_codes(server: Any, tmp_path: Path) -> None:
    base_url, _ = server
    source = rows_file(tmp_path / "in.jsonl", 4)
    out = tmp_path / "rows.jsonl"
    env = {**os.environ, "SUMMARIZER_HOME": str(tmp_path / "home")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "summarizer", "batch", str(source), "-m", "openai/latency",
                               *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)

    export = cli("--export-openai-batch", str(tmp_path / "req1.jsonl"), "--mode", "json_object")
    assert export.returncode == 0, export.stderr
    assert "4 requests for round 1" in export.stderr
    body = json.loads((tmp_path / "req1.jsonl").read_text().splitlines()[0])["body"]
    assert body["response_format"] == {"type": "json_object"}
    answer_batch(tmp_path / "req1.jsonl", tmp_path / "res1.jsonl", base_url,
                 reshape=lambda line: None if line["custom_id"].startswith("a2:") else line)
    first = cli("--import-openai-batch", str(tmp_path / "res1.jsonl"), "--out", str(out), "--mode", "json_object")
    assert first.returncode == 9, first.stderr  # a2 needs another round
    assert "1 requests for round 2" in first.stderr
    answer_batch(next_requests_path(out), tmp_path / "res2.jsonl", base_url)
    second = cli("--import-openai-batch", str(tmp_path / "res2.jsonl"), "--out", str(out), "--mode", "json_object")
    assert second.returncode == 8, second.stderr  # every id has its row; the blank one is an error row
    rows = comparable(out)
    assert [r["id"] for r in rows] == ["a0", "a1", "a2", "a3", "blank"]
    assert all(r["summary"]["provenance"]["structured_output"] == "json_object" for r in rows[:4])
    wrong = cli("--import-openai-batch", str(tmp_path / "res2.jsonl"), "--out", str(out))  # json_schema now
    assert wrong.returncode == 4 and "mode" in wrong.stderr
    usage = cli("--import-openai-batch", str(tmp_path / "res2.jsonl"))
    assert usage.returncode == 2 and "--out" in usage.stderr


def test_the_restatement_takes_a_round_of_its_own_and_gives_the_live_rows(server: Any, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """With copied statements restated (one more call after the claims are grounded), the batch files take one more
    round and still end as the live path's rows."""
    monkeypatch.setenv("SUMMARIZER_RESTATE", "1")
    base_url, log = server
    source = rows_file(tmp_path / "in.jsonl", 4)
    with Summarizer("openai/latency", cache=False) as session:
        assert session.options.restate_copies
        sink = JsonlSink(tmp_path / "live.jsonl")
        run_batch(session, read_input(source), sink)
        sink.close()
    live_calls = len(bodies(log))
    log.unlink()
    out = tmp_path / "rows.jsonl"
    rounds, results = 0, []
    while True:
        state = one_round(OpenAIBatch(get_model("openai/latency"), out, mode="json_schema"), source, out, results)
        requests = next_requests_path(out)
        if not requests.read_text():
            break
        rounds += 1
        results = [tmp_path / f"results{rounds}.jsonl"]
        answer_batch(requests, results[0], base_url)
    assert live_calls > 3 and rounds == 2 and state.done == 4  # the claims, then the restatement
    assert comparable(out) == comparable(tmp_path / "live.jsonl")
