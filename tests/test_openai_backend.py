"""The openai/ backend against scripted HTTP: the official client over httpx2.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import openai
import pytest
from helpers import assert_grounded, kirby_claim, seed_answer

from summarizer import ConfigurationError, Limits, ModelError, TransientModelError, get_model, summarize
from summarizer.models.openai_compat import OpenAIModel

Handler = Callable[[dict[str, Any]], httpx2.Response]


def completion(content: str, prompt_tokens: int = 900, completion_tokens: int = 120) -> httpx2.Response:
    return httpx2.Response(200, json={
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    })


class Endpoint:
    """A scripted OpenAI-compatible server: records request bodies and answers with ``handler``."""

    def __init__(self, handler: Handler, base_url: str = "http://endpoint.test/v1") -> None:
        self.handler = handler
        self.bodies: list[dict[str, Any]] = []
        self.base_url = base_url

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        return self.handler(body)

    def model(self, name: str = "m") -> OpenAIModel:
        client = openai.OpenAI(base_url=self.base_url, api_key="k", max_retries=0,
                               http_client=httpx2.Client(transport=httpx2.MockTransport(self)))
        async_client = openai.AsyncOpenAI(base_url=self.base_url, api_key="k", max_retries=0,
                                          http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(self)))
        return OpenAIModel(name, client=client, async_client=async_client)

    def formats(self) -> list[str]:
        return [b.get("response_format", {}).get("type", "none") + ("+schema" if "schema" in
                b.get("response_format", {}) else "") for b in self.bodies]


#: Limits that retry at once (the tests must not wait for backoff).
NO_WAIT = {"initial_backoff_s": 0.0, "max_backoff_s": 0.0}


def test_json_schema_strict_is_used_where_supported(seed: str) -> None:
    endpoint = Endpoint(lambda body: completion(seed_answer(kirby_claim())))
    s = summarize(seed, model=endpoint.model(), cache=False)
    [body] = endpoint.bodies
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    claims = fmt["json_schema"]["schema"]["properties"]["claims"]["items"]
    assert claims["additionalProperties"] is False and set(claims["required"]) == set(claims["properties"])
    assert "$defs" not in json.dumps(fmt) and "x-verbatim" not in json.dumps(fmt)
    assert body["temperature"] == 0.0
    assert s.provenance.structured_output == "json_schema"
    assert (s.provenance.prompt_tokens, s.provenance.completion_tokens) == (900, 120)
    assert s.provenance.endpoint == "http://endpoint.test/v1"
    assert_grounded(s, seed)


def _quote_enum(schema: dict[str, Any]) -> list[str] | None:
    quotes = schema["properties"]["claims"]["items"]["properties"]["quotes"]["items"]
    return quotes.get("enum")


def test_quotes_are_restricted_to_the_articles_passages_where_the_endpoint_enforces_a_schema(seed: str) -> None:
    from summarizer.grounding import sentences

    endpoint = Endpoint(lambda body: completion(seed_answer(kirby_claim())))
    summarize(seed, model=endpoint.model(), cache=False)
    schema = endpoint.bodies[0]["response_format"]["json_schema"]["schema"]
    # every passage the embedded grammar offers, by its id, no more
    assert _quote_enum(schema) == [f"P{i}" for i in range(1, len(sentences(seed)) + 1)]
    speaker = schema["properties"]["claims"]["items"]["properties"]["speaker"]  # the article's names, or null
    assert speaker["anyOf"][1] == {"type": "null"}
    assert "Secretary of Defense Lloyd Austin" in speaker["anyOf"][0]["enum"]
    assert "x-verbatim" not in json.dumps(schema) and "x-source" not in json.dumps(schema)


def test_passage_ids_keep_llamacpps_schema_whole_for_copy_in_straight_quotes() -> None:
    """llama.cpp's converter mis-escapes ``"`` inside enum values; passages are listed by id, so none is left out
    and the answer's quotes (here written out in full, which is accepted too) are still located."""
    article = ('The council approved the plan on Monday. "We will build it," the mayor said. Work starts in May. '
               'Residents welcomed the decision. The cost is not yet known.')

    def handler(body: dict[str, Any]) -> httpx2.Response:
        if body.get("response_format", {}).get("type") == "json_schema":
            return httpx2.Response(500, json={"error": {"message": "Input should be 'text' or 'json_object'"}})
        council = "council approved" in body["messages"][-1]["content"]
        quote = "The council approved the plan on Monday." if council else "The vote is on Friday."
        return completion(json.dumps({"headline": "Plan approved", "summary": "The council approved the plan.",
                                      "claims": [{"quotes": [quote], "speaker": None, "statement": quote,
                                                  "kind": "fact", "certainty": "asserted"}]}))

    endpoint = Endpoint(handler, base_url="http://llamacpp-escape.test/v1")
    summarize(article, model=endpoint.model(), cache=False)
    enum = _quote_enum(endpoint.bodies[-1]["response_format"]["schema"])
    assert enum == ["P1", "P2", "P3", "P4", "P5"]
    quoted = " ".join(f'"Point {i} stands," she said.' for i in range(6)) + " The vote is on Friday."
    s = summarize(quoted, model=endpoint.model(), cache=False)
    assert _quote_enum(endpoint.bodies[-1]["response_format"]["schema"]) == [f"P{i}" for i in range(1, 8)]
    assert s.claims[0].evidence[0].text == "The vote is on Friday."


