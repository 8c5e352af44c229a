"""JSON schema → GBNF grammar for llama.cpp, written for the schemas this library sends.

llama-cpp-python ships a converter, but it mis-escapes a backslash or a straight double quote inside an ``enum`` value
and unrolls string length bounds into deeply nested groups that llama.cpp's parser refuses; either way llama.cpp
rejects the grammar and the process crashes. This converter escapes every literal for GBNF, states bounds with
GBNF's ``{m,n}`` repetition, and supports what our schemas use: objects (properties in schema order), arrays with
``minItems``/``maxItems`` (and ``prefixItems`` that are all required), strings with ``minLength``/``maxLength``,
``enum``/``const``, ``anyOf``/``oneOf``, type lists, numbers, integers, booleans, null, local non-recursive ``$ref``,
and ``{}`` (any JSON value); and :data:`CONTAINS_KEY`, texts a string must hold. Value constraints a grammar could
only approximate (``pattern``, ``format``, ``minimum``…) are left to validation; structural keywords it cannot
honour (``not``, ``if``, optional ``prefixItems``, several ``allOf`` parts, recursion…) raise :class:`GrammarError`.
"""

from __future__ import annotations

import json
from typing import Any

#: Extension key: texts a string must contain verbatim (as written inside the JSON string): a text, or a list of
#: one or two needs, each a list of texts of which one must appear.
CONTAINS_KEY = "x-contains"

#: Extension key: a string of free text that may not hold "[", "{" or "}" (the prompt's passage marks, "[P3]", are
#: not text to copy into a summary, nor is the JSON of a claim). Its value :data:`LATIN` also keeps out letters of
#: scripts other than Latin (Greek, Cyrillic, CJK...; punctuation, currency signs and accented Latin letters stay):
#: for text said again from Latin-script text, where a small model's slips into Chinese are not a translation.
PLAIN_KEY = "x-plain"
LATIN = "latin"
#: The code points :data:`LATIN` keeps out: Greek to Mongolian and the phonetic extensions, Glagolitic to the end of
#: the basic plane (CJK, Hangul, presentation forms), and every supplementary plane.
NON_LATIN = ((0x0370, 0x1DFF), (0x2C00, 0xFFFF), (0x10000, 0x10FFFF))


def is_latin(text: str) -> bool:
    """Whether ``text`` holds no code point :data:`LATIN` keeps out (accents, punctuation and currency signs stay)."""
    return not any(low <= ord(ch) <= high for ch in text for low, high in NON_LATIN)


def _class_range(low: int, high: int) -> str:
    return f"\\u{low:04X}-\\u{high:04X}" if high <= 0xFFFF else f"\\U{low:08X}-\\U{high:08X}"

#: llama.cpp refuses repetition counts above this (``MAX_REPETITION_THRESHOLD`` in llama-grammar.cpp).
MAX_REPETITION = 2000

_BASE_RULES = {
    # One optional space between tokens: small models otherwise run away in whitespace, and compact JSON costs fewer
    # tokens. A JSON parser does not care.
    "ws": '" "?',
    # One character of a JSON string as it is written: anything but a quote, a backslash or a control character, or
    # an escape sequence.
    "char": r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})',
    "plainchar": r'[^"\\\x7F\x00-\x1F[{}] | "\\" ["\\/bfnrt]',  # no "\u007b" for "{" either
    "latinchar": r'[^"\\\x7F\x00-\x1F[{}' + "".join(_class_range(*r) for r in NON_LATIN) + r'] | "\\" ["\\/bfnrt]',
    # A character that does not go on a word: what may follow a required text ("said", not "Believer").
    # (not a bracket or a brace either: it stands beside free text too)
    "wordend": r'[^"\\\x7F\x00-\x1F[{}a-zA-Z0-9] | "\\" ["\\/bfnrt]',
    "string": r'"\"" char* "\""',
    "integer": r'"-"? ("0" | [1-9] [0-9]{0,15})',
    "number": r'integer ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,4})?',
    "boolean": '"true" | "false"',
    "null": '"null"',
    "value": "object | array | string | number | boolean | null",
    "object": r'"{" ws (string ws ":" ws value (ws "," ws string ws ":" ws value)*)? ws "}"',
    "array": r'"[" ws (value (ws "," ws value)*)? ws "]"',
}
_BASE_DEPENDENCIES = {
    "string": ("char",),
    "number": ("integer",),
    "value": ("object", "array", "string", "number", "boolean", "null"),
    "object": ("ws", "string", "value"),
    "array": ("ws", "value"),
}
#: Keywords whose meaning a grammar cannot carry here; a schema using them is refused rather than widened. Value
#: constraints a grammar could only approximate (``pattern``, ``format``, ``minimum``/``maximum``, ``multipleOf``,
#: ``uniqueItems``) are left to validation, which checks every answer anyway.
_REFUSED = frozenset({"not", "if", "then", "else", "patternProperties", "dependentSchemas",
                      "dependentRequired", "unevaluatedProperties", "unevaluatedItems", "contains"})
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class GrammarError(ValueError):
    """The schema uses something this converter does not support."""


