"""The HTTP API: ``POST /v1/summaries``, health, readiness and metrics, behind keys and limits.

Every route needs a key (``Authorization: Bearer sk-sum-…`` or ``X-API-Key``) except :data:`OPEN_ROUTES`. With no
live key in the database the service is open (for a laptop): ``summarizer serve`` then refuses to bind beyond
loopback unless told to. Limits, in the order a request meets them:

1. the body size, before the body is read (``Content-Length``, and counted as it arrives for a chunked body): 413;
2. the key: 401 when missing, unknown or revoked;
3. the key's requests and tokens per minute (a token estimate of the article plus the answer budget): 429 with
   ``Retry-After``;
4. a bounded queue: ``concurrency`` summaries at once and ``queue`` more waiting; past that 503 with ``Retry-After``;
5. a timeout per request: 504.

Errors are ``{"error": {"type", "message"}}``: 422 for a bad article or bad options (an unknown model among them), 502
when the model failed or its answer had no grounded claim, 503 with ``Retry-After`` when the model endpoint stayed
unreachable through the retries. A failure is never cached (the library's rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from aiolimiter import AsyncLimiter
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import ArticleError, ConfigurationError, ModelError, OutputError, TransientModelError
from ..options import DEFAULT_CONCURRENCY, Limits, SummarizeOptions
from ..schema import Summary
from ..session import Summarizer
from .jobs import JobRunner, JobStore, new_job_id
from .keys import ApiKey, KeyStore

log = logging.getLogger(__name__)

#: Routes that need no key: liveness and readiness probes (a load balancer has no key), the page and the API's docs
#: with their assets (they hold no data; the calls made from them send the key the user types in).
OPEN_ROUTES = frozenset({"/healthz", "/readyz", "/", "/docs", "/openapi.json"})
OPEN_PREFIXES = ("/assets/", "/docs-assets/")
#: The page's files (served from the package: no build step, no network at run time).
STATIC = Path(__file__).with_name("static")
ASSETS = {"page.js": "text/javascript", "page.css": "text/css"}
#: Largest request body by default (an article at the library's limit, 100,000 characters, is at most ~400 KB).
DEFAULT_MAX_BODY_BYTES = 1_000_000
#: Largest batch upload (a JSONL body of articles) by default.
DEFAULT_BATCH_MAX_BODY_BYTES = 200_000_000
DEFAULT_QUEUE = 64
DEFAULT_REQUEST_TIMEOUT_S = 600.0
#: Requests per minute a key may make unless it has its own rate.
DEFAULT_KEY_RPM = 120.0


@dataclass(frozen=True)
class ServiceConfig:
    """How the service runs. ``model``: the model served (None: the library's default); ``models``: others a request
    may name; ``db``: the SQLite file holding keys (and jobs)."""

    model: str | None = None
    models: tuple[str, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    queue: int = DEFAULT_QUEUE
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    batch_max_body_bytes: int = DEFAULT_BATCH_MAX_BODY_BYTES
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S
    key_rpm: float | None = DEFAULT_KEY_RPM
    key_tpm: float | None = None
    cache: bool = True
    db: Path | None = None
    cors_origins: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)


class SummaryRequest(BaseModel):
    """``POST /v1/summaries``: one article, and optionally the options and a model the service offers."""

    model_config = ConfigDict(extra="forbid")

    article: str = Field(description="The article's text (UTF-8).")
    options: SummarizeOptions | None = Field(default=None, description="What changes the summary (the cache key).")
    model: str | None = Field(default=None, description="A model this service offers (GET /v1/models); default: "
                              "the service's own.")


class ErrorBody(BaseModel):
    type: str
    message: str


class ErrorResponse(BaseModel):
    """Every error the service returns."""

    error: ErrorBody


class ServiceError(Exception):
    """An error answer: status, type and message (and a ``Retry-After`` when waiting would help)."""

    def __init__(self, status: int, kind: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.retry_after = status, kind, message, retry_after


def error_for(exc: BaseException) -> ServiceError:
    """The HTTP answer for a library error raised while summarising."""
    kind = type(exc).__name__
    if isinstance(exc, ArticleError | ConfigurationError | ValueError):
        return ServiceError(422, kind, str(exc))
    if isinstance(exc, TransientModelError):  # still failing after every retry: the endpoint is down or saturated
        return ServiceError(503, kind, str(exc), retry_after=exc.retry_after or 5.0)
    if isinstance(exc, OutputError | ModelError):
        return ServiceError(502, kind, str(exc))
    if isinstance(exc, TimeoutError):
        return ServiceError(504, "Timeout", "the summary took longer than the service's request timeout")
    log.exception("unexpected error serving a request", exc_info=exc)
    return ServiceError(500, "InternalError", "an unexpected error; the server log has the details")


class _Metrics:
    """The service's Prometheus metrics, in a registry of its own (two apps in one process do not collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("summarizer_http_requests_total", "HTTP requests by route and status",
                                ["route", "status"], registry=r)
        self.latency = Histogram("summarizer_http_request_seconds", "HTTP request latency by route", ["route"],
                                 buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
                                 registry=r)
        self.tokens = Counter("summarizer_model_tokens_total", "Model tokens by kind", ["kind"], registry=r)
        self.cache_hits = Counter("summarizer_cache_hits_total", "Summaries answered from the cache", registry=r)
        self.summaries = Counter("summarizer_summaries_total", "Summaries made (cache hits included)", registry=r)
        self.errors = Counter("summarizer_errors_total", "Error answers by type", ["type"], registry=r)
        self.queue_depth = Gauge("summarizer_queue_depth", "Summary requests waiting for a slot", registry=r)
        self.in_progress = Gauge("summarizer_in_progress", "Summary requests being worked on", registry=r)


