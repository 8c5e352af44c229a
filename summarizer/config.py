"""Where state lives and which model is the default — all from environment variables.

- ``SUMMARIZER_HOME`` moves all state (cache, assembled model weights). Default: the user cache directory.
- ``SUMMARIZER_CACHE_DIR`` moves only the cache. Default: ``$SUMMARIZER_HOME/cache``.
- ``SUMMARIZER_MODEL`` is the default model name. Default: :data:`DEFAULT_MODEL`.
- ``SUMMARIZER_THREADS`` is how many CPU threads embedded models use. Default: every core.
- ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` configure ``openai/<model>`` as the ``openai`` client always does.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DEFAULT_MODEL = "local/qwen2.5-coder-1.5b"


def home_dir() -> Path:
    env = os.environ.get("SUMMARIZER_HOME")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("summarizer"))


def cache_dir() -> Path:
    env = os.environ.get("SUMMARIZER_CACHE_DIR")
    return Path(env).expanduser() if env else home_dir() / "cache"


def models_dir() -> Path:
    return home_dir() / "models"


def default_model() -> str:
    return os.environ.get("SUMMARIZER_MODEL") or DEFAULT_MODEL
