"""Stop an answer that has begun to loop: items of its array repeating earlier items' field, several in a row.

Decoding greedily, a small model can fall into a loop: SmolLM2 on the seed article writes its third claim's statement
three more times, each time with another passage id, about 95 tokens a claim. Every repeat is dropped afterwards (a
summary keeps one claim per statement), so the tokens buy nothing. A backend that decodes token by token feeds each
piece of text to a :class:`RepeatWatch`; once ``rule.times`` items in a row each repeat an earlier item's field, it
stops generating, and the answer is the text up to the end of the last item before that run, with the containers
still open closed.

The request's rule is two in a row: the default model, on one of ten frank-valid articles, repeated its fourth claim
as its fifth and then wrote a new sixth; after two repeats in a row it wrote nothing new (10 drafts). A model may
hold a stricter rule of its own (SmolLM2 stops at its first repeat: nothing right followed one in its 20 frank-valid
drafts; ``Weights.loop_repeats``, ``bench/README.md``).
Endpoints do not stop early (their answer arrives whole); the pipeline drops repeats.
"""

from __future__ import annotations

import codecs
import json

from .base import RepeatStop

_CLOSE = {"{": "}", "[": "]"}


def _normal(value: str) -> str:
    return " ".join(value.casefold().split())


class RepeatWatch:
    """Reads an answer as it is generated, one piece of text at a time, for a repeat under ``rule``.

    The answer is a JSON object; ``rule.array`` names an array of objects among its top-level keys, ``rule.field``
    a string field of those objects. :meth:`feed` returns True once that field of an item, complete, equals (case and
    spacing aside) the same field of an earlier item, for ``rule.times`` items in a row; :attr:`answer` is then the
    answer cut before the first of them.
    """

    def __init__(self, rule: RepeatStop) -> None:
        self.rule = rule
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
        self._text: list[str] = []
        self._length = 0
        self._stack: list[str] = []  # open containers, "{" or "["
        self._keys: list[str | None] = []  # per open container: the key whose value comes next (objects)
        self._in_string = False
        self._escaped = False
        self._string: list[str] = []
        self._after_colon = False
        self._in_array = False  # inside rule.array (the stack is ["{", "["] or deeper)
        self._seen: set[str] = set()
        self._cut: tuple[int, str] | None = None  # end of the last complete item, and what closes the answer there
        self._run_start: tuple[int, str] | None = None  # the cut before the current run of repeated items
        self._run_length = 0  # repeated items in a row so far
        #: Whether a repeat was found (and :attr:`answer` is the cut answer).
        self.repeated = False
        #: The 1-based position in the array of the item being read; once a loop is found, of its last repeat.
        self.item = 0

    def feed_bytes(self, piece: bytes) -> bool:
        """:meth:`feed` for a token's bytes (a character may span tokens)."""
        return self.feed(self._decoder.decode(piece))

    def feed(self, piece: str) -> bool:
        """Read ``piece``; True once the answer repeats (and from then on)."""
        if self.repeated:
            return True
        for char in piece:
            self._read(char)
            self._text.append(char)
            self._length += 1
            if self.repeated:
                break
        return self.repeated

    @property
    def answer(self) -> str:
        """The answer read so far; after a repeat, cut after the last item before it and closed."""
        text = "".join(self._text)
        if not self.repeated:
            return text
        assert self._run_start is not None  # set with the first repeat of the run
        end, closers = self._run_start
        return text[:end] + closers

    def _read(self, char: str) -> None:
        if self._in_string:
            if self._escaped:
                self._escaped = False
            elif char == "\\":
                self._escaped = True
            elif char == '"':
                self._in_string = False
                self._string_done("".join(self._string))
                return
            self._string.append(char)
            return
        if char == '"':
            self._in_string, self._string = True, []
        elif char in "{[":
            if self._is_item_start(char):
                self.item += 1
            self._stack.append(char)
            self._keys.append(None)
            self._after_colon = False
        elif char in "}]":
            if self._stack:
                self._stack.pop()
                self._keys.pop()
            if self._in_array and len(self._stack) == 2 and char == "}":  # an item of the array closed
                self._cut = (self._length + 1, "".join(_CLOSE[c] for c in reversed(self._stack)))
            if self._in_array and len(self._stack) < 2:
                self._in_array = False
        elif char == ":":
            self._after_colon = True
        elif char == ",":
            self._after_colon = False
            if self._keys:
                self._keys[-1] = None

    def _is_item_start(self, char: str) -> bool:
        """Whether ``char`` opens the value of ``rule.array`` (entering it) or an item of it (True)."""
        if char == "[" and self._stack == ["{"] and self._keys[-1] == self.rule.array and self._after_colon:
            self._in_array = True
            return False
        return char == "{" and self._in_array and len(self._stack) == 2

    def _string_done(self, raw: str) -> None:
        if not self._stack or self._stack[-1] != "{":
            return
        if not self._after_colon:  # a key
            self._keys[-1] = raw
            return
        self._after_colon = False
        if self._in_array and len(self._stack) == 3 and self._keys[-1] == self.rule.field:
            try:
                value = json.loads(f'"{raw}"', strict=False)
            except json.JSONDecodeError:
                value = raw
            key = _normal(value)
            if key in self._seen and self._cut is not None:
                if not self._run_length:
                    self._run_start = self._cut  # the end of the item before the run
                self._run_length += 1
                self.repeated = self._run_length >= self.rule.times
            else:
                self._run_length = 0
            self._seen.add(key)
