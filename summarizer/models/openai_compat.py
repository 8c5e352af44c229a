"""Any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp's server) through the official client.

Structured output is negotiated: ``json_schema`` (strict) first; if the endpoint rejects that response format, then
``json_object`` with the schema attached (llama.cpp's extension), then plain ``json_object``, then JSON asked for in
the prompt alone. What worked is remembered per endpoint and model for the life of the process.

Blocking calls go through ``openai.OpenAI``, calls from an event loop through ``openai.AsyncOpenAI`` (one client per
event loop: an async client's connection pool belongs to the loop that made it), so concurrency is real connections
in flight, not threads. Both clients are made with ``max_retries=0``: retrying is the session's job
(:mod:`summarizer.retry`), so the two budgets do not multiply.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import threading
import weakref
from typing import Any, NoReturn

import openai

from ..errors import ConfigurationError, ModelError, TransientModelError
from ..options import DEFAULT_TIMEOUT_S
from ..redact import public_url, split_query
from ..schema_tools import plain_schema, strict_schema, with_choices
from .base import ChatRequest, ChatResponse, ModelBase, ModelFacts, TokenScores, estimate_tokens

#: Response formats in order of preference.
MODES = ("json_schema", "json_object_schema", "json_object", "prompt")
#: Context assumed for endpoints, which do not say theirs.
DEFAULT_CONTEXT = 32768
_OPENAI_HOST = "api.openai.com"
_UNSUPPORTED_FORMAT = re.compile(
    r"response_format|json_schema|json_object|structured output|'text' or 'json_object'|not supported",
    re.IGNORECASE,
)
_TRANSIENT_STATUS = frozenset({408, 409, 429})

_modes: dict[tuple[str, str], str] = {}
_modes_lock = threading.Lock()


class OpenAIModel(ModelBase):
    """``openai/<model>``: an OpenAI-compatible chat completions endpoint."""

    def __init__(self, model: str, *, client: openai.OpenAI | None = None,
                 async_client: openai.AsyncOpenAI | None = None, context_window: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self._model = model
        self._timeout = timeout
        self._client = client or _make_client(timeout)
        self._given_async = async_client
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )
        self._context = context_window or DEFAULT_CONTEXT

    @classmethod
    def from_name(cls, name: str) -> OpenAIModel:
        model = name.removeprefix("openai/")
        if not model:
            raise ConfigurationError("name the model after the provider, e.g. openai/gpt-4o-mini")
        return cls(model)

    @property
    def name(self) -> str:
        return f"openai/{self._model}"

    @property
    def endpoint(self) -> str:
        """The base URL without credentials or query (see :mod:`summarizer.redact`): shown, stored, in the key."""
        return public_url(str(self._client.base_url))

    @property
    def context_window(self) -> int:
        return self._context

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    def facts(self) -> ModelFacts:
        return ModelFacts(self.name, self.endpoint, self.context_window, self.flag_reasks)  # tokens estimated

    def mode(self) -> str:
        """The response format that last worked here (or the first one to try)."""
        with _modes_lock:
            return _modes.get((self.endpoint, self._model), MODES[0])

    def complete(self, request: ChatRequest) -> ChatResponse:
        mode = self.mode()
        while True:
            try:
                raw = self._client.post(_PATH, cast_to=bytes, body=self._body(request, mode),
                                        options=_request_options(request))
            except openai.OpenAIError as exc:
                mode = self._fallback(exc, mode)
                continue
            return self._response(raw, mode)

    async def acomplete(self, request: ChatRequest) -> ChatResponse:
        client = self._async_client()
        mode = self.mode()
        while True:
            try:
                raw = await client.post(_PATH, cast_to=bytes, body=self._body(request, mode),
                                        options=_request_options(request))
            except openai.OpenAIError as exc:
                mode = self._fallback(exc, mode)
                continue
            return self._response(raw, mode)

    def reachable(self) -> bool:
        """Does the endpoint answer (its model list, within a few seconds)? For a service's readiness probe."""
        try:
            self._client.with_options(timeout=READY_TIMEOUT_S).models.list()
        except openai.OpenAIError:
            return False
        return True

    def close(self) -> None:
        """Close the blocking client (async clients close with their event loop, or :meth:`aclose`)."""
        self._client.close()

    async def aclose(self) -> None:
        """Close the async client of the running event loop, if one was made."""
        client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None and client is not self._given_async:
            await client.close()

    def _async_client(self) -> openai.AsyncOpenAI:
        if self._given_async is not None:
            return self._given_async
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = openai.AsyncOpenAI(base_url=str(self._client.base_url), api_key=self._client.api_key,
                                        max_retries=0, timeout=self._timeout,
                                        default_query=dict(self._client.default_query) or None)
            self._async_clients[loop] = client
        return client

    def _fallback(self, exc: openai.OpenAIError, mode: str) -> str:
        """The next response format to try when the endpoint refused this one; any other failure is raised typed."""
        if isinstance(exc, openai.APIStatusError) and _rejects_format(exc) and mode != MODES[-1]:
            return MODES[MODES.index(mode) + 1]
        self._raise(exc)

    def _raise(self, exc: openai.OpenAIError) -> NoReturn:
        if isinstance(exc, openai.APIStatusError):
            raise _translate(exc, self.name) from None
        if isinstance(exc, openai.APIConnectionError):  # includes timeouts
            raise TransientModelError(f"{self.name}: cannot reach {self.endpoint}: {exc}") from None
        # a body that is not a chat completion, and the like
        raise ModelError(f"{self.name}: unusable response from {self.endpoint}: {exc}") from None

    def _response(self, raw: bytes, mode: str) -> ChatResponse:
        """A chat completion's JSON read as a :class:`ChatResponse`; anything else is a transient fault."""
        try:
            body = json.loads(raw)
        except ValueError:  # an HTML error page from a gateway, with status 200
            page = " ".join(raw.decode("utf-8", "replace").split())[:120]
            raise TransientModelError(f"{self.name}: {self.endpoint} did not answer with a chat completion "
                                      f"(a gateway's page?): {page!r}") from None
        response = self._completion(body, mode)
        with _modes_lock:
            _modes[(self.endpoint, self._model)] = mode
        return response

    # -- the provider's batch files (summarizer.openai_batch) ---------------------------------------------------

    batch_modes: tuple[str, ...] = MODES
    batch_url: str = "/v1/chat/completions"

    def token_scores(self) -> TokenScores:
        """Token probabilities from the endpoint's ``logprobs``: prompt tokens through the completions route's
        ``echo`` (vLLM, llama-cpp-python's server; not OpenAI's chat models), the first answer token through chat
        completions' ``top_logprobs``. An endpoint that returns none raises :class:`ModelError` on the call."""
        return _EndpointTokenScores(self)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            raw = self._client.post(path, cast_to=bytes, body=body)
        except openai.OpenAIError as exc:
            self._raise(exc)
        try:
            return _object(json.loads(raw))
        except ValueError:
            raise TransientModelError(f"{self.name}: {path} answered with something that is not JSON") from None

    def batch_format(self) -> OpenAIModel:
        return self

    def batch_body(self, request: ChatRequest, mode: str) -> dict[str, Any]:
        if mode not in MODES:
            raise ConfigurationError(f"unknown structured-output mode {mode!r}; use one of {', '.join(MODES)}")
        return self._body(request, mode)

    def batch_answer(self, status: int, body: Any, mode: str) -> ChatResponse:
        if status != 200:
            error = _object(_object(body).get("error"))
            raise _status_error(status, str(error.get("message") or body)[:300], None, self.name)
        return self._completion(body, mode)

    def _completion(self, body: Any, mode: str) -> ChatResponse:
        choices = body.get("choices") if isinstance(body, dict) else None
        if not isinstance(choices, list) or not choices:  # a server glitch, not an answer
            raise TransientModelError(f"{self.name}: {self.endpoint} returned no choices")
        choice = _object(choices[0])
        message, usage = _object(choice.get("message")), _object(body.get("usage"))
        content, refusal = message.get("content"), message.get("refusal")
        return ChatResponse(
            content=content if isinstance(content, str) else "",
            prompt_tokens=_count(usage.get("prompt_tokens")),
            completion_tokens=_count(usage.get("completion_tokens")),
            structured_output=mode.replace("json_object_schema", "json_object"),
            finish_reason=choice.get("finish_reason") if isinstance(choice.get("finish_reason"), str) else None,
            extra={"refusal": refusal} if isinstance(refusal, str) and refusal else {},
        )

    def _body(self, request: ChatRequest, mode: str) -> dict[str, Any]:
        """The request body, sent as it is: the client's type-driven transform of every nested message and schema
        node, and building a typed ``ChatCompletion`` from the answer, were 40 % of a request's CPU time and give
        nothing the pipeline reads (bench/README.md)."""
        body: dict[str, Any] = {
            "model": self._model,
            "messages": list(request.messages),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": _verbatim(request, mode, _strict_marked),
                                "strict": True},
            }
        elif mode == "json_object_schema":
            body["response_format"] = {"type": "json_object",
                                       "schema": _verbatim(request, mode, _plain_marked)}
        elif mode == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body


