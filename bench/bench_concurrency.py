"""Concurrency benchmark: N summaries through a local OpenAI-compatible endpoint that answers after a fixed latency.

    .venv/bin/python bench/bench_concurrency.py [--latency 0.2] [--levels 1,8,16,32,64] [--replay FILE] [--out F]

The endpoint is ``bench/latency_server.py`` in a separate process (so its CPU is not ours): each answer takes exactly
``--latency`` seconds, by default a valid extractive summary of the request's article, or with ``--replay`` answers
recorded once from a real server (see bench/README.md). The summarizer runs with the cache off, ``Limits(concurrency
= c)``, through ``Summarizer.amap`` on this thread's event loop, for each level c:

- **achieved / ideal throughput**: (N / wall time) ÷ (c / single-summary time), the single-summary time measured at
  c = 1. 1.0 means the library adds nothing but the endpoint's latency; targets: ≥ 0.9 at 16, ≥ 0.8 at 32.
- **CPU ms per summary**: this process's CPU time (all threads) ÷ N, and its worker processes' (read from /proc);
  **threads**: the most threads alive during the timed run.
- the same requests through the bare ``openai.AsyncOpenAI`` client at the same concurrency (no session, validation
  or grounding): its ratio to the ideal, and the library's throughput ÷ the bare client's.

Each level runs in one session after a warm-up of c summaries, so one-time costs (client, TLS context, connections,
the worker process) are not counted as throughput. Each level runs twice: with the default ``Limits`` (from 8
articles in progress the answers are checked in a worker process, :mod:`summarizer.workers`) and with
``workers=0`` (checked on the event loop); the single-summary time is the latter's at c = 1.

The server makes each answer once and keeps it (by request key): a first untimed pass through the bare client asks
it for every article, so that in the timed passes its CPU — on the same two cores — is not charged to the client,
as it would not be with a remote server.

A profiled pass at c = 16 (cProfile, the cache *on* in a fresh directory, so writes are counted) splits the CPU time
per summary into: HTTP client (openai, httpx2, h11, anyio, ssl, json encode/decode of the wire), validation
(pydantic), grounding and checks (grounding, numbers, sources, figures, hedges, quotations, the pipeline's own
code), cache (diskcache, sqlite) and the
session, retries and event loop (the rest); a builtin's time goes to the part that called it. Profiling slows
everything, so only its shares are reported, scaled to the unprofiled CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from latency_server import spawn  # noqa: E402

FRANK = REPO.parent / "shared" / "data" / "frank" / "articles.jsonl"
BUCKETS = {
    "http client": ("openai", "httpx", "httpcore", "h11", "anyio", "sniffio", "ssl", "socket", "http/", "json/",
                    "email/", "urllib"),
    "validation": ("pydantic",),
    "grounding and checks": ("summarizer/grounding", "summarizer/numbers", "summarizer/pipeline",
                             "summarizer/conversation", "summarizer/schema", "summarizer/prompts", "summarizer/checks",
                             "summarizer/attribution", "summarizer/figures", "summarizer/hedges",
                             "summarizer/injection", "summarizer/article", "jinja2", "re/", "re.py", "unicodedata"),
    "cache": ("diskcache", "sqlite3", "summarizer/cache"),
}


def start_server(latency: float, replay: str | None, record: str | None = None,
                 upstream: str | None = None) -> tuple[subprocess.Popen[str], str]:
    args = ["--replay", replay] if replay else []
    if record:
        args += ["--record", record, "--upstream", upstream or ""]
    try:
        return spawn(*args, latency=latency)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from None


def load_articles(n: int, offset: int = 0) -> list[str]:
    rows = [json.loads(line)["article"] for line in FRANK.read_text(encoding="utf-8").splitlines()]
    # Distinct texts (the cache is off anyway): a FRANK article, numbered when the list wraps around.
    return [rows[i % len(rows)] + ("" if i < len(rows) else f"\n\n(Copy {i // len(rows)}.)")
            for i in range(offset, offset + n)]


def workers_cpu() -> float:
    """CPU seconds used so far by this process's worker processes (summarizer.workers; Linux /proc)."""
    total, me, tick = 0.0, os.getpid(), os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == me and b"summarizer.workers" in Path(f"/proc/{entry}/cmdline").read_bytes():
                total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            continue
    return total


