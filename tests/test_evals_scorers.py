"""Each scorer on hand-built summaries of the seed article: what it finds, and None with a reason when it cannot."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from evals_helpers import seed_case, summary_of
from helpers import KIRBY, claim, kirby_claim, nis_claim

from summarizer.evals.scorers import REGISTRY, Score
from summarizer.evals.scorers.base import CaseError, ScorerSpec, build_scorers
from summarizer.evals.scorers.gold import evaluate_checks
from summarizer.evals.suite import SuiteError
from summarizer.evals.systems import make_system
from summarizer.grounding import sentences
from summarizer.numbers import extract_numbers
from summarizer.schema import Summary

FAIR_GAME = "If they do deploy to fight against Ukraine, they’re fair game"


ATTRIBUTION = Path(__file__).resolve().parents[1] / "evals" / "attribution"


def score(name: str, seed: str, summary: Summary | None, *, system: str = "fake/x", baseline: bool = False,
          reference: str | None = None, error: CaseError | None = None, **options: object) -> Score:
    [scorer] = build_scorers([ScorerSpec(name=name, options=dict(options))])
    case = seed_case(seed) if reference is None else seed_case(seed, reference=reference)
    return scorer(case, system, baseline, summary, error)


def on_endpoint(summary: Summary, model: str) -> Summary:
    """``summary`` as if ``model`` had written it behind an endpoint (the cost scorer prices the provenance)."""
    provenance = summary.provenance.model_copy(update={"model": model, "endpoint": "https://api.openai.com/v1"})
    return summary.model_copy(update={"provenance": provenance})


@pytest.mark.parametrize(("text", "values"), [
    ("3,000 and 3000 and three thousand", [3000, 3000, 3000]),
    ("1.5 million people, 40% of them, twenty-five", [1_500_000, 40, 25]),
    ("one of the ten thousand", [10_000]),
    ("a dozen, the 21st, £5m, 2bn, two hundred and fifty", [12, 21, 5e6, 2e9, 250]),
    ("no numbers here", []),
])
def test_numbers_are_normalised(text: str, values: list[float]) -> None:
    assert [n.value for n in extract_numbers(text)] == values


def test_every_scorer_is_registered_with_a_description() -> None:
    expected = {"grounding", "faithfulness", "attribution", "numbers", "coverage", "rouge", "compression", "length",
                "latency", "tokens", "cost", "attempts", "valid", "gold"}
    assert expected <= set(REGISTRY)
    assert all(d.description for d in REGISTRY.values())


def test_unknown_scorer_or_option_is_a_suite_error() -> None:
    with pytest.raises(SuiteError, match="unknown scorer"):
        build_scorers([ScorerSpec(name="bleu")])
    with pytest.raises(SuiteError, match="unknown option"):
        build_scorers([ScorerSpec(name="rouge", options={"stem": True})])


def test_gold_checks_right_sources_qualifier_and_hedge(seed: str) -> None:
    s = summary_of(seed, text="At least 3,000 North Korean soldiers are in eastern Russia, the White House said. "
                   "Zelensky said 10,000 were being prepared. They could join the fight against Ukraine.")
    status = {r.id: r.status for r in evaluate_checks(seed_case(seed), s)}
    assert status == {"n3000": "pass", "n10000": "pass", "n1500": "missing", "combat": "pass",
                      "fair-game": "missing", "co-belligerent": "missing"}
    result = score("gold", seed, s)
    assert result.value == 1.0 and result.details["missing"] == 3


def test_gold_catches_misattribution_a_dropped_qualifier_and_a_flat_statement(seed: str) -> None:
    s = summary_of(seed, text="The White House said 10,000 North Korean soldiers are in Russia. "
                   "Kirby said 3,000 soldiers moved there. North Korean troops will join the fight against Ukraine.")
    results = {r.id: r for r in evaluate_checks(seed_case(seed), s)}
    assert results["n10000"].status == "fail" and "White House" in results["n10000"].explanation
    assert results["n3000"].status == "fail" and "at least" in results["n3000"].explanation
    assert results["combat"].status == "fail" and "hedge" in results["combat"].explanation
    assert score("gold", seed, s).value == 0.0
    numbers = score("numbers", seed, s)
    assert numbers.value is not None and numbers.value < 1.0 and "wrong source" in numbers.explanation


def test_a_hope_keeps_a_hedge_for_gold() -> None:
    """FRANK f8e569d2d6ba: "The hope is that the videos … will ease their confusion, forgetfulness and agitation."
    A summary that keeps "the hope is that" keeps the hedge; one that drops it does not."""
    from summarizer.evals.suite import Case, GoldCheck

    article = (ATTRIBUTION / "f8e569d2d6ba.txt").read_text(encoding="utf-8")
    case = Case(id="f8", article=article, checks=[GoldCheck(id="ease", type="hedge", topic=["ease their confusion"])])
    kept = "The hope is that the videos will ease their confusion, forgetfulness and agitation."
    flat = "The videos shown to residents will ease their confusion, forgetfulness and agitation."
    lede = ("A Hollywood-inspired experiment to help dementia patients by waking them up with video recordings from "
            "loved ones is taking place in New York.")
    experiment = claim("A dementia experiment is taking place in New York.", [lede])
    assert [r.status for r in evaluate_checks(case, summary_of(article, experiment, text=kept))] == ["pass"]
    assert [r.status for r in evaluate_checks(case, summary_of(article, experiment, text=flat))] == ["fail"]


def test_a_prediction_keeps_a_hedge_as_an_expectation_does() -> None:
    """FRANK 23a0f5d45517: Stofan, "I think we're going to have strong indications of life beyond Earth within a
    decade". "NASA scientist predicts strong evidence of alien life within a decade" says whose forecast it is, as
    "expects" would; "Strong evidence of alien life will be found within a decade" states it."""
    from summarizer.evals.suite import Case, GoldCheck
    from summarizer.hedges import keeps_hedge

    article = (ATTRIBUTION / "23a0f5d45517.txt").read_text(encoding="utf-8")
    case = Case(id="23", article=article, checks=[GoldCheck(id="alien", type="hedge", topic=["alien life"])])
    lede = "we may be close to finding evidence of alien life, a NASA scientist says."
    anchor = claim("A NASA scientist says we may be close to finding evidence of alien life.", [lede],
                   speaker="a NASA scientist")
    for headline, status in (("NASA scientist predicts strong evidence of alien life within a decade", "pass"),
                             ("Strong evidence of alien life will be found within a decade", "fail")):
        assert [r.status for r in evaluate_checks(case, summary_of(article, anchor, headline=headline))] == [status]
        assert keeps_hedge(headline) == (status == "pass")


def test_a_claim_mentions_a_quote_its_evidence_holds_only_when_its_statement_is_about_it() -> None:
    """FRANK 8a065645e574 runs captions into one sentence: an expert's quotation ('the key is the purchasing power
    the Mirrey boasts') and "…, they can also lead to political and legal advantages, Maclean's reported". A claim
    stating the expert's words, given to the expert, does not mention Maclean's phrase because its evidence holds
    it; one stating Maclean's words, given to the expert, does (and fails)."""
    from summarizer.evals.suite import Case, GoldCheck

    article = (ATTRIBUTION / "8a065645e574.txt").read_text(encoding="utf-8")
    case = Case(id="8a", article=article, checks=[GoldCheck(id="macleans", type="quote",
                                                            text="can also lead to political and legal",
                                                            sources=["Maclean's"])])
    merged = next(s for s in sentences(article) if "Maclean's" in s and "purchasing power" in s)
    expert = "An expert on the subject of Mirreyes"
    key = claim("The key is the purchasing power the Mirrey boasts.", [merged], speaker=expert, kind="quote")
    wrong = claim("Their displays of wealth can also lead to political and legal advantages.", [merged],
                  speaker=expert)
    assert [r.status for r in evaluate_checks(case, summary_of(article, key))] == ["missing"]
    assert [r.status for r in evaluate_checks(case, summary_of(article, wrong))] == ["fail"]


