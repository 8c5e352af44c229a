"""Who the article says said it: the library's own attribution reader.

For any span of the article, :meth:`Attributions.of` returns the source the article gives for it, as written at the
cue (with offsets, so it can be checked like evidence) and resolved to its fullest mention in the article ("Austin" →
"Secretary of Defense Lloyd Austin"), or None when the article states it in its own voice. The reading is news
style, not a parser:

- **Speech cues** outside quotation marks: "X said", "X told reporters", "X has repeatedly warned", "said X",
  "according to X". The source is the noun phrase before the verb back to a clause boundary (a comma, a quotation
  mark, the sentence start), less the adverbs and auxiliaries in between ("A source in Ukrainian intelligence
  previously told" → "A source in Ukrainian intelligence"); after a comma with nothing between, the appositive before
  it ("South Korea's spy agency, the National Intelligence Service, said").
- **Quotations** (curly or straight double quotes, and the single quotation marks of Daily Mail copy, which are not
  apostrophes) take the cue that opens or closes them ("“…,” Kirby said"; "Austin said: “…”"), else the cue of their
  sentence, else the speaker of the nearest attributed quotation before them in the paragraph, then in the paragraph
  before (news style: a paragraph of quote continues its speaker) and finally after.
- **Appositive chains** ("Professor Stephen Glaister, director of the RAC Foundation, said"; "Josh Hatfield, 27,
  told") give the name, never a description, an age, a place that goes on or a relative clause; a verb that closes
  its sentence after a comma attributes what came before ("…, WABC reported."), and one after a plain comma may
  take its source after it ("…, said Trooper James Schmidt."); a participle ("…, saying:") takes its clause's
  subject; "told" and "believe" attribute without "that".
- **Pronouns** ("he said") resolve to the last named source before them.
- **Resolution**: a source's name resolves to the longest mention in the article of the same name, its title and
  role words included ("National Security Council spokesman John Kirby"); where two people share a surname, to the
  one the article names most ("Mr Miliband" → "Ed Miliband", not "Justine Miliband").

The sentence a span starts in decides its source; a span inside a quotation takes the quotation's.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache

from .grounding import sentence_spans, support


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Verbs (finite forms and the participles that continue a clause) that attribute what surrounds them.
SPEECH_VERBS = (
    "said", "says", "say", "told", "tells", "added", "adds", "stated", "noted", "explained", "explains", "warned",
    "warns", "claimed", "insisted", "insists", "argued", "argues", "wrote", "writes", "tweeted", "announced",
    "confirmed", "admitted", "acknowledged", "testified", "declared", "estimated", "revealed", "predicted", "urged",
    "replied", "recalled", "continued", "posted", "joked", "conceded", "cautioned", "stressed", "asked",
    "reported", "reports", "alleged", "allege", "alleges", "yelled", "shouted", "screamed", "exclaimed", "boasted",
    "complained", "pleaded", "remarked", "commented", "responded", "answered", "reiterated", "maintained",
    "believe", "believes", "believed",
    "telling", "saying", "adding", "warning", "explaining",
)  # fmt: skip
_VERB = "|".join(sorted(set(SPEECH_VERBS), key=len, reverse=True))
#: Verbs that attribute without introducing speech ("the White House said Wednesday", "sources told the Post",
#: "prosecutors believe he fled").
_PLAIN = frozenset({"said", "says", "say", "according to", "told", "tells", "believe", "believes", "believed"})
#: Participles that continue a clause ("Dundee vowed to support him, saying: ..."): their source is its subject.
_PARTICIPLES = frozenset({"telling", "saying", "adding", "warning", "explaining"})
#: What follows a verb that introduces speech: "that" (an object first allowed: "told reporters that"), a colon,
#: a comma, a quotation mark.
_SPEECH_FOLLOWS = re.compile(r"\s*(?:(?:[\w\u2019'.-]+\s+){0,3}(?:that\b|[\u201c\u2018\"'])|[:,]|[\u201c\u2018\"'])")
#: What may follow a verb that closes its sentence after a comma ("…, WABC reported.", "…, the agency noted on
#: Friday."): the verb attributes the sentence before it.
_CLOSES_SENTENCE = re.compile(r"\s*(?:(?:on|last|this|early|late)\s+)?(?:[A-Z]?[a-z]+day|yesterday|today|"
                              r"tonight|week|month|year|morning|evening|night)?\s*[.!?]?[\u201d\u2019\"']?\s*$")
_ASKED_TO = re.compile(r"\s+(?:[\w\u2019'-]+\s+){1,4}to\s+\w")
#: A word before a verb that makes it passive: "was told", "is estimated".
_PASSIVE = frozenset({"was", "is", "were", "are", "be", "been", "being", "get", "got"})
_CUE = re.compile(rf"\b(?:{_VERB})\b|\b[Aa]ccording to\b")
#: Words between a source and its verb that are not part of the source.
_FILLER = _set("""has have had also previously repeatedly later earlier recently once again then still
already first last publicly privately reportedly separately further again just only today yesterday on in at
""")
#: Lower-case words that may stand in a source's name before a capitalised name ("spokesman John Kirby").
ROLE_WORDS = _set("""spokesman spokeswoman spokesperson secretary minister president chief director official
officer leader chairman chairwoman commissioner senator ambassador general governor mayor manager coach captain
boss star striker defender midfielder goalkeeper forward player head founder executive analyst professor
researcher scientist expert lawyer attorney prosecutor judge detective inspector sergeant constable superintendent
editor reporter correspondent author actor actress singer model daughter son wife husband mother father brother
sister friend neighbour neighbor resident witness victim owner member deputy lieutenant colonel commander
""")
#: Lower-case words that stay at the start of a source before its name ("the White House", "spokesman John Kirby").
_KEEP_BEFORE_NAME = frozenset({"the", "a", "an"}) | ROLE_WORDS
#: Words of a source too common to tell two sources apart.
GENERIC = _set("""the a an of and for to in on at s us u.s. uk u.k. un mr mrs ms dr president secretary minister
spokesman spokeswoman spokesperson official officials senior source sources government administration state
national said says chief head department office agency
""")
#: Pronouns that stand for a source named before them ("I" and "we" speak inside quotations: never a source).
_PRONOUNS = {"he": "person", "she": "person", "they": "any", "it": "group"}
_BOUNDARY = re.compile(r"[,;:()\[\]\u201c\u201d\u2018\"\u2014\u2013]|\s-\s|\b(?:that|and|but|while|as|because|which|"
                       r"who|when|after|before|if|although|though|where|whom|whose|what|how|why)\b|"
                       # Daily Mail's page furniture, run into the copy: "Scroll down for video Gordon Brown, …"
                       r"\bScroll down for (?:the )?videos?\b")
_NAME_CHARS = r"(?:[\w\u2019'-]|(?<![\w\u2019'-][\w\u2019'-])\.(?=\w))*"  # a dot after one letter (U.S, J.K)
_WORD = re.compile(rf"\w{_NAME_CHARS}")
_CAPITALISED = re.compile(rf"[A-Z]{_NAME_CHARS}")
#: A run of capitalised words ("Secretary of Defense Lloyd Austin"); role words join runs (see _mention_spans).
_CAPITAL_RUN = re.compile(rf"\b[A-Z]{_NAME_CHARS}(?:\s+(?:(?:of|the|for|de|von|van|al|bin)\s+)?[A-Z]{_NAME_CHARS})*")
#: Most names offered as a claim's speaker choices.
MAX_SPEAKER_NAMES = 64
#: Longest quotation read as one (characters); a longer one is a stray mark.
MAX_QUOTATION = 1500


@dataclass(frozen=True)
class Source:
    """A source as the article gives it at a cue: the words (``article[start:end] == text``), the cue that
    attributes the span ("said", "according to", "quote" when inherited from a quotation), and the fullest mention of
    the same name in the article (``name``, which may equal ``text``)."""

    text: str
    start: int
    end: int
    cue: str
    name: str


#: Share of a statement's content words one quotation of its evidence must hold for the statement to be that
#: quotation's (see :meth:`Attributions.of_statement`).
QUOTATION_SUPPORT = 0.5


@dataclass(frozen=True)
class _Quotation:
    start: int  # the opening mark
    end: int  # just past the closing mark (or the end of an unclosed one: see _find_quotations)
    closed: bool = True


class Attributions:
    """The attributions of one article, read once."""

    def __init__(self, article: str) -> None:
        self.article = article
        self.sentences = sentence_spans(article)
        self._raw_memo: dict[int, Source | None] = {}
        self._sentence_memo: dict[int, Source | None] = {}
        self._own_memo: dict[int, Source | None] = {}
        self._resolved_names: dict[str, str] = {}

    @cached_property
    def _paragraphs(self) -> list[tuple[int, int]]:
        out, start = [], 0
        for m in re.finditer(r"\n\s*", self.article):
            if m.start() > start:
                out.append((start, m.start()))
            start = m.end()
        if start < len(self.article):
            out.append((start, len(self.article)))
        return out

    @cached_property
    def _quotations(self) -> list[_Quotation]:
        return _find_quotations(self.article)

    @cached_property
    def _quotation_ends(self) -> list[int]:
        """The quotations' ends, running maximum (they may nest): a bisect finds the first that reaches a point."""
        out, top = [], 0
        for q in self._quotations:
            top = max(top, q.end)
            out.append(top)
        return out

    def _raw(self, i: int) -> Source | None:
        """Sentence ``i``'s own cue (outside quotation marks), pronouns not resolved."""
        if i not in self._raw_memo:
            self._raw_memo[i] = self._cue_in(*self.sentences[i]) or self._transcript(*self.sentences[i])
        return self._raw_memo[i]

    def _transcript(self, start: int, end: int) -> Source | None:
        """A transcript's line, "Joy Smith: If you don't hurry, he's gone.": a name of two or three capitalised
        words and a colon open the sentence (a one-word caption label, "Scene:", is not a speaker)."""
        m = _TRANSCRIPT.match(self.article, start, end)
        if m is None or m.group(1).split()[0].lower() in _NOT_A_NAME_START:
            return None
        return self._source(m.start(1), m.end(1), cue="colon")

    def sentence_source(self, i: int) -> Source | None:
        """Who sentence ``i`` (of :attr:`sentences`) gives its words to by a cue outside quotation marks ("…, the
        Swedes told the Post"), a pronoun resolved; None if by none."""
        return self._sentence_source(i)

    def _sentence_source(self, i: int) -> Source | None:
        """Sentence ``i``'s own cue, a pronoun resolved to the source it stands for."""
        if i not in self._sentence_memo:
            self._sentence_memo[i] = self._resolved(self._raw(i))
        return self._sentence_memo[i]

    def _resolved(self, found: Source | None) -> Source | None:
        """A pronoun source ("he said") as the last named source before it that it can stand for; None if none."""
        if found is None or found.text.lower() not in _PRONOUNS:
            return found
        want = _PRONOUNS[found.text.lower()]

        def fits(name: str) -> bool:
            return want == "any" or looks_like_person(name) == (want == "person")

        sentence = self._sentence_index(found.start) or 0
        opener = self._opening_name(sentence)
        if opener is not None and opener[1] <= found.start and fits(opener[2]) \
                and len((named := self.resolve(opener[2])).split()) >= 2 \
                and not self._subject_between(opener[1], found.start, fits):  # a full name, not "Greece"
            return _replace(found, name=named)  # "Pat, 69, … with friend Julia, … she admitted": Pat
        for i in range(sentence - 1, -1, -1):
            before = self._raw(i)
            if before is not None and before.text.lower() not in _PRONOUNS and fits(before.name):
                return _replace(found, name=before.name)
        names = [m for m in self._mention_spans if m[1] <= found.start and fits(m[2]) and len(m[2].split()) >= 2]
        return _replace(found, name=self.resolve(names[-1][2])) if names else None

    def _subject_between(self, start: int, end: int, fits: Callable[[str], bool]) -> bool:
        """Whether a name a pronoun at ``end`` may stand for stands between ``start`` and it, other than as the
        object of a preposition ("… with friend Julia, … she admitted" leaves Pat the subject; "… so Mr Wright could
        compose himself after he told" does not)."""
        for ms, me, mention in self._mention_spans:
            if start <= ms and me <= end and fits(mention) and not self._in_quotation(ms):
                before = self.article[max(start, ms - 16):ms].split()
                if not before or before[-1].lower() not in _PREPOSITIONS:
                    return True
        return False

    def _in_quotation(self, pos: int) -> bool:
        return any(q.start < pos < q.end for q in self._quotations)

    def _opening_name(self, sentence: int) -> tuple[int, int, str] | None:
        """The name that opens sentence ``sentence`` (its subject, which a pronoun later in it stands for), if one
        does."""
        start, end = self.sentences[sentence]
        text = self.article[start:end]
        start += len(text) - len(text.lstrip())
        i = bisect.bisect_left(self._mention_spans, (start,))
        if i < len(self._mention_spans) and self._mention_spans[i][0] == start:
            mention = self._mention_spans[i]
            if mention[2].split()[0].lower() not in _NOT_A_NAME_START | _SUBJECT_SKIP | {"you"} \
                    and not self._in_quotation(start):
                return mention
        return None

    def _own(self, i: int) -> Source | None:
        """Quotation ``i``'s own source: the cue that opens or closes it, else its sentence's."""
        if i not in self._own_memo:
            q = self._quotations[i]
            sentence = self._sentence_index(q.start)
            found = self._resolved(self._adjacent_cue(q, sentence))
            if found is None and sentence is not None:
                found = self._sentence_source(sentence)
            self._own_memo[i] = found
        return self._own_memo[i]

    def _quotation_source(self, i: int) -> Source | None:
        """Quotation ``i``'s source: its own, else the nearest attributed quotation's before it in its paragraph,
        then in the paragraph before, then after it in its paragraph (a paragraph of quote continues its speaker)."""
        if (own := self._own(i)) is not None:
            return own
        quotations = self._quotations
        paragraph = self._paragraph_index(quotations[i].start)
        for j in range(i - 1, -1, -1):
            if self._paragraph_index(quotations[j].start) < paragraph - 1:
                break
            if (src := self._own(j)) is not None:
                return _replace(src, cue="quote")
        for j in range(i + 1, len(quotations)):
            if self._paragraph_index(quotations[j].start) != paragraph:
                break
            if (src := self._own(j)) is not None:
                return _replace(src, cue="quote")
        return None

    @property
    def quotations(self) -> list[tuple[int, int]]:
        """The article's quotations as ``(start, end)`` spans, quotation marks included, in order."""
        return [(q.start, q.end) for q in self._quotations]

    def quotation_source(self, index: int) -> Source | None:
        """The source of the ``index``-th quotation (see :attr:`quotations`)."""
        return self._quotation_source(index)

    def of(self, start: int, end: int) -> Source | None:
        """The source the article gives for the span ``[start, end)``; None: the article's own voice. A span inside
        a quotation takes the quotation's source; inside one left unclosed, its sentence's own cue comes first."""
        sentence = self._sentence_index(start)
        own = self._sentence_source(sentence) if sentence is not None else None
        for i, q in enumerate(self._quotations):
            if q.start >= end:
                break
            inside = max(0, min(end, q.end) - max(start, q.start))
            mostly_inside = inside * 2 > max(1, end - start) and not (own is not None and not q.closed)
            src = self._quotation_source(i) if mostly_inside else None
            if src is not None and not (src.cue == "quote" and own is not None):  # inherited: the own cue wins
                return src
        return own

    def _inner_quotations(self, start: int, end: int) -> list[tuple[_Quotation, Source]]:
        """The closed quotations inside ``[start, end)`` that have a source of their own (an opening or closing
        cue, not one inherited from another quotation), with it."""
        out = []
        first = bisect.bisect_left(self._quotation_ends, start + 1)
        for i in range(first, len(self._quotations)):
            q = self._quotations[i]
            if q.start >= end:
                break
            if q.closed and start <= q.start and q.end <= end and (src := self._own(i)) is not None:
                out.append((q, src))
        return out

    def sources_within(self, start: int, end: int) -> list[Source]:
        """Every source the span ``[start, end)`` cites: :meth:`of`'s first, then those of its quotations that
        have their own cue (a caption run into a quotation: "Founder Yen Reis says … 'I may have backed out,'
        said beauty blogger Amber Katz"), each name once."""
        return _distinct([self.of(start, end), *(src for _, src in self._inner_quotations(start, end))])

    def of_statement(self, start: int, end: int, statement: str) -> Source | None:
        """The source the article gives for ``statement``, cited from the span ``[start, end)``: :meth:`of`'s,
        unless the statement's words are those of one quotation inside the span that has a source of its own
        (at least :data:`QUOTATION_SUPPORT` of them, and more than the rest of the span holds): then that
        quotation's. Copy where captions run into the text puts several sources in one sentence."""
        base = self.of(start, end)
        best: tuple[float, Source] | None = None
        for q, src in self._inner_quotations(start, end):
            if base is not None and src.name.lower() == base.name.lower():
                continue
            inside = support(statement, self.article[q.start:q.end])
            outside = support(statement, self.article[start:q.start] + " " + self.article[q.end:end])
            if inside >= QUOTATION_SUPPORT and inside > outside and (best is None or inside > best[0]):
                best = (inside, src)
        return best[1] if best is not None else base

    def sources(self) -> list[Source]:
        """Every distinct source the article cites, by resolved name, in order of first appearance."""
        found = [self._sentence_source(i) for i in range(len(self.sentences))]
        found += [self._quotation_source(i) for i in range(len(self._quotations))]
        cited = sorted((f for f in found if f is not None), key=lambda f: f.start)
        return _distinct(cited)

    def speaker_names(self) -> tuple[str, ...]:
        """The names a claim's speaker may take when decoding can enforce it: every source the reader finds, then
        the article's other names of two words or more (fullest mentions; the reader may miss a speaker, so the
        names it was not sure of stay choosable), at most :data:`MAX_SPEAKER_NAMES`. Read once."""
        return self._speaker_names

    @cached_property
    def _speaker_names(self) -> tuple[str, ...]:
        names = dict.fromkeys(s.name for s in self.sources())
        for _s, _e, mention in self._mention_spans:
            words = mention.split()
            if len(words) >= 2 and words[0].lower() not in _NOT_A_NAME_START:
                names.setdefault(self.resolve(mention))
        return tuple(n for n in names if n.lower() not in _PRONOUNS)[:MAX_SPEAKER_NAMES]

    def resolve(self, name: str) -> str:
        """The fullest mention in the article of the person or body ``name`` refers to (``name`` if none)."""
        if (known := self._resolved_names.get(name)) is None:
            known = self._resolved_names[name] = self._resolve(name)
        return known

    def _resolve(self, name: str) -> str:
        keys = name_keys(name)
        if not keys:
            return name
        fuller = [(m, words) for m, words in self._mentions_by_last.get(keys[-1], ()) if all(k in words for k in keys)]
        if len(name.split()) == 1 and all(len(name_keys(m)) == 1 for m, _ in fuller):
            fuller = self._by_first_name(keys[0]) or fuller
        if not fuller:
            return name

        def given(words: list[str]) -> frozenset[str]:  # what the mention adds to the name: "ed" of "Ed Miliband"
            return frozenset(k for k in name_keys(" ".join(words)) if k not in keys)

        # Two people of one surname ("Ed Miliband", "Justine Miliband"): "Mr Miliband" is the one the article
        # names most often; then the fullest mention of that one.
        support: dict[frozenset[str], int] = {}
        for _m, words in fuller:
            mine = given(words)
            for other in list(support) or [mine]:
                if mine <= other or other <= mine:
                    support[other] = support.get(other, 0) + 1
            support.setdefault(mine, 1)
        person = max(support, key=lambda g: (support[g], len(g)))
        named = [m for m, words in fuller if person <= given(words)]
        best = max(named, key=len) if named else name
        return best if person or len(best) > len(name) else name  # "the White House", not "White House"

    def _by_first_name(self, key: str) -> list[tuple[str, list[str]]]:
        """The mentions of the one person whose full name opens with ``key`` ("Julia" after "friend Julia Church":
        features call people by their first name); none if two people share it."""
        people = [(m, words) for m, words in self._mention_words
                  if looks_like_person(m) and re.search(rf"(?:^|\s)(?i:{re.escape(key)})\s+[A-Z][a-z]", m)
                  and len(keys := name_keys(m)) >= 2 and keys[0] == key]
        groups = {frozenset(name_keys(m)) for m, _ in people}
        widest = max(groups, key=len, default=frozenset())
        return people if all(g <= widest for g in groups) else []

    @cached_property
    def _mentions_by_last(self) -> dict[str, list[tuple[str, list[str]]]]:
        """The mentions by their last word (a name resolves only to a mention ending in its own last key)."""
        out: dict[str, list[tuple[str, list[str]]]] = {}
        for m, words in self._mention_words:
            if words:
                out.setdefault(words[-1], []).append((m, words))
        return out

    # -- reading ----------------------------------------------------------------------------------------------

    @cached_property
    def _mention_spans(self) -> list[tuple[int, int, str]]:
        """Names as the article writes them: runs of capitalised words, a run joined to the one before it by a
        lower-case role word ("National Security Council spokesman John Kirby", "PGA Tour star Rickie Fowler")."""
        runs = [(m.start(), m.end()) for m in _CAPITAL_RUN.finditer(self.article)]
        merged: list[tuple[int, int]] = []
        for start, end in runs:
            if merged:
                gap = self.article[merged[-1][1]:start].split()
                if len(gap) == 1 and gap[0] in ROLE_WORDS and self.article[merged[-1][1]:start].strip() == gap[0]:
                    merged[-1] = (merged[-1][0], end)
                    continue
            before = self.article[max(0, start - 20):start].split()  # "spokesman John Kirby" at a clause start
            if before and before[-1] in ROLE_WORDS and self.article[start - 1:start].isspace():
                start = start - 1 - len(before[-1])
            merged.append((start, end))
        return [(s, e, _trim_mention(self.article[s:e])) for s, e in map(self._name_only, merged) if s < e]

    def _name_only(self, span: tuple[int, int]) -> tuple[int, int]:
        """A capitalised run without what only sentence position capitalised: a leading sentence adverb ("However
        Lizzi never realised") and a trailing "I" ("the old Lizzi I used to know"; "King Charles I" loses nothing
        a reader needs)."""
        start, end = span
        words = _after_lost_stop(list(_WORD.finditer(self.article, start, end)))
        while len(words) > 1 and words[0].group().lower() in _DROPPED_OPENERS:
            words.pop(0)
        if len(words) > 1 and words[-1].group() == "I":
            words.pop()
        return (words[0].start(), words[-1].end()) if words else (start, start)

    @cached_property
    def _mention_words(self) -> list[tuple[str, list[str]]]:
        return [(m[2], [w.lower().strip(".") for w in _WORD.findall(m[2])]) for m in self._mention_spans]

    def _sentence_index(self, pos: int) -> int | None:
        """The sentence holding ``pos`` (in the space between two: the next one); None past the last."""
        i = bisect.bisect_right(self._sentence_starts, pos) - 1
        if i >= 0 and pos < self.sentences[i][1]:
            return i
        return i + 1 if i + 1 < len(self.sentences) else None

    @cached_property
    def _sentence_starts(self) -> list[int]:
        return [s for s, _e in self.sentences]

    def _paragraph_index(self, pos: int) -> int:
        i = bisect.bisect_right([s for s, _e in self._paragraphs], pos) - 1
        if i >= 0 and pos < self._paragraphs[i][1]:
            return i
        return len(self._paragraphs)

    def _opens_sentence(self, pos: int) -> bool:
        """Whether ``pos`` is where a sentence starts (an unclosed quotation there is a paragraph of quote, as
        Daily Mail copy opens each one and closes only the last: its words are the speaker's, not cues)."""
        i = bisect.bisect_left(self._sentence_starts, pos)
        return i < len(self._sentence_starts) and self._sentence_starts[i] == pos

    def _outside_quotes(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of ``[start, end)`` outside (closed) quotation marks."""
        parts, pos = [], start
        first = bisect.bisect_left(self._quotation_ends, start + 1)
        for q in self._quotations[first:]:
            if q.start >= end:
                break
            if q.end <= start or (not q.closed and not self._opens_sentence(q.start)):
                continue  # an unclosed one inside a sentence may be narrative ('90s): its cues count
            if q.start > pos:
                parts.append((pos, q.start))
            pos = max(pos, q.end)
        if pos < end:
            parts.append((pos, end))
        return parts

    def _cue_in(self, start: int, end: int) -> Source | None:
        """The first speech cue outside quotation marks in ``[start, end)`` that has a source."""
        for s, e in self._outside_quotes(start, end):
            for cue in _CUE.finditer(self.article, s, e):
                found = self._source_at(cue, start, end)
                if found is not None:
                    return found
        return None

    def _source_at(self, cue: re.Match[str], start: int, end: int) -> Source | None:
        """The source of one cue: after it ("said Kirby", "according to X"), or before it ("Kirby said").

        Only "said", "says", "say" and "according to" attribute on their own. Another verb must introduce speech
        ("added that", "warned:", "told reporters that", a quotation) or close a quotation ("…,” Kirby added"), so
        "The company added 200 jobs" and "Prices continued to rise" attribute nothing; nor does a passive ("was
        told", "is estimated")."""
        verb = cue.group().lower()
        before = self.article[max(start, cue.start() - 24):cue.start()].split()
        if before and (before[-1].lower() in _PASSIVE or (verb == "asked" and before[-1].lower() in _ASKED_WHEN)):
            return None  # "was told", "is believed"; "When asked about it, Yengich said": the asker is not named
        clause = _CLAUSE_BREAK.split(self.article[max(start, cue.start() - 24):cue.start()])[-1]
        if any(w.lower() in _NOT_SAID for w in clause.split()[-3:]):
            return None  # "would not have said", "never said", "did not say": no one is quoted
        if verb not in _PLAIN and not self._introduces_speech(cue, start, end):
            return None
        if verb == "according to" or (verb in ("said", "says", "added", "wrote", "continued", "explained")
                                      and self._inverted(cue.start())):
            found = self._phrase_after(cue.end(), end)
            if found is not None:
                return self._source(*found, cue=verb)
            if verb == "according to":
                return None
        if verb in _INVERTING and self.article[max(start, cue.start() - 2):cue.start()].rstrip().endswith(","):
            found = self._phrase_after(cue.end(), end)  # "…, especially on bridges, said Trooper James Schmidt."
            if found is not None and _names_after_comma(self.article, *found, end):
                return self._source(*found, cue=verb)
        if verb in _PARTICIPLES and (found := self._subject(start, cue.start())) is not None:
            return self._source(*found, cue=verb)  # "In a statement Dundee vowed to support him, saying: …"
        found = self._phrase_before(cue.start(), start)
        return self._source(*found, cue=verb) if found is not None else None

    def _subject(self, start: int, end: int) -> tuple[int, int] | None:
        """The first name in ``[start, end)`` outside quotation marks that is not a sentence's opening word: the
        subject a participle ("…, saying") continues."""
        for s, e in self._outside_quotes(start, end):
            for ms, me, mention in self._mention_spans:
                if ms >= s and me <= e and mention.split()[0].lower() not in _NOT_A_NAME_START | _SUBJECT_SKIP:
                    return ms, me
        return None

    def _introduces_speech(self, cue: re.Match[str], start: int, end: int) -> bool:
        """Whether a speech verb introduces or closes speech: "that", a colon, a quotation after it (an object
        between allowed: "told reporters that"), or a closed quotation before it in the sentence."""
        if any(q.closed and start <= q.start and q.end <= cue.start() for q in self._quotations):
            return True  # it closes a quotation: "“…,” Austin told reporters"
        after = self.article[cue.end():min(end, cue.end() + 60)]
        if cue.group().lower() in ("urged", "told", "warned", "asked") and _ASKED_TO.match(after):
            return True  # "urged Aston Villa to man up"
        if _CLOSES_SENTENCE.match(self.article, cue.end(), end) and "," in self.article[start:cue.start()]:
            return True  # "…, WABC reported.", "…, the agency noted on Friday."
        return bool(_SPEECH_FOLLOWS.match(after))

    def _inverted(self, pos: int) -> bool:
        """Whether the verb at ``pos`` directly follows a closing quotation mark ("…,” said Kirby"; after a plain
        comma it is the appositive's: "X, the spokesman, said")."""
        before = self.article[max(0, pos - 4):pos].rstrip()
        return bool(before) and before[-1] in "\u201d\"\u2019'"

    def _phrase_after(self, pos: int, limit: int) -> tuple[int, int] | None:
        text = self.article[pos:limit]
        m = re.match(r"\s+((?:the\s+|a\s+|an\s+)?[^,.;:\u201c\u201d\"]{1,100}?)(?=\s*(?:[,.;:\u201c\u201d\"]|\s+"
                     r"(?:on|in|at|during|last|this|that|who|when|after|before|Monday|Tuesday|Wednesday|Thursday|"
                     r"Friday|Saturday|Sunday)\b|$))", text)
        if not m:
            return None
        s, e = pos + m.start(1), pos + m.end(1)
        return (s, e) if _is_source(self.article[s:e]) else None

    def _phrase_before(self, pos: int, limit: int) -> tuple[int, int] | None:
        """The noun phrase that ends just before ``pos``: back to a clause boundary, fillers off its end."""
        text = self.article[limit:pos]
        if (aside := _ASIDE_AT_END.search(text)) is not None:  # "the Center for Immigration Studies (CIS) said"
            return self._phrase_before(limit + aside.start(), limit)
        cut = 0
        for m in _BOUNDARY.finditer(text):
            cut = m.end()
        s = limit + cut
        words = list(_WORD.finditer(self.article, s, pos))
        while words and words[-1].group().lower() in _FILLER | _WEEKDAYS:
            words.pop()
        if not words and self.article[s - 1:s] == ",":  # "X, the spokesman, said": the appositive before
            return self._appositive(limit, s - 1)
        words = _after_lost_stop(words)  # "… to vote Labour And he warned": "he"
        if len(words) > 1 and words[-1].group() in ("He", "She", "They"):
            words = words[-1:]  # "… to pay its bills He said": copy that lost a full stop before the pronoun
        while len(words) > 1 and words[0].group().lower() in _LEADING:
            words.pop(0)
        if any(w.group()[0].isupper() for w in words):  # "for that reason John Kirby said": the name, not "reason"
            words = _after_clause_words(words)
            while words and words[0].group()[0].islower() and words[0].group() not in _KEEP_BEFORE_NAME:
                words.pop(0)
        if len(words) > 10:  # no clause boundary: copy that lost a full stop before a titled name ("… the party's
            run = 0  # womens pledge today Scotland's Deputy First Minister John Swinney said:"): that name, or none
            while run < len(words) and words[-1 - run].group()[0].isupper():
                run += 1
            words = words[-run:] if 2 <= run <= 6 else []
        if not words:
            return None
        start, stop = words[0].start(), words[-1].end()
        if not _is_source(self.article[start:stop]):
            return None
        if words[0].group().lower() in ("the", "a", "an") and len(words) > 1 and words[1].group()[0].islower() \
                and self.article[limit:start].rstrip().endswith(","):  # a description, capitals later or not:
            # "Robert Abrams, a geriatric psychiatrist at New York Presbyterian Hospital said" (no closing comma)
            named = self._phrase_before(self.article.rindex(",", limit, start), limit)  # "Dr. Christopher Kuhar,
            if named is not None and _proper(self.article[named[0]:named[1]], min_words=2) and all(
                    w[0].isupper() for w in self.article[named[0]:named[1]].split()):  # the zoo's director"
                return named
        return start, stop

    def _appositive(self, limit: int, comma: int) -> tuple[int, int] | None:
        """The source of "X, <appositive>, said", ``comma`` the one before the verb: a name as the appositive
        ("Britain's spy agency, MI6, said"), else the chain's first name ("Professor Stephen Glaister, director of
        the RAC Foundation, said"; "Her granddaughter, Paris, 20, said"), else its first source ("However, the
        researchers, who also included …, warned"); a relative clause and an age are never the source."""
        limit = max([limit] + [q.end for q in self._quotations if q.closed and limit <= q.end <= comma])
        clause = self.article[limit:comma]
        relatives = list(_RELATIVE_ANYWHERE.finditer(clause))  # the last: the one that runs up to the verb
        if relatives:  # "Root, who twice fell …, said"
            comma = limit + relatives[-1].start()
            clause = self.article[limit:comma]
        starts = [limit] + [limit + m.end() for m in re.finditer(",", clause)]
        segments = [(a, b) for a, b in zip(starts, [*(x - 1 for x in starts[1:]), comma], strict=True)]
        while segments and _AGE.fullmatch(self.article[segments[-1][0]:segments[-1][1]]):
            segments.pop()  # "Kvarzell, 25, told"
        if len(segments) > 1 and _PLACE_BEFORE.search(self.article[segments[-2][0]:segments[-2][1]]) and \
                len(self.article[segments[-1][0]:segments[-1][1]].split()) <= 2:
            segments.pop()  # "CNN affiliate WAVY in Norfolk, Virginia, reported": a place goes on, not a name
        found = [(f, self.article[a:b]) for a, b in segments if (f := self._phrase_before(b, a)) is not None]
        if not found:
            return None
        if found[-1][0][1] == segments[-1][1] and _proper(found[-1][1].strip()):
            return found[-1][0]
        return next((f for f, raw in found if _proper(raw.strip())), found[0][0])

    def _source(self, start: int, end: int, *, cue: str) -> Source:
        text = self.article[start:end].rstrip(".")
        end = start + len(text)
        name = text if text.lower() in _PRONOUNS else self.resolve(text)
        if text.lower().removeprefix("the ") in _PUBLICATION_NOUNS:  # "The newspaper reported": the one named last
            named = [m for m in self._mention_spans if m[1] <= start and _CAPITALISED.findall(m[2])
                     and _CAPITALISED.findall(m[2])[-1] in _PUBLICATIONS]
            if named:
                name = self.resolve(named[-1][2])
        return Source(text=text, start=start, end=end, cue=cue, name=name)

    def _adjacent_cue(self, q: _Quotation, sentence: int | None) -> Source | None:
        """A cue right after the quotation's close ("…,” Kirby said), in the sentence where it closes (a quotation
        may run over several), or right before its opening, in the sentence where it opens (Kirby said: “…)."""
        if sentence is None:
            return None
        s, _e = self.sentences[sentence]
        closing = self._sentence_index(max(q.start, q.end - 1))
        e = self.sentences[closing][1] if closing is not None else q.end
        after = self.article[q.end:e]
        m = re.match(rf"\s*,?\s*(?:(?P<inv>{_VERB})\s+)?", after)
        if m is not None:
            end = q.end + len(after)
            nxt = min([x.start for x in self._quotations if x.start >= q.end] + [end])
            found = self._cue_in(q.end, nxt)
            if found is not None and found.start - q.end < 60:
                return found
        before = self.article[s:q.start]
        if re.search(rf"\b(?:{_VERB})\s*[:,]?\s*$", before):
            return self._cue_in(s, q.start)
        return None


_WEEKDAYS = _set("monday tuesday wednesday thursday friday saturday sunday")
#: First words of a capitalised run that make it a sentence's start, not a name ("In Rome", "After completing").
_NOT_A_NAME_START = _set("""a an the in at after if asked earlier meanwhile this that these those what when while it
its they we i of on for by to from but and as so then there here last next some many most all one two""")
#: Words before a speech verb that say no one was quoted there.
_NOT_SAID = _set("not n't never would could might should didn't don't doesn't wouldn't couldn't")
_CLAUSE_BREAK = re.compile(r"[,;:\u201c\u201d\u2018\"]|\u2019(?!\w)")
#: A relative clause after a comma ("Elton, who distanced himself from the party, told"): never the source.
_RELATIVE_ANYWHERE = re.compile(r",\s*(?:who|whose|which|whom)\b")
#: The end of a segment that places a name ("… at Dali University", "… in Norfolk"), a place's next part after it.
_PLACE_BEFORE = re.compile(r"\b(?:in|at|of|from|near)\s+[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*)*\s*$")
#: An age in commas ("Josh Hatfield, 27, told").
_AGE = re.compile(r"\s*(?:aged\s+)?\d{1,3}\s*")
#: A bracketed aside at the end of a source ("the Center for Immigration Studies (CIS) said").
_ASIDE_AT_END = re.compile(r"\s*\([^()]{1,40}\)\s*$")
#: A transcript's speaker at the start of a sentence ("Joy Smith: …").
_TRANSCRIPT = re.compile(r"\s*([A-Z][\w\u2019'-]+(?:\s+[A-Z][\w\u2019'.-]+){1,2}):\s")
#: Words that open a sentence before its source ("After Copeland told", "Yesterday ParkingEye welcomed").
_LEADING = _set("""meanwhile however also but and so now after when while if as since before until in at on for by
with from then yesterday today earlier later""")
#: Capitalised words that open a sentence, never its subject (besides _NOT_A_NAME_START).
_SUBJECT_SKIP = _set("yesterday today however meanwhile three four five six seven eight nine ten")
#: "When asked, X said": the asker is not the source.
_ASKED_WHEN = _set("when if as after once")
#: Verbs that may come before their source after a comma ("…, said Trooper James Schmidt.").
_INVERTING = frozenset({"said", "says", "added", "explained", "wrote", "warned", "noted", "reported"})
#: Words that make a phrase after a verb a clause, not a source ("…, said the company would close.").
_CLAUSE_WORDS = _set("""would will was is were are had has have could can should may might must did does do not
""")


#: Capitalised only because they open a sentence: never part of the name after them ("However Lizzi").
_SENTENCE_ADVERBS = _set("""however meanwhile but and so now also then still yesterday today later earlier indeed
instead finally moreover furthermore nevertheless""")
#: Words that open a capitalised run only because they open its sentence or clause ("While Apple", "However Lizzi").
_DROPPED_OPENERS = _SENTENCE_ADVERBS | _set("while when after if")
#: Lower-case words that may join the capitalised words of one name ("Secretary of Defense", "Bill de Blasio").
_NAME_JOINS = _set("of the for and de von van der den al bin du da di la le del y in at from near")


#: Capitalised words that open a sentence and are never inside a name: one in a run of capitalised words marks a
#: full stop the copy lost ("… in Menorca While Pat …", "… in China The researchers said").
_OPENERS = frozenset({"The", "While", "When", "After", "But", "And", "However", "Meanwhile", "This", "These", "Those",
                      "It", "He", "She", "They", "We", "If", "So", "Then", "There", "Here", "Yesterday", "Today",
                      "Although", "Though", "Because"})


def _after_lost_stop(words: list[re.Match[str]]) -> list[re.Match[str]]:
    """The words from the last sentence opener inside the phrase: a full stop the copy lost ("… is a lingerie model
    And it was …"). "The" after a lower-case word opens a name ("told The Sun"), so only after a capitalised one."""
    for i in range(len(words) - 1, 0, -1):
        if words[i].group() in _OPENERS and (words[i].group() != "The" or words[i - 1].group()[0].isupper()):
            return words[i:]
    return words


#: Words before a name that make it an object, not a subject a pronoun after it stands for.
_PREPOSITIONS = _set("""with to by from for of at on in about against toward towards alongside beside behind near
like than""")
#: Words ending like a noun for a person that are not one.
_NOT_AGENTS = _set("""over after never later ever however rather either neither other under whether together
further earlier longer per whatever whoever wherever""")


def _describes(word: str) -> bool:
    """Whether a lower-case word can describe the person or body named next ("Zoo visitor Terra Lurie", "BBC radio
    presenter Gilles Peterson", "Defence counsel Jonathan Crowe"): a role, a people word, or a noun for an agent."""
    word = word.rsplit("-", 1)[-1]
    return (word in ROLE_WORDS or word.rstrip("s") in _PEOPLE or word in _NAME_JOINS
            or (word.endswith(("er", "or", "ist", "ian", "man", "woman", "ant", "ent", "ee", "ive", "al", "ary",
                               "sel")) and word not in _NOT_AGENTS))


def _after_clause_words(words: list[re.Match[str]]) -> list[re.Match[str]]:
    """The name that ends a phrase, without the clause before it: a verb before the name ("… macaques in the area
    have Videos also revealed": "Videos"), or lower-case words between two names that cannot join them ("… where
    Julia now lives Julia said": "Julia"). Joining words and a role keep a name whole ("Secretary of Defense Lloyd
    Austin", "CNN affiliate WAVY in Norfolk", "Deputy finance minister Dimitris Mardas")."""
    caps = [i for i, w in enumerate(words) if w.group()[0].isupper()]
    if not caps:
        return words
    i = caps[-1] - 1
    while i >= 0:
        if words[i].group()[0].isupper():
            i -= 1
            continue
        j = i
        while j >= 0 and not words[j].group()[0].isupper():
            j -= 1
        run = [w.group().lower() for w in words[j + 1:i + 1]]
        clause = [k for k, w in enumerate(run) if w in _CLAUSE_WORDS]
        if clause:
            return words[j + 2 + clause[-1]:]
        joins = all(w in _NAME_JOINS or _describes(w) or w.endswith(("'s", "\u2019s")) for w in run) \
            or _describes(run[-1])
        if j >= 0 and not joins:
            return words[i + 1:]
        i = j
    return words


def _distinct(found: Iterable[Source | None]) -> list[Source]:
    """``found``'s sources in order, each resolved name once (the first mention kept)."""
    seen: dict[str, Source] = {}
    for src in found:
        if src is not None:
            seen.setdefault(src.name.lower(), src)
    return list(seen.values())


def _replace(src: Source, **changes: str) -> Source:
    return Source(**{**src.__dict__, **changes})


def _is_source(phrase: str) -> bool:
    """Whether a phrase can name a source: a pronoun, a name, or a noun phrase about people or bodies."""
    words = phrase.split()
    if not words:
        return False
    if len(words) == 1 and words[0].lower() in _PRONOUNS:
        return True
    if words[0].lower().replace("\u2019", "'").split("'")[0] in ("i", "we", "you"):
        return False  # the first or second person speaks inside a quotation, never as the article's source
    if all(w.lower() in _NOT_A_NAME_START | _LEADING for w in words):
        return False  # "When" (asked), "The": opening words, no one
    if any(_CAPITALISED.fullmatch(w) for w in words):
        return True
    return any(w.lower().rstrip("s") in _PEOPLE for w in words)


_PEOPLE = _set("""official source spokesman spokeswoman spokesperson police authoritie expert analyst witness
resident investigator prosecutor lawyer attorney doctor scientist researcher officer agency ministry government
department report statement study survey poll campaigner activist critic supporter fan neighbour neighbor friend
relative family member employee worker teacher student parent manager coach player star group company firm
club team court jury newspaper paper document research network channel broadcaster station website union party
council board committee commission zoo school hospital university institute organisation organization charity
prosecution defence defense affiliate
""") | ROLE_WORDS


def name_keys(name: str) -> list[str]:
    """The words that tell a source apart (lower-cased, generic words dropped): ["lloyd", "austin"]."""
    return list(_name_keys(name))


@lru_cache(maxsize=4096)
def _name_keys(name: str) -> tuple[str, ...]:
    words = [w.lower().strip(".").replace("\u2019s", "").replace("'s", "") for w in _WORD.findall(name)]
    return tuple(w for w in words if w and w not in GENERIC and w not in ROLE_WORDS)


def _proper(phrase: str, min_words: int = 1) -> bool:
    """Whether a phrase is a name: its first word (after an article) and its last are capitalised ("the National
    Intelligence Service", "Professor Stephen Glaister", "MI6"; not "director of the RAC Foundation")."""
    words = phrase.split()
    if words and words[0].lower() in ("the", "a", "an"):
        words = words[1:]
    return (len(words) >= min_words and words[0][0].isupper() and words[-1][0].isupper()
            and words[0].lower() not in _NOT_A_NAME_START)


def _names_after_comma(article: str, start: int, end: int, limit: int) -> bool:
    """Whether the phrase after a verb that follows a comma is its source ("…, said Brian Domonkos, Colorado
    supervisor …", "…, said a spokesman."): a name or a short role phrase that ends at a comma or the sentence's
    end, with no word that makes it a clause ("…, said the company would close")."""
    words = article[start:end].split()
    if any(w.lower() in _CLAUSE_WORDS for w in words):
        return False
    if not re.match(r"\s*(?:[,.;!?]|$)", article[end:limit]):
        return False
    return _proper(article[start:end]) or (len(words) <= 4 and any(
        w.lower().rstrip("s") in _PEOPLE or w.lower() in ROLE_WORDS for w in words))


_TITLES = frozenset({"Mr", "Mrs", "Ms", "Miss", "Dr", "Sir", "Lord", "Lady", "Professor", "Prof"})


def _trim_mention(mention: str) -> str:
    """A run of capitalised words holding two names joined by a capitalised role ("Nicole Keniheart Director Michael
    Redwood", copy without punctuation) keeps the role and the name after it; an organisation before a lower-case
    role stays ("National Security Council spokesman John Kirby")."""
    words = mention.split()
    for i in range(1, len(words) - 1):
        if words[i].rstrip(".") in _TITLES:  # "Court of Appeal Mr Beavis": copy that lost a full stop
            return " ".join(words[i:])
    for i in range(len(words) - 2, 1, -1):
        if words[i].lower() in ROLE_WORDS and words[i][0].isupper() and all(w[0].isupper() for w in words[:i]):
            return " ".join(words[i:])
    return mention


#: The last word of a publication's name, and what an article calls one it has named ("the newspaper reported").
_PUBLICATIONS = _set("News Times Post Journal Herald Telegraph Guardian Mail Mirror Reporter Tribune Gazette Examiner "
                     "Magazine Express Independent Observer Chronicle Globe Standard")  # not "Sun": a surname
_PUBLICATION_NOUNS = _set("newspaper paper tabloid daily magazine")
_BODIES = _PUBLICATIONS | _set(
               "House Ministry Department Agency Service Council Office Police Government Army Pentagon Kremlin "
               "Court Commission Committee Party Union Association Bank Company Group Club Board Authority "
               "Press Network Channel Radio Television TV Broadcasting "
               "Institute University College School Foundation Trust Fund Centre Center Hospital Museum Zoo "
               "Corporation Inc Ltd Organisation Organization Senate Congress Parliament Assembly")


def looks_like_person(name: str) -> bool:
    """A name whose last capitalised word is not that of a body ("Police chief John Carr" is a person, "the
    National Intelligence Service" is not, nor "the Washington Examiner"), and that does not open with "the"
    (people are not named with an article; bodies are)."""
    caps = _CAPITALISED.findall(name)
    first = name.split()[0].lower() if name.split() else ""
    return bool(caps) and caps[-1] not in _BODIES and first != "the"


def _find_quotations(text: str) -> list[_Quotation]:
    """Quotation spans: “…” and "…", and ‘…’ / '…' whose marks stand at word edges (an apostrophe inside a word, as
    in Russia’s or don't, is not a mark). An opening mark while a quotation is open restarts it (copy that runs
    paragraphs of quote together leaves the earlier ones unclosed); a quotation longer than
    :data:`MAX_QUOTATION` characters is taken for a stray mark."""
    out: list[_Quotation] = []
    opened: int | None = None
    for m in re.finditer(r"[\u201c\u201d\"]", text):
        ch, i = m.group(), m.start()
        if ch == '"':
            # a straight mark's side: after a space (or start, bracket, colon, dash) and before a word it opens;
            # after a word and before a space or punctuation it closes; between two words (copy that lost its
            # paragraph breaks: 'feeling."Those') it toggles
            prev = text[i - 1] if i else " "
            nxt = text[i + 1] if i + 1 < len(text) else " "
            if (prev.isspace() or prev in "([\u2014\u2013:") and not nxt.isspace():
                ch = "\u201c"
            elif not prev.isspace() and (nxt.isspace() or nxt in ",.;:!?)]\u2014"):
                ch = "\u201d"
        if ch == "\u201c" or (ch == '"' and opened is None):
            opened = i
        elif opened is not None:
            if i - opened <= MAX_QUOTATION:
                out.append(_Quotation(opened, m.end()))
            opened = None
    single: int | None = None
    for m in re.finditer(r"[\u2018\u2019']", text):
        i = m.start()
        prev = text[i - 1] if i else " "
        nxt = text[i + 1] if i + 1 < len(text) else " "
        opens = nxt.isalnum() and (m.group() == "\u2018" or prev.isspace() or prev in "([\u2014:")
        closes = not nxt.isalnum() and not prev.isspace() and m.group() != "\u2018"
        if opens and not prev.isalnum():
            if single is not None and 0 < i - single <= MAX_QUOTATION:
                # a paragraph of quote that the next one continues: Daily Mail copy opens each and closes the last
                out.append(_Quotation(single, i, closed=False))
            single = i
        elif closes and single is not None:
            if i - single <= MAX_QUOTATION and not any(q.start <= single < q.end for q in out):
                out.append(_Quotation(single, i + 1))
            single = None
    return sorted(out, key=lambda q: q.start)


_STOP = _set("the a an of and for to in on at by with from its their his her s")


def _content(text: str) -> set[str]:
    """Content words, lower-cased, a plural's s dropped ("US officials" → {"us", "official"})."""
    words = (w.lower().replace("\u2019s", "").replace("'s", "") for w in _WORD.findall(text))
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in _STOP}


def agrees(speaker: str | None, sources: list[Source | None], passage: str, attributions: Attributions) -> bool:
    """Whether the model's ``speaker`` is a source the article gives for the evidence (any of its spans'
    ``sources``), or a person the article ties to it: the fullest mention of the speaker names the source, or the
    source's names the speaker ("spokesman John Kirby" for "Kirby"). For a passage the article states itself, no
    speaker agrees, and so does one named in the passage (the subject of the reporting: "Austin was the first …")."""
    named = [s for s in sources if s is not None]
    speaker = speaker.strip() if speaker else None
    if not named:
        if speaker is None:
            return True
        keys = name_keys(speaker.split(",")[0])
        return bool(keys) and keys[-1] in {w.lower() for w in _WORD.findall(passage)}
    if speaker is None:
        return False
    mine = set(name_keys(speaker)) | set(name_keys(attributions.resolve(speaker.split(",")[0].strip())))
    for source in named:
        theirs = set(name_keys(source.text)) | set(name_keys(source.name))
        if mine & theirs:
            return True
        if (not mine or not theirs) and _content(speaker) & (_content(source.text) | _content(source.name)):
            return True
    return False
