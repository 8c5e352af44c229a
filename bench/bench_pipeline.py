"""How much does the pipeline cost on top of the model call it wraps?

    .venv/bin/python bench/bench_pipeline.py [--models local/smollm2-135m,local/qwen2.5-coder-1.5b] [--repeat 3]

For each embedded model and the seed article it times, with the model already loaded and its KV cache reset
before every call (no prompt-prefix reuse anywhere):

- raw: one ``llama_cpp.Llama.create_chat_completion`` with exactly the messages and grammar the pipeline sends —
  the ideal, what a hand-written script would pay;
- pipeline: ``summarize(..., cache=False)`` — render, call, validate, ground (and any re-asks it needed);
- cached: ``summarize(...)`` answered from the disk cache;
- overhead: the pipeline with a scripted model that answers instantly (everything but the model).

It prints ratios against raw (pipeline/raw near 1.0 means the wrapper is free; above it means re-asks).
Timings are medians over --repeat runs. Machines here are shared: compare ratios, not seconds, across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "data" / "seed" / "nk-troops-russia.txt"


def _median_time(fn: Any, repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def bench_model(name: str, article: str, repeat: int) -> dict[str, Any]:
    from summarizer import ScriptedModel, SummaryCache, get_model, summarize
    from summarizer.grounding import sentences
    from summarizer.models.local import LocalModel, _load, grammar_for
    from summarizer.options import DEFAULT_MAX_CLAIMS
    from summarizer.pipeline import _draft_schema, _messages
    from summarizer.prompts import Prompt
    from summarizer.schema import DraftSummary
    from summarizer.schema_tools import restrict_verbatim

    model = get_model(name)
    assert isinstance(model, LocalModel)
    llama = _load(model.model_path(), model.context_window).llama
    prompt = Prompt.load("summarize")
    messages = _messages(prompt, DraftSummary, article=article, part=0, parts=1, max_claims=DEFAULT_MAX_CLAIMS)
    grammar = grammar_for(llama, restrict_verbatim(_draft_schema(DEFAULT_MAX_CLAIMS), tuple(sentences(article))))

    def raw() -> dict[str, Any]:
        llama.reset()
        out: dict[str, Any] = llama.create_chat_completion(
            messages=messages, grammar=grammar, temperature=0.0,
            max_tokens=1536, seed=0, repeat_penalty=1.1,
        )
        return out

    def pipeline() -> Any:
        llama.reset()
        return summarize(article, model=model, cache=False)

    t_raw, raw_out = _median_time(raw, repeat)
    t_pipe, summary = _median_time(pipeline, repeat)
    store = SummaryCache(Path(tempfile.mkdtemp()) / "cache")
    summarize(article, model=model, cache=store)
    t_cached, _ = _median_time(lambda: summarize(article, model=model, cache=store), max(repeat, 5))
    scripted_reply = json.dumps(json.loads(summary.model_dump_json(include={"headline", "summary"})) | {
        "claims": [{"quotes": [e.text for e in c.evidence], "speaker": c.speaker, "statement": c.statement,
                    "kind": c.kind.value, "certainty": c.certainty.value} for c in summary.claims] or [
            {"quotes": [sentences(article)[0]], "speaker": None, "statement": "x", "kind": "fact",
             "certainty": "asserted"}]})
    fake = ScriptedModel(lambda r: scripted_reply)
    t_over, _ = _median_time(lambda: summarize(article, model=fake, cache=False), max(repeat, 5))
    usage = raw_out["usage"]
    return {
        "model": name,
        "raw_s": round(t_raw, 3),
        "raw_prompt_tokens": usage["prompt_tokens"],
        "raw_completion_tokens": usage["completion_tokens"],
        "pipeline_s": round(t_pipe, 3),
        "pipeline_attempts": summary.provenance.attempts,
        "pipeline_completion_tokens": summary.provenance.completion_tokens,
        "cached_s": round(t_cached, 5),
        "overhead_s": round(t_over, 5),
        "pipeline_over_raw": round(t_pipe / t_raw, 3),
        "cached_over_raw": round(t_cached / t_raw, 5),
        "overhead_over_raw": round(t_over / t_raw, 5),
        "claims": len(summary.claims),
        "rejected": len(summary.rejected_claims),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="local/smollm2-135m")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--article", type=Path, default=SEED)
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    os.environ.setdefault("SUMMARIZER_HOME", tempfile.mkdtemp(prefix="summarizer-bench-"))
    article = args.article.read_text(encoding="utf-8")
    rows = [bench_model(name, article, args.repeat) for name in args.models.split(",")]
    cols = ["model", "raw_s", "pipeline_s", "pipeline_over_raw", "pipeline_attempts", "cached_over_raw",
            "overhead_over_raw", "claims", "rejected"]
    print(" | ".join(cols))
    for row in rows:
        print(" | ".join(str(row[c]) for c in cols))
    if args.out:
        args.out.write_text(json.dumps({"cpu_count": os.cpu_count(), "repeat": args.repeat, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
