"""The JSON-schema → GBNF converter behind the embedded model's constrained decoding."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from summarizer.errors import ModelError
from summarizer.models.gbnf import MAX_REPETITION, GrammarError, literal, repeat, schema_to_gbnf
from summarizer.schema import DraftSummary
from summarizer.schema_tools import restrict_verbatim

AWKWARD = (
    'He said "no".',              # straight quotes: llama-cpp-python's own converter crashes the process on these
    "a \\ b",                     # a backslash
    "It’s “curly” … — fine.",     # non-ASCII punctuation, kept as itself
    "tab\there, line\nbreak",     # control characters
    "[brackets] (parens) {braces} | pipes * + ?",
)


def test_literal_escapes_what_gbnf_would_read_as_syntax() -> None:
    assert literal('a"b') == '"a\\"b"'
    assert literal("a\\b") == '"a\\\\b"'
    assert literal("x\ny\tz\x01") == '"x\\ny\\tz\\x01"'
    assert literal("“curly”") == '"“curly”"'


def test_repeat_states_bounds_with_gbnf_repetition() -> None:
    assert repeat("c", 0, None) == "c*"
    assert repeat("c", 1, None) == "c{1,}"
    assert repeat("c", 1, 150) == "c{1,150}"
    assert repeat("c", 2, 2) == "c{2}"
    with pytest.raises(GrammarError, match="limit"):
        repeat("c", 0, MAX_REPETITION + 1)


def test_draft_schema_keeps_length_bounds_field_order_and_the_quote_enum() -> None:
    schema = restrict_verbatim(DraftSummary.model_json_schema(), AWKWARD)
    grammar = schema_to_gbnf(schema)
    assert 'char{1,150}' in grammar and 'char{1,800}' in grammar and 'char{1,300}' in grammar
    for passage in AWKWARD:
        assert literal(json.dumps(passage, ensure_ascii=False)) in grammar
    claim_rule = next(line for line in grammar.splitlines() if '"\\"quotes\\""' in line)
    order = [claim_rule.index(f'"\\"{name}\\""') for name in ("quotes", "speaker", "statement", "kind", "certainty")]
    assert order == sorted(order)
    assert "{0,1}" in grammar  # maxItems 2 quotes: one more after the first, at most


def test_the_speaker_is_restricted_to_the_articles_names_or_null() -> None:
    names = ("the White House", 'John "Jack" Kirby')
    schema = restrict_verbatim(DraftSummary.model_json_schema(), AWKWARD, names)
    speaker = schema["$defs"]["DraftClaim"]["properties"]["speaker"] if "$defs" in schema else \
        schema["properties"]["claims"]["items"]["properties"]["speaker"]
    assert speaker["anyOf"] == [{"type": "string", "enum": list(names)}, {"type": "null"}]
    assert "x-source" not in json.dumps(schema)
    grammar = schema_to_gbnf(schema)
    for name in names:
        assert literal(json.dumps(name, ensure_ascii=False)) in grammar
    # without names, the speaker stays a free string (a backend with nothing to enforce)
    free = restrict_verbatim(DraftSummary.model_json_schema(), AWKWARD)
    assert "x-source" not in json.dumps(free) and "enum" not in json.dumps(
        free["properties"]["claims"]["items"]["properties"]["speaker"])


@pytest.mark.parametrize("schema, expected", [
    ({"type": ["string", "null"]}, "string | null"),
    ({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, "integer | boolean"),
    ({"const": "x"}, '"\\"x\\""'),
    ({"type": "array", "items": {"type": "number"}}, '"[" ws (number (ws "," ws number)*)? ws "]"'),
])
def test_small_schemas(schema: dict[str, Any], expected: str) -> None:
    assert expected in schema_to_gbnf(schema)


def test_unsupported_schemas_are_refused_by_name() -> None:
    with pytest.raises(GrammarError, match="references"):
        schema_to_gbnf({"$ref": "https://example.com/x.json"})
    with pytest.raises(GrammarError, match="empty enum"):
        schema_to_gbnf({"enum": []})


@pytest.fixture(scope="module")
def vocab() -> Iterator[Any]:
    """SmolLM2's vocabulary only (a fraction of a second): enough for llama.cpp to parse a grammar."""
    llama_cpp = pytest.importorskip("llama_cpp")
    from summarizer.models.weights import SMOLLM2

    try:
        path = SMOLLM2.path()
    except Exception as exc:  # the weights package is part of the test install; say so if it is missing
        pytest.skip(f"SmolLM2 weights not installed: {exc}")
    llama = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    yield llama
    llama.close()


def test_llamacpp_accepts_every_grammar_we_build(vocab: Any) -> None:
    from summarizer.models.local import grammar_for

    schemas = [
        restrict_verbatim(DraftSummary.model_json_schema(), AWKWARD),
        DraftSummary.model_json_schema(),
        {"type": "object", "properties": {"a": {}, "b": {"type": ["integer", "null"]}, "c": {"type": "string",
                                                                                                "maxLength": 2000}}},
    ]
    for schema in schemas:
        assert grammar_for(vocab, schema) is not None


def test_a_grammar_llamacpp_refuses_is_a_model_error_not_a_crash(vocab: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from summarizer.models import local

    monkeypatch.setattr(local, "schema_to_gbnf", lambda schema: "root ::= undefined-rule\n")
    with pytest.raises(ModelError, match="refused the output grammar"):
        local.grammar_for(vocab, {"type": "string"})


@pytest.mark.parametrize(("schema", "message"), [
    ({"type": "string", "minLength": 3, "maxLength": 2}, "impossible bounds"),  # llama.cpp hangs on char{3,2}
    ({"type": "array", "items": {}, "minItems": 2, "maxItems": 1}, "impossible bounds"),
    ({"type": "string", "minLength": 2500}, "limit"),
    ({"$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
      "$ref": "#/$defs/Node"}, "recursive"),
    ({"$ref": "#/$defs/Missing"}, "unknown reference"),
    ({"not": {"type": "string"}}, "not"),
    ({"allOf": [{"type": "string"}, {"maxLength": 3}]}, "allOf"),
])
def test_schemas_a_grammar_cannot_honour_are_refused_not_widened(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(GrammarError, match=message):
        schema_to_gbnf(schema)


def test_rule_names_are_ascii_whatever_the_property_names(vocab: Any) -> None:
    from summarizer.models.local import grammar_for

    schema = {"type": "object", "properties": {"café": {"enum": ["x"]}, "naïve \"name\"": {"type": "string"}}}
    grammar = schema_to_gbnf(schema)
    assert all(line.split(" ::= ")[0].isascii() for line in grammar.splitlines())
    assert grammar_for(vocab, schema) is not None