def test_gold_reads_claim_speakers_for_numbers_and_quotes(seed: str) -> None:
    wrong_quote = claim("They are fair game.", [FAIR_GAME], speaker="Lloyd Austin, Secretary of Defense",
                        kind="quote")
    s = summary_of(seed, nis_claim(), wrong_quote)
    results = {r.id: r for r in evaluate_checks(seed_case(seed), s)}
    assert results["n1500"].status == "pass"
    assert results["fair-game"].status == "fail" and "Austin" in results["fair-game"].explanation
    right_quote = claim("They are fair game.", [FAIR_GAME], speaker="John Kirby", kind="quote")
    assert {r.id: r.status for r in evaluate_checks(seed_case(seed), summary_of(seed, right_quote))}[
        "fair-game"] == "pass"


def test_grounding_and_attribution(seed: str) -> None:
    misattributed = claim("North Korea moved 3,000 soldiers.", [KIRBY], speaker="Lloyd Austin")
    s = summary_of(seed, kirby_claim(), nis_claim(), misattributed)
    g = score("grounding", seed, s)
    assert g.value == 1.0 and "3 of 3" in g.explanation
    a = score("attribution", seed, s)
    assert a.value == pytest.approx(2 / 3)
    assert "Lloyd Austin" in a.explanation


