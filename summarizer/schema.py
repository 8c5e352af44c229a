"""The objects `summarize()` returns, and the draft the model is asked to write.

Two layers:

* :class:`DraftSummary` / :class:`DraftClaim` — what the *model* writes. Its JSON schema (descriptions included)
  is what the model sees. Evidence is a list of passage ids (or verbatim quotes); the model never gives offsets.
* :class:`Summary` / :class:`Claim` / :class:`Evidence` — what the *library* returns, after it has located every
  quote in the article itself. ``article[e.start:e.end] == e.text`` holds for every :class:`Evidence`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Bumped by hand whenever the draft schema changes meaning or the pipeline checks a summary differently; part of
#: every cache key. 2: ``Summary.flags`` (numbers the article does not give are re-asked, then flagged). 3: answers
#: that follow text planted in the article (prompt injection) are re-asked, then refused or flagged. 4: typed flags
#: tied to their claim; ``Claim.attribution`` read by the library, and the model's speakers checked against it.
#: 5: the library's sentences split copy that lost the space after its stops ("2000.A search"); competing figures
#: are asked for (coverage flags); ``Claim.copies_evidence``.
#: 6: the article is shown as numbered passages and the model cites them by id; a grammar ties each claim's speaker
#: and certainty to what the library reads of its passage, and opens the claims with the competing figures.
#: 7: kind and certainty are what the passage bears out; a statement its cited passage does not state is cited where
#: it is stated (``Evidence.match`` "stated") or rejected; copied statements are restated.
#: 8: the attribution reader reads more sources (an appositive left open, a titled name after copy that lost its
#: full stop, "the newspaper"), so a summary's attributions and speaker choices may differ.
#: 9: the reader reads names out of captions run into the copy, lone first names and a pronoun's subject, so a
#: summary's attributions and speaker choices may differ.
#: 10: a quotation with its own cue inside a sentence of captions is its speaker's for a claim made of its words
#: (and a speaker choice); a field's schema description written out as the answer is flagged.
#: 11: a restatement that is no sentence, more than one, garbled (words run together, a word cut short, letters the
#: sentence lacks) or that puts its speaker where the sentence names someone else keeps the copy; an embedded
#: draft about an article in Latin letters is written in them; a whole field that is a piece of a description is
#: flagged, and so is a statement that gives a figure what its evidence says of another.
SCHEMA_VERSION = "11"

MAX_CLAIMS = 12
MAX_QUOTES_PER_CLAIM = 2


class ClaimKind(StrEnum):
    """What sort of statement a claim is."""

    FACT = "fact"
    ASSESSMENT = "assessment"
    PREDICTION = "prediction"
    OPINION = "opinion"
    QUOTE = "quote"


class Certainty(StrEnum):
    """How sure the speaker is, as the article presents it."""

    ASSERTED = "asserted"
    ASSESSED = "assessed"
    HEDGED = "hedged"
    UNCONFIRMED = "unconfirmed"
    DISPUTED = "disputed"
    DENIED = "denied"


_KIND_HELP = (
    "fact: a reported event or state of affairs; assessment: a judgement drawn from evidence, such as an "
    "intelligence or official assessment; prediction: what may happen next; opinion: a characterisation or "
    "value judgement; quote: a statement notable chiefly as what someone said."
)
_CERTAINTY_HELP = (
    "asserted: stated flatly as true; assessed: presented as an assessment ('we assess', 'officials believe'); "
    "hedged: qualified ('may', 'could', 'possibly', 'likely'); unconfirmed: reported but not verified; "
    "disputed: contradicted by another source in the article; denied: rejected by the speaker."
)


#: A passage of the article, cited by its id ("P3") or copied out; ``x-verbatim`` lets a backend that enforces a
#: schema allow only the article's ids (:mod:`summarizer.passages`).
Quote = Annotated[str, Field(min_length=1, json_schema_extra={"x-verbatim": True})]


class DraftClaim(BaseModel):
    """One claim as the model writes it. Evidence comes first: the model picks the passage, then says who
    says it and what it claims, so statement and speaker are read off the evidence rather than recalled."""

    model_config = ConfigDict(extra="forbid")

    quotes: list[Quote] = Field(
        min_length=1,
        max_length=MAX_QUOTES_PER_CLAIM,
        description="Evidence: the ids of the article's passages that state the claim (\"P3\"), or the passages "
        "copied verbatim.",
    )
    speaker: str | None = Field(
        description=(
            "Who makes the claim, named as the article names them with their role "
            "(e.g. 'John Kirby, National Security Council spokesman'); null when the article states it itself."
        ),
        json_schema_extra={"x-source": True},
    )
    statement: str = Field(
        min_length=1,
        max_length=300,
        description="The claim in one plain sentence, keeping any hedge ('may', 'at least', 'we assess').",
    )
    kind: ClaimKind = Field(description=_KIND_HELP)
    certainty: Certainty = Field(description=_CERTAINTY_HELP)


class Restated(BaseModel):
    """Statements said again in the summary's own words (the ``restate`` prompt), one per statement asked about."""

    model_config = ConfigDict(extra="forbid")

    statements: list[str] = Field(description="One short claim for each numbered sentence, in order.")


