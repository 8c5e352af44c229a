"""The restatement step replayed on the copies a stored eval run left: how many become usable restatements.

    .venv/bin/python bench/replay_restate.py RUN/report.json [--model local/qwen2.5-coder-1.5b] [-v]

For every summary of the run (the model given), the claims marked ``copies_evidence`` go through this tree's
``pipeline._restate`` again, with the article's checks, as the live pipeline would after grounding; no other step
runs. Prints each copy and its restatement (or why none was kept, with ``-v``), then the count kept and the seconds.
A change to the restate prompt, its examples or its rules is measured on the same copies by running this before and
after it (one model process at a time: two slow each other many times over on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from summarizer import pipeline
from summarizer.checks import ArticleChecks
from summarizer.conversation import run_steps
from summarizer.models import get_model
from summarizer.options import SummarizeOptions
from summarizer.prompts import Prompt
from summarizer.schema import Claim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="report.json of a `summarizer eval run`")
    parser.add_argument("--model", default="local/qwen2.5-coder-1.5b")
    parser.add_argument("-v", "--verbose", action="store_true", help="log why each restatement was not kept")
    args = parser.parse_args()
    if args.verbose:
        logging.basicConfig(format="    %(message)s")
        logging.getLogger("summarizer.pipeline").setLevel(logging.DEBUG)
    report = json.loads(args.report.read_text(encoding="utf-8"))
    articles = {c["id"]: c["article"] for c in report["cases"]}
    model = get_model(args.model)
    instructions = Prompt.load("summarize").instructions()
    copies = kept = 0
    started = time.perf_counter()
    for result in report["results"]:
        summary = result["summary"]
        if result["system"] != args.model or not summary:
            continue
        copied = [Claim.model_validate(c) for c in summary["claims"] if c["copies_evidence"]]
        if not copied:
            continue
        text = articles[result["case_id"]]
        job = pipeline._Job(text, model, SummarizeOptions(), ArticleChecks(text, instructions))
        restated = run_steps(pipeline._restate(job, copied), model.complete)
        for old, new in zip(copied, restated, strict=True):
            copies += 1
            kept += not new.copies_evidence
            print(f"{'kept' if not new.copies_evidence else 'copy'}  {old.statement[:100]!r}"
                  + (f"\n   -> {new.statement!r}" if not new.copies_evidence else ""))
    print(f"{kept} of {copies} copies restated usably, {time.perf_counter() - started:.1f} s ({args.model})")


if __name__ == "__main__":
    main()