#: Seconds a readiness probe waits for the endpoint's model list.
READY_TIMEOUT_S = 3.0

#: Verbatim passages an endpoint's schema may list as an ``enum`` (OpenAI documents at most 250 values of one enum
#: with more than 7,500 characters in all; past these a quote stays a free string, checked after the answer).
VERBATIM_MAX_VALUES = 250
VERBATIM_MAX_CHARS = 7_500


def _verbatim(request: ChatRequest, mode: str, convert: Any) -> dict[str, Any]:
    """The request's schema with its quotes restricted to the article's passages (and its speakers to the
    article's names), where the endpoint enforces a schema: strict ``json_schema`` takes every value; llama.cpp's
    ``json_object`` schema is compiled by a converter that mis-escapes ``"`` and ``\\`` inside enum values, so values
    holding them are left out — and if that would leave out more than half of them (copy in straight quotes), or the
    list is past the documented size, the field stays a free string, checked after the answer."""
    base = _converted(request.schema, convert)  # the request schema in the endpoint's form, markers kept
    choices = _enum_values(tuple(request.verbatim_choices or ()), mode)
    sources = _enum_values(request.source_choices() if request.source_choices is not None else (), mode)
    return _with_choices(base, choices, sources)


def _strict_marked(schema: dict[str, Any]) -> dict[str, Any]:
    return strict_schema(schema, keep_markers=True)