def run_level(level: int, texts: list[str], cache: bool | Any = False,
              workers: int | None = None) -> tuple[float, float, int, float]:
    """Summarise ``texts`` at concurrency ``level`` in one session, after a warm-up of ``level`` summaries (so the
    session's one-time costs — its client, TLS context, connections, worker process — are not counted as
    throughput). ``workers``: ``Limits.workers`` (None: the default)."""
    from summarizer import Limits, Summarizer, Summary

    peak = threading.active_count()

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, threading.active_count())
            await asyncio.sleep(0.01)

    async def main() -> tuple[list[Any], float, float, float]:
        limits = Limits(concurrency=level, workers=workers)
        async with Summarizer("openai/latency", cache=cache, limits=limits) as session:
            await session.amap(load_articles(level, offset=len(texts)))
            watcher = asyncio.create_task(watch())
            cpu0, wall0, far0 = time.process_time(), time.perf_counter(), workers_cpu()
            results = await session.amap(texts)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            far = workers_cpu() - far0
            watcher.cancel()
            return results, wall, cpu, far

    results, wall, cpu, far = asyncio.run(main())
    failures = sorted({r.message[:120] for r in results if not isinstance(r, Summary)})
    if any("no recorded response" in f for f in failures) or len(failures) == len(texts):
        raise SystemExit(f"c={level}: failed: {failures[:3]}")  # a replay that does not match: not a measurement
    if failures:  # real answers (a replay) can stay invalid after every re-ask: finished work all the same
        print(f"c={level}: {sum(not isinstance(r, Summary) for r in results)} of {len(texts)} articles failed "
              f"(e.g. {failures[0]!r})", flush=True)
    return wall, cpu, peak, far


def run_raw(level: int, texts: list[str]) -> tuple[float, float]:
    """The same requests (the pipeline's first request for each article) through the bare ``openai.AsyncOpenAI``
    client at the same concurrency: what a hand-written script would pay, with no validation or grounding."""
    import openai

    from summarizer.options import DEFAULT_MAX_CLAIMS
    from summarizer.pipeline import _draft_schema, _messages
    from summarizer.prompts import Prompt
    from summarizer.schema import DraftSummary
    from summarizer.schema_tools import strict_schema

    draft = strict_schema(_draft_schema(DEFAULT_MAX_CLAIMS))
    schema = {"type": "json_schema", "json_schema": {"name": "DraftSummary", "schema": draft, "strict": True}}
    prompt = Prompt.load("summarize")

    def body(text: str) -> dict[str, Any]:
        messages = _messages(prompt, DraftSummary, article=text, part=0, parts=1,
                             max_claims=DEFAULT_MAX_CLAIMS)
        return {"model": "latency", "messages": messages, "temperature": 0.0, "max_tokens": 1536, "seed": 0,
                "response_format": schema}

    async def main() -> tuple[float, float]:
        client = openai.AsyncOpenAI(max_retries=0)
        slots = asyncio.Semaphore(level)

        async def one(text: str) -> None:
            async with slots:
                response = await client.chat.completions.create(**body(text))
                with contextlib.suppress(ValueError):  # a real model's answer may be cut off: parsed all the same
                    json.loads(response.choices[0].message.content or "")

        await asyncio.gather(*(one(t) for t in load_articles(level, offset=len(texts))))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(t) for t in texts))
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        await client.close()
        return wall, cpu

    return asyncio.run(main())


