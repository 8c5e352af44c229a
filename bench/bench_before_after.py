"""Seconds per article with the embedded models: this tree against another checkout, side by side, in one run.

    git worktree add /tmp/before <commit>
    .venv/bin/python bench/bench_before_after.py --before /tmp/before \\
        [--models local/qwen2.5-coder-1.5b,local/smollm2-135m] [--out bench-before-after.json]

For each model and each tree it starts one fresh process (the tree's own ``summarizer`` on ``PYTHONPATH``, this
venv's packages), summarises the seed article and then a second article (a FRANK CNN/DailyMail one) in the same
process, uncached, one process at a time (two llama.cpp processes on two cores slow each other down twentyfold),
and prints seconds, calls, prompt and completion tokens, claims and flags, with the after/before ratio of seconds.
Model loading is outside the timings. Machines here are shared: compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SUMMARIZER_SHARED_DATA", REPO.parent / "shared" / "data"))

_CHILD = r"""
import json, sys, time
from summarizer import Summarizer
model, paths = sys.argv[1], sys.argv[2:]
with Summarizer(model, cache=False) as session:
    session.model.load()
    for path in paths:
        text = open(path, encoding="utf-8").read()
        started = time.perf_counter()
        try:
            s = session.summarize(text)
        except Exception as exc:  # a failed summary is a result of its own (the time it took is still spent)
            print(json.dumps({"seconds": time.perf_counter() - started, "error": type(exc).__name__}), flush=True)
            continue
        p = s.provenance
        print(json.dumps({"seconds": time.perf_counter() - started, "calls": p.attempts,
                          "prompt_tokens": p.prompt_tokens, "completion_tokens": p.completion_tokens,
                          "claims": len(s.claims), "flags": len(s.flags)}), flush=True)
"""


def _second_article(folder: Path) -> Path:
    rows = [json.loads(line) for line in (SHARED / "frank" / "articles.jsonl").open(encoding="utf-8")]
    row = next(r for r in rows if r["dataset"].startswith("cnn") and 1500 <= len(r["article"]) <= 3000)
    path = folder / "second.txt"
    path.write_text(row["article"], encoding="utf-8")
    return path


def _run(tree: Path, model: str, articles: list[Path]) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(tree), "SUMMARIZER_HOME": str(REPO / ".bench-home")}
    out = subprocess.run([sys.executable, "-c", _CHILD, model, *map(str, articles)], env=env, cwd=tree,
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{tree} {model} failed: {out.stderr.strip().splitlines()[-1:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the commit to compare against")
    parser.add_argument("--models", default="local/qwen2.5-coder-1.5b,local/smollm2-135m")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    folder = REPO / ".bench-home"
    folder.mkdir(exist_ok=True)
    articles = [SHARED / "seed" / "nk-troops-russia.txt", _second_article(folder)]
    results: dict[str, Any] = {}
    print("| model | article | before s | after s | after / before | calls | prompt tok | completion tok | "
          "claims | flags |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for model in args.models.split(","):
        before = _run(args.before.resolve(), model, articles)
        after = _run(REPO, model, articles)
        results[model] = {"before": before, "after": after}
        for name, b, a in zip(("seed", "second"), before, after, strict=True):

            def pair(k: str, b: dict[str, Any] = b, a: dict[str, Any] = a) -> str:
                return f"{b.get(k, b.get('error'))} → {a.get(k, a.get('error'))}"

            print(f"| {model} | {name} | {b['seconds']:.1f} | {a['seconds']:.1f} | "
                  f"{a['seconds'] / b['seconds']:.2f} | {pair('calls')} | {pair('prompt_tokens')} | "
                  f"{pair('completion_tokens')} | {pair('claims')} | {pair('flags')} |", flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
