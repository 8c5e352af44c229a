"""What asking the grammar about the chosen token first saves (``summarizer.models.sampling``), per embedded model.

    .venv/bin/python bench/bench_sampling.py [--models local/qwen2.5-coder-1.5b,local/smollm2-135m] [--runs 1]

For each model, fresh processes one after another (model loading and the saved prompt state outside the timings:
a warm-up summary of another article runs first in each), each summarising the seed article uncached:

- **chain**: llama-cpp-python's own sampling chain, which applies the grammar to the whole vocabulary for every
  token (``sampling.install`` switched off in that process);
- **grammar-last**: the library's sampler, which asks the grammar about the greedy token and only goes the long way
  when it is refused.

Reported: the whole summary's seconds, llama.cpp's own decoding counters (tokens generated and seconds evaluating
them: the model's share, the same in both), the calls, and whether the two summaries are the same (they must be:
at temperature 0 both pick the highest-scoring allowed token). The ratio grammar-last / chain is the lever's effect.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from child import model_runs, run_child  # noqa: E402

SEED = REPO.parent / "shared" / "data" / "seed" / "nk-troops-russia.txt"
WARM_UP = ("The city council voted 7-2 on Tuesday to close the old bridge, the mayor said. Engineers say it may not "
           "survive another winter. \"We had no choice,\" said Mayor Ana Ruiz.")

_CHILD = r"""
import json, sys
from summarizer.models import sampling
if sys.argv[3] == "chain":
    sampling.install = lambda llama: False
sys.path.insert(0, "bench")
from child import timed_summary
print(json.dumps(timed_summary(sys.argv[1], open(sys.argv[2], encoding="utf-8").read(), warm_up=sys.argv[4])))
"""


def run(model: str, variant: str) -> dict[str, Any]:
    return run_child(_CHILD, [model, str(SEED), variant, WARM_UP], cwd=REPO)


def main() -> int:
    models, runs = model_runs(__doc__)
    for model in models:
        for run_no in range(runs):
            rows = {variant: run(model, variant) for variant in ("chain", "grammar-last")}
            for variant, row in rows.items():
                shown = {k: v for k, v in row.items() if k != "summary"}
                print(json.dumps({"model": model, "run": run_no + 1, "sampling": variant, **shown}), flush=True)
            chain, last = rows["chain"], rows["grammar-last"]
            if "error" not in chain and "error" not in last:
                print(json.dumps({"model": model, "run": run_no + 1,
                                  "seconds_grammar_last_over_chain": round(last["seconds"] / chain["seconds"], 2),
                                  "seconds_saved": round(chain["seconds"] - last["seconds"], 1),
                                  "same_summary": chain["summary"] == last["summary"]}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
