"""Batch jobs of the service: a JSONL upload becomes a job in the service's SQLite database, run by the library's batch
engine (:func:`summarizer.batch.run_batch`) into a database table (:class:`SqliteSink`) — the same row format and
resume rules as ``summarizer batch``, written once in :mod:`summarizer.batch`.

A job's input is kept as a file beside the database (``jobs/<id>.jsonl``), so a server killed mid-job resumes it
when it starts again: rows already in the table are skipped (finished articles never reach the model again), failed
ones are retried, and the table ends with exactly one row per id. A job belongs to the key that made it; another
key cannot see it (it is "not found", not "forbidden": ids are not disclosed).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..batch import BadRow, InputRow, read_jsonl, run_batch
from ..options import SummarizeOptions
from ..session import Summarizer

log = logging.getLogger(__name__)

#: A job's states; queued and running jobs are resumed when the server starts.
STATES = ("queued", "running", "done", "failed", "cancelled")


class JobCancelled(Exception):
    """Raised inside a job's input when it is cancelled: the engine stops, what was written stays."""


@dataclass(frozen=True)
class Job:
    id: str
    owner: str
    status: str
    created: float
    updated: float
    total: int
    done: int
    failed: int
    model: str
    options: dict[str, Any]
    error: str | None

    def public(self, running: int) -> dict[str, Any]:
        """The job as ``GET /v1/batches/{id}`` shows it."""
        remaining = max(0, self.total - self.done - self.failed)
        in_flight = min(running, remaining) if self.status == "running" else 0
        return {"id": self.id, "status": self.status, "model": self.model, "created": self.created,
                "updated": self.updated, "error": self.error,
                "counts": {"total": self.total, "queued": remaining - in_flight, "running": in_flight,
                           "done": self.done, "failed": self.failed}}


