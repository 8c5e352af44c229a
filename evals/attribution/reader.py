"""Precision and recall of the library's attribution reader against the hand-checked rules of the attribution suite.

    .venv/bin/python evals/attribution/reader.py [--show-errors]

For each ``quote`` rule, the sentence holding its phrase is given to a source by
:meth:`summarizer.attribution.Attributions.of`; it is right when the source's name (or its words as written)
shares a distinctive word with one of the rule's ``sources``. For each ``own`` rule (the article's own voice) the
reader should give no source.

- **precision**: right ÷ every rule the reader gave a source (a source given to an ``own`` phrase counts against it);
- **recall**: right ÷ ``quote`` rules;
- **own accuracy**: ``own`` rules given no source ÷ ``own`` rules.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from summarizer.attribution import Attributions, name_keys

HERE = Path(__file__).resolve().parent


def measure(show_errors: bool = False) -> dict[str, Any]:
    suite = yaml.safe_load((HERE.parent / "attribution.yaml").read_text(encoding="utf-8"))
    right = given = quotes = own = own_right = 0
    errors: list[str] = []
    for case in suite["cases"]:
        article = (HERE.parent / case["article_path"]).read_text(encoding="utf-8")
        att = Attributions(article)
        for check in case["checks"]:
            if check["type"] not in ("quote", "own"):
                continue
            start = article.index(check["text"])
            sentence = next(((s, e) for s, e in att.sentences if s <= start < e), (start, start + 1))
            source = att.of(*sentence)
            if check["type"] == "own":
                own += 1
                own_right += source is None
                given += source is not None
                if source is not None:
                    errors.append(f"{case['id']} {check['id']}: own voice given to {source.name!r}")
                continue
            quotes += 1
            if source is None:
                errors.append(f"{case['id']} {check['id']}: no source (gold: {check['sources'][0]})")
                continue
            given += 1
            if _same_source(source.name, source.text, check["sources"]):
                right += 1
            else:
                errors.append(f"{case['id']} {check['id']}: {source.name!r} (gold: {check['sources'][0]})")
    result = {"articles": len(suite["cases"]), "quote_rules": quotes, "own_rules": own,
              "precision": round(right / given, 3) if given else None,
              "recall": round(right / quotes, 3) if quotes else None,
              "own_accuracy": round(own_right / own, 3) if own else None}
    if show_errors:
        result["errors"] = errors
    return result


def _same_source(name: str, text: str, gold: list[str]) -> bool:
    """Whether the reader's source shares a distinctive word with a gold name (its words at all, for a source as
    generic as "officials", whose name has no distinctive word)."""
    found = set(name_keys(name)) | set(name_keys(text))
    wanted = {k for g in gold for k in name_keys(g)}
    if found & wanted:
        return True
    said = {w.strip(".,'\u2019").lower() for w in f"{name} {text}".split()}
    return any(set(g.lower().split()) <= said for g in gold if not name_keys(g))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    result = measure(args.show_errors)
    for line in result.pop("errors", []):
        print(line, file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