def test_claim_scorers_say_why_a_baseline_has_no_score(seed: str) -> None:
    lead = make_system("lead-3").run(seed_case(seed), cache=None, max_claims=6)
    assert lead.summary.startswith("At least 3,000") and not lead.claims
    for name in ("grounding", "attribution", "attempts", "valid"):
        result = score(name, seed, lead, system="lead-3", baseline=True)
        assert result.value is None and "baseline" in result.explanation, name
    assert score("cost", seed, lead, system="lead-3", baseline=True).value == 0.0


def test_numbers_absent_from_the_article_are_named(seed: str) -> None:
    s = summary_of(seed, text="North Korea sent 5,000 soldiers and 1,500 special forces.")
    result = score("numbers", seed, s)
    assert result.value == pytest.approx(1 / 2)
    assert "5,000" in result.explanation
    none = score("numbers", seed, summary_of(seed, text="Troops are in Russia.", headline="Troops in Russia"))
    assert none.value is None and "no numbers" in none.explanation


def test_coverage_rouge_compression_length(seed: str) -> None:
    s = summary_of(seed, text="At least 3,000 North Korean soldiers moved into eastern Russia, the White House said.")
    cov = score("coverage", seed, s)  # the case has gold checks: its value is gold-check recall
    assert cov.value == pytest.approx(1 / 6) and cov.details["rouge"]["rouge1"]["recall"] > 0
    rouge_recall = score("coverage", seed, s, metric="rouge2")
    assert rouge_recall.value == cov.details["rouge"]["rouge2"]["recall"]
    rouge = score("rouge", seed, s)
    assert rouge.value is not None and 0 < rouge.value < 1
    same = score("rouge", seed, s, reference=s.summary)
    assert same.value == pytest.approx(1.0)
    comp = score("compression", seed, s)
    assert comp.value == pytest.approx(comp.details["summary_words"] / comp.details["article_words"])
    assert score("length", seed, s).value == 15.0


