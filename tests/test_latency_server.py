"""bench/latency_server.py: the OpenAI-compatible fixed-latency server, run as a process, no model."""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest
from helpers import start_latency_server as start
from helpers import stop_process as stop

ARTICLE = "<article>\nSome article text. It has sentences here. And a third one here.\n</article>"
MESSAGES = [{"role": "system", "content": "Summarize."}, {"role": "user", "content": f"Summarize this.\n{ARTICLE}"}]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    proc, url = start()
    yield url
    stop(proc)


def call(url: str, body: Any = None, method: str = "POST") -> tuple[int, Any]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode("utf-8"))
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def root(url: str) -> str:
    return url.removesuffix("/v1")


def test_the_official_client_gets_an_extractive_summary(server: str) -> None:
    client = openai.OpenAI(base_url=server, api_key="k", max_retries=0)
    reply = client.chat.completions.create(model="latency", messages=MESSAGES)  # type: ignore[arg-type]
    answer = json.loads(reply.choices[0].message.content or "")
    assert answer["headline"] == "Some article text."
    assert answer["summary"].startswith("Some article text. It has sentences here.")
    assert reply.choices[0].finish_reason == "stop" and reply.usage is not None and reply.usage.prompt_tokens > 0


def test_concurrent_requests_overlap(server: str) -> None:
    assert call(f"{root(server)}/stats/reset")[0] == 200
    barrier = threading.Barrier(16)

    def one(i: int) -> int:
        barrier.wait(timeout=30)
        status, body = call(f"{server}/chat/completions", {"model": "latency", "messages": MESSAGES})
        return status if "headline" in json.loads(body["choices"][0]["message"]["content"]) else -1

    with ThreadPoolExecutor(16) as pool:
        assert list(pool.map(one, range(16))) == [200] * 16
    status, stats = call(f"{root(server)}/stats", method="GET")
    assert status == 200 and stats["requests"] == 16 and stats["in_flight"] == 0
    assert stats["max_in_flight"] >= 8


def test_errors_are_openai_style_json(server: str) -> None:
    assert call(f"{server}/models", method="GET") == (200, {"object": "list", "data": [{"id": "latency",
                                                                                         "object": "model"}]})
    status, body = call(f"{server}/chat/completions", b"{not json")
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    status, body = call(f"{server}/nowhere", method="GET")
    assert status == 404 and body["error"]["type"] == "not_found"


def test_replay_answers_the_recorded_response_and_404_otherwise(tmp_path: Path) -> None:
    body = {"model": "m", "messages": MESSAGES}
    key = hashlib.sha256(json.dumps({"model": "m", "messages": MESSAGES}, sort_keys=True).encode()).hexdigest()
    recorded = {"id": "chatcmpl-recorded", "object": "chat.completion", "created": 1, "model": "m",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": '{"headline": "Recorded"}'}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
    replay = tmp_path / "replay.jsonl"
    replay.write_text(json.dumps({"key": key, "response": recorded}) + "\n", encoding="utf-8")
    proc, url = start("--replay", str(replay))
    try:
        assert call(f"{url}/chat/completions", body) == (200, recorded)
        status, error = call(f"{url}/chat/completions", {**body, "model": "other"})
        assert status == 404 and error["error"]["type"] == "not_found"
        with pytest.raises(openai.NotFoundError):
            openai.OpenAI(base_url=url, api_key="k", max_retries=0).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "never recorded"}])
    finally:
        assert stop(proc) == 0  # SIGTERM is a clean shutdown