class _Admission:
    """``concurrency`` summaries at once, ``queue`` more waiting, the rest turned away (503)."""

    def __init__(self, concurrency: int, queue: int, metrics: _Metrics) -> None:
        self.slots = asyncio.Semaphore(concurrency)
        self.capacity = concurrency + queue
        self.admitted = 0
        self.metrics = metrics

    @contextlib.asynccontextmanager
    async def enter(self) -> AsyncIterator[None]:
        if self.admitted >= self.capacity:
            raise ServiceError(503, "QueueFull", "the server is at capacity; retry shortly", retry_after=1.0)
        self.admitted += 1
        waiting = True
        self.metrics.queue_depth.inc()
        try:
            await self.slots.acquire()
            waiting = False
            self.metrics.queue_depth.dec()
            self.metrics.in_progress.inc()
            try:
                yield
            finally:
                self.metrics.in_progress.dec()
                self.slots.release()
        finally:
            if waiting:  # cancelled (the client went away) while it waited
                self.metrics.queue_depth.dec()
            self.admitted -= 1


class _KeyRates:
    """Each key's request and token buckets (aiolimiter), made when the key is first seen."""

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self.rpm, self.tpm = rpm, tpm
        self._buckets: dict[str, tuple[AsyncLimiter | None, AsyncLimiter | None]] = {}

    async def take(self, key: ApiKey | None, count_tokens: Callable[[], int]) -> None:
        """Take one request and ``count_tokens()`` tokens from the key's buckets (counted only under a token rate:
        an embedded model's tokenizer is not free), or raise the 429."""
        name = key.id if key is not None else ""
        if name not in self._buckets:
            rpm = key.rpm if key is not None and key.rpm else self.rpm
            tpm = key.tpm if key is not None and key.tpm else self.tpm
            self._buckets[name] = (AsyncLimiter(rpm, 60) if rpm else None, AsyncLimiter(tpm, 60) if tpm else None)
        requests, toks = self._buckets[name]
        tokens = min(count_tokens(), int(toks.max_rate)) if toks is not None else 0  # a huge article must still go
        if requests is not None and not requests.has_capacity():
            raise ServiceError(429, "RateLimited", "too many requests for this key",
                               retry_after=math.ceil(60 / requests.max_rate))
        if toks is not None and not toks.has_capacity(tokens):
            raise ServiceError(429, "RateLimited", "too many tokens per minute for this key",
                               retry_after=math.ceil(60 * tokens / toks.max_rate))
        if requests is not None:
            await requests.acquire()
        if toks is not None and tokens:
            await toks.acquire(tokens)


