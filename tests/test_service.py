"""The HTTP service through a real uvicorn on loopback and a plain HTTP client: the contract (same summary as the
library, errors as JSON with the right status), keys, and every limit (body size, rates, queue, timeout)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import pytest
from helpers import free_port, server_stats, serving, start_latency_server, stop_process

from summarizer import Limits, Summarizer, Summary
from summarizer.models import ScriptedModel
from summarizer.service.app import ServiceConfig, create_app
from summarizer.service.keys import KeyStore

REPO = Path(__file__).resolve().parents[1]
FRANK = REPO.parent / "shared" / "data" / "frank" / "articles.jsonl"
SUMMARIZER = [str(Path(sys.executable).parent / "summarizer")]
#: No waiting on retries in tests: a transient failure is retried once, at once.
FAST = Limits(transient_attempts=2, initial_backoff_s=0.0, max_backoff_s=0.0, max_retry_after_s=0.0, timeout_s=2.0)


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    summary = dict(summary, provenance={k: v for k, v in summary["provenance"].items()
                                        if k not in ("latency_s", "created_at", "cached")})
    return summary


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``summarizer serve`` itself (the command), with the fake model and a database of its own."""
    home = tmp_path_factory.mktemp("home")
    db = home / "service.db"
    port = free_port()
    env = {**os.environ, "SUMMARIZER_HOME": str(home)}
    proc = subprocess.Popen([*SUMMARIZER, "serve", "--port", str(port), "--model", "fake/x", "--db", str(db),
                             "--max-body", "200000", "--key-rpm", "1000"], env=env, stderr=subprocess.PIPE,
                            text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx2.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx2.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "summarizer serve did not start"
        time.sleep(0.1)
    yield base, db
    stop_process(proc)  # type: ignore[arg-type]


def test_a_summary_over_http_is_the_librarys(served: tuple[str, Path], seed: str) -> None:
    base, _ = served
    r = httpx2.post(f"{base}/v1/summaries", json={"article": seed, "options": {"max_claims": 4}}, timeout=30)
    assert r.status_code == 200, r.text
    with Summarizer("fake/x", cache=False) as session:
        expected = session.summarize(seed, options=session.options.model_copy(update={"max_claims": 4}))
    assert comparable(r.json()) == comparable(expected.model_dump(mode="json"))
    Summary.model_validate(r.json()).verify(seed)  # offsets index the article as sent
    assert httpx2.get(f"{base}/healthz").json()["status"] == "ok"
    schema = httpx2.get(f"{base}/openapi.json").json()  # open while no key exists
    assert {"Summary", "SummarizeOptions", "Claim", "ErrorResponse"} <= set(schema["components"]["schemas"])


@pytest.mark.parametrize(("body", "status", "kind"), [
    ({"article": ""}, 422, "ArticleError"),
    ({"article": "\x00\x01binary"}, 422, "ArticleError"),
    ({"article": "word " * 30_000}, 422, "ArticleError"),  # over the library's 100,000 characters
    ({"article": "text", "options": {"max_claims": 0}}, 422, "ValidationError"),
    ({"article": "text", "options": {"no_such_option": 1}}, 422, "ValidationError"),
    ({"article": "text", "model": "local/not-served"}, 422, "ConfigurationError"),
    ({"text": "the wrong field"}, 422, "ValidationError"),
])
def test_bad_requests_are_json_errors(served: tuple[str, Path], body: dict[str, Any], status: int,
                                      kind: str) -> None:
    r = httpx2.post(f"{served[0]}/v1/summaries", json=body, timeout=30)
    assert r.status_code == status, r.text
    assert r.json()["error"]["type"] == kind and r.json()["error"]["message"]


def test_bodies_over_the_limit_are_refused_before_they_are_read(served: tuple[str, Path]) -> None:
    base = served[0]
    big = json.dumps({"article": "a" * 300_000}).encode()
    r = httpx2.post(f"{base}/v1/summaries", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["type"] == "BodyTooLarge"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for i in range(0, len(big), 16_384):
            yield big[i : i + 16_384]

    r = httpx2.post(f"{base}/v1/summaries", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["type"] == "BodyTooLarge"
    r = httpx2.post(f"{base}/v1/summaries", content=b'{"article": "x', headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "not JSON" in r.json()["error"]["message"]


def test_keys_once_one_exists(tmp_path: Path, seed: str) -> None:
    db = tmp_path / "service.db"
    store = KeyStore(db)
    record, key = store.create("newsroom-cms", rpm=2)
    assert key.startswith("sk-sum-") and key.split(".", 1)[1] not in db.read_bytes().decode("latin-1")  # hash only
    app = create_app(ServiceConfig(db=db, cache=False), keys=store, session=Summarizer("fake/x", cache=False))
    with serving(app) as base:
        assert httpx2.get(f"{base}/healthz").status_code == 200  # the allow-list
        assert httpx2.get(f"{base}/readyz").status_code == 200
        for headers in ({}, {"Authorization": "Bearer sk-sum-00000000.nope"}, {"X-API-Key": key + "x"}):
            r = httpx2.post(f"{base}/v1/summaries", json={"article": seed}, headers=headers)
            assert r.status_code == 401 and r.json()["error"]["type"] == "Unauthorized", headers
        assert httpx2.get(f"{base}/metrics").status_code == 401
        assert httpx2.get(f"{base}/v1/models").status_code == 401  # every route but the allow-list
        assert httpx2.get(f"{base}/openapi.json").status_code == 200  # the docs hold no data
        ok = httpx2.post(f"{base}/v1/summaries", json={"article": seed}, headers={"Authorization": f"Bearer {key}"},
                         timeout=30)
        assert ok.status_code == 200, ok.text
        again = httpx2.post(f"{base}/v1/summaries", json={"article": seed}, headers={"X-API-Key": key}, timeout=30)
        assert again.status_code == 200
        limited = httpx2.post(f"{base}/v1/summaries", json={"article": seed}, headers={"X-API-Key": key})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1  # this key's 2 per minute
        other, other_key = store.create("notebook")
        assert httpx2.post(f"{base}/v1/summaries", json={"article": seed}, headers={"X-API-Key": other_key},
                           timeout=30).status_code == 200  # another key's rate is its own
        store.revoke(other.id)
        assert httpx2.post(f"{base}/v1/summaries", json={"article": seed},
                           headers={"X-API-Key": other_key}).status_code == 401
        metrics = httpx2.get(f"{base}/metrics", headers={"X-API-Key": key}).text
    assert 'summarizer_http_requests_total{route="/v1/summaries",status="200"} 3.0' in metrics
    assert 'summarizer_errors_total{type="Unauthorized"}' in metrics
    assert 'summarizer_errors_total{type="RateLimited"} 1.0' in metrics
    assert "summarizer_model_tokens_total" in metrics and "summarizer_queue_depth 0.0" in metrics
    assert key not in metrics and record.id in [k.id for k in store.list()]


@pytest.fixture
def slow_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    proc, url = start_latency_server(latency=1.0)
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    yield url
    stop_process(proc)


def test_a_full_queue_is_503_and_a_slow_summary_504(tmp_path: Path, seed: str, slow_endpoint: str) -> None:
    session = Summarizer("openai/latency", cache=False, limits=FAST)
    config = ServiceConfig(db=tmp_path / "s.db", concurrency=1, queue=1, request_timeout_s=5.0)
    with serving(create_app(config, session=session)) as base, ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda _: httpx2.post(f"{base}/v1/summaries", json={"article": seed}, timeout=30),
                                range(4)))
        statuses = sorted(r.status_code for r in replies)
        assert statuses == [200, 200, 503, 503], [r.text for r in replies]
        full = next(r for r in replies if r.status_code == 503)
        assert full.json()["error"]["type"] == "QueueFull" and full.headers["Retry-After"] == "1"
    session = Summarizer("openai/latency", cache=False, limits=FAST)
    config = ServiceConfig(db=tmp_path / "s.db", request_timeout_s=0.3)
    with serving(create_app(config, session=session)) as base:
        r = httpx2.post(f"{base}/v1/summaries", json={"article": seed}, timeout=30)
    assert r.status_code == 504 and r.json()["error"]["type"] == "Timeout"


def test_model_failures_are_502_and_an_unreachable_endpoint_503(tmp_path: Path, seed: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    model = ScriptedModel.replies(["not json"] * 6)
    garbage = Summarizer(model, cache=True)
    with serving(create_app(ServiceConfig(db=tmp_path / "s.db"), session=garbage)) as base:
        r = httpx2.post(f"{base}/v1/summaries", json={"article": seed}, timeout=30)
        assert r.status_code == 502 and r.json()["error"]["type"] == "OutputError"
        again = httpx2.post(f"{base}/v1/summaries", json={"article": seed}, timeout=30)
        assert again.status_code == 502 and len(model.requests) == 6  # a failure is not cached: asked again
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")  # nothing listens there
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    down = Summarizer("openai/latency", cache=False, limits=FAST)
    with serving(create_app(ServiceConfig(db=tmp_path / "s.db"), session=down)) as base:
        r = httpx2.post(f"{base}/v1/summaries", json={"article": seed}, timeout=30)
        assert r.status_code == 503 and r.json()["error"]["type"] == "TransientModelError"
        assert int(r.headers["Retry-After"]) >= 1
        ready = httpx2.get(f"{base}/readyz", timeout=30)
        assert ready.status_code == 503 and ready.json()["error"]["type"] == "ModelUnreachable"


def test_no_key_no_binding_beyond_loopback(tmp_path: Path) -> None:
    env = {**os.environ, "SUMMARIZER_HOME": str(tmp_path)}
    r = subprocess.run([*SUMMARIZER, "serve", "--host", "0.0.0.0", "--port", str(free_port()), "--model", "fake/x"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 4 and "no API key exists" in r.stderr and "Traceback" not in r.stderr
    unknown = subprocess.run([*SUMMARIZER, "serve", "--port", str(free_port()), "--model", "nope/x"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 4 and "unknown model provider" in unknown.stderr  # before binding anything
    assert len(unknown.stderr.strip().splitlines()) == 1
    made = subprocess.run([*SUMMARIZER, "keys", "create", "--name", "cms"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert made.returncode == 0 and made.stdout.startswith("sk-sum-") and "shown only now" in made.stderr
    listed = subprocess.run([*SUMMARIZER, "keys", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert "cms" in listed.stdout and made.stdout.strip() not in listed.stdout


def frank_rows(n: int) -> bytes:
    rows = [json.loads(line) for line in FRANK.read_text(encoding="utf-8").splitlines()[:n]]
    return "".join(json.dumps({"id": r["id"], "article": r["article"], "source": "frank"}) + "\n"
                   for r in rows).encode()


def start_serve(home: Path, port: int, endpoint: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SUMMARIZER_HOME": str(home), "OPENAI_BASE_URL": endpoint, "OPENAI_API_KEY": "k"}
    proc = subprocess.Popen([*SUMMARIZER, "serve", "--port", str(port), "--model", "openai/latency", "--db",
                             str(home / "service.db"), *extra], env=env, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx2.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "summarizer serve did not start"
        time.sleep(0.1)


def wait_for(base: str, job: str, headers: dict[str, str], until: Any, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = httpx2.get(f"{base}/v1/batches/{job}", headers=headers, timeout=10).json()
        if until(state):
            return state
        assert time.monotonic() < deadline, state
        time.sleep(0.05)


def test_a_batch_job_survives_a_killed_server(tmp_path: Path) -> None:
    latency, endpoint = start_latency_server(latency=0.2)
    n = 30
    try:
        key = KeyStore(tmp_path / "service.db").create("cms")[1]
        other = KeyStore(tmp_path / "service.db").create("someone-else")[1]
        headers = {"X-API-Key": key, "Content-Type": "application/x-ndjson"}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_serve(tmp_path, port, endpoint, "--concurrency", "2", "--no-cache")
        made = httpx2.post(f"{base}/v1/batches", content=frank_rows(n), headers=headers,
                           params={"options": json.dumps({"max_claims": 3})}, timeout=30)
        assert made.status_code == 202, made.text
        job = made.json()["id"]
        assert made.json()["counts"]["total"] == n
        assert httpx2.get(f"{base}/v1/batches/{job}", headers={"X-API-Key": other}).status_code == 404
        assert httpx2.get(f"{base}/v1/batches/{job}/results", headers={"X-API-Key": other}).status_code == 404
        running = wait_for(base, job, headers, lambda s: s["counts"]["done"] >= 6)
        assert running["status"] == "running" and running["counts"]["running"] == 2
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        with sqlite3.connect(tmp_path / "service.db") as db:  # what the killed server had written
            written = {r[0] for r in db.execute("SELECT row_id FROM job_rows WHERE job = ? AND ok = 1", (job,))}
        assert 6 <= len(written) < n
        server_stats(endpoint, reset=True)

        server = start_serve(tmp_path, port, endpoint, "--concurrency", "2", "--no-cache")  # resumes the job
        final = wait_for(base, job, headers, lambda s: s["status"] not in ("queued", "running"))
        assert final["status"] == "done" and final["counts"]["done"] == n, final
        rows = [json.loads(line) for line in httpx2.get(f"{base}/v1/batches/{job}/results", headers=headers,
                                                          timeout=30).text.splitlines()]
        calls = sum(r["summary"]["provenance"]["attempts"] for r in rows if r["id"] not in written)
        assert server_stats(endpoint)["requests"] == calls  # only the unfinished articles were sent after the kill
        stop_process(server)
    finally:
        stop_process(latency)
    expected = [json.loads(line)["id"] for line in frank_rows(n).decode().splitlines()]
    assert [r["id"] for r in rows] == expected  # exactly one row per id, in input order
    assert all("summary" in r and r["source"] == "frank" for r in rows)
    assert all(len(r["summary"]["claims"]) <= 3 for r in rows)  # the job's options


def test_a_cancelled_batch_keeps_its_finished_rows(tmp_path: Path, slow_endpoint: str) -> None:
    session = Summarizer("openai/latency", cache=False, limits=FAST.model_copy(update={"concurrency": 1}))
    with serving(create_app(ServiceConfig(db=tmp_path / "s.db"), session=session)) as base:
        made = httpx2.post(f"{base}/v1/batches", content=frank_rows(20), timeout=30).json()
        wait_for(base, made["id"], {}, lambda s: s["counts"]["done"] >= 1)
        cancelled = httpx2.post(f"{base}/v1/batches/{made['id']}/cancel", timeout=30)
        assert cancelled.status_code == 200
        final = wait_for(base, made["id"], {}, lambda s: s["status"] not in ("queued", "running"))
        assert final["status"] == "cancelled" and 1 <= final["counts"]["done"] < 20
        rows = httpx2.get(f"{base}/v1/batches/{made['id']}/results", timeout=30).text.splitlines()
        assert len(rows) == final["counts"]["done"]
        empty = httpx2.post(f"{base}/v1/batches", content=b"\n\n", timeout=30)
        assert empty.status_code == 422 and empty.json()["error"]["type"] == "ArticleError"
        assert httpx2.get(f"{base}/v1/batches/job_nope", timeout=30).status_code == 404


def test_docs_uploads_cors_and_token_rates(tmp_path: Path, seed: str) -> None:
    store = KeyStore(tmp_path / "s.db")
    key = store.create("tight", tpm=3_000)[1]  # the seed's prompt estimate plus a 1,536-token answer: once a minute
    config = ServiceConfig(db=tmp_path / "s.db", cache=False, max_body_bytes=20_000,
                           batch_max_body_bytes=2_000_000)
    app = create_app(config, keys=store, session=Summarizer("fake/x", cache=False))
    with serving(app) as base:
        docs = httpx2.get(f"{base}/docs")
        assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text  # no CDN
        assert "cdn" not in docs.text.lower()
        assert httpx2.get(f"{base}/docs-assets/swagger-ui-bundle.js").status_code == 200
        headers = {"X-API-Key": key}
        assert httpx2.post(f"{base}/v1/summaries", json={"article": seed}, headers=headers,
                           timeout=30).status_code == 200
        limited = httpx2.post(f"{base}/v1/summaries", json={"article": seed}, headers=headers)
        assert limited.status_code == 429 and "tokens per minute" in limited.json()["error"]["message"]
        assert "access-control-allow-origin" not in httpx2.options(
            f"{base}/v1/summaries", headers={"Origin": "https://cms.example", "Access-Control-Request-Method": "POST"}
        ).headers  # CORS is off unless configured
        body = frank_rows(40)
        assert len(body) > 20_000  # over the request limit, under the batch upload's own
        upload = httpx2.post(f"{base}/v1/batches", files={"file": ("articles.jsonl", body, "application/x-ndjson")},
                             headers=headers, timeout=30)
        assert upload.status_code == 202, upload.text
        assert upload.json()["counts"]["total"] == 40
    cors = create_app(ServiceConfig(db=tmp_path / "s.db", cors_origins=("https://cms.example",)), keys=store,
                      session=Summarizer("fake/x", cache=False))
    with serving(cors) as base:
        pre = httpx2.options(f"{base}/v1/summaries", headers={"Origin": "https://cms.example",
                                                               "Access-Control-Request-Method": "POST"})
        assert pre.headers.get("access-control-allow-origin") == "https://cms.example"