def profile_breakdown(texts: list[str]) -> dict[str, float]:
    """Shares of CPU time by bucket (sums of each function's own time, by the file it is in)."""
    from summarizer import SummaryCache

    with tempfile.TemporaryDirectory() as tmp:
        store = SummaryCache(tmp)
        profiler = cProfile.Profile(time.process_time)  # CPU, not wall: waiting on the endpoint is not work
        profiler.enable()
        run_level(16, texts, cache=store, workers=0)
        profiler.disable()
        store.close()
    stats = pstats.Stats(profiler)
    totals = dict.fromkeys([*BUCKETS, "session, retries, event loop"], 0.0)

    def bucket(filename: str) -> str:
        path = filename.replace(os.sep, "/")
        found = (b for b, marks in BUCKETS.items() if any(m in path for m in marks))
        return next(found, "session, retries, event loop")

    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, callers) in raw.items():
        if filename == "~" and callers:  # a builtin (isinstance, len, a regex...): its time goes to whoever called it
            for (caller_file, _l, _n), (_c, _n2, caller_tt, _ct2) in callers.items():
                totals[bucket(caller_file)] += caller_tt
        else:
            totals[bucket(filename)] += tottime
    whole = sum(totals.values()) or 1.0
    return {k: v / whole for k, v in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--levels", default="1,8,16,32,64")
    parser.add_argument("--per-level", type=int, default=8, help="summaries per level = this × c (at least 32)")
    parser.add_argument("--replay", help="answers recorded from a real server (latency_server.py --record)")
    parser.add_argument("--record", help="record a real server's answers to this file for --replay (see "
                        "bench/README.md); needs --upstream")
    parser.add_argument("--upstream", help="the real server's base URL (…/v1) to record from")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    if bool(args.record) != bool(args.upstream):
        parser.error("--record and --upstream go together")
    proc, url = start_server(args.latency, args.replay, args.record, args.upstream)
    os.environ["OPENAI_BASE_URL"] = url
    os.environ.setdefault("OPENAI_API_KEY", "not-needed")
    try:
        if not args.replay and not args.record:  # the fake answers are made once: their CPU is not the client's
            most = max(levels)
            run_raw(32, load_articles(max(32, args.per_level * most) + most))
        single: list[float] = []
        rows: list[dict[str, Any]] = []
        for level in levels:
            n = max(32, args.per_level * level)
            texts = load_articles(n)
            wall, cpu, threads, far = run_level(level, texts)
            if args.record:  # only the answers are wanted (the bare client's json_schema may be refused upstream)
                print(f"c={level}: recorded the answers for {n} articles", flush=True)
                continue
            loop_wall, loop_cpu, _, _ = run_level(level, texts, workers=0)
            raw_wall, raw_cpu = run_raw(level, texts)
            if level == 1:
                single.append(loop_wall / n)
            t1 = statistics.mean(single) if single else args.latency
            ratio = (n / wall) / (level / t1)
            rows.append({"concurrency": level, "summaries": n, "wall_s": round(wall, 3),
                         "achieved_per_s": round(n / wall, 2), "ideal_per_s": round(level / t1, 2),
                         "ratio": round(ratio, 3),
                         "on_loop_ratio": round((n / loop_wall) / (level / t1), 3),
                         "on_loop_cpu_ms_per_summary": round(loop_cpu / n * 1000, 2),
                         "raw_client_ratio": round((n / raw_wall) / (level / t1), 3),
                         "vs_raw_client": round(raw_wall / wall, 3),
                         "cpu_ms_per_summary": round(cpu / n * 1000, 2),
                         "worker_cpu_ms_per_summary": round(far / n * 1000, 2),
                         "raw_client_cpu_ms_per_request": round(raw_cpu / n * 1000, 2), "threads": threads})
            print(f"c={level:>3}  n={n:>4}  wall {wall:6.2f} s  achieved/ideal {ratio:.3f}  "
                  f"(checked on the loop {rows[-1]['on_loop_ratio']:.3f})  "
                  f"(bare client {rows[-1]['raw_client_ratio']:.3f})  cpu {cpu / n * 1000:5.2f} ms/summary "
                  f"+ worker {far / n * 1000:5.2f} (on the loop {loop_cpu / n * 1000:5.2f}) "
                  f"(bare client {raw_cpu / n * 1000:5.2f} ms/request)  threads {threads}", flush=True)
        if args.record:
            return
        shares = profile_breakdown(load_articles(max(32, args.per_level * 16)))  # the c = 16 level's articles
        cpu16 = next((r["on_loop_cpu_ms_per_summary"] for r in rows if r["concurrency"] == 16),
                     rows[-1]["on_loop_cpu_ms_per_summary"])  # the profile is of the checks on the loop
        breakdown = {k: round(v * cpu16, 2) for k, v in shares.items()}
        print("CPU ms per summary at c=16 with the answers checked on the loop, by part: "
              + ", ".join(f"{k} {v}" for k, v in breakdown.items()))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    result = {"latency_s": args.latency, "single_summary_s": round(statistics.mean(single), 4) if single else None,
              "replay": bool(args.replay), "levels": rows, "cpu_ms_per_summary_c16": breakdown,
              "cpu_count": os.cpu_count(), "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
