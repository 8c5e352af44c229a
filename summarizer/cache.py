"""A disk cache of validated summaries, so a rerun of the same article, model, prompt and options is free.

Only summaries that passed validation and grounding are stored; failures never are. An entry that cannot be read or
no longer validates is deleted and recomputed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import diskcache

from .config import cache_dir
from .schema import Summary

log = logging.getLogger(__name__)


def cache_key(*, model: str, endpoint: str | None, prompt_version: str, schema_version: str, article_sha256: str,
              options: dict[str, Any]) -> str:
    """Everything that changes the answer — and nothing that does not (timeouts, retry counts)."""
    material = {
        "model": model,
        "endpoint": endpoint,
        "prompt": prompt_version,
        "schema": schema_version,
        "article": article_sha256,
        "options": options,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class SummaryCache:
    """Validated summaries on disk (``$SUMMARIZER_CACHE_DIR``, by default ``$SUMMARIZER_HOME/cache``)."""

    def __init__(self, directory: Path | str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory else cache_dir()
        self._cache: diskcache.Cache | None = None

    def _store(self) -> diskcache.Cache:
        if self._cache is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._cache = diskcache.Cache(str(self.directory))
        return self._cache

    def get(self, key: str) -> Summary | None:
        try:
            raw = self._store().get(key)
        except Exception as exc:  # a corrupt database or entry must not stop a summary
            log.warning("cache read failed (%s); recomputing", exc)
            return None
        if raw is None:
            return None
        try:
            return Summary.model_validate_json(raw)
        except Exception as exc:
            log.warning("cache entry %s is corrupt (%s); recomputing", key[:12], exc)
            self.delete(key)
            return None

    def set(self, key: str, summary: Summary) -> None:
        try:
            self._store().set(key, summary.model_dump_json())
        except Exception as exc:
            log.warning("cache write failed (%s); continuing without caching", exc)

    def delete(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self._store().delete(key)

    def clear(self) -> int:
        """Remove every entry; return how many there were."""
        return int(self._store().clear())

    def __len__(self) -> int:
        return len(self._store())

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
            self._cache = None