def test_a_passage_list_past_the_documented_enum_size_leaves_quotes_free() -> None:
    from summarizer.models.openai_compat import VERBATIM_MAX_VALUES

    article = " ".join(f"Item number {i} was sold at the fair." for i in range(VERBATIM_MAX_VALUES + 1))
    quote = "Item number 1 was sold at the fair."
    endpoint = Endpoint(lambda body: completion(json.dumps({
        "headline": "Items sold", "summary": "Items were sold at the fair.",
        "claims": [{"quotes": [quote], "speaker": None, "statement": quote, "kind": "fact",
                    "certainty": "asserted"}]})))
    summarize(article, model=endpoint.model(), cache=False, max_attempts=1)
    assert all(_quote_enum(b["response_format"]["json_schema"]["schema"]) is None for b in endpoint.bodies)


def test_llamacpp_style_rejection_falls_back_and_is_remembered(seed: str) -> None:
    def handler(body: dict[str, Any]) -> httpx2.Response:
        if body.get("response_format", {}).get("type") == "json_schema":
            return httpx2.Response(500, json={"error": {"message": "[{'type': 'literal_error', 'loc': ('body', "
                                               "'response_format', 'type'), 'msg': \"Input should be 'text' or "
                                               "'json_object'\"}]", "type": "internal_server_error"}})
        return completion(seed_answer(kirby_claim()))

    endpoint = Endpoint(handler, base_url="http://llamacpp.test/v1")
    s = summarize(seed, model=endpoint.model(), cache=False)
    assert endpoint.formats() == ["json_schema", "json_object+schema"]
    assert s.provenance.structured_output == "json_object"
    summarize(seed, model=endpoint.model(), cache=False)  # a new model object for the same endpoint
    assert endpoint.formats()[2:] == ["json_object+schema"]


def test_an_endpoint_without_response_formats_gets_prompt_only_json(seed: str) -> None:
    def handler(body: dict[str, Any]) -> httpx2.Response:
        if "response_format" in body:
            return httpx2.Response(400, json={"error": {"message": "response_format is not supported"}})
        return completion("Sure! Here it is:\n" + seed_answer(kirby_claim()))

    endpoint = Endpoint(handler, base_url="http://plain.test/v1")
    s = summarize(seed, model=endpoint.model(), cache=False)
    assert endpoint.formats() == ["json_schema", "json_object+schema", "json_object", "none"]
    assert s.provenance.structured_output == "prompt"
    assert_grounded(s, seed)


def test_429_with_retry_after_is_retried_once_per_failure_not_multiplied(seed: str) -> None:
    replies = [httpx2.Response(429, headers={"retry-after": "0"}, json={"error": {"message": "slow down"}}),
               httpx2.Response(503, headers={"retry-after-ms": "1"}, json={"error": {"message": "busy"}}),
               completion(seed_answer(kirby_claim()))]
    endpoint = Endpoint(lambda body: replies.pop(0), base_url="http://flaky.test/v1")
    s = summarize(seed, model=endpoint.model(), cache=False)
    assert len(endpoint.bodies) == 3 and s.provenance.attempts == 1


def test_a_persistent_5xx_gives_up_after_exactly_the_budget(seed: str) -> None:
    endpoint = Endpoint(lambda body: httpx2.Response(502, headers={"retry-after": "0"}, text="bad gateway"),
                        base_url="http://down.test/v1")
    with pytest.raises(TransientModelError, match="HTTP 502"):
        summarize(seed, model=endpoint.model(), cache=False, limits=Limits(transient_attempts=4, **NO_WAIT))
    assert len(endpoint.bodies) == 4  # the client's own retries are off, so budgets do not multiply


