"""Fresh processes for the benchmarks: one Python child per measurement, its result the last line it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_child(code: str, args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter with ``args``; the JSON object on its last line of output, or
    ``{"error": <its last line of stderr>}`` if it failed."""
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False,
                         cwd=cwd, env={**os.environ, **(env or {})})
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def timed_summary(model: str, text: str, *, warm_up: str | None = None) -> dict[str, Any]:
    """In the child: one uncached summary of ``text`` (model loading, and a summary of ``warm_up`` if given, outside
    the timing) with llama.cpp's own counters of what it read and generated."""
    import time

    import llama_cpp

    from summarizer import Summarizer

    with Summarizer(model, cache=False) as session:
        session.model.load()
        if warm_up is not None:
            session.summarize(warm_up)
        ctx = session.model._context().llama._ctx.ctx  # type: ignore[attr-defined]
        llama_cpp.llama_perf_context_reset(ctx)
        started = time.perf_counter()
        s = session.summarize(text)
        seconds = time.perf_counter() - started
        perf = llama_cpp.llama_perf_context(ctx)
    return {"seconds": round(seconds, 1), "calls": s.provenance.attempts,
            "prompt_read": perf.n_p_eval, "prompt_read_s": round(perf.t_p_eval_ms / 1000, 1),
            "generated": perf.n_eval, "generated_s": round(perf.t_eval_ms / 1000, 1), "claims": len(s.claims),
            "summary": s.model_dump(mode="json", include={"headline", "summary", "claims"})}


def model_runs(doc: str | None) -> tuple[list[str], int]:
    """The benchmarks' shared arguments: ``--models`` (both embedded models) and ``--runs``."""
    import argparse

    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="local/qwen2.5-coder-1.5b,local/smollm2-135m")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    return args.models.split(","), int(args.runs)
