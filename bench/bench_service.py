"""Load test of ``summarizer serve``: N concurrent clients for S seconds, distinct articles, the cache off.

    .venv/bin/python bench/bench_service.py [--clients 50] [--seconds 60] [--out bench-service.json]

Three runs, each against a fresh ``summarizer serve`` in a process of its own (a key made first, so auth is on):

- **fake**: the scripted fake model (the service's and the library's own cost: HTTP, auth, limits, validation,
  grounding, checks);
- **endpoint**: ``openai/latency``, the fixed-latency endpoint of ``latency_server.py`` (200 ms, another process);
- **over the limits**: the fake model with ``--concurrency 2 --queue 2`` and a key rate of 120 a minute: most
  requests must be turned away, and only as clean 429s and 503s (with ``Retry-After``), never anything else.

Each client posts FRANK articles (numbered, so no two requests are the same) one after another. Reported per run:
requests per second answered 200, p50 / p99 latency of those, every other status by count, and the server's resident
memory before and after (from ``/proc``: it must not grow with the number of requests served).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from latency_server import spawn  # noqa: E402
from loopback import free_port, wait_until_up  # noqa: E402

FRANK = REPO.parent / "shared" / "data" / "frank" / "articles.jsonl"
SUMMARIZER = str(Path(sys.executable).parent / "summarizer")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start(home: Path, model: str, env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[bytes], str, str]:
    db = home / "service.db"
    made = subprocess.run([SUMMARIZER, "keys", "create", "--name", "bench", "--db", str(db)], capture_output=True,
                          text=True, check=True, env={**os.environ, **env, "SUMMARIZER_HOME": str(home)})
    key = made.stdout.strip()
    port = free_port()
    proc = subprocess.Popen([SUMMARIZER, "serve", "--port", str(port), "--model", model, "--db", str(db),
                             "--no-cache", *extra], env={**os.environ, **env, "SUMMARIZER_HOME": str(home)},
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    if not wait_until_up(f"{base}/readyz", proc, timeout=60):
        raise SystemExit("summarizer serve did not start")
    return proc, base, key


async def load(base: str, key: str, clients: int, seconds: float, articles: list[str]) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    retry_after_missing = 0
    counter = 0
    stop_at = time.monotonic() + seconds

    async def client(http: httpx2.AsyncClient) -> None:
        nonlocal counter, retry_after_missing
        while time.monotonic() < stop_at:
            counter += 1
            text = f"{articles[counter % len(articles)]}\n\n(Copy {counter}.)"
            started = time.perf_counter()
            try:
                r = await http.post(f"{base}/v1/summaries", json={"article": text},
                                    headers={"Authorization": f"Bearer {key}"})
            except httpx2.HTTPError as exc:
                statuses[type(exc).__name__] += 1
                continue
            statuses[str(r.status_code)] += 1
            if r.status_code == 200:
                latencies.append(time.perf_counter() - started)
            elif r.status_code in (429, 503):
                retry_after_missing += "retry-after" not in r.headers
                await asyncio.sleep(0.05)  # a polite client backs off a little (not the full Retry-After: load)

    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(timeout=120, limits=limits) as http:
        wall0 = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        wall = time.perf_counter() - wall0
    latencies.sort()
    return {"wall_s": round(wall, 2), "ok": len(latencies), "ok_per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 1) if latencies else None,
            "statuses": dict(statuses), "without_retry_after": retry_after_missing}


def run(name: str, model: str, env: dict[str, str], extra: list[str], clients: int, seconds: float,
        articles: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as home:
        proc, base, key = start(Path(home), model, env, *extra)
        try:
            asyncio.run(load(base, key, clients, min(10.0, seconds / 3), articles))  # warm-up: first-use costs
            before = rss_mb(proc.pid)
            result = asyncio.run(load(base, key, clients, seconds, articles))
            result["rss_mb_before"], result["rss_mb_after"] = round(before, 1), round(rss_mb(proc.pid), 1)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    result["run"] = name
    print(f"{name:>16}: {result['ok_per_s']:7.1f} ok/s  p50 {result['p50_ms']} ms  p99 {result['p99_ms']} ms  "
          f"statuses {result['statuses']}  RSS {result['rss_mb_before']} → {result['rss_mb_after']} MB", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    articles = [json.loads(line)["article"] for line in FRANK.read_text(encoding="utf-8").splitlines()]
    rows = [run("fake", "fake/x", {}, ["--concurrency", "8", "--key-rpm", "1000000"], args.clients, args.seconds,
                articles)]
    latency, url = spawn(latency=0.2)
    try:
        env = {"OPENAI_BASE_URL": url, "OPENAI_API_KEY": "not-needed"}
        rows.append(run("endpoint", "openai/latency", env, ["--concurrency", "32", "--key-rpm", "1000000"],
                        args.clients, args.seconds, articles))
    finally:
        latency.terminate()
        latency.wait(timeout=10)
    rows.append(run("over the limits", "fake/x", {}, ["--concurrency", "2", "--queue", "2", "--key-rpm", "120"],
                    args.clients, args.seconds, articles))
    if args.out:
        Path(args.out).write_text(json.dumps({"clients": args.clients, "seconds": args.seconds, "runs": rows,
                                              "when": time.strftime("%Y-%m-%d %H:%M:%S")}, indent=2) + "\n")


if __name__ == "__main__":
    main()
