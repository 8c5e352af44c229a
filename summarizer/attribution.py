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
- **Pronouns** ("he said") resolve to the last named source before them.
- **Resolution**: a source's name resolves to the longest mention in the article of the same name, its title and
  role words included ("National Security Council spokesman John Kirby").

The sentence a span starts in decides its source; a span inside a quotation takes the quotation's.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from .grounding import sentence_spans


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Verbs (finite forms and the participles that continue a clause) that attribute what surrounds them.
SPEECH_VERBS = (
    "said", "says", "say", "told", "tells", "added", "adds", "stated", "noted", "explained", "explains", "warned",
    "warns", "claimed", "insisted", "insists", "argued", "argues", "wrote", "writes", "tweeted", "announced",
    "confirmed", "admitted", "acknowledged", "testified", "declared", "estimated", "revealed", "predicted", "urged",
    "replied", "recalled", "continued", "posted", "joked", "conceded", "cautioned", "stressed", "asked",
    "telling", "saying", "adding", "warning", "explaining",
)  # fmt: skip
_VERB = "|".join(sorted(set(SPEECH_VERBS), key=len, reverse=True))
#: Verbs that attribute without introducing speech ("the White House said Wednesday").
_PLAIN = frozenset({"said", "says", "say", "according to"})
#: What follows a verb that introduces speech: "that" (an object first allowed: "told reporters that"), a colon,
#: a comma, a quotation mark.
_SPEECH_FOLLOWS = re.compile(r"\s*(?:(?:[\w\u2019'-]+\s+){0,3}that\b|[:,]|[\u201c\u2018\"'])")
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
                       r"who|when|after|before|if|although|though|where|whom|whose)\b")
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
            self._raw_memo[i] = self._cue_in(*self.sentences[i])
        return self._raw_memo[i]

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
        for i in range(sentence - 1, -1, -1):
            before = self._raw(i)
            if before is not None and before.text.lower() not in _PRONOUNS and fits(before.name):
                return _replace(found, name=before.name)
        names = [m for m in self._mention_spans if m[1] <= found.start and fits(m[2]) and len(m[2].split()) >= 2]
        return _replace(found, name=self.resolve(names[-1][2])) if names else None

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

    def sources(self) -> list[Source]:
        """Every distinct source the article cites, by resolved name, in order of first appearance."""
        seen: dict[str, Source] = {}
        found = [self._sentence_source(i) for i in range(len(self.sentences))]
        found += [self._quotation_source(i) for i in range(len(self._quotations))]
        for src in sorted((f for f in found if f is not None), key=lambda f: f.start):
            seen.setdefault(src.name.lower(), src)
        return list(seen.values())

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
        best = name
        for m, words in self._mentions_by_last.get(keys[-1], ()):
            if len(m) > len(best) and all(k in words for k in keys):
                best = m
        return best

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
        return [(s, e, _trim_mention(self.article[s:e])) for s, e in merged]

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

    def _outside_quotes(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of ``[start, end)`` outside (closed) quotation marks."""
        parts, pos = [], start
        first = bisect.bisect_left(self._quotation_ends, start + 1)
        for q in self._quotations[first:]:
            if q.start >= end:
                break
            if not q.closed or q.end <= start:  # an unclosed one may be narrative: cues count
                continue
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
        if before and before[-1].lower() in _PASSIVE:
            return None
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
        found = self._phrase_before(cue.start(), start)
        return self._source(*found, cue=verb) if found is not None else None

    def _introduces_speech(self, cue: re.Match[str], start: int, end: int) -> bool:
        """Whether a speech verb introduces or closes speech: "that", a colon, a quotation after it (an object
        between allowed: "told reporters that"), or a closed quotation before it in the sentence."""
        if any(q.closed and start <= q.start and q.end <= cue.start() for q in self._quotations):
            return True  # it closes a quotation: "“…,” Austin told reporters"
        after = self.article[cue.end():min(end, cue.end() + 60)]
        if cue.group().lower() in ("urged", "told", "warned", "asked") and _ASKED_TO.match(after):
            return True  # "urged Aston Villa to man up"
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
        cut = 0
        for m in _BOUNDARY.finditer(text):
            cut = m.end()
        s = limit + cut
        words = list(_WORD.finditer(self.article, s, pos))
        while words and words[-1].group().lower() in _FILLER | _WEEKDAYS:
            words.pop()
        if not words and self.article[s - 1:s] == ",":  # "X, the spokesman, said": the appositive before
            clause = self.article[limit:s - 1]
            relative = _RELATIVE.search(clause)
            if relative is not None:  # "Root, who twice fell in England's defeat, said": the name before "who"
                return self._phrase_before(limit + relative.start(), limit)
            return self._phrase_before(s - 1, limit)
        while words and words[0].group().lower() in ("meanwhile", "however", "also", "but", "and", "so", "now"):
            words.pop(0)
        if any(w.group()[0].isupper() for w in words):  # "for that reason John Kirby said": the name, not "reason"
            while words and words[0].group()[0].islower() and words[0].group() not in _KEEP_BEFORE_NAME:
                words.pop(0)
        if not words or len(words) > 10:
            return None
        start, stop = words[0].start(), words[-1].end()
        return (start, stop) if _is_source(self.article[start:stop]) else None

    def _source(self, start: int, end: int, *, cue: str) -> Source:
        text = self.article[start:end].rstrip(".")
        end = start + len(text)
        name = text if text.lower() in _PRONOUNS else self.resolve(text)
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
#: An appositive that is a relative clause, back to the comma that opens it.
_RELATIVE = re.compile(r",\s*(?:who|whose|which|whom)\b[^,]*$")


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
    if any(_CAPITALISED.fullmatch(w) for w in words):
        return True
    return any(w.lower().rstrip("s") in _PEOPLE for w in words)


_PEOPLE = _set("""official source spokesman spokeswoman spokesperson police authoritie expert analyst witness
resident investigator prosecutor lawyer attorney doctor scientist researcher officer agency ministry government
department report statement study survey poll campaigner activist critic supporter fan neighbour neighbor friend
relative family member employee worker teacher student parent manager coach player star
""")


def name_keys(name: str) -> list[str]:
    """The words that tell a source apart (lower-cased, generic words dropped): ["lloyd", "austin"]."""
    return list(_name_keys(name))


@lru_cache(maxsize=4096)
def _name_keys(name: str) -> tuple[str, ...]:
    words = [w.lower().strip(".").replace("\u2019s", "").replace("'s", "") for w in _WORD.findall(name)]
    return tuple(w for w in words if w and w not in GENERIC and w not in ROLE_WORDS)


def _trim_mention(mention: str) -> str:
    """A run of capitalised words holding two names joined by a capitalised role ("Nicole Keniheart Director Michael
    Redwood", copy without punctuation) keeps the role and the name after it; an organisation before a lower-case
    role stays ("National Security Council spokesman John Kirby")."""
    words = mention.split()
    for i in range(len(words) - 2, 1, -1):
        if words[i].lower() in ROLE_WORDS and words[i][0].isupper() and all(w[0].isupper() for w in words[:i]):
            return " ".join(words[i:])
    return mention


_BODIES = _set("House Ministry Department Agency Service Council Office Police Government Army Pentagon Kremlin "
               "Court Commission Committee Party Union Association Bank Company Group Club Board Authority")


def looks_like_person(name: str) -> bool:
    """A name whose last capitalised word is not that of a body ("Police chief John Carr" is a person, "the
    National Intelligence Service" is not)."""
    caps = _CAPITALISED.findall(name)
    return bool(caps) and caps[-1] not in _BODIES


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
