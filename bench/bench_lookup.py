"""Prompt-lookup decoding for the embedded model: does it pay?

    .venv/bin/python bench/bench_lookup.py [--model local/qwen2.5-coder-1.5b] [--pred 10]

llama-cpp-python ships prompt-lookup decoding (``LlamaPromptLookupDecoding``): n-grams of the prompt proposed as the
next tokens and checked in one batch, which pays where the answer copies the prompt. But a draft model turns on
``logits_all`` — logits for every prompt token, and an n_ctx x vocabulary buffer. Each variant runs in a fresh
process (model loading outside the timings) and summarises the seed article uncached with the library's own prompt
and grammar; reported: seconds, calls, completion tokens, and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED = REPO.parent / "shared" / "data" / "seed" / "nk-troops-russia.txt"

_CHILD = r"""
import json, resource, sys, time
from llama_cpp import Llama
from llama_cpp.llama_speculative import LlamaPromptLookupDecoding
from summarizer import Summarizer
from summarizer.models import local

model, pred = sys.argv[1], int(sys.argv[3])
with Summarizer(model, cache=False) as session:
    path = session.model.model_path()
    n_ctx = session.model.context_window
    draft = LlamaPromptLookupDecoding(num_pred_tokens=pred) if pred else None
    # logits_all given explicitly with a draft model: llama-cpp-python 0.3.36 sizes its score buffer by the argument
    # (n_batch rows) but fills it by the draft's setting (a row per token), and a prompt past n_batch tokens crashes
    llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=local.threads(), seed=0, verbose=False,
                  draft_model=draft, logits_all=draft is not None)
    local._loaded[(str(path), n_ctx)] = local._Context(llama, path)
    started = time.perf_counter()
    s = session.summarize(open(sys.argv[2], encoding="utf-8").read())
    print(json.dumps({"pred_tokens": pred, "seconds": round(time.perf_counter() - started, 1),
                      "calls": s.provenance.attempts, "completion_tokens": s.provenance.completion_tokens,
                      "claims": len(s.claims), "copies": sum(c.copies_evidence for c in s.claims),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="local/qwen2.5-coder-1.5b")
    parser.add_argument("--pred", type=int, default=10, help="tokens proposed per look-up")
    args = parser.parse_args()
    for pred in (0, args.pred):
        out = subprocess.run([sys.executable, "-c", _CHILD, args.model, str(SEED), str(pred)], capture_output=True,
                             text=True, check=False, cwd=REPO)
        lines = out.stdout.strip().splitlines()
        print(lines[-1] if lines else json.dumps({"pred_tokens": pred, "error": out.stderr.strip()[-300:]}),
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
