"""Build the attribution gold suite: real CNN/DailyMail articles from FRANK with hand-checked rules on who said what.
Run from the repository root; it rewrites ``evals/attribution/*.txt`` and ``evals/attribution.yaml``:

    .venv/bin/python evals/attribution/build.py

The rules live in ``evals/attribution/rules.yaml`` (one item per article: ``id`` = the first 12 hex digits of the
FRANK id, ``frank_id``, ``checks``). A check is a ``quote`` (``text``: a phrase from a passage the article attributes
to someone, ``sources``: names for that speaker), an ``own`` (``text``: a phrase from a sentence in the article's own
voice, no sources) or a ``hedge`` (``topic``: what the article hedges). Every ``text`` must occur exactly once in its
article; the script stops with a list of the rules that do not (exit status 1) and writes nothing.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

HERE = Path(__file__).resolve().parent
FRANK = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "frank" / "articles.jsonl"
RULES = HERE / "rules.yaml"
SUITE = HERE.parent / "attribution.yaml"

TYPES = ("quote", "own", "hedge")
MODELS = ["local/qwen2.5-coder-1.5b", "local/smollm2-135m", "lead-3"]
SCORERS = ["grounding", "attribution", "copies", "gold", "numbers", "attempts", "valid"]
DESCRIPTION = (
    "CNN/DailyMail articles from FRANK, chosen for their quotations and 'X said' attributions (several speakers each; "
    "Daily Mail copy in single quotation marks, pronoun attributions such as 'he said', organisations as sources). "
    "Hand-checked rules: `quote` phrases must be given to the speaker the article gives them to, `own` phrases are "
    "the article's own voice and must not be given to anyone, and `hedge` topics must stay hedged."
)


def frank_articles() -> dict[str, dict[str, Any]]:
    rows = (json.loads(line) for line in FRANK.read_text(encoding="utf-8").splitlines() if line.strip())
    return {str(row["id"]): row for row in rows}


def problems(items: list[dict[str, Any]], frank: dict[str, dict[str, Any]]) -> list[str]:
    """Everything wrong with the rules (an empty list: all good)."""
    out: list[str] = []
    seen: set[str] = set()
    for item in items:
        case, frank_id = str(item.get("id", "")), str(item.get("frank_id", ""))
        row = frank.get(frank_id)
        if row is None:
            out.append(f"{case}: no FRANK article with id {frank_id!r}")
            continue
        if case != frank_id[:12]:
            out.append(f"{case}: the id should be the first 12 hex digits of the FRANK id ({frank_id[:12]})")
        if case in seen:
            out.append(f"{case}: listed twice")
        seen.add(case)
        if row.get("dataset") != "cnndm":
            out.append(f"{case}: a {row.get('dataset')} article; the suite takes CNN/DailyMail (cnndm) only")
        article = str(row["article"])
        ids: set[str] = set()
        for check in item.get("checks") or []:
            name, kind = f"{case}/{check.get('id')}", check.get("type")
            if check.get("id") in ids:
                out.append(f"{name}: the check id is used twice in this article")
            ids.add(check.get("id"))
            if kind not in TYPES:
                out.append(f"{name}: type {kind!r} is not one of {', '.join(TYPES)}")
                continue
            if kind in ("quote", "own") and not check.get("text"):
                out.append(f"{name}: a {kind} rule needs `text`")
            if kind == "quote" and not check.get("sources"):
                out.append(f"{name}: a quote rule needs `sources`")
            if kind == "own" and check.get("sources"):
                out.append(f"{name}: an own rule has no sources")
            if kind == "hedge" and (not check.get("topic") or check.get("text")):
                out.append(f"{name}: a hedge rule has a `topic` and no `text`")
            if (text := check.get("text")) and (n := article.count(text)) != 1:
                out.append(f"{name}: {text!r} occurs {n} times in the article (it must occur exactly once)")
        if not ids:
            out.append(f"{case}: no checks")
    return out


def main() -> None:
    items = yaml.safe_load(RULES.read_text(encoding="utf-8")) or []
    frank = frank_articles()
    if wrong := problems(items, frank):
        print(f"{RULES.relative_to(HERE.parents[1])}: {len(wrong)} problem(s); nothing written:", file=sys.stderr)
        for line in wrong:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)
    keep = {f"{item['id']}.txt" for item in items}
    for stale in HERE.glob("*.txt"):  # articles dropped from the rules
        if re.fullmatch(r"[0-9a-f]{12}\.txt", stale.name) and stale.name not in keep:
            stale.unlink()
    cases = []
    for item in items:
        with open(HERE / f"{item['id']}.txt", "w", encoding="utf-8", newline="") as f:
            f.write(str(frank[item["frank_id"]]["article"]))
        cases.append({"id": item["id"], "article_path": f"attribution/{item['id']}.txt",
                      "meta": {"frank_id": item["frank_id"]}, "checks": item["checks"]})
    suite = {"name": "attribution", "description": DESCRIPTION, "models": MODELS, "cases": cases,
             "scorers": SCORERS, "thresholds": {}, "concurrency": 1}
    counts = {kind: sum(c["type"] == kind for item in items for c in item["checks"]) for kind in TYPES}
    header = (f"# Attribution gold suite: {len(cases)} CNN/DailyMail articles from FRANK with hand-checked rules "
              "(built by evals/attribution/build.py; do not edit by hand).\n"
              "# Run: summarizer eval run evals/attribution.yaml   (add --models fake/x,lead-3 for a dry run without a "
              "model)\n")
    SUITE.write_text(header + yaml.safe_dump(suite, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
    print(f"wrote {len(cases)} articles to evals/attribution/ and evals/attribution.yaml "
          f"({', '.join(f'{n} {kind}' for kind, n in counts.items())} rules)")


if __name__ == "__main__":
    main()