def _plain_marked(schema: dict[str, Any]) -> dict[str, Any]:
    return plain_schema(schema, keep_markers=True)


def _with_choices(base: dict[str, Any], choices: tuple[str, ...], sources: tuple[str, ...]) -> dict[str, Any]:
    """:func:`with_choices`, kept for the re-asks of one article (the same schema and passages each time)."""
    return _kept(base, (choices, sources), lambda: with_choices(base, choices, sources))


def _enum_values(values: tuple[str, ...], mode: str) -> tuple[str, ...]:
    """The values an endpoint's enum may list, or none (no restriction): see :func:`_verbatim`."""
    if mode == "json_object_schema":
        safe = tuple(c for c in values if '"' not in c and "\\" not in c)
        values = safe if 2 * len(safe) >= len(values) else ()
    if len(values) > VERBATIM_MAX_VALUES or sum(map(len, values)) > VERBATIM_MAX_CHARS:
        return ()
    return values


#: The chat completions route, relative to the client's base URL.
_PATH = "/chat/completions"
#: How many alternatives an endpoint is asked for at the answer's first token (OpenAI's maximum is 20).
TOP_LOGPROBS = 20


class _EndpointTokenScores:
    """:class:`TokenScores` over an OpenAI-compatible endpoint's ``logprobs`` (tokens are the endpoint's own)."""

    def __init__(self, model: OpenAIModel) -> None:
        self._model = model
        self.score_window = model.context_window

    def count_tokens(self, text: str) -> int:
        return self._model.count_tokens(text)

    def continuation_logprobs(self, prefix: str, text: str) -> list[float]:
        body = {"model": self._model._model, "prompt": prefix + text, "max_tokens": 1, "temperature": 0.0,
                "echo": True, "logprobs": 0}
        out = self._model._post("/completions", body)
        choice = _object((out.get("choices") or [{}])[0])
        logprobs = _object(choice.get("logprobs"))
        offsets, values = logprobs.get("text_offset"), logprobs.get("token_logprobs")
        if not isinstance(offsets, list) or not isinstance(values, list) or len(offsets) != len(values):
            raise ModelError(f"{self._model.name}: the endpoint does not return the prompt's token log-probabilities "
                             "(completions with echo and logprobs)")
        end = len(prefix) + len(text)
        picked = [v for o, v in zip(offsets, values, strict=True) if isinstance(o, int) and len(prefix) <= o < end]
        if not picked or any(not isinstance(v, int | float) for v in picked):
            raise ModelError(f"{self._model.name}: no log-probabilities for the text's tokens")
        return [float(v) for v in picked]

    def answer_logprobs(self, messages: tuple[dict[str, str], ...], answers: tuple[str, ...]) -> dict[str, float]:
        """An answer missing from the endpoint's top alternatives gets the least likely of them: an upper bound."""
        body = {"model": self._model._model, "messages": list(messages), "max_tokens": 1, "temperature": 0.0,
                "logprobs": True, "top_logprobs": TOP_LOGPROBS}
        out = self._model._post(_PATH, body)
        choice = _object((out.get("choices") or [{}])[0])
        content = _object(choice.get("logprobs")).get("content")
        top = _object(content[0]).get("top_logprobs") if isinstance(content, list) and content else None
        if not isinstance(top, list) or not top:
            raise ModelError(f"{self._model.name}: the endpoint does not return top_logprobs for chat completions")
        seen: dict[str, float] = {}
        for alt in map(_object, top):
            token, value = str(alt.get("token", "")).strip(), alt.get("logprob")
            if token and isinstance(value, int | float):
                seen[token] = max(seen.get(token, -math.inf), float(value))
        if not seen:
            raise ModelError(f"{self._model.name}: the endpoint's top_logprobs name no token")
        floor = min(seen.values())
        return {a: seen[a] if a in seen else max((v for t, v in seen.items() if a.startswith(t)), default=floor)
                for a in answers}


