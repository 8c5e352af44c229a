"""Greedy grammar-constrained sampling that asks the grammar about the chosen token first
(:mod:`summarizer.models.sampling`), with the real embedded SmolLM2: the same answer, token for token, as
llama-cpp-python's own chain, which asks the grammar about every token of the vocabulary."""

from __future__ import annotations

import json
from typing import Any

import pytest

from summarizer.models.local import REPEAT_PENALTY, grammar_for
from summarizer.models.sampling import GrammarLast, install
from summarizer.models.weights import SMOLLM2
from summarizer.pipeline import _json_schema
from summarizer.schema import DraftSummary
from summarizer.schema_tools import plain_schema

pytestmark = pytest.mark.slow


def _llama() -> Any:
    from llama_cpp import Llama

    return Llama(model_path=str(SMOLLM2.path()), n_ctx=2048, n_threads=2, seed=0, verbose=False)


def _answer(llama: Any, seed: str, temperature: float = 0.0) -> str:
    schema = plain_schema(_json_schema(DraftSummary))
    messages = [{"role": "system", "content": f"Summarise the article as JSON following this schema: "
                                              f"{json.dumps(schema)}"},
                {"role": "user", "content": seed[:1500]}]
    out = llama.create_chat_completion(messages=messages, grammar=grammar_for(llama, schema), max_tokens=160,
                                       temperature=temperature, repeat_penalty=REPEAT_PENALTY, seed=0)
    return str(out["choices"][0]["message"]["content"])


def test_the_grammar_asked_about_the_chosen_token_gives_the_same_answer(seed: str) -> None:
    expected = _answer(_llama(), seed)  # llama-cpp-python's own chain
    llama = _llama()
    assert install(llama)
    got = _answer(llama, seed)
    sampler = llama._sampler
    assert isinstance(sampler, GrammarLast)
    assert got == expected and len(got) > 100
    # the grammar refused some greedy picks (JSON's punctuation, the schema's keys): those went the long way
    assert sampler.tokens >= 100 and 0 < sampler.refused < sampler.tokens


def test_sampling_at_a_temperature_keeps_llama_cpp_pythons_chain(seed: str) -> None:
    llama = _llama()
    install(llama)
    _answer(llama, seed, temperature=0.7)
    assert not isinstance(llama._sampler, GrammarLast)
