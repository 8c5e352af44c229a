"""The batch engine on a Ray cluster: the same rows, resume rules and sink as the local engine; the articles are
summarised by a Ray Data actor pool, each actor holding one :class:`~summarizer.Summarizer`.

:class:`RayEngine` has the session's ``as_completed(articles)`` shape, so :func:`summarizer.batch.run_batch` drives
it exactly as it drives a local session: it reads the input, decides what to skip or retry, writes every row to the
sink on the driver and compacts it at the end. Only "summarise these articles" runs on the cluster. Why an actor pool
of sessions and not ``ray.data.llm``'s processors: see ``docs/scale.md``.

    with RayEngine("openai/gpt-4o-mini", limits=Limits(concurrency=64, rpm=3000), actors=8) as engine:
        report = run_batch(engine, read_input(path), JsonlSink(out))

- **Input.** The articles are read lazily and run in windows (:data:`WINDOW_ROWS_PER_ACTOR` per actor, at most
  :data:`MAX_WINDOW_ROWS`): each window is staged into Ray's object store in blocks and run as one pipeline, so
  neither the driver nor the object store holds more than a window of the input, whatever its size.
- **Limits.** ``limits`` are the whole job's: ``concurrency``, ``rpm`` and ``tpm`` are split evenly across the
  actors; each actor's session backs off on its own 429s. An embedded model runs one call at a time per actor, with
  ``$SUMMARIZER_THREADS`` set to the actor's CPUs. Actors do not start worker processes of their own (``workers``
  0 unless given): more actors is how a Ray job gets more cores.
- **Environment.** ``OPENAI_*`` and ``SUMMARIZER_*`` variables of the driver are passed to the actors (so an
  endpoint's key and the cache directory travel with the job); the cache is each node's own.
- **Failures.** A bad article or a failed model call is a ``Failure`` row, as locally. If Ray retries a batch after
  an actor died, an article that already has its result is not reported twice. A pipeline that cannot run at all
  (weights that will not load on the actors) raises :class:`~summarizer.errors.ModelError`; the rows written stay.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
from collections.abc import AsyncIterator, Iterable, Iterator
from types import TracebackType
from typing import Any, Self

from .errors import ConfigurationError, ModelError, SummarizerError
from .models import Model, get_model
from .options import Limits, SummarizeOptions
from .session import Article, Failure, Result, Summarizer

log = logging.getLogger(__name__)

#: The most articles in one task (one block staged into the object store).
STAGE_ROWS = 64
#: Tasks an actor runs at once on its event loop (sharing its session's calls in flight).
TASKS_PER_ACTOR = 2
#: Blocks in one window at most (staging a block costs Ray 2–6 ms; see docs/scale.md).
MAX_BLOCKS = 512
#: Articles run as one Ray Data pipeline, per actor and at most: a window is held in the driver (pickled) while it
#: is staged and in the object store while it runs; a pipeline's start-up (seconds) is paid once per window.
WINDOW_ROWS_PER_ACTOR = 16_384
MAX_WINDOW_ROWS = 262_144
#: Environment variables of the driver that the actors get too.
FORWARDED_ENV = ("OPENAI_", "SUMMARIZER_")
#: The most CPUs one embedded-model actor takes by default (llama.cpp gains little past this on one article).
MAX_DEFAULT_ACTOR_CPUS = 8


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - the extra is installed by the test set-up
        raise ConfigurationError("the Ray engine needs the ray extra: pip install 'summarizer[ray]'") from exc
    return ray


class _SessionActor:
    """One actor of the pool: a loaded session, summarising each batch it is given as its articles finish."""

    def __init__(self, model: str | Model | None, cache: bool | str, options: SummarizeOptions,
                 limits: Limits) -> None:
        self.session = Summarizer(model, cache=cache, options=options, limits=limits).load()

    async def __call__(self, batch: dict[str, Any]) -> AsyncIterator[dict[str, list[Any]]]:
        indexes = [int(i) for i in batch["index"]]
        articles: list[Article] = [pickle.loads(a) for a in batch["article"]]
        async for i, result in self.session.aiter_completed(articles):
            yield {"index": [indexes[i]], "result": [_pickled(result)]}


def _pickled(result: Result) -> bytes:
    """A result for the driver. A failure whose exception will not pickle (a client's response object) goes
    without it, keeping whether it was a configuration error (which stops the batch, as locally)."""
    try:
        return pickle.dumps(result)
    except Exception:  # any unpicklable attribute of a foreign exception
        assert isinstance(result, Failure)
        bare = Failure.of(ConfigurationError(result.message) if isinstance(result.exception, ConfigurationError)
                          else SummarizerError(result.message), result.attempts)
        return pickle.dumps(bare.model_copy(update={"type": result.type, "prompt_tokens": result.prompt_tokens,
                                                    "completion_tokens": result.completion_tokens}))


class RayEngine:
    """Summarise articles on a Ray cluster. ``address``: None starts a local Ray (or joins the one this process
    started); ``"auto"`` or ``"ray://host:10001"`` joins a cluster. ``actors``: sessions in the pool (default: one
    per CPU for an endpoint, one per ``cpus_per_actor`` for an embedded model); ``cpus_per_actor``: default 1 for an
    endpoint, the smallest node's CPUs (at most :data:`MAX_DEFAULT_ACTOR_CPUS`) for an embedded model."""

    def __init__(self, model: str | Model | None = None, *, cache: bool | str | os.PathLike[str] = True,
                 options: SummarizeOptions | None = None, limits: Limits | None = None, address: str | None = None,
                 actors: int | None = None, cpus_per_actor: float | None = None) -> None:
        self.model: Model = get_model(model)  # an unknown name or a missing key fails here, on the driver
        self._spec = model if model is not None else self.model.name
        self._cache: bool | str = cache if isinstance(cache, bool) else os.fspath(cache)
        self.options = options or SummarizeOptions()
        self.limits = limits or Limits()
        self._address = address
        self._actors = actors
        self._cpus_per_actor = cpus_per_actor
        self._started_ray = False

    # -- the cluster --------------------------------------------------------------------------------------------

    def load(self) -> Self:
        """Join (or start) Ray now, so a cluster that cannot be reached fails before any row is written."""
        ray = _ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self._address, include_dashboard=False, logging_level=logging.ERROR,
                         log_to_driver=False)
            except Exception as exc:  # ConnectionError, RuntimeError, … from Ray
                raise ConfigurationError(f"cannot start or join Ray at {self._address or 'a new local cluster'}: "
                                         f"{exc}") from exc
            self._started_ray = self._address is None
        from ray.data import DataContext

        logging.getLogger("ray.data").setLevel(logging.ERROR)
        context = DataContext.get_current()
        context.enable_progress_bars = False  # the CLI has its own
        context.execution_options.preserve_order = False  # rows come back as they finish
        return self

    def _shape(self) -> tuple[int, float, int]:
        """(actors, CPUs per actor, articles in flight per actor)."""
        ray = _ray()
        embedded = self.model.max_concurrency is not None
        cpus = [n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")]
        total = sum(cpus) or 1
        if self._cpus_per_actor:
            per_actor = self._cpus_per_actor
        elif embedded:  # llama.cpp's threads: one node's cores
            per_actor = min(min((c for c in cpus if c), default=1), MAX_DEFAULT_ACTOR_CPUS)
        else:  # an endpoint's actor mostly waits: a CPU each, or a share when more actors than CPUs are asked for
            per_actor = min(1.0, total / self._actors) if self._actors else 1.0
        actors = self._actors or max(1, int(total // per_actor))
        return actors, per_actor, self._in_flight(actors)

    def _in_flight(self, actors: int) -> int:
        """Each actor's share of the job's calls in flight, and no more than the model takes at once."""
        share = max(1, math.ceil(self.limits.concurrency / actors))
        return min(share, self.model.max_concurrency or share)

    def _actor_limits(self, actors: int, in_flight: int) -> Limits:
        """One actor's share of the job's limits. A rate too small to share (under one a minute per actor) is
        raised to one, and said: fewer actors would keep to it."""
        limits = self.limits

        def share(rate: float | None, name: str) -> float | None:
            if not rate:
                return None
            if rate / actors < 1:
                log.warning("--%s %g cannot be shared by %d actors; each gets 1 (the job may reach %d)", name, rate,
                            actors, actors)
            return max(1.0, rate / actors)

        return limits.model_copy(update={"concurrency": in_flight, "rpm": share(limits.rpm, "rpm"),
                                         "tpm": share(limits.tpm, "tpm"), "workers": limits.workers or 0})

    def _env(self, cpus_per_actor: float) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV)}
        if self.model.max_concurrency is not None:
            env.setdefault("SUMMARIZER_THREADS", str(max(1, int(cpus_per_actor))))
        return env

    # -- the engine ---------------------------------------------------------------------------------------------

    def as_completed(self, articles: Iterable[Article], *,
                     options: SummarizeOptions | None = None) -> Iterator[tuple[int, Result]]:
        """``(index, Summary | Failure)`` for each article, as the actors finish them (the session's contract).
        The input is run in windows, one Ray Data pipeline each."""
        self.load()
        actors = self._shape()[0]
        window_rows = min(WINDOW_ROWS_PER_ACTOR * actors, MAX_WINDOW_ROWS)
        window: list[tuple[int, bytes]] = []
        for index, article in enumerate(articles):
            window.append((index, pickle.dumps(article)))
            if len(window) == window_rows:
                yield from self._run_window(window, options or self.options)
                window = []
        if window:
            yield from self._run_window(window, options or self.options)

    def _run_window(self, window: list[tuple[int, bytes]], options: SummarizeOptions) -> Iterator[tuple[int, Result]]:
        ray = _ray()
        import pyarrow as pa

        actors, per_actor, in_flight = self._shape()
        # A task is one block: twice an actor's calls in flight (so an embedded model's articles spread over the
        # actors), at most STAGE_ROWS, unless that makes more than MAX_BLOCKS blocks (Ray takes milliseconds a
        # block to stage). Two tasks at once per actor on its event loop share the session's slots, so one task's
        # tail overlaps the next one's start.
        size = max(min(STAGE_ROWS, 2 * in_flight), math.ceil(len(window) / MAX_BLOCKS))
        refs = [ray.put(pa.table({"index": [i for i, _ in window[n:n + size]],
                                  "article": [a for _, a in window[n:n + size]]}))
                for n in range(0, len(window), size)]
        if len(refs) < actors:  # a small window: no more actors (each a session, maybe a loaded model) than tasks
            actors = len(refs)
            in_flight = self._in_flight(actors)
        dataset = ray.data.from_arrow_refs(refs).map_batches(
            _SessionActor, fn_constructor_args=(self._spec, self._cache, options,
                                                self._actor_limits(actors, in_flight)),
            batch_size=None, batch_format="numpy", num_cpus=per_actor,
            compute=ray.data.ActorPoolStrategy(size=actors, max_concurrent_calls_per_actor=TASKS_PER_ACTOR),
            runtime_env={"env_vars": self._env(per_actor)})
        count = 0
        seen: set[int] = set()
        try:
            for row in dataset.iter_rows():
                index = int(row["index"])
                if index in seen:  # a batch Ray ran again after its actor died: reported once
                    continue
                seen.add(index)
                count += 1
                yield index, pickle.loads(row["result"])
        except (KeyboardInterrupt, GeneratorExit, SummarizerError):
            raise
        except Exception as exc:  # RayTaskError, RayActorError, …: the pipeline itself failed
            raise ModelError(f"the Ray pipeline stopped after {count} article(s) of this window: "
                             f"{' '.join(str(exc).split())[:500]}") from exc

    def close(self) -> None:
        """Shut down the Ray this engine started (a cluster it joined keeps running)."""
        if self._started_ray:
            _ray().shutdown()
            self._started_ray = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RayEngine({self.model.name!r}, address={self._address!r}, actors={self._actors!r})"