class JobStore:
    """The jobs and job_rows tables (one connection, guarded; every write committed at once)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.inputs = db.parent / "jobs"
        self.inputs.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript("""
            CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, owner TEXT NOT NULL, status TEXT NOT NULL,
                created REAL NOT NULL, updated REAL NOT NULL, total INTEGER NOT NULL DEFAULT 0,
                done INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, model TEXT NOT NULL,
                options TEXT NOT NULL, error TEXT);
            CREATE TABLE IF NOT EXISTS job_rows (job TEXT NOT NULL, row_id TEXT NOT NULL, position INTEGER NOT NULL,
                ok INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (job, row_id));
            CREATE INDEX IF NOT EXISTS job_rows_position ON job_rows (job, position);
        """)
        self._lock = threading.Lock()

    def input_path(self, job_id: str) -> Path:
        return self.inputs / f"{job_id}.jsonl"

    def create(self, owner: str, model: str, options: SummarizeOptions, total: int, job_id: str) -> Job:
        now = time.time()
        with self._lock:
            self._conn.execute("INSERT INTO jobs (id, owner, status, created, updated, total, model, options) "
                               "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
                               (job_id, owner, now, now, total, model, options.model_dump_json()))
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str, owner: str | None = None) -> Job | None:
        with self._lock:
            row = self._conn.execute("SELECT id, owner, status, created, updated, total, done, failed, model, "
                                     "options, error FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None or (owner is not None and row[1] != owner):
            return None
        return Job(id=row[0], owner=row[1], status=row[2], created=row[3], updated=row[4], total=row[5], done=row[6],
                   failed=row[7], model=row[8], options=json.loads(row[9]), error=row[10])

    def unfinished(self) -> list[Job]:
        with self._lock:
            ids = [r[0] for r in self._conn.execute(
                "SELECT id FROM jobs WHERE status IN ('queued', 'running') ORDER BY created")]
        return [j for j in (self.get(i) for i in ids) if j is not None]

    def set_status(self, job_id: str, status: str, error: str | None = None) -> None:
        with self._lock:
            self._conn.execute("UPDATE jobs SET status = ?, error = ?, updated = ? WHERE id = ?",
                               (status, error, time.time(), job_id))

    def count(self, job_id: str) -> None:
        """Recount the job's finished rows from its table (once a run ends; :meth:`put` keeps them meanwhile)."""
        with self._lock:
            self._conn.execute(
                "UPDATE jobs SET done = (SELECT COUNT(*) FROM job_rows WHERE job = ? AND ok = 1), "
                "failed = (SELECT COUNT(*) FROM job_rows WHERE job = ? AND ok = 0), updated = ? WHERE id = ?",
                (job_id, job_id, time.time(), job_id))

    def rows(self, job_id: str) -> Iterator[str]:
        """The job's result rows as JSON lines, in input order (once the job is done; else as they came)."""
        with self._lock:
            data = [r[0] for r in self._conn.execute(
                "SELECT data FROM job_rows WHERE job = ? ORDER BY position", (job_id,))]
        for line in data:
            yield line + "\n"

    # -- the sink's side --

    def existing(self, job_id: str) -> dict[str, bool]:
        with self._lock:
            return {r[0]: bool(r[1]) for r in self._conn.execute(
                "SELECT row_id, ok FROM job_rows WHERE job = ?", (job_id,))}

    def put(self, job_id: str, row: dict[str, Any]) -> None:
        """Store a row (replacing the id's earlier one) and keep the job's counts, in one transaction."""
        key, ok = str(row["id"]), "summary" in row
        data = json.dumps(row, ensure_ascii=False)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                old = self._conn.execute("SELECT ok FROM job_rows WHERE job = ? AND row_id = ?",
                                         (job_id, key)).fetchone()
                self._conn.execute(
                    "INSERT INTO job_rows (job, row_id, position, ok, data) VALUES (?, ?, "
                    "(SELECT COALESCE(MAX(position), 0) + 1 FROM job_rows WHERE job = ?), ?, ?) "
                    "ON CONFLICT (job, row_id) DO UPDATE SET ok = excluded.ok, data = excluded.data",
                    (job_id, key, job_id, int(ok), data))
                was_ok, was_failed = (old is not None and old[0] == 1), (old is not None and old[0] == 0)
                self._conn.execute("UPDATE jobs SET done = done + ?, failed = failed + ?, updated = ? WHERE id = ?",
                                   (int(ok) - was_ok, int(not ok) - was_failed, time.time(), job_id))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def order(self, job_id: str, order: list[str]) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("UPDATE job_rows SET position = ? WHERE job = ? AND row_id = ?",
                                   [(-(len(order) - i), job_id, key) for i, key in enumerate(order)])
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class SqliteSink:
    """:class:`summarizer.batch.Sink` over one job's rows: one row per id by the table's key, each write committed."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self.store, self.job_id = store, job_id

    def existing(self) -> dict[str, bool]:
        return self.store.existing(self.job_id)

    def write(self, row: dict[str, Any]) -> None:
        self.store.put(self.job_id, row)

    def finalize(self, order: list[str]) -> None:
        self.store.order(self.job_id, order)

    def close(self) -> None:
        return None


class JobRunner:
    """Runs jobs one after another on a thread of its own, each through the library's batch engine."""

    def __init__(self, store: JobStore, session_for: Any) -> None:
        self.store = store
        self.session_for = session_for  # (model name) -> Summarizer
        self._queue: list[str] = []
        self._wake = threading.Condition()
        self._cancelled: set[str] = set()
        self._running: str | None = None
        self._running_width = 0
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="summarizer-jobs", daemon=True)

    def start(self) -> None:
        """Start the runner, queueing the jobs a previous server left unfinished."""
        for job in self.store.unfinished():
            self.store.set_status(job.id, "queued")
            self._queue.append(job.id)
        self._thread.start()

    def submit(self, job_id: str) -> None:
        with self._wake:
            self._queue.append(job_id)
            self._wake.notify()

    def cancel(self, job_id: str) -> None:
        with self._wake:
            self._cancelled.add(job_id)
            if job_id in self._queue:
                self._queue.remove(job_id)
                self.store.set_status(job_id, "cancelled")

    def running(self, job_id: str) -> int:
        return self._running_width if self._running == job_id else 0

    def stop(self) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify()  # a running job stops at its next row and stays queued: the next start resumes it
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._stop:
                    self._wake.wait()
                if self._stop:
                    return
                job_id = self._queue.pop(0)
                self._running = job_id
            try:
                self._run(job_id)
            except Exception as exc:  # a bug, or a configuration error (the endpoint refuses the key)
                log.exception("batch job %s failed", job_id)
                self.store.set_status(job_id, "failed", f"{type(exc).__name__}: {exc}"[:500])
            finally:
                with self._wake:
                    self._running = None

    def _run(self, job_id: str) -> None:
        job = self.store.get(job_id)
        if job is None or job_id in self._cancelled:
            return
        session: Summarizer = self.session_for(job.model)
        self._running_width = session.limits.concurrency
        self.store.set_status(job_id, "running")
        try:
            run_batch(session, self._rows(job_id), SqliteSink(self.store, job_id),
                      options=SummarizeOptions.model_validate(job.options))
        except JobCancelled:  # by its owner (cancelled), or the server stopping (queued: resumed when it starts)
            self.store.count(job_id)
            self.store.set_status(job_id, "cancelled" if job_id in self._cancelled else "queued")
            return
        self.store.count(job_id)
        self.store.set_status(job_id, "done")

    def _rows(self, job_id: str) -> Iterator[InputRow | BadRow]:
        for row in read_jsonl(self.store.input_path(job_id)):
            if job_id in self._cancelled or self._stop:
                raise JobCancelled(job_id)
            yield row


def new_job_id() -> str:
    return "job_" + uuid.uuid4().hex[:20]
