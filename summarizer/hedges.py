"""How sure a passage is: the hedge and assessment cues a claim must keep, and the qualifiers of its figures.

- **Assessment** cues present a judgement drawn from evidence: "we assess", "officials believe", "estimated",
  "the US does not believe".
- **Hedge** cues qualify: "may", "might", "could", "possibly", "potentially", "likely", "probability", "unclear",
  "not yet know", "is left to be seen", "appears to", "reportedly", "allegedly", "suspected".
- **Qualifiers** bound a figure: "at least 3,000", "more than 200", "up to 1,500", "about 40", "nearly half".

A claim whose evidence carries a cue is not ``asserted``, and its statement keeps a cue of its own; a figure the
evidence qualifies keeps its qualifier in the statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .grounding import content_words
from .numbers import extract_numbers

_ASSESSMENT = (r"\b(?:we|they|officials?|intelligence|analysts?|experts?|the\s+\w+)\s+"
               r"(?:(?:do|does|did)\s+not\s+|(?:do|does|did)n[\u2019']t\s+|still\s+)?"
               r"(?:assess(?:es|ed)?|believes?|believed|estimates?|estimated|judged|suspects?|suspected|"
               r"think|thinks|thought)\b|\bassessments?\b|\b(?:is|are|was|were)\s+(?:believed|estimated|thought|"
               r"suspected|assessed|understood)\s+to\b|\bestimated\b|\baccording to (?:estimates|assessments)\b")
_HEDGE = (r"\b(?:(?-i:may)|might|could|possibly|potentially|perhaps|likely|unlikely|probably|probable|probability|"
          r"unclear|uncertain|unconfirmed|reportedly|allegedly|alleged|apparently|appears?\s+to|seems?\s+to|"
          r"expected\s+to)\b|\bnot\s+(?:yet\s+)?(?:know|known|clear|sure)\b|"
          r"\b(?:left|remains)\s+to\s+be\s+seen\b|\bremains?\s+unclear\b")
_CUE = re.compile(f"(?P<assessment>{_ASSESSMENT})|(?P<hedge>{_HEDGE})", re.IGNORECASE)
#: Words a statement may use to keep an evidence's hedge or assessment in its own words.
_KEPT = re.compile(_HEDGE + r"|\b(?:assess(?:es|ed|ment)?|believes?|believed|estimates?|estimated|suspects?|"
                   r"suspected|judges?|says?|said|thinks?|according\s+to|claims?|claimed|warns?|warned|"
                   r"feared?|concern(?:ed|s)?|expects?|expected|predicts?|predicted|forecasts?|hope[sd]?|hoping)\b",
                   re.IGNORECASE)
_QUALIFIER = re.compile(r"\b(?:at\s+least|at\s+most|more\s+than|fewer\s+than|less\s+than|over|under|up\s+to|"
                        r"as\s+many\s+as|as\s+few\s+as|about|around|roughly|approximately|nearly|almost|some|an?\s+"
                        r"estimated|estimated|close\s+to)\s+$", re.IGNORECASE)


#: Cues that a passage reports something not verified ("reportedly", "a source told", "could not be verified").
_UNCONFIRMED = re.compile(r"\b(?:reportedly|allegedly|alleged|unconfirmed|unverified|rumou?r(?:s|ed)?|anonymous|"
                          r"(?:could|can)\s*(?:not|n[\u2019']t)\s+(?:be\s+)?(?:independently\s+)?(?:verif|confirm)\w*|"
                          r"not\s+(?:been\s+)?(?:independently\s+)?(?:verified|confirmed)|claim(?:s|ed)?|"
                          r"an?\s+(?:\w+\s+){0,2}sources?|sources?\s+(?:close|familiar|said|say|says|told))\b",
                          re.IGNORECASE)
#: Cues that a passage contradicts or contests a claim.
_DISPUTED = re.compile(r"\b(?:disput\w*|contest(?:s|ed|ing)|challeng(?:e|es|ed|ing)|contradict\w*|question(?:s|ed)|"
                       r"rebut\w*|disagree\w*|insist(?:s|ed)?|countered)\b", re.IGNORECASE)
#: Cues that a speaker rejects a claim.
_DENIED = re.compile(r"\b(?:den(?:y|ies|ied|ial|ials)|reject(?:s|ed)?|refut\w*|dismiss(?:es|ed)?|rebuff\w*|"
                     r"no\s+evidence)\b", re.IGNORECASE)
#: Cues that a passage looks ahead.
_AHEAD = re.compile(r"\b(?:will|would|could|may|might|expect\w*|plan\w*|going\s+to|set\s+to|next|future|"
                    r"forecast\w*|predict\w*|intend\w*|aim\w*|prepar\w*|likely|soon)\b|[\u2019']ll\b", re.IGNORECASE)
#: A quotation mark that opens or closes a quotation: double marks, a ‘, and a straight ' that opens a word after a
#: space (Daily Mail copy); not the apostrophe of Russia’s or don't.
QUOTATION_MARK = re.compile("[\"\u201c\u201d\u2018]|(?:^|(?<=\\s))'(?=\\w)")


def labels(evidence: str) -> tuple[list[str], list[str]]:
    """The kinds and certainties a claim on ``evidence`` may take, as the article presents it (see
    :class:`~summarizer.schema.ClaimKind` and :class:`~summarizer.schema.Certainty`):

    - certainty: ``assessed`` for an assessment cue and ``hedged`` for a hedge, ``asserted`` only where there is
      neither; ``unconfirmed``, ``disputed`` and ``denied`` only where the passage says so ("reportedly", "a source
      told"; "disputed", "insisted"; "denied", "rejected");
    - kind: ``fact`` only where there is no cue, ``assessment`` only where there is one, ``prediction`` only
      where the passage looks ahead ("will", "could", "expected"), ``quote`` only where it quotes someone;
      ``opinion`` always (a characterisation may be anywhere)."""
    found = cues(evidence)
    assessed = any(c.kind == "assessment" for c in found)
    hedged = any(c.kind == "hedge" for c in found)
    certainties = ["asserted"] if not found else ["assessed"] * assessed + ["hedged"] * hedged
    certainties += (["unconfirmed"] * bool(_UNCONFIRMED.search(evidence)) + ["disputed"] * bool(
        _DISPUTED.search(evidence)) + ["denied"] * bool(_DENIED.search(evidence)))
    kinds = ["fact"] * (not found) + ["assessment"] * bool(found) + ["prediction"] * bool(_AHEAD.search(evidence))
    kinds += ["opinion"] + ["quote"] * bool(QUOTATION_MARK.search(evidence))
    return kinds, certainties


#: Words that say whose word a statement is, each enough for :func:`keeps_hedge`: what a grammar may require of a
#: hedged passage's statement besides the passage's own cues (:mod:`summarizer.passages`).
KEEPS = ("said", "says", "according to", "believes", "believe", "assessed", "claimed", "warned")

#: A quick test that a text has a qualifier at all, before its numbers are read.
_ANY_QUALIFIER = re.compile(r"\b(?:least|most|more|fewer|less|over|under|up|many|few|about|around|roughly|"
                            r"approximately|nearly|almost|some|estimated|close)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Cue:
    kind: str  # "assessment" or "hedge"
    text: str


def cues(text: str) -> list[Cue]:
    """Every assessment and hedge cue in ``text``, in order."""
    return [Cue("assessment" if m.group("assessment") else "hedge", m.group().strip()) for m in _CUE.finditer(text)]


def hedged_words(passage: str, sentence: str) -> Cue | None:
    """The hedge or assessment cue of ``passage`` that bears on what ``sentence`` takes from it: inside a run of
    the passage's words that the sentence shares (two or more content words, by their first four letters, at most
    :data:`_SHARED_GAP` words apart), or up to :data:`_SHARED_GAP` words before one (a hedge bears on what follows
    it: "has reportedly been killed", "appear to reveal"). A cue elsewhere in a long sentence (FRANK's copy runs
    captions and sentences together) concerns something else."""
    words, shared = shared_words(passage, sentence)
    if not shared:
        return None
    runs: list[list[int]] = [[shared[0]]]
    for i in shared[1:]:
        if i - runs[-1][-1] <= _SHARED_GAP:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        if len(run) < 2:
            continue  # one shared word is no claim taken from there
        first = max(0, run[0] - _SHARED_GAP)  # a hedge scopes over what follows it: "reportedly been killed"
        found = cues(passage[words[first].start():words[run[-1]].end()])
        if found:
            return found[0]
    return None


def shared_words(passage: str, sentence: str) -> tuple[list[re.Match[str]], list[int]]:
    """``passage``'s words, and the indices of those ``sentence`` shares with it (content words, by their first four
    letters)."""
    said = set(content_words(sentence))
    words = list(re.finditer(r"\w+", passage))
    return words, [i for i, m in enumerate(words) if m.group().lower()[:4] in said]


#: Words between two shared words that still make one run (see :func:`hedged_words`).
_SHARED_GAP = 4


def keeps_hedge(statement: str) -> bool:
    """Whether a statement keeps a hedge or an assessment in its own words (or says whose word it is)."""
    return bool(_KEPT.search(statement))


def qualified_figures(text: str) -> dict[float, str]:
    """Each figure of ``text`` that a qualifier bounds, by value: {3000.0: "at least 3,000"}."""
    out: dict[float, str] = {}
    for n in extract_numbers(text):
        before = text[max(0, n.start - 24):n.start]
        m = _QUALIFIER.search(before)
        if m and not (n.text.isdigit() and len(n.text) == 4 and 1900 <= n.value <= 2100):  # "over 2023": a year
            out.setdefault(n.value, f"{m.group().strip()} {n.text}")
    return out


def dropped_qualifiers(evidence: str, statement: str) -> list[str]:
    """The qualified figures of the evidence that the statement gives bare ("3,000" for "at least 3,000")."""
    if not _ANY_QUALIFIER.search(evidence):
        return []
    qualified = qualified_figures(evidence)
    kept = qualified_figures(statement)
    return [qualified[n.value] for n in extract_numbers(statement)
            if n.value in qualified and n.value not in kept]