def _request_options(request: ChatRequest) -> Any:
    """Per-request options for the client (its ``RequestOptions``): the request's own timeout, if it has one."""
    return {"timeout": request.timeout_s} if request.timeout_s is not None else {}


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


#: Converted schemas by (id of the request's schema, converter): the pipeline sends the same schema object with every
#: request of a run, and converting it is most of a request's CPU time. The source is kept so its id stays its own.
#: Schemas built from a request's schema, by (its id, what else they depend on): a request's schema object is the
#: same for every article, and the one with passages the same for an article's re-asks.
_KEPT: dict[tuple[int, Any], tuple[dict[str, Any], dict[str, Any]]] = {}
_KEPT_MAX = 256


def _kept(schema: dict[str, Any], extra: Any, make: Any) -> dict[str, Any]:
    """``make()``, kept for ``schema`` (the very object: its id is the key) and ``extra``."""
    key = (id(schema), extra)
    hit = _KEPT.get(key)
    if hit is not None and hit[0] is schema:
        return hit[1]
    if len(_KEPT) >= _KEPT_MAX:
        _KEPT.clear()
    result: dict[str, Any] = make()
    _KEPT[key] = (schema, result)
    return result


def _converted(schema: dict[str, Any], convert: Any) -> dict[str, Any]:
    return _kept(schema, convert, lambda: convert(schema))


def _make_client(timeout: float) -> openai.OpenAI:
    base_url = os.environ.get("OPENAI_BASE_URL")
    api_key = os.environ.get("OPENAI_API_KEY")
    if not api_key:
        if not base_url or _OPENAI_HOST in base_url:
            raise ConfigurationError(
                "openai/ models need OPENAI_API_KEY (and OPENAI_BASE_URL for a server other than OpenAI's)"
            )
        api_key = "not-needed"  # local servers (llama.cpp, vLLM, Ollama) usually ignore the key
    query: dict[str, str] = {}
    if base_url:
        base_url, query = split_query(base_url)  # "?api-version=…" (Azure) or "?api-key=…" become a default query
    return openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout,
                         default_query=query or None)


def _body_text(exc: openai.APIStatusError) -> str:
    try:
        return exc.response.text
    except Exception:  # a streamed or closed body
        return str(exc.body or exc.message)


def _rejects_format(exc: openai.APIStatusError) -> bool:
    """Did the endpoint refuse the response format (rather than fail)? llama.cpp's server says so with a 500."""
    if exc.status_code not in (400, 415, 422, 500, 501):
        return False
    return bool(_UNSUPPORTED_FORMAT.search(f"{exc.message} {_body_text(exc)}"))


def retry_after_seconds(headers: Any) -> float | None:
    """``Retry-After`` (seconds, or ``retry-after-ms``) from response headers, if present and sane."""
    for key, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(key) if headers is not None else None
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue  # an HTTP date: rare for APIs; fall back to backoff
        if seconds >= 0:
            return seconds
    return None


def _translate(exc: openai.APIStatusError, name: str) -> Exception:
    return _status_error(exc.status_code, str(exc.message), exc.response.headers, name)


def _status_error(status: int, message: str, headers: Any, name: str) -> Exception:
    """The typed error for an HTTP status, live or in a batch result line."""
    detail = " ".join(message.split())[:300]
    if status in _TRANSIENT_STATUS or status >= 500:
        wait = retry_after_seconds(headers)
        return TransientModelError(f"{name}: HTTP {status}: {detail}", retry_after=wait, status=status)
    if status in (401, 403):
        return ConfigurationError(f"{name}: the endpoint refused the API key (HTTP {status}); check OPENAI_API_KEY")
    if status == 404:
        return ConfigurationError(f"{name}: not found at the endpoint (HTTP 404): {detail}")
    return ModelError(f"{name}: HTTP {status}: {detail}")