def test_connection_errors_are_transient(seed: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    client = openai.OpenAI(base_url="http://nowhere.test/v1", api_key="k", max_retries=0,
                           http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    model = OpenAIModel("m", client=client)
    with pytest.raises(TransientModelError, match="cannot reach"):
        model.complete(_request())


@pytest.mark.parametrize(("status", "error"), [(401, ConfigurationError), (404, ConfigurationError),
                                               (400, ModelError)])
def test_client_errors_are_not_retried(status: int, error: type[Exception]) -> None:
    endpoint = Endpoint(lambda body: httpx2.Response(status, json={"error": {"message": "no"}}),
                        base_url=f"http://e{status}.test/v1")
    with pytest.raises(error):
        summarize("A long enough article about the world. It has two sentences.", model=endpoint.model(),
                  cache=False)
    assert len(endpoint.bodies) == 1


def test_a_non_json_http_body_is_a_model_error() -> None:
    endpoint = Endpoint(lambda body: httpx2.Response(200, text="<html>proxy login</html>"),
                        base_url="http://proxy.test/v1")
    with pytest.raises(ModelError):
        endpoint.model().complete(_request())


def test_missing_key_says_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        get_model("openai/gpt-4o-mini")


def test_a_local_base_url_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    model = get_model("openai/anything")
    assert model.name == "openai/anything" and model.endpoint == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize("name", ["gpt-4o", "nope/x", "local/does-not-exist", "openai/"])
def test_bad_model_names_are_configuration_errors(name: str) -> None:
    with pytest.raises(ConfigurationError):
        get_model(name)


def _request() -> Any:
    from summarizer import ChatRequest

    return ChatRequest(messages=({"role": "user", "content": "JSON please"},), schema={"type": "object"})


def test_token_scores_read_the_endpoints_logprobs() -> None:
    """Completions with echo give the prompt tokens' log-probabilities (vLLM, llama-cpp-python's server); chat
    completions' top_logprobs the answer's. Only the text's tokens are returned, never the prefix's."""
    prefix, text = "Article: A B.\n\nSummary:", " A B."

    def handler(body: dict[str, Any]) -> httpx2.Response:
        if "prompt" in body:
            assert body["echo"] is True and body["logprobs"] == 0 and body["prompt"] == prefix + text
            offsets = [0, 8, 10, 13, 15, 16, 24, 26, 28]  # the last offset is the generated token's
            values = [None, -1.0, -2.0, -0.5, -0.1, -0.2, -0.3, -0.4, -9.0]
            return httpx2.Response(200, json={"choices": [{"text": prefix + text + "x", "logprobs": {
                "tokens": ["t"] * 9, "token_logprobs": values, "text_offset": offsets}}]})
        assert body["logprobs"] is True and body["max_tokens"] == 1
        return httpx2.Response(200, json={"choices": [{"message": {"role": "assistant", "content": "Yes"},
                                                       "logprobs": {"content": [{"token": "Yes", "logprob": -0.2,
            "top_logprobs": [{"token": "Yes", "logprob": -0.2}, {"token": " No", "logprob": -1.9},
                             {"token": "Maybe", "logprob": -4.0}]}]}}]})

    scores = Endpoint(handler).model().token_scores()
    assert scores.continuation_logprobs(prefix, text) == [-0.3, -0.4]  # offsets 24 and 26 lie in the text
    answers = scores.answer_logprobs(({"role": "user", "content": "?"},), ("Yes", "No", "Perhaps"))
    assert answers == {"Yes": -0.2, "No": -1.9, "Perhaps": -4.0}  # absent from the top: the least likely's bound


def test_token_scores_of_an_endpoint_without_logprobs_fail_typed() -> None:
    endpoint = Endpoint(lambda body: completion("Yes") if "messages" in body else
                        httpx2.Response(200, json={"choices": [{"text": "x"}]}))
    scores = endpoint.model().token_scores()
    with pytest.raises(ModelError, match="prompt's token log-probabilities"):
        scores.continuation_logprobs("a", " b")
    with pytest.raises(ModelError, match="top_logprobs"):
        scores.answer_logprobs(({"role": "user", "content": "?"},), ("Yes", "No"))