def test_usage_scorers_and_valid_on_an_invalid_output(seed: str) -> None:
    s = summary_of(seed, kirby_claim())
    assert score("tokens", seed, s).value == s.provenance.prompt_tokens + s.provenance.completion_tokens
    assert score("attempts", seed, s).value == 1.0
    assert score("valid", seed, s).details["first_try"] is True
    assert score("cost", seed, s).value == 0.0  # an in-process model (no endpoint) is free
    assert score("cost", seed, s, system="openai/gpt-4o-mini").value == 0.0  # whatever the system is called
    served = on_endpoint(s, "local/served-elsewhere")  # priced by where it runs, not by the name's prefix
    assert score("cost", seed, served, system="local/served-elsewhere").value is None
    mini = on_endpoint(s, "openai/gpt-4o-mini")
    assert score("cost", seed, mini, system="openai/gpt-4o-mini").value == pytest.approx(
        (s.provenance.prompt_tokens * 0.15 + s.provenance.completion_tokens * 0.60) / 1e6)
    new = on_endpoint(s, "openai/some-new-model")
    unknown = score("cost", seed, new, system="openai/some-new-model")
    assert unknown.value is None and "prices" in unknown.explanation
    priced = score("cost", seed, new, system="openai/some-new-model",
                   prices={"openai/some-new-model": {"prompt": 1.0, "completion": 2.0}})
    assert priced.value is not None and priced.value > 0
    error = CaseError(type="OutputError", message="no valid answer in 3 attempts", exit_code=6)
    assert score("valid", seed, None, error=error).value == 0.0
    skipped = score("grounding", seed, None, error=error)
    assert skipped.value is None and "OutputError" in skipped.explanation


def test_faithfulness_wraps_the_faithfulness_scorer(seed: str) -> None:
    s = summary_of(seed, kirby_claim(), nis_claim(),
                   text="At least 3,000 North Korean soldiers arrived in eastern Russia this month.")
    result = score("faithfulness", seed, s, embedder=None)
    assert result.value is not None and 0.0 <= result.value <= 1.0 and not math.isnan(result.value)
    statements = [v["statement"] for v in result.details["statements"]]
    assert statements[0].startswith("At least 3,000") and s.claims[0].statement in statements
    assert result.details["mode"] == "lexical"
    only_summary = score("faithfulness", seed, s, embedder=None, claims=False)
    assert len(only_summary.details["statements"]) == 1
    # The model mode, by the same option a suite gives (the scripted model's toy probabilities here).
    read = score("faithfulness", seed, s, reader="fake/reader")
    assert read.details["mode"] == "model" and read.value is not None and not math.isnan(read.value)
    assert [v["statement"] for v in read.details["statements"]] == statements


def test_a_scorer_that_crashes_is_recorded_not_raised(seed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from summarizer.evals.scorers import overlap

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(overlap, "_words", boom)
    result = score("length", seed, summary_of(seed))
    assert result.value is None and "kaboom" in result.explanation and result.details["scorer_error"]


def test_scores_are_never_nan() -> None:
    with pytest.raises(ValueError):
        Score(value=float("nan"), explanation="x")


def test_attribution_catches_kirbys_words_given_to_austin(seed: str) -> None:
    """The error this project exists to catch: a real quote, the wrong official — even when the wrong official
    speaks in the very next paragraph."""
    quote = "Kirby said Wednesday that the US has briefed the Ukrainian government"
    wrong = claim("The US briefed Ukraine.", [quote], speaker="Lloyd Austin, Secretary of Defense")
    right = claim("The US briefed Ukraine.", [quote], speaker="John Kirby, National Security Council spokesman")
    assert score("attribution", seed, summary_of(seed, wrong)).value == 0.0
    assert score("attribution", seed, summary_of(seed, right)).value == 1.0


def test_a_system_runs_as_many_cases_at_once_as_its_model_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    from summarizer.evals import systems
    from summarizer.models.fake import ScriptedModel

    class OneAtATime(ScriptedModel):
        @property
        def max_concurrency(self) -> int | None:
            return 1

    monkeypatch.setattr(systems, "get_model", lambda name: OneAtATime(name=name))
    assert make_system("openai/anything").parallel == 1  # the model says so, whatever its name
    monkeypatch.setattr(systems, "get_model", lambda name: ScriptedModel(name=name))
    assert make_system("local/anything").parallel == systems.UNBOUNDED_PARALLEL
    assert make_system("lead-3").parallel == systems.UNBOUNDED_PARALLEL
