"""Local engine vs Ray engine: the same articles through the same fixed-latency endpoint, run_batch over each.

    .venv/bin/python bench/bench_ray.py [--articles 256] [--latency 0.2] [--concurrency 16] [--actors 1,2,4]

Every run is ``run_batch`` into a fresh JSONL sink with the cache off, through ``openai/latency`` on
``bench/latency_server.py`` (a real HTTP server on loopback that answers a valid summary after ``--latency`` s).
``--concurrency`` is the whole job's calls in flight; the Ray engine splits it across its actors. Reported per run:
wall seconds, articles per second, the ratio to the local engine and to the ideal (articles × latency ÷
concurrency), the start-up (seconds to the first row), the steady rate after it, and the per-article overhead Ray
adds ((Ray wall − local wall) ÷ articles). The Ray wall includes the actors' start-up (a session each) but not
``ray.init``, which is timed on its own. The output rows of every run are checked equal to the local engine's
(timing and cache fields aside).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from bench_concurrency import load_articles, start_server  # noqa: E402
from rows import comparable  # noqa: E402

from summarizer import Limits, Summarizer  # noqa: E402
from summarizer.batch import InputRow, JsonlSink, run_batch  # noqa: E402


def one_run(engine: Any, texts: list[str], out: Path) -> dict[str, Any]:
    """Wall seconds, seconds to the first row (start-up), and the steady rate: rows per second from the tenth
    percentile row to the last (from the first row would count calls already in flight when it came)."""
    sink = JsonlSink(out)
    times: list[float] = []
    started = time.perf_counter()
    try:
        report = run_batch(engine, (InputRow(i, t, {}, i + 1) for i, t in enumerate(texts)), sink,
                           on_row=lambda *_: times.append(time.perf_counter() - started))
    finally:
        sink.close()
    wall = time.perf_counter() - started
    k = len(times) // 10
    return {"wall_s": wall, "done": report.done, "first_s": times[0],
            "steady": (len(times) - 1 - k) / max(times[-1] - times[k], 1e-9)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=256)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--actors", default="1,2,4")
    args = parser.parse_args()
    import ray

    from summarizer.ray_engine import RayEngine

    texts = load_articles(args.articles)
    proc, url = start_server(args.latency, None)
    os.environ.update(OPENAI_BASE_URL=url, OPENAI_API_KEY="sk-bench")
    limits = Limits(concurrency=args.concurrency)
    ideal = args.articles * args.latency / args.concurrency
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with Summarizer("openai/latency", cache=False, limits=limits) as session:
                one_run(session, texts[:8], Path(tmp) / "warm.jsonl")  # imports, client, first connections
                results.append({"engine": "local", "actors": "-", **one_run(session, texts, Path(tmp) / "l.jsonl")})
            expected = comparable(Path(tmp) / "l.jsonl")
            started = time.perf_counter()
            ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            init_s = time.perf_counter() - started
            for actors in (int(a) for a in args.actors.split(",")):
                out = Path(tmp) / f"ray-{actors}.jsonl"
                with RayEngine("openai/latency", cache=False, limits=limits, actors=actors) as engine:
                    run = one_run(engine, texts, out)
                results.append({"engine": "ray", "actors": actors, **run, "same": comparable(out) == expected})
        finally:
            proc.terminate()
            ray.shutdown()
    local = results[0]
    print(f"{args.articles} articles, {args.latency} s latency, {args.concurrency} in flight; ideal {ideal:.2f} s; "
          f"ray.init {init_s:.1f} s (not in the walls)")
    print("| engine | actors | wall s | articles/s | vs local | vs ideal | start-up s (first row) | steady articles/s "
          "| steady vs local | overhead ms/article (wall) | rows equal |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
    for r in results:
        overhead = (r["wall_s"] - local["wall_s"]) / args.articles * 1000
        print(f"| {r['engine']} | {r['actors']} | {r['wall_s']:.2f} | {r['done'] / r['wall_s']:.1f} | "
              f"{local['wall_s'] / r['wall_s']:.2f} | {ideal / r['wall_s']:.2f} | {r['first_s']:.2f} | "
              f"{r['steady']:.1f} | {r['steady'] / local['steady']:.2f} | "
              f"{'-' if r['engine'] == 'local' else f'{overhead:.1f}'} | {r.get('same', '-')} |")

if __name__ == "__main__":
    main()