class DraftOverview(BaseModel):
    """Headline and summary only: used on its own to merge the parts of a long article."""

    model_config = ConfigDict(extra="forbid")

    headline: str = Field(min_length=1, max_length=150, description="A factual headline, at most 15 words.")
    summary: str = Field(
        min_length=1,
        max_length=800,
        description="Two to four sentences. Attribute every number and judgement to its source.",
    )


class DraftSummary(DraftOverview):
    """The whole answer as the model writes it."""

    claims: list[DraftClaim] = Field(
        min_length=1,
        max_length=MAX_CLAIMS,
        description="The article's key claims, each with who makes it and how sure they are.",
    )


class Evidence(BaseModel):
    """A verbatim passage of the article, located by the library: ``article[start:end] == text``."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(description="The passage exactly as it stands in the article.")
    start: int = Field(ge=0, description="Character offset of the passage's first character in the article.")
    end: int = Field(ge=0, description="Character offset just past the passage's last character.")
    match: str = Field(
        default="exact",
        description="How the model's quote was found: 'exact', or 'normalized' (whitespace, quote marks, dashes); "
        "'stated': the passage the cited one was not, which states the claim (located by the library).",
    )

    @model_validator(mode="after")
    def _span_matches_text(self) -> Evidence:
        if self.end - self.start != len(self.text):
            raise ValueError(f"span [{self.start}, {self.end}) does not have the length of its text")
        return self


class Attribution(BaseModel):
    """Who the article gives a claim's evidence to, read by the library itself (not the model) from the article's
    speech cues and quotation marks: ``article[start:end] == text``."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(description="The source as the article writes it at the cue, e.g. 'Austin' or 'the White House'.")
    start: int = Field(ge=0, description="Character offset of the source's first character in the article.")
    end: int = Field(ge=0, description="Character offset just past the source's last character.")
    name: str = Field(description="The fullest mention of the same source in the article, e.g. 'Secretary of Defense "
                      "Lloyd Austin' (the same as text when there is no fuller one).")
    cue: str = Field(description="What attributes the passage: a speech verb ('said', 'told', 'according to'), or "
                     "'quote' for a quotation that continues a speaker named at an earlier one.")

    @model_validator(mode="after")
    def _span_matches_text(self) -> Attribution:
        if self.end - self.start != len(self.text):
            raise ValueError(f"span [{self.start}, {self.end}) does not have the length of its text")
        return self


class Claim(BaseModel):
    """A claim from the article, with who makes it, how sure they are, and located evidence."""

    statement: str
    speaker: str | None = Field(description="Who makes the claim, as the model named them: the fullest mention of "
                                "the source, which the embedded model's grammar makes `attribution.name` (checked "
                                "against `attribution` on every path; a disagreement that stays after re-asking is "
                                "a speaker flag); null: the article itself.")
    kind: ClaimKind
    certainty: Certainty
    evidence: list[Evidence] = Field(min_length=1)
    attribution: Attribution | None = Field(default=None, description="The source the article gives for the "
                                            "evidence, read by the library; null: the article states it itself.")
    copies_evidence: bool = Field(default=False, description="The statement merely repeats a sentence of its "
                                  "evidence (80 % of its words, in order) instead of stating one claim in the "
                                  "summary's own words; read by the library.")


class RejectedClaim(BaseModel):
    """A claim the model proposed that the library could not ground; never part of ``Summary.claims``."""

    statement: str
    speaker: str | None = None
    quotes: list[str] = Field(default_factory=list)
    reason: str


