"""Transforming a pydantic JSON schema for the different ways models take one."""

from __future__ import annotations

import copy
from typing import Any

from .models.base import SOURCE_KEY, VERBATIM_KEY

_STRICT_UNSUPPORTED = ("default", "title", "maxLength", "minLength")


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace every local ``$ref`` with its definition and drop ``$defs`` (some runtimes do not follow refs)."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                merged = {**walk(copy.deepcopy(defs[name])), **{k: v for k, v in node.items() if k != "$ref"}}
                return merged
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


def without_keys(schema: Any, keys: tuple[str, ...]) -> Any:
    """A copy of ``schema`` without the given keywords anywhere (properties named like them are kept)."""
    if isinstance(schema, dict):
        out: dict[str, Any] = {}
        for k, v in schema.items():
            if k in keys:
                continue
            if k == "properties" and isinstance(v, dict):
                out[k] = {name: without_keys(sub, keys) for name, sub in v.items()}
            else:
                out[k] = without_keys(v, keys)
        return out
    if isinstance(schema, list):
        return [without_keys(v, keys) for v in schema]
    return schema


def strict_schema(schema: dict[str, Any], *, keep_markers: bool = False) -> dict[str, Any]:
    """OpenAI ``strict`` form: refs inlined, every property required, no additional properties, no defaults (the
    ``x-verbatim``/``x-source`` markers dropped too, unless kept for :func:`with_choices`)."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: walk(v) for k, v in node.items()}
            if node.get("type") == "object" and "properties" in node:
                node["required"] = list(node["properties"])
                node["additionalProperties"] = False
            return node
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    markers = () if keep_markers else (VERBATIM_KEY, SOURCE_KEY)
    cleaned = without_keys(inline_refs(schema), (*_STRICT_UNSUPPORTED, *markers))
    result: dict[str, Any] = walk(cleaned)
    return result


def with_choices(schema: dict[str, Any], choices: tuple[str, ...], sources: tuple[str, ...]) -> dict[str, Any]:
    """An inlined schema that still has its markers (:func:`strict_schema` with ``keep_markers``, or
    :func:`plain_schema` likewise) with every string marked ``x-verbatim`` turned into an ``enum`` of ``choices``
    and every one marked ``x-source`` into an ``enum`` of ``sources`` or null, and the markers dropped; empty
    choices leave a string free. One walk, no reference inlining: what an endpoint request pays per article."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get(VERBATIM_KEY):
                return {"type": "string", "enum": list(choices)} if choices else \
                    {k: v for k, v in node.items() if k != VERBATIM_KEY}
            if node.get(SOURCE_KEY):
                rest = {k: v for k, v in node.items() if k != SOURCE_KEY}
                if not sources:
                    return rest
                rest.pop("type", None)
                return {**rest, "anyOf": [{"type": "string", "enum": list(sources)}, {"type": "null"}]}
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


def plain_schema(schema: dict[str, Any], *, keep_markers: bool = False) -> dict[str, Any]:
    """Refs inlined, titles and the verbatim marker dropped: what a prompt or a ``json_object`` request shows."""
    markers = () if keep_markers else (VERBATIM_KEY, SOURCE_KEY)
    result: dict[str, Any] = without_keys(inline_refs(schema), ("title", *markers))
    return result


def restrict_verbatim(schema: dict[str, Any], choices: tuple[str, ...],
                      sources: tuple[str, ...] = ()) -> dict[str, Any]:
    """Turn every string marked ``x-verbatim`` into an ``enum`` of ``choices``, and every one marked ``x-source``
    into an ``enum`` of ``sources`` or null (for grammar-constrained decoding). Empty choices leave a string free:
    :func:`with_choices` on the inlined schema, titles dropped."""
    result: dict[str, Any] = without_keys(with_choices(inline_refs(schema), choices, sources), ("title",))
    return result
