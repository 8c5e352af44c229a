"""Answers checked in a worker process, so that many endpoint calls in flight are not held up by one core.

A session's event loop does two kinds of work per article: the HTTP calls, and the CPU of the pipeline's steps —
rendering, validation, grounding, and reading the article's sources, numbers and quotations for the checks (about
5 ms an article, more than the HTTP client's share). With 32 calls of 200 ms in flight that CPU alone fills one core,
and every answer waits its turn behind the others (bench/README.md). :class:`Workers` runs each article's
:func:`~summarizer.pipeline.summary_steps` in a worker process instead: the loop sends the article, gets back the
request to make, makes it, sends back the answer — and gets the next request or the finished :class:`Summary`.

The steps are the very same generator either way; only where it runs differs, so the output is the same. The model
stays in the calling process (its clients, limits and retries are the session's); the worker gets its
:class:`~summarizer.models.base.ModelFacts`. A model without facts (an embedded one counts tokens with its own
tokenizer, and its calls take seconds, so there is nothing to gain) is never run this way.

A worker is a ``python`` running :func:`main` on two pipes of its own, not :mod:`multiprocessing`: that would start
it by re-importing the caller's main script, which breaks a script with no ``if __name__ == "__main__"`` guard.
Messages are pickled frames ``(job, verb, value)``. A worker ignores Ctrl-C (the caller decides) and exits when its
input pipe closes, so a killed caller leaves no worker behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from .models.base import ChatRequest, ChatResponse, ModelFacts
from .options import SummarizeOptions
from .schema import Summary

log = logging.getLogger(__name__)

_FRAME = struct.Struct("!I")
#: The worker's command (not ``-m summarizer.workers``: its classes must pickle as this module's, not ``__main__``'s).
_SCHEMAS_KEPT = 64
_ENTRY = "import sys; from summarizer.workers import main; sys.exit(main(sys.argv[1:]))"


class WorkerExited(RuntimeError):
    """The worker process ended while an article's steps were running in it (it was killed, or ran out of
    memory); the article fails and the next one starts a new worker."""


@dataclass(frozen=True)
class _Choices:
    """An article's source names, read in the worker, as the callable a request carries (a lambda does not pickle)."""

    names: tuple[str, ...]

    def __call__(self) -> tuple[str, ...]:
        return self.names


class Workers:
    """``count`` worker processes, each running the steps of the articles given to it (started when this is made; a
    dead one is replaced when the next article comes)."""

    def __init__(self, count: int, facts: ModelFacts) -> None:
        self.count = max(1, count)
        self.facts = facts
        self._lock = threading.Lock()
        self._procs: list[_Process | None] = [_Process() for _ in range(self.count)]
        self._jobs = 0
        self._closed = False

    @property
    def ready(self) -> bool:
        """Has a worker finished starting (imports take about a second)? Work sent before then waits for it."""
        return any(p is not None and p.ready for p in self._procs)

    async def run(self, text: str, options: SummarizeOptions,
                  call: Callable[[ChatRequest], Awaitable[ChatResponse]]) -> Summary:
        """:func:`~summarizer.conversation.arun_steps` of ``summary_steps(text, facts, options)``, with the steps in
        a worker and ``call`` here. Errors of the steps (an OutputError, say) are raised here as they were there."""
        proc, job = self._assign()
        finished = False
        try:
            verb, value = await proc.ask(job, "start", (text, self.facts, options))
            while verb == "ask":
                response = await call(value)
                verb, value = await proc.ask(job, "send", response)
            finished = True
            if verb == "error":
                raise value
            summary: Summary = value
            return summary
        finally:
            with self._lock:
                proc.load -= 1
            if not finished:  # a failed call or a cancel: the worker drops the article's steps
                proc.tell(job, "close", None)

    def _assign(self) -> tuple[_Process, int]:
        with self._lock:
            if self._closed:
                raise RuntimeError("these workers are closed")
            self._jobs += 1
            for i, proc in enumerate(self._procs):
                if proc is None or not proc.alive:
                    self._procs[i] = _Process()
            live = [p for p in self._procs if p is not None]
            proc = min(live, key=lambda p: p.load)  # the least busy one
            proc.load += 1
            return proc, self._jobs

    def close(self) -> None:
        """End the worker processes (they finish the message in hand and exit)."""
        with self._lock:
            self._closed = True
            procs, self._procs = self._procs, [None] * self.count
        for proc in procs:
            if proc is not None:
                proc.stop()