class FlagKind(StrEnum):
    """What a flag is about."""

    #: A number in the free text that the article does not give.
    NUMBER = "number"
    #: A claim's speaker that is not the source the article gives for its evidence.
    SPEAKER = "speaker"
    #: A hedge or assessment in the evidence that the claim's statement or certainty drops.
    HEDGE = "hedge"
    #: Words quoted in the free text without their speaker.
    QUOTE = "quote"
    #: Something the article gives that the claims leave out (a competing figure).
    COVERAGE = "coverage"
    #: A word of text planted in the article as instructions to the model.
    INJECTION = "injection"


def field_label(field: str) -> str:
    """A flag's field as a re-ask names it to the model: ``claims[0].statement`` → ``claim 1 statement``."""
    return re.sub(r"claims\[(\d+)\]\.", lambda m: f"claim {int(m.group(1)) + 1} ", field)


class Flag(BaseModel):
    """Something the library checked and could not verify against the article, after re-asking."""

    kind: FlagKind = Field(default=FlagKind.NUMBER, description="What it is about (flags written before kinds "
                           "existed were all numbers).")
    field: str = Field(description="Where: 'headline', 'summary', 'claims[i].statement' or 'claims[i].speaker' "
                       "(0-based).")
    claim: int | None = Field(default=None, ge=0, description="The claim it concerns (0-based index into claims), "
                              "if any.")
    text: str = Field(description="The text flagged, e.g. a number or a speaker as the model wrote it.")
    reason: str


class Provenance(BaseModel):
    """Where a summary came from and what it cost."""

    model: str = Field(description="The model name as given, e.g. 'local/smollm2-135m' or 'openai/gpt-4o-mini'.")
    endpoint: str | None = Field(default=None, description="Base URL of the endpoint; null for embedded models.")
    prompt_version: str
    schema_version: str = SCHEMA_VERSION
    structured_output: str = Field(
        default="",
        description="How JSON was obtained: grammar, json_schema, json_object, or prompt.",
    )
    attempts: int = Field(ge=0, description="Model answers received, re-asks and parts of a long article included.")
    transient_retries: int = Field(default=0, ge=0, description="Calls that failed transiently (429, 5xx, timeout, "
                                   "connection) and were retried; not counted in attempts.")
    prompt_tokens: int = Field(ge=0, description="Input tokens over all attempts, failed ones included.")
    completion_tokens: int = Field(ge=0, description="Output tokens over all attempts, failed ones included.")
    latency_s: float = Field(ge=0, description="Wall-clock seconds spent producing the summary.")
    cached: bool = Field(default=False, description="True when served from the cache without calling the model.")
    parts: int = Field(default=1, ge=1, description="How many parts a long article was split into.")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Summary(BaseModel):
    """A structured, grounded summary of one article."""

    headline: str
    summary: str
    claims: list[Claim]
    rejected_claims: list[RejectedClaim] = Field(default_factory=list)
    flags: list[Flag] = Field(
        default_factory=list,
        description="What the library could not verify in the free text: numbers in the headline, summary or a "
        "claim's statement that the article does not contain (after re-asking). Empty when everything checked out.",
    )
    article_sha256: str
    article_chars: int = Field(ge=0)
    provenance: Provenance

    def verify(self, article: str) -> None:
        """Raise ``ValueError`` unless every evidence span is exactly the article's text at its offsets."""
        if sha256_text(article) != self.article_sha256:
            raise ValueError("this summary was made from a different article")
        for claim in self.claims:
            for ev in claim.evidence:
                if article[ev.start : ev.end] != ev.text:
                    raise ValueError(f"evidence {ev.text!r} is not at [{ev.start}, {ev.end}) in the article")
            source = claim.attribution
            if source is not None and article[source.start : source.end] != source.text:
                raise ValueError(f"attribution {source.text!r} is not at [{source.start}, {source.end}) in the article")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def summary_json_schema() -> dict[str, Any]:
    """JSON schema of :class:`Summary` (what ``summarizer summarize --format json`` prints)."""
    return Summary.model_json_schema()


@functools.cache
def schema_fingerprint() -> str:
    """A short hash of the draft schema, so any change to it (descriptions included) invalidates the cache."""
    raw = json.dumps(DraftSummary.model_json_schema(), sort_keys=True) + SCHEMA_VERSION
    return hashlib.sha256(raw.encode()).hexdigest()[:12]
