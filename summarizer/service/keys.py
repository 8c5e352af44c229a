"""API keys for the service: made once, shown once, stored only as a hash.

A key is ``sk-sum-<id>.<secret>``: the id (8 hex characters) finds the row, the secret (32 random bytes, URL-safe) is
checked against the row's SHA-256 with :func:`hmac.compare_digest`. A key is a random token, not a password, so one
unsalted hash is enough: nothing can be guessed from it faster than the 256 bits themselves. Keys live in the
service's SQLite database (``$SUMMARIZER_HOME/service.db`` by default), with a name, optional per-key rates and a
revoked flag. Neither the secret nor its hash is ever logged or returned after :meth:`KeyStore.create`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import home_dir

PREFIX = "sk-sum-"


def default_db() -> Path:
    return home_dir() / "service.db"


@dataclass(frozen=True)
class ApiKey:
    """A key's public record (never its secret)."""

    id: str
    name: str
    created: float
    rpm: float | None = None
    tpm: float | None = None
    revoked: bool = False


class KeyStore:
    """The keys table of the service database (thread-safe; one connection per store)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_db()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("""CREATE TABLE IF NOT EXISTS api_keys (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL, created REAL NOT NULL,
            rpm REAL, tpm REAL, revoked INTEGER NOT NULL DEFAULT 0)""")
        self._lock = threading.Lock()

    def create(self, name: str, *, rpm: float | None = None, tpm: float | None = None) -> tuple[ApiKey, str]:
        """A new key: its record, and the key itself (shown once; only its hash is kept)."""
        if not name.strip():
            raise ValueError("a key needs a name (what uses it, e.g. newsroom-cms)")
        with self._lock:
            while True:
                key_id = secrets.token_hex(4)
                if self._db.execute("SELECT 1 FROM api_keys WHERE id = ?", (key_id,)).fetchone() is None:
                    break
            secret = secrets.token_urlsafe(32)
            record = ApiKey(key_id, name.strip(), time.time(), rpm, tpm)
            self._db.execute("INSERT INTO api_keys (id, name, hash, created, rpm, tpm) VALUES (?, ?, ?, ?, ?, ?)",
                             (key_id, record.name, _hash(secret), record.created, rpm, tpm))
        return record, f"{PREFIX}{key_id}.{secret}"

    def check(self, presented: str) -> ApiKey | None:
        """The key's record if ``presented`` is a live key, else None (the same time whether the id exists or not)."""
        key_id, _, secret = presented.removeprefix(PREFIX).partition(".")
        with self._lock:
            row = self._db.execute("SELECT id, name, hash, created, rpm, tpm, revoked FROM api_keys WHERE id = ?",
                                   (key_id,)).fetchone()
        stored = row[2] if row is not None else _hash("")  # compare anyway: no timing difference for unknown ids
        matches = hmac.compare_digest(_hash(secret), stored) and presented.startswith(PREFIX)
        if row is None or not matches or row[6]:
            return None
        return ApiKey(row[0], row[1], row[3], row[4], row[5], bool(row[6]))

    def list(self) -> list[ApiKey]:
        with self._lock:
            rows = self._db.execute("SELECT id, name, created, rpm, tpm, revoked FROM api_keys ORDER BY created")
            return [ApiKey(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows.fetchall()]

    def revoke(self, key_id: str) -> bool:
        """Revoke a key by id (or by the whole key); False if there is no such key."""
        key_id = key_id.removeprefix(PREFIX).partition(".")[0]
        with self._lock:
            return self._db.execute("UPDATE api_keys SET revoked = 1 WHERE id = ?", (key_id,)).rowcount > 0

    def any_live(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM api_keys WHERE revoked = 0 LIMIT 1").fetchone() is not None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
