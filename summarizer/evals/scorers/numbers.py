"""``numbers``: every number in the headline, summary and claims appears in the article, from the right source.

Numbers are normalised before they are compared (:mod:`summarizer.numbers`): "3,000" = "3000" =
"three thousand" = "3 thousand"; "1.5 million" = "1,500,000"; "40%" = "40 per cent" (the value 40). A lone "one"
in the summary is not counted (it is mostly idiomatic: "one of", "one thing"). Where a case has gold ``number``
checks, a number the summary attributes to another source than the gold's counts as wrong even though it is in the
article.
"""

from __future__ import annotations

from ...numbers import canon, extract_numbers, number_forms
from .base import Context, Score, register


@register("numbers", "Share of the numbers in headline, summary and claims found in the article "
          "(normalised), and attributed to the gold source where the suite says.")
def numbers(ctx: Context) -> Score:
    from .gold import misattributed_numbers

    assert ctx.summary is not None
    s = ctx.summary
    parts = [("headline", s.headline), ("summary", s.summary)] + [
        (f"claim {i}", c.statement) for i, c in enumerate(s.claims, 1)
    ]
    article_forms = number_forms(ctx.case.article)
    wrong_source = misattributed_numbers(ctx.case, s)
    checked: list[dict[str, object]] = []
    for where, text in parts:
        for n in extract_numbers(text):
            in_article = bool(n.forms & article_forms)
            bad_source = next((w for v, w in wrong_source if canon(v) in n.forms), None)
            checked.append({"where": where, "number": n.text, "value": n.value, "in_article": in_article,
                            "wrong_source": bad_source})
    if not checked:
        return Score(value=None, explanation="Nothing to check: no numbers in the headline, summary or claims.")
    ok = [c for c in checked if c["in_article"] and not c["wrong_source"]]
    text = f"{len(ok)} of {len(checked)} numbers found in the article"
    missing = [str(c["number"]) for c in checked if not c["in_article"]]
    if missing:
        text += "; not in the article: " + ", ".join(dict.fromkeys(missing))
    misattributed = [f"{c['number']} ({c['wrong_source']})" for c in checked if c["in_article"] and c["wrong_source"]]
    if misattributed:
        text += "; wrong source: " + ", ".join(dict.fromkeys(misattributed))
    return Score(value=len(ok) / len(checked), explanation=text + ".", details={"numbers": checked})
