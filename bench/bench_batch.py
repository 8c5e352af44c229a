"""Batch benchmark: all FRANK articles through ``summarizer batch``, a rerun, and a SIGKILL half-way then a rerun.

    .venv/bin/python bench/bench_batch.py [--model fake/x] [--endpoint-latency 0.2 --concurrency 16] [--out F]

Each step is the real command in a subprocess, with a fresh ``SUMMARIZER_HOME``. Reported per step: wall time, rows,
and model calls — from the command's summary line and, with ``--endpoint-latency`` (the model is then
``openai/latency`` on ``bench/latency_server.py``), also counted by the server itself. A rerun of a finished batch
must make 0 calls; the rerun after a kill must make exactly one call per article that had no row yet and is not in
the cache (the fake and the latency server answer every article validly at the first try).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FRANK = REPO.parent / "shared" / "data" / "frank" / "articles.jsonl"
sys.path.insert(0, str(REPO / "bench"))
from bench_concurrency import start_server  # noqa: E402
from latency_server import stats  # noqa: E402


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def server_requests(url: str | None, reset: bool = False) -> int | None:
    return None if url is None else stats(url, reset)["requests"]


def step(name: str, command: list[str], env: dict[str, str], out: Path, url: str | None,
         kill_at: int | None = None) -> dict[str, Any]:
    server_requests(url, reset=True)
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if kill_at is not None:
        while proc.poll() is None and (not out.exists() or out.read_bytes().count(b"\n") < kill_at):
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    _, stderr = proc.communicate()
    wall = time.perf_counter() - started
    line = next((x for x in stderr.splitlines() if x.startswith("batch: ")), "")
    calls = re.search(r"(\d+) model calls", line)
    cached = re.search(r"(\d+) from the cache", line)
    got = rows(out)
    result = {"step": name, "exit": proc.returncode, "wall_s": round(wall, 2), "rows": len(got),
              "unique_ids": len({r["id"] for r in got}), "summaries": sum("summary" in r for r in got),
              "model_calls_reported": int(calls.group(1)) if calls else None,
              "from_cache": int(cached.group(1)) if cached else 0,
              "model_calls_at_server": server_requests(url)}
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="fake/x")
    parser.add_argument("--endpoint-latency", type=float, help="use openai/latency on a fixed-latency server")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    n = sum(1 for line in FRANK.read_text(encoding="utf-8").splitlines() if line.strip())
    proc = url = None
    model = args.model
    if args.endpoint_latency is not None:
        proc, url = start_server(args.endpoint_latency, None)
        model = "openai/latency"
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "SUMMARIZER_HOME": str(Path(tmp) / "home"), "OPENAI_API_KEY": "not-needed"}
            if url:
                env["OPENAI_BASE_URL"] = url
            out = Path(tmp) / "results.jsonl"
            command = [sys.executable, "-m", "summarizer", "batch", str(FRANK), "--out", str(out), "-m", model,
                       "--concurrency", str(args.concurrency), "--quiet"]
            results.append(step("first run", command, env, out, url))
            results.append(step("rerun", command, env, out, url))
            out.unlink()
            env["SUMMARIZER_HOME"] = str(Path(tmp) / "home2")  # a fresh cache: the kill must not be rescued by it
            killed = step("SIGKILL half-way", command, env, out, url, kill_at=n // 2)
            results.append(killed)
            after = step("rerun after the kill", command, env, out, url)
            # An article summarised (and cached) just before the kill, whose row was not yet written, comes from the
            # cache: it does not reach the model again either.
            after["expected_calls"] = n - killed["summaries"] - after["from_cache"]
            results.append(after)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    if args.out:
        Path(args.out).write_text(json.dumps({"model": model, "articles": n, "steps": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
