"""What a suite runs: models by name (``local/...``, ``openai/...``, ``fake/...``) and two baselines.

- ``lead-3``: the article's first three sentences (the classic news baseline; no claims).
- ``reference``: the case's human reference summary, scored as if a system wrote it (no claims).

Baselines produce a :class:`~summarizer.schema.Summary` like any model, with ``provenance.model`` set to their name,
no tokens and no claims; scorers that need claims say so instead of scoring them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..cache import SummaryCache
from ..errors import SummarizerError
from ..grounding import sentences
from ..models import Model, get_model
from ..schema import Provenance, Summary, sha256_text
from ..session import summarize
from .suite import Case

BASELINES = ("lead-3", "reference")
BASELINE_PROMPT = "baseline"
#: Cases of one system that may run at once when nothing limits it (the runner's worker count still does).
UNBOUNDED_PARALLEL = 64


class NoReferenceError(SummarizerError):
    """The ``reference`` baseline was asked for a case that has no reference summary."""


@dataclass
class System:
    """One column of the report: a model or a baseline."""

    name: str
    baseline: bool
    #: How many cases of this system may run at once (an embedded model runs one generation at a time).
    parallel: int
    model: Model | None = field(default=None, repr=False)

    def run(self, case: Case, *, cache: SummaryCache | None, max_claims: int, max_attempts: int = 3) -> Summary:
        if self.name == "lead-3":
            return _baseline(case.article, " ".join(sentences(case.article)[:3]), self.name)
        if self.name == "reference":
            if not case.reference:
                raise NoReferenceError(f"case {case.id} has no reference summary")
            return _baseline(case.article, case.reference, self.name)
        assert self.model is not None
        return summarize(case.article, model=self.model, cache=cache if cache is not None else False,
                         max_claims=max_claims, max_attempts=max_attempts)


def _baseline(article: str, text: str, name: str) -> Summary:
    started = time.perf_counter()
    first = (sentences(text) or [text])[0]
    words = first.split()
    headline = " ".join(words[:15]) + ("…" if len(words) > 15 else "")
    return Summary(
        headline=headline,
        summary=text,
        claims=[],
        article_sha256=sha256_text(article),
        article_chars=len(article),
        provenance=Provenance(model=name, prompt_version=BASELINE_PROMPT, structured_output="baseline", attempts=0,
                              prompt_tokens=0, completion_tokens=0,
                              latency_s=round(time.perf_counter() - started, 6)),
    )


def make_system(name: str) -> System:
    """The system called ``name``; raises ConfigurationError for an unknown model name (before any case runs)."""
    if name in BASELINES:
        return System(name=name, baseline=True, parallel=UNBOUNDED_PARALLEL)
    model = get_model(name)
    # The model says how many calls it can take at once (an embedded one: 1); otherwise the runner's own bound.
    return System(name=name, baseline=False, parallel=model.max_concurrency or UNBOUNDED_PARALLEL, model=model)
