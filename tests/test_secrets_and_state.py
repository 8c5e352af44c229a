"""Secrets stay secret: the API key and credentials in OPENAI_BASE_URL appear in no log (any level), output, cache
entry, batch row or error message; the endpoint is shown without them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import start_latency_server, stop_process

REPO = Path(__file__).resolve().parents[1]
SECRETS = ("sk-SECRETKEY123", "SECRETPASSWORD", "SECRETQUERY")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    proc, url = start_latency_server(latency=0.0)
    yield url
    stop_process(proc)


def run(args: list[str], server: str, home: Path) -> subprocess.CompletedProcess[str]:
    port = server.split(":")[2].split("/")[0]
    env = {**os.environ, "SUMMARIZER_HOME": str(home), "OPENAI_API_KEY": SECRETS[0],
           "OPENAI_BASE_URL": f"http://reader:{SECRETS[1]}@127.0.0.1:{port}/v1?api-key={SECRETS[2]}"}
    return subprocess.run([sys.executable, "-m", "summarizer", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300)


def leaked(*texts: str) -> list[str]:
    return [s for s in SECRETS for t in texts if s in t]


def fault(server: str, **spec: object) -> None:
    request = urllib.request.Request(server.removesuffix("/v1") + "/faults", data=json.dumps(spec).encode(),
                                     method="POST")
    urllib.request.urlopen(request, timeout=10).read()


@pytest.mark.parametrize("level", ["debug", "info", "warning"])
def test_no_secret_in_logs_output_or_the_cache(server: str, seed_path: Path, tmp_path: Path, level: str) -> None:
    fault(server)
    done = run(["--log-level", level, "summarize", str(seed_path), "-m", "openai/x", "--format", "json"], server,
               tmp_path)
    assert done.returncode == 0, done.stderr
    assert leaked(done.stdout, done.stderr) == []
    endpoint = json.loads(done.stdout)["provenance"]["endpoint"]
    assert endpoint.startswith("http://127.0.0.1:") and endpoint.endswith("/v1") and "@" not in endpoint
    if level == "debug":
        assert "HTTP Request" in done.stderr  # the client's own log lines were there, masked
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert stored and not [s for s in SECRETS if s.encode() in stored]


def test_no_secret_in_errors_or_batch_rows(server: str, tmp_path: Path) -> None:
    fault(server, always="500")
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": 1, "article": "A first sentence here. A second sentence there."}) + "\n")
    out = tmp_path / "out.jsonl"
    done = run(["--log-level", "debug", "batch", str(source), "--out", str(out), "-m", "openai/x", "--timeout", "5"],
               server, tmp_path)
    fault(server)
    assert done.returncode == 8, done.stderr
    assert leaked(done.stdout, done.stderr, out.read_text()) == []
    assert json.loads(out.read_text())["error"]["type"] == "TransientModelError"


def test_four_processes_writing_one_cache_leave_every_entry_whole(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from summarizer import Summarizer, SummaryCache\n"
        "texts = [f'Shared story {i} opens here with a sentence. It goes on a while. It ends for {i}.' "
        "for i in range(30)]\n"
        "with Summarizer('fake/x', cache=SummaryCache(sys.argv[1])) as s:\n"
        "    assert all(not isinstance(r, Exception) for r in s.map(texts))\n"
    )
    cache = tmp_path / "cache"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(cache)], cwd=REPO) for _ in range(4)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    from summarizer import Summary, SummaryCache

    store = SummaryCache(cache)
    assert len(store) == 30
    for key in list(store._store()):
        assert isinstance(store.get(key), Summary)  # every entry reads back and validates
    store.close()
