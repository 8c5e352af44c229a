"""Secrets out of everything the library shows: the API key, and credentials carried in ``OPENAI_BASE_URL``.

A base URL may carry a password (``https://user:pass@host/v1``) or a key in its query (``?api-key=…``). What is
shown of an endpoint — ``provenance.endpoint``, error messages, reports, the cache key — is :func:`public_url`:
no user information and no query. Log records, including those of the HTTP client underneath, which logs each
request's full URL, pass through :class:`SecretFilter` wherever the CLI writes them.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit, urlunsplit

MASK = "***"


def public_url(url: str) -> str:
    """``url`` without user information or query: what may be shown, logged and stored."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", "")).rstrip("/")


def split_query(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its query, and the query as parameters (the ``openai`` client mangles a base URL that has
    one: they are sent as its default query instead)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), dict(parse_qsl(parts.query))


def secrets() -> list[str]:
    """The secret strings of this environment: the API key, a password and query values in the base URL."""
    found = [os.environ.get("OPENAI_API_KEY", "")]
    base = os.environ.get("OPENAI_BASE_URL", "")
    if base:
        parts = urlsplit(base)
        found += [parts.password or "", *(value for _, value in parse_qsl(parts.query))]
    found += [form for value in found for form in (quote(value, safe=""), quote_plus(value))]  # as URLs log them
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def redact(text: str, values: list[str] | None = None) -> str:
    for value in secrets() if values is None else values:
        text = text.replace(value, MASK)
    return text


class SecretFilter(logging.Filter):
    """Masks :func:`secrets` in every record it sees (attach it to a handler: it then covers every logger)."""

    def __init__(self) -> None:
        super().__init__()
        self.values = secrets()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.values:
            message = record.getMessage()
            cleaned = redact(message, self.values)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_info and not record.exc_text:  # the traceback too, formatted once here
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text, self.values)
        return True