def literal(text: str) -> str:
    """``text`` as a GBNF string literal that matches exactly ``text``."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def json_literal(value: Any) -> str:
    """A GBNF literal matching ``value`` written as JSON (non-ASCII characters as themselves, not ``\\u`` escapes)."""
    return literal(json.dumps(value, ensure_ascii=False))


def repeat(item: str, low: int, high: int | None) -> str:
    """``item`` repeated ``low`` to ``high`` times (``None``: unbounded), in GBNF."""
    if max(low, high or 0) > MAX_REPETITION:
        raise GrammarError(f"a bound of {max(low, high or 0)} exceeds llama.cpp's limit of {MAX_REPETITION}")
    if low < 0 or (high is not None and low > high):
        raise GrammarError(f"impossible bounds: at least {low} and at most {high}")
    if high is None:
        return f"{item}{{{low},}}" if low else f"{item}*"
    if low == high:
        return f"{item}{{{low}}}"
    return f"{item}{{{low},{high}}}"


class _Converter:
    def __init__(self, schema: dict[str, Any]) -> None:
        self._defs: dict[str, Any] = schema.get("$defs", {})
        self._rules: dict[str, str] = {}
        self._names: dict[str, str] = {}  # rule body -> name, so identical sub-schemas share a rule
        self._expanding: set[str] = set()  # $refs being expanded: a recursive schema is refused, not looped on

    def _use(self, name: str) -> str:
        if name not in self._rules:
            self._rules[name] = _BASE_RULES[name]
            for dep in _BASE_DEPENDENCIES.get(name, ()):
                self._use(dep)
        return name

    def _add(self, hint: str, body: str) -> str:
        if body in self._names:
            return self._names[body]
        name = "".join(c if c.isascii() and c.isalnum() else "-" for c in hint).strip("-").lower() or "rule"
        base, n = name, 1
        while name in self._rules or name in _BASE_RULES:
            n += 1
            name = f"{base}-{n}"
        self._rules[name] = body
        self._names[body] = name
        return name

    def visit(self, node: Any, hint: str) -> str:
        """The name of a rule (or an inline expression) matching ``node``."""
        if node is True or node == {}:
            return self._use("value")
        if not isinstance(node, dict):
            raise GrammarError(f"unsupported schema at {hint!r}: {node!r}")
        if "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/$defs/"):
                raise GrammarError(f"only local $defs references are supported, not {ref!r}")
            name = ref.rsplit("/", 1)[-1]
            if name not in self._defs:
                raise GrammarError(f"unknown reference {ref!r}")
            if name in self._expanding:
                raise GrammarError(f"recursive schemas are not supported ({ref!r})")
            self._expanding.add(name)
            try:
                return self.visit({**self._defs[name], **{k: v for k, v in node.items() if k != "$ref"}}, hint)
            finally:
                self._expanding.discard(name)
        unsupported = sorted(_REFUSED & node.keys())
        if unsupported or len(node.get("allOf", ())) > 1:
            raise GrammarError(f"unsupported keyword(s) at {hint!r}: {', '.join(unsupported) or 'allOf'}")
        if "const" in node:
            return self._add(hint, json_literal(node["const"]))
        if "enum" in node:
            if not node["enum"]:
                raise GrammarError(f"empty enum at {hint!r}")
            return self._add(hint, " | ".join(json_literal(v) for v in node["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in node:
                alternatives = [self.visit(sub, f"{hint}-{i}") for i, sub in enumerate(node[key])]
                return self._add(hint, " | ".join(alternatives))
        if "allOf" in node and len(node["allOf"]) == 1:
            return self.visit({**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}, hint)
        kind = node.get("type")
        if isinstance(kind, list):
            return self.visit({"anyOf": [{**node, "type": t} for t in kind]}, hint)
        if kind == "object" or (kind is None and "properties" in node):
            return self._object(node, hint)
        if kind == "array":
            return self._array(node, hint)
        if kind == "string":
            return self._string(node, hint)
        if kind in ("integer", "number", "boolean", "null"):
            return self._use(kind)
        if kind is None:
            return self._use("value")
        raise GrammarError(f"unsupported type {kind!r} at {hint!r}")

    def _object(self, node: dict[str, Any], hint: str) -> str:
        properties: dict[str, Any] = node.get("properties", {})
        if not properties:
            return self._use("object")
        self._use("ws")
        # Every property, in schema order: optional ones are written too (pydantic fills the same defaults), and a
        # fixed order keeps the evidence-first field order the prompt relies on.
        parts = [f'{json_literal(name)} ws ":" ws {self.visit(sub, f"{hint}-{name}")}'
                 for name, sub in properties.items()]
        return self._add(hint or "root-object", '"{" ws ' + ' ws "," ws '.join(parts) + ' ws "}"')

    def _array(self, node: dict[str, Any], hint: str) -> str:
        self._use("ws")
        low, high = int(node.get("minItems", 0)), node.get("maxItems")
        if node.get("prefixItems"):
            return self._tuple(node, hint, low, high)
        item = self.visit(node.get("items", {}), f"{hint}-item")
        if high is not None and int(high) == 0:
            return self._add(hint, '"[" ws "]"')
        more = repeat(f'(ws "," ws {item})', max(low - 1, 0), None if high is None else int(high) - 1)
        body = f"{item} {more}"
        if low == 0:
            body = f"({body})?"
        return self._add(hint, f'"[" ws {body} ws "]"')

    def _tuple(self, node: dict[str, Any], hint: str, low: int, high: Any) -> str:
        """An array whose first items each follow their own schema (``prefixItems``), then ``items``. Only the
        form where every prefix item is required (``minItems`` at least their number) is supported."""
        prefix = node["prefixItems"]
        if low < len(prefix) or (high is not None and int(high) < len(prefix)):
            raise GrammarError(f"prefixItems at {hint!r} need minItems and maxItems of at least {len(prefix)}")
        if node.get("items") is False:
            high = len(prefix)
        heads = [self.visit(sub, f"{hint}-{i}") for i, sub in enumerate(prefix)]
        body = ' ws "," ws '.join(heads)
        more_high = None if high is None else int(high) - len(prefix)
        if more_high != 0:
            item = self.visit(node.get("items", {}), f"{hint}-item")
            body += " " + repeat(f'(ws "," ws {item})', low - len(prefix), more_high)
        return self._add(hint, f'"[" ws {body} ws "]"')

    def _string(self, node: dict[str, Any], hint: str) -> str:
        low, high = int(node.get("minLength", 0)), node.get("maxLength")
        plain = node.get(PLAIN_KEY)
        char = "latinchar" if plain == LATIN else "plainchar" if plain else "char"
        if node.get(CONTAINS_KEY):
            return self._containing(node[CONTAINS_KEY], high, hint, char)
        if low == 0 and high is None and char == "char":
            return self._use("string")
        self._use(char)
        return self._add(hint, '"\\"" ' + repeat(char, low, None if high is None else int(high)) + ' "\\""')

    def _containing(self, needs: Any, high: Any, hint: str, char: str = "char") -> str:
        """A string that holds one of the texts of each need (at most two needs, in either order), at most ``high``
        characters long: the text before, between and after the needs each gets an equal share of the bound (a
        grammar cannot count all sides at once), so a model that never writes a need is still brought to an end.
        A minimum length is left to validation."""
        needs = [[n] if isinstance(n, str) else list(n) for n in ([needs] if isinstance(needs, str) else needs)]
        if not 1 <= len(needs) <= 2 or not all(needs):
            raise GrammarError(f"{CONTAINS_KEY} at {hint!r} takes one or two lists of texts")
        self._use(char)
        inner = [[json.dumps(t, ensure_ascii=False)[1:-1] for t in need] for need in needs]
        room = None if high is None else max(int(high) - sum(max(map(len, n)) for n in inner), 0) // (len(inner) + 1)
        # a required text is a word of its own: the text before it ends where a word ends and the text after it
        # starts where one ends ("in 10,000", never "in10,000"; "said", never "Believer" for "Believe")
        shorter = repeat(char, 0, None if room is None else max(room - 1, 0))
        before = f"({shorter} wordend)?" if room != 0 else '""'
        after = f"(wordend {shorter})?" if room != 0 else '""'
        between = (f"(wordend ({repeat(char, 0, None if room is None else max(room - 2, 0))} wordend)?)?"
                   if room != 0 else '""')
        self._use("wordend")
        alts = [self._add(f"{hint}-need", " | ".join(literal(t) for t in need)) for need in inner]
        orders = [alts] if len(alts) == 1 else [alts, alts[::-1]]
        body = " | ".join(f"{before} " + f" {between} ".join(order) + f" {after}" for order in orders)
        return self._add(hint, f'"\\"" ({body}) "\\""')

    def grammar(self, root: str) -> str:
        lines = [f"root ::= {root}"]
        lines += [f"{name} ::= {body}" for name, body in self._rules.items()]
        return "\n".join(lines) + "\n"


def schema_to_gbnf(schema: dict[str, Any]) -> str:
    """A GBNF grammar (root rule ``root``) matching the JSON documents ``schema`` describes."""
    converter = _Converter(schema)
    return converter.grammar(converter.visit(schema, "root-value"))