class _BodyLimit:
    """Refuse a body over the limit before reading it (``Content-Length``), or as soon as it passes the limit."""

    def __init__(self, app: ASGIApp, limit: int, batch_limit: int) -> None:
        self.app, self.limit, self.batch_limit = app, limit, batch_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.batch_limit if scope["path"] == "/v1/batches" else self.limit
        message = f"the request body is over this server's limit of {limit:,} bytes"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await JSONResponse(_error_json("BodyTooLarge", message), status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            event = await receive()
            if event["type"] == "http.request":
                seen += len(event.get("body", b""))
                if seen > limit:  # an HTTPException: FastAPI passes it on while it reads the body
                    raise HTTPException(413, message)
            return event

        await self.app(scope, counted, send)


def _error_json(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def _error_response(err: ServiceError) -> JSONResponse:
    headers = {"Retry-After": str(max(1, math.ceil(err.retry_after)))} if err.retry_after is not None else None
    return JSONResponse(_error_json(err.kind, err.message), status_code=err.status, headers=headers)


class _State:
    """What the routes share: the sessions, keys, limits and metrics of one app."""

    def __init__(self, config: ServiceConfig, keys: KeyStore, session: Summarizer | None) -> None:
        self.config = config
        self.keys = keys
        self.metrics = _Metrics()
        self.rates = _KeyRates(config.key_rpm, config.key_tpm)
        self.admission: _Admission | None = None  # made on the server's loop
        self.sessions: dict[str, Summarizer] = {}
        self.default = session
        self.ready = False
        self.jobs = JobStore(keys.path)
        self.runner = JobRunner(self.jobs, self.session_for)

    def limits(self) -> Limits:
        return self.config.limits.model_copy(update={"concurrency": self.config.concurrency})

    def session_for(self, model: str | None) -> Summarizer:
        assert self.default is not None
        if model is None or model == self.default.model.name:
            return self.default
        if model not in self.config.models:
            offered = ", ".join([self.default.model.name, *self.config.models])
            raise ServiceError(422, "ConfigurationError", f"model {model!r} is not served here; offered: {offered}")
        if model not in self.sessions:
            self.sessions[model] = Summarizer(model, cache=self.config.cache, limits=self.limits())
        return self.sessions[model]


async def _upload(request: Request) -> AsyncIterator[bytes]:
    """A batch body's bytes: the raw JSONL body, or the ``file`` field of a multipart upload (spooled to disk by the
    form parser, then read in chunks)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ServiceError(422, "ValidationError", "a multipart batch upload needs a 'file' field")
        while chunk := await upload.read(1 << 20):
            yield chunk
        await form.close()
        return
    async for chunk in request.stream():
        yield chunk


def _swagger_assets() -> str | None:
    """Swagger UI's files from the ``swagger-ui-bundle`` package (the serve extra), if installed."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    return str(swagger_ui_path)


def _caller(request: Request) -> ApiKey | None:
    """The request's key, checked by the app's guard before routing (None: the service is open)."""
    key: ApiKey | None = request.state.key
    return key


#: A route's caller (module level: FastAPI resolves the annotations of routes by name).
Key = Annotated[ApiKey | None, Depends(_caller)]


def create_app(config: ServiceConfig | None = None, *, keys: KeyStore | None = None,
               session: Summarizer | None = None) -> FastAPI:
    """The service as an ASGI app. ``session``: summarise with this one (else one is made for ``config.model`` when
    the app starts, and loaded before ``/readyz`` says ready)."""
    config = config or ServiceConfig()
    state = _State(config, keys or KeyStore(config.db), session)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.admission = _Admission(config.concurrency, config.queue, state.metrics)
        if state.default is None:
            state.default = Summarizer(config.model, cache=config.cache, limits=state.limits())
        owned = session is None
        try:
            await asyncio.to_thread(state.default.load)  # weights, a runtime: before ready, off the loop
            state.runner.start()  # jobs a killed server left unfinished resume now
            state.ready = True
            yield
        finally:
            state.ready = False
            await asyncio.to_thread(state.runner.stop)
            for s in [*state.sessions.values(), *([state.default] if owned else [])]:
                await s.aclose()

    app = FastAPI(title="summarizer", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="News summaries you can check: claims with verbatim, verified evidence.",
                  responses={code: {"model": ErrorResponse} for code in (401, 413, 422, 429, 502, 503, 504)})
    app.state.service = state
    app.add_middleware(_BodyLimit, limit=config.max_body_bytes, batch_limit=config.batch_max_body_bytes)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        """The key first (before a body is read), then the route; every answer counted and timed."""
        started = time.perf_counter()
        try:
            path = request.url.path
            is_open = path in OPEN_ROUTES or path.startswith(OPEN_PREFIXES)
            request.state.key = None if is_open else authenticate(request)
        except ServiceError as exc:
            state.metrics.errors.labels(exc.kind).inc()
            response: Any = _error_response(exc)
        else:
            response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "other")
        state.metrics.requests.labels(path, str(response.status_code)).inc()
        state.metrics.latency.labels(path).observe(time.perf_counter() - started)
        return response

    if config.cors_origins:  # added last, so outermost: a browser's preflight carries no key
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"])

    def authenticate(request: Request) -> ApiKey | None:
        """The caller's key; None when the service is open (no live key exists)."""
        presented = request.headers.get("x-api-key") or ""
        auth = request.headers.get("authorization") or ""
        if auth[:7].lower() == "bearer ":
            presented = auth[7:].strip()
        if presented:
            key = state.keys.check(presented)
            if key is None:
                raise ServiceError(401, "Unauthorized", "unknown or revoked API key")
            return key
        if state.keys.any_live():
            raise ServiceError(401, "Unauthorized", "this route needs an API key (Authorization: Bearer …)")
        return None

    @app.exception_handler(ServiceError)
    async def on_service_error(request: Request, exc: ServiceError) -> JSONResponse:
        state.metrics.errors.labels(exc.kind).inc()
        return _error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join("the request body is not JSON" if e.get("type") == "json_invalid"
                             else f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:8])
        state.metrics.errors.labels("ValidationError").inc()
        return _error_response(ServiceError(422, "ValidationError", problems or "invalid request"))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        return _error_response(error_for(exc))  # logged there, with its traceback; the client gets JSON too

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException) -> JSONResponse:
        kind = {404: "NotFound", 405: "MethodNotAllowed", 413: "BodyTooLarge"}.get(exc.status_code, "HTTPError")
        return _error_response(ServiceError(exc.status_code, kind, str(exc.detail)))

    docs_assets = _swagger_assets()
    if docs_assets is not None:  # the docs page's scripts from the package, not a CDN: no network at run time
        app.mount("/docs-assets", StaticFiles(directory=docs_assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        if docs_assets is None:
            return get_swagger_ui_html(openapi_url="/openapi.json", title="summarizer API")
        return get_swagger_ui_html(openapi_url="/openapi.json", title="summarizer API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        if name not in ASSETS:
            raise ServiceError(404, "NotFound", f"no asset {name!r}")
        return FileResponse(STATIC / name, media_type=ASSETS[name])

    @app.get("/healthz", include_in_schema=True, summary="Alive (no model call)")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", summary="Ready: the model is loaded (an endpoint: reachable)")
    async def readyz() -> JSONResponse:
        if not state.ready or state.default is None:
            return _error_response(ServiceError(503, "NotReady", "the model is still loading", retry_after=2.0))
        reachable = getattr(state.default.model, "reachable", None)
        if reachable is not None and not await asyncio.to_thread(reachable):
            return _error_response(ServiceError(503, "ModelUnreachable",
                                                f"{state.default.model.name}: the model endpoint does not answer",
                                                retry_after=5.0))
        return JSONResponse({"status": "ready", "model": state.default.model.name})

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def metrics(key: Key) -> PlainTextResponse:
        return PlainTextResponse(generate_latest(state.metrics.registry).decode("utf-8"),
                                 media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models", summary="The models this service offers")
    async def models(key: Key) -> dict[str, Any]:
        assert state.default is not None
        return {"default": state.default.model.name, "models": [state.default.model.name, *config.models]}

    @app.post("/v1/summaries", response_model=Summary, summary="Summarise one article")
    async def summaries(body: SummaryRequest, key: Key) -> Summary:
        assert state.admission is not None
        session = state.session_for(body.model)
        options = body.options or session.options
        await state.rates.take(key, lambda: session.model.count_tokens(body.article) + options.max_tokens)
        async with state.admission.enter():
            try:
                summary = await asyncio.wait_for(session.asummarize(body.article, options=options),
                                                 timeout=config.request_timeout_s)
            except Exception as exc:
                raise error_for(exc) from None
        state.metrics.summaries.inc()
        if summary.provenance.cached:
            state.metrics.cache_hits.inc()
        else:
            state.metrics.tokens.labels("prompt").inc(summary.provenance.prompt_tokens)
            state.metrics.tokens.labels("completion").inc(summary.provenance.completion_tokens)
        return summary

    @app.post("/v1/batches", status_code=202, summary="Start a batch job from a JSONL body of {id, article} rows",
              openapi_extra={"requestBody": {"content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                                             "required": True}})
    async def create_batch(request: Request, key: Key, model: str | None = None,
                           options: Annotated[str | None, Query(description="SummarizeOptions as JSON")] = None,
                           ) -> dict[str, Any]:
        session = state.session_for(model)
        try:
            opts = SummarizeOptions.model_validate_json(options) if options else session.options
        except ValueError as exc:
            raise ServiceError(422, "ValidationError", f"options: {exc}") from None
        job_id = new_job_id()
        path = state.jobs.input_path(job_id)
        rows, last = 0, b"\n"
        with path.open("wb") as f:  # streamed to disk, never whole in memory (the body limit applies as it comes)
            try:
                async for chunk in _upload(request):
                    f.write(chunk)
                    rows += chunk.count(b"\n")
                    last = chunk[-1:] or last
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        rows += last != b"\n"
        if path.stat().st_size == 0 or not path.read_bytes().strip():
            path.unlink()
            raise ServiceError(422, "ArticleError", "the batch body is empty: send JSONL rows of {\"id\", \"article\"}")
        job = state.jobs.create(key.id if key is not None else "", session.model.name, opts, rows, job_id)
        state.runner.submit(job.id)
        return job.public(0)

    def owned(job_id: str, key: ApiKey | None) -> Any:
        job = state.jobs.get(job_id, owner=key.id if key is not None else "")
        if job is None:
            raise ServiceError(404, "NotFound", f"no batch job {job_id!r}")
        return job

    @app.get("/v1/batches/{job_id}", summary="A batch job's status and counts")
    async def get_batch(job_id: str, key: Key) -> dict[str, Any]:
        return dict(owned(job_id, key).public(state.runner.running(job_id)))

    @app.get("/v1/batches/{job_id}/results", summary="A batch job's result rows (JSONL, streamed)",
             response_class=StreamingResponse)
    async def batch_results(job_id: str, key: Key) -> StreamingResponse:
        owned(job_id, key)
        return StreamingResponse(state.jobs.rows(job_id), media_type="application/x-ndjson")

    @app.post("/v1/batches/{job_id}/cancel", summary="Cancel a batch job (finished rows stay)")
    async def cancel_batch(job_id: str, key: Key) -> dict[str, Any]:
        job = owned(job_id, key)
        if job.status in ("queued", "running"):
            state.runner.cancel(job_id)
        return dict(owned(job_id, key).public(0))

    return app
