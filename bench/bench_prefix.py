"""What a saved system-prompt state saves a fresh process: prompt tokens read and seconds, per embedded model.

    .venv/bin/python bench/bench_prefix.py [--models local/qwen2.5-coder-1.5b,local/smollm2-135m] [--runs 1]

For each model, fresh processes one after another (model loading outside the timings), each summarising the seed
article uncached, in a temporary ``SUMMARIZER_HOME`` (its ``models`` linked to the real one):

- **cold**: no saved state — the process reads its system message and saves the state (what every process did
  before ``summarizer.models.prefix``, plus the save);
- **warm**: the state the cold process saved — the process loads it and reads only the rest.

Reported from llama.cpp's own counters: prompt tokens read and seconds spent reading them, generated tokens and
seconds, and the whole summary's seconds. The ratio warm / cold of prompt-reading seconds is the lever's effect.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "data" / "seed" / "nk-troops-russia.txt"

_CHILD = r"""
import json, sys, time
import llama_cpp
from summarizer import Summarizer
with Summarizer(sys.argv[1], cache=False) as session:
    session.model.load()
    ctx = session.model._context().llama._ctx.ctx
    llama_cpp.llama_perf_context_reset(ctx)
    started = time.perf_counter()
    s = session.summarize(open(sys.argv[2], encoding="utf-8").read())
    seconds = time.perf_counter() - started
    perf = llama_cpp.llama_perf_context(ctx)
    print(json.dumps({"seconds": round(seconds, 1), "calls": s.provenance.attempts,
                      "prompt_read": perf.n_p_eval, "prompt_read_s": round(perf.t_p_eval_ms / 1000, 1),
                      "generated": perf.n_eval, "generated_s": round(perf.t_eval_ms / 1000, 1),
                      "claims": len(s.claims)}))
"""


def run(model: str, home: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", _CHILD, model, str(SEED)], capture_output=True, text=True,
                         check=False, env={**os.environ, "SUMMARIZER_HOME": str(home)}, cwd=REPO)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    from summarizer.config import models_dir

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="local/qwen2.5-coder-1.5b,local/smollm2-135m")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    for model in args.models.split(","):
        for run_no in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                home = Path(tmp)
                (home / "models").symlink_to(models_dir(), target_is_directory=True)
                rows = {label: run(model, home) for label in ("cold", "warm")}
            cold, warm = rows["cold"], rows["warm"]
            for label, row in rows.items():
                print(json.dumps({"model": model, "run": run_no + 1, "state": label, **row}), flush=True)
            if "error" not in cold and "error" not in warm and cold["prompt_read_s"]:
                print(json.dumps({"model": model, "run": run_no + 1,
                                  "prompt_read_s_warm_over_cold": round(warm["prompt_read_s"] / cold["prompt_read_s"],
                                                                        2),
                                  "prompt_s_saved": round(cold["prompt_read_s"] - warm["prompt_read_s"], 1)}),
                      flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
