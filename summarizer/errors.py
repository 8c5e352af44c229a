"""One hierarchy for everything `summarizer` raises on purpose.

    SummarizerError
    ├── ArticleError               the input cannot be summarised (empty, binary, undecodable)
    ├── ConfigurationError         a model name, package, key or file is missing or wrong
    ├── ModelError                 the model could not be reached or refused the request
    │   └── TransientModelError    worth retrying (connection, timeout, 408/409/429/5xx); retried by `summarize`
    └── OutputError                the model's output stayed invalid after every re-ask

Each class has an ``exit_code`` that the CLI uses, so scripts can tell failures apart.
"""

from __future__ import annotations


class SummarizerError(Exception):
    """Base class of every error `summarizer` raises deliberately. They pickle with their attributes (a worker
    process raises them for the process that asked)."""

    exit_code = 1

    def __reduce__(self) -> tuple[object, ...]:
        # Exception's own pickling calls cls(*args), which loses keyword-only attributes (attempts, retry_after)
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls: type[SummarizerError], args: tuple[object, ...], state: dict[str, object]) -> SummarizerError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ArticleError(SummarizerError, ValueError):
    """The article is empty, binary, or not decodable text. Raised before any model call."""

    exit_code = 3


class ConfigurationError(SummarizerError):
    """A model name is unknown, or a package, API key or weight file it needs is missing."""

    exit_code = 4


class ModelError(SummarizerError):
    """The model endpoint or runtime failed in a way that retrying will not fix."""

    exit_code = 5


class TransientModelError(ModelError):
    """A failure worth retrying: connection error, timeout, HTTP 408/409/429 or 5xx."""

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        #: Seconds the server asked us to wait (``Retry-After``), if it said.
        self.retry_after = retry_after
        #: The HTTP status, where there was one (429 pauses every worker of a session, not only this one).
        self.status = status


class OutputError(SummarizerError):
    """The model's output was still invalid (not JSON, or not the schema) after every re-ask."""

    exit_code = 6

    def __init__(self, message: str, *, attempts: int, last_output: str | None = None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_output = last_output