class _Process:
    """One worker process, with a writer thread (the event loop never blocks on a full pipe) and a reader thread
    (answers are settled on the loop that asked)."""

    def __init__(self) -> None:
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        try:
            self.popen = subprocess.Popen(
                [sys.executable, "-c", _ENTRY, str(down_r), str(up_w)],
                pass_fds=(down_r, up_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            )
        finally:
            os.close(down_r)
            os.close(up_w)
        self._down = os.fdopen(down_w, "wb")
        self._up = os.fdopen(up_r, "rb")
        self._pending: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[tuple[str, Any]]]] = {}
        self._lock = threading.Lock()
        self._schemas: dict[str, dict[str, Any]] = {}  # used by the reader thread only
        self._outbox: queue.SimpleQueue[tuple[int, str, Any] | None] = queue.SimpleQueue()
        self.alive = True
        self.ready = False  # set when the worker says it has started
        self.load = 0  # articles assigned and not finished (guarded by Workers._lock)
        threading.Thread(target=self._write, name="summarizer-worker-out", daemon=True).start()
        threading.Thread(target=self._read, name="summarizer-worker-in", daemon=True).start()

    async def ask(self, job: int, verb: str, value: Any) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[str, Any]] = loop.create_future()
        with self._lock:
            if not self.alive:
                raise WorkerExited(self._exit_message())
            self._pending[job] = (loop, future)
        self._outbox.put((job, verb, value))
        return await future

    def tell(self, job: int, verb: str, value: Any) -> None:
        """A message with no answer."""
        if self.alive:
            self._outbox.put((job, verb, value))

    def stop(self) -> None:
        self._outbox.put(None)  # the writer closes the pipe: the worker reads the end and exits
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def _write(self) -> None:
        try:
            while (item := self._outbox.get()) is not None:
                _send_frame(self._down, item)
        except OSError:  # the worker is gone; the reader fails what was pending
            pass
        finally:
            with contextlib.suppress(OSError):
                self._down.close()

    def _read(self) -> None:
        try:
            while (frame := _read_frame(self._up)) is not None:
                job, verb, value = frame
                if verb == "ready":
                    self.ready = True
                    continue
                if verb == "ask":
                    value = replace(value, schema=self._schema(value.schema))
                with self._lock:
                    waiter = self._pending.pop(job, None)
                if waiter is not None:
                    _settle(waiter, (verb, value))
        except Exception as exc:  # a torn or unreadable message: this worker is done, its articles fail
            log.warning("reading from a worker process failed: %s: %s", type(exc).__name__, exc)
            self.popen.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):  # reap it (and learn how it ended)
            self.popen.wait(timeout=5)
        with self._lock:
            self.alive = False
            pending, self._pending = self._pending, {}
        error = WorkerExited(self._exit_message())
        for waiter in pending.values():
            _settle(waiter, error)
        with contextlib.suppress(OSError):
            self._up.close()

    def _schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """One object per distinct schema: an endpoint keeps its conversion of a schema by the object's identity
        (every request of a run has the same one), which a schema unpickled anew for each request would defeat."""
        key = json.dumps(schema, sort_keys=True)
        kept = self._schemas.get(key)
        if kept is None:
            if len(self._schemas) >= _SCHEMAS_KEPT:
                self._schemas.clear()
            kept = self._schemas[key] = schema
        return kept

    def _exit_message(self) -> str:
        code = self.popen.poll()
        how = "is stopping" if code is None else (f"was killed by signal {-code}" if code < 0 else f"exited ({code})")
        return f"the worker process checking answers (pid {self.popen.pid}) {how}"


def _settle(waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[tuple[str, Any]]],
            outcome: tuple[str, Any] | BaseException) -> None:
    loop, future = waiter

    def done() -> None:
        if future.done():  # cancelled meanwhile
            return
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting
        loop.call_soon_threadsafe(done)


def _send_frame(stream: BinaryIO, item: Any) -> None:
    data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(data)) + data)
    stream.flush()


def _read_frame(stream: BinaryIO) -> Any:
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        return None  # the other end closed
    (size,) = _FRAME.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("a cut-off message")
    return pickle.loads(data)


# -- the worker side ------------------------------------------------------------------------------------------------


def serve(down: BinaryIO, up: BinaryIO) -> None:
    """Run steps as asked until the input closes: ``start`` an article's steps, ``send`` them an answer, ``close``
    them. Each answer is ``(job, "ask", request)``, ``(job, "done", summary)`` or ``(job, "error", exception)``."""
    from .pipeline import summary_steps

    _send_frame(up, (0, "ready", None))
    jobs: dict[int, Any] = {}
    while (frame := _read_frame(down)) is not None:
        job, verb, value = frame
        if verb == "close":
            steps = jobs.pop(job, None)
            if steps is not None:
                steps.close()
            continue
        try:
            if verb == "start":
                text, facts, options = value
                steps = jobs[job] = summary_steps(text, facts, options)
                request = next(steps)
            else:
                request = jobs[job].send(value)
            reply: tuple[int, str, Any] = (job, "ask", _portable(request))
        except StopIteration as end:
            jobs.pop(job, None)
            reply = (job, "done", end.value)
        except Exception as exc:  # the steps' own errors (OutputError...) and bugs alike go back to the caller
            jobs.pop(job, None)
            reply = (job, "error", _picklable(exc))
        _send_frame(up, reply)


def _portable(request: ChatRequest) -> ChatRequest:
    """The request with its source names read here (where the article's sources are already read for the checks).
    Its grammar schema is dropped: workers serve only models with :class:`~summarizer.models.base.ModelFacts`
    (endpoints and the fake), and none of them enforces a grammar."""
    if request.source_choices is not None:
        request = replace(request, source_choices=_Choices(tuple(request.source_choices())))
    if request.grammar_schema is not None:
        request = replace(request, grammar_schema=None)
    return request


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle; the pipe's end stops us
    down_fd, up_fd = int(argv[0]), int(argv[1])
    with os.fdopen(down_fd, "rb") as down, os.fdopen(up_fd, "wb") as up, contextlib.suppress(BrokenPipeError):
        serve(down, up)
    return 0

