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

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from child import model_runs, run_child  # noqa: E402

SEED = REPO.parent / "shared" / "data" / "seed" / "nk-troops-russia.txt"

_CHILD = r"""
import json, sys
sys.path.insert(0, "bench")
from child import timed_summary
row = timed_summary(sys.argv[1], open(sys.argv[2], encoding="utf-8").read())
print(json.dumps({k: v for k, v in row.items() if k != "summary"}))
"""


def run(model: str, home: Path) -> dict[str, Any]:
    return run_child(_CHILD, [model, str(SEED)], cwd=REPO, env={"SUMMARIZER_HOME": str(home)})


def main() -> int:
    from summarizer.config import models_dir

    models, runs = model_runs(__doc__)
    for model in models:
        for run_no in range(runs):
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
