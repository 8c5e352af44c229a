"""summarizer — news summaries you can check.

>>> from summarizer import summarize
>>> s = summarize(open("article.txt").read())                 # embedded model, no key, no server
>>> s = summarize(text, model="openai/gpt-4o-mini")           # any OpenAI-compatible endpoint
>>> for c in s.claims: print(c.statement, c.speaker, c.certainty, [(e.start, e.end) for e in c.evidence])
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .article import check_article, decode_article
from .cache import SummaryCache
from .config import DEFAULT_MODEL
from .errors import (
    ArticleError,
    ConfigurationError,
    ModelError,
    OutputError,
    SummarizerError,
    TransientModelError,
)
from .grounding import Grounder
from .models import ChatRequest, ChatResponse, Model, ScriptedModel, get_model
from .options import Limits, SummarizeOptions
from .schema import (
    Attribution,
    Certainty,
    Claim,
    ClaimKind,
    Evidence,
    Flag,
    FlagKind,
    Provenance,
    RejectedClaim,
    Summary,
    summary_json_schema,
)
from .session import Failure, Summarizer, asummarize, summarize

try:
    __version__ = version("summarizer")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = [
    "DEFAULT_MODEL",
    "ArticleError",
    "Attribution",
    "Certainty",
    "ChatRequest",
    "ChatResponse",
    "Claim",
    "ClaimKind",
    "ConfigurationError",
    "Evidence",
    "Failure",
    "Flag",
    "FlagKind",
    "Grounder",
    "Limits",
    "Model",
    "ModelError",
    "OutputError",
    "Provenance",
    "RejectedClaim",
    "ScriptedModel",
    "SummarizeOptions",
    "Summarizer",
    "SummarizerError",
    "Summary",
    "SummaryCache",
    "TransientModelError",
    "__version__",
    "asummarize",
    "check_article",
    "decode_article",
    "get_model",
    "summarize",
    "summary_json_schema",
]
