"""What does the faithfulness scorer's model mode cost, per summary, against the raw model calls it makes?

    .venv/bin/python bench/bench_faithfulness.py [--readers local/smollm2-135m,local/qwen2.5-coder-1.5b]
        [--articles 6] [--out bench-faithfulness.json]

On the first ``--articles`` FRANK articles (alternately CNN/DM and XSum, whole articles with all their judged
summaries, :func:`summarizer.evals.meta.subset`), for each reader model, loaded before timing:

- lexical: the default mode on the same pairs (no model);
- model mode: ``FaithfulnessScorer(reader=...).score_many(pairs)``: the article read once per article, each
  statement read with and without it, one yes/no question per statement;
- ideal: llama.cpp evaluating exactly the tokens the model mode needs, each once, with no Python around it and
  logits for the last token only: per article, the article prompt followed by all its summaries' statements, then
  those statements with no article, then (if the mode asks it) each question. What a hand-written script could
  not beat.

It prints summaries per second, model mode / ideal, and the minutes the whole shared split (671 pairs) would take
at that rate (the budget is 60). Machines here are shared: compare ratios, not seconds, across runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "frank"

from summarizer.evals.faithfulness import FaithfulnessScorer  # noqa: E402
from summarizer.evals.faithfulness_result import statements_of  # noqa: E402
from summarizer.evals.meta import load_frank, subset  # noqa: E402
from summarizer.models import get_model  # noqa: E402

SPLIT_PAIRS = 671


def ideal_seconds(reader: FaithfulnessScorer, pairs: list[tuple[str, str]]) -> float:
    """llama.cpp alone over the tokens the model mode reads (each token once; the KV cache cleared per call)."""
    assert reader.reader is not None
    scores: Any = reader.reader.scores
    llama = scores._context.llama  # the embedded runtime's loaded model (this benchmark is for embedded readers)
    prompt = reader.reader.prompt
    by_article: dict[str, list[list[str]]] = {}
    for article, summary in pairs:
        by_article.setdefault(article, []).append(statements_of(summary))
    lexical = FaithfulnessScorer()
    texts: list[str] = []
    for article, summaries in by_article.items():
        texts.append(reader.reader._prefix(article)[0] + "".join(" " + s for stmts in summaries for s in stmts))
        texts.append(prompt.render("article", article="") + "".join(" " + s for stmts in summaries for s in stmts))
        for stmts in summaries if reader.reader.question else []:
            for verdict in lexical.score(article, stmts).statements:
                texts.append(prompt.render("question", passage=verdict.evidence or "(none)",
                                           statement=verdict.statement))
    tokens = [llama.tokenize(t.encode(), add_bos=True, special=False) for t in texts]
    t0 = time.perf_counter()
    for toks in tokens:
        llama.n_tokens = 0
        llama.eval(toks)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--readers", default="local/smollm2-135m,local/qwen2.5-coder-1.5b")
    ap.add_argument("--articles", type=int, default=6, help="whole FRANK articles, alternately CNN/DM and XSum")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    items = load_frank(DATA / "articles.jsonl", DATA / "judgements.jsonl")
    chosen: list[Any] = []
    for j in subset(items, len(items)):
        if len({c.id for c in chosen} | {j.id}) > args.articles:
            break
        chosen.append(j)
    pairs = [(j.article, j.summary) for j in chosen]
    statements = sum(len(statements_of(s)) for _, s in pairs)
    print(f"{len(pairs)} pairs of {args.articles} articles, {statements} statements", flush=True)

    t0 = time.perf_counter()
    FaithfulnessScorer().score_many(pairs)
    rows: list[dict[str, Any]] = [{"mode": "lexical", "seconds": round(time.perf_counter() - t0, 2)}]
    for name in args.readers.split(","):
        model = get_model(name)
        model.load()
        scorer = FaithfulnessScorer(reader=model)
        ideal = ideal_seconds(scorer, pairs)
        t0 = time.perf_counter()
        results = scorer.score_many(pairs)
        seconds = time.perf_counter() - t0
        assert all(r.value is not None for r in results)
        rows.append({"mode": f"model reader={name}", "seconds": round(seconds, 1), "ideal_seconds": round(ideal, 1),
                     "vs_ideal": round(seconds / ideal, 3)})
        model.close()
    for row in rows:
        rate = len(pairs) / row["seconds"]
        row["summaries_per_s"] = round(rate, 3)
        row["split_minutes"] = round(SPLIT_PAIRS / rate / 60, 1)
    print("| mode | seconds | summaries/s | ideal s | model / ideal | 671 pairs, minutes |")
    print("|---|--:|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r['mode']} | {r['seconds']} | {r['summaries_per_s']} | {r.get('ideal_seconds', '-')} | "
              f"{r.get('vs_ideal', '-')} | {r['split_minutes']} |")
    if args.out:
        Path(args.out).write_text(json.dumps({"pairs": len(pairs), "statements": statements, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
