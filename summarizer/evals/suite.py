"""Eval suites: a YAML file naming a dataset, the systems to run, the scorers (with options) and thresholds.

A suite file::

    name: seed
    dataset: data/seed.jsonl          # JSONL, relative to this file; or `cases:` inline (same fields)
    models: [local/qwen2.5-coder-1.5b, lead-3]
    scorers: [grounding, {faithfulness: {embedder: null}}, numbers]
    thresholds: {grounding: 1.0}      # mean over a system's cases must be >= the value

A dataset row is ``{"id", "article" | "article_path", "reference"?, "checks"?, ...}``; other fields are kept in
``meta``. ``article_path`` is relative to the file that names it. Paths may use ``$VARS`` (e.g.
``$SUMMARIZER_SHARED_DATA``), expanded from the environment.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

import yaml  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigurationError
from ..options import DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_CLAIMS

__all__ = ["Case", "GoldCheck", "Price", "ScorerSpec", "Suite", "SuiteError", "dataset_sha256", "load_cases",
           "load_suite"]

DEFAULT_SCORERS = ("grounding", "faithfulness", "attribution", "copies", "numbers", "coverage", "rouge", "gold",
                   "compression", "length", "latency", "tokens", "cost", "attempts", "valid")


class SuiteError(ConfigurationError):
    """A suite file or its dataset is missing or malformed (exit code 4, like any configuration error)."""


class GoldCheck(BaseModel):
    """A hand-written fact a good summary gets right, if it mentions it at all.

    - ``number``: ``text`` (e.g. "3,000") attributed to one of ``sources``; ``qualifier`` (e.g. "at least") kept.
    - ``quote``: the phrase ``text`` (e.g. "fair game") attributed to one of ``sources``.
    - ``hedge``: every statement matching one of ``topic`` keeps a hedge (or a non-asserted certainty).
    - ``own``: the phrase ``text`` is the article's own voice: a claim that carries it names no speaker.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    type: Literal["number", "quote", "hedge", "own"]
    text: str | None = None
    sources: list[str] = Field(default_factory=list, description="Names that identify the right source.")
    qualifier: str | None = None
    topic: list[str] = Field(default_factory=list)
    note: str = ""

    @model_validator(mode="after")
    def _complete(self) -> GoldCheck:
        if self.type in ("number", "quote") and not (self.text and self.sources):
            raise ValueError(f"check {self.id!r}: a {self.type} check needs `text` and `sources`")
        if self.type == "own" and (not self.text or self.sources):
            raise ValueError(f"check {self.id!r}: an own check needs `text` and no `sources`")
        if self.type == "hedge" and not self.topic:
            raise ValueError(f"check {self.id!r}: a hedge check needs `topic`")
        return self


class Case(BaseModel):
    """One article to summarise, with what it is judged against."""

    id: str
    article: str
    reference: str | None = None
    checks: list[GoldCheck] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)


class ScorerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class Price(BaseModel):
    """US dollars per million tokens."""

    prompt: float = Field(ge=0)
    completion: float = Field(ge=0)


class Suite(BaseModel):
    """A parsed suite. ``base_dir`` is where relative paths in it are resolved (the suite file's folder)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    dataset: str | None = None
    cases: list[dict[str, Any]] = Field(default_factory=list)
    models: list[str] = Field(min_length=1)
    scorers: list[ScorerSpec] = Field(default_factory=lambda: [ScorerSpec(name=n) for n in DEFAULT_SCORERS])
    thresholds: dict[str, float] = Field(default_factory=dict)
    limit: int | None = Field(default=None, ge=1)
    #: With a limit, take the cases alternately from each value of this field of the rows (in file order), so that
    #: ``dataset`` gives as many CNN/DailyMail articles as XSum ones; None: the first cases.
    balance: str | None = None
    concurrency: int = Field(default=2, ge=1, le=64)
    max_claims: int = Field(default=DEFAULT_MAX_CLAIMS, ge=1, le=12)
    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=10)
    bootstrap: int = Field(default=2000, ge=100)
    prices: dict[str, Price] = Field(default_factory=dict)
    base_dir: str = "."

    @field_validator("scorers", mode="before")
    @classmethod
    def _scorer_forms(cls, value: Any) -> Any:
        """Accept ``name``, ``{name: {options}}`` and ``{name: ..., options: ...}``."""
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                out.append({"name": item})
            elif isinstance(item, dict) and "name" not in item and len(item) == 1:
                (name, options), = item.items()
                out.append({"name": name, "options": options or {}})
            else:
                out.append(item)
        return out

    @model_validator(mode="after")
    def _has_data(self) -> Suite:
        if not self.dataset and not self.cases:
            raise ValueError("a suite needs a `dataset` (JSONL path) or inline `cases`")
        return self

    def resolve(self, path: str) -> Path:
        return _resolve(path, Path(self.base_dir))


def _resolve(path: str, base: Path) -> Path:
    p = Path(os.path.expandvars(path)).expanduser()
    return p if p.is_absolute() else (base / p)


def load_suite(path: str | os.PathLike[str]) -> Suite:
    """Read a suite YAML file; relative paths in it are resolved against its folder."""
    file = Path(path)
    if not file.is_file():
        raise SuiteError(f"no suite file at {file}")
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SuiteError(f"{file}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SuiteError(f"{file}: a suite is a mapping (name, dataset, models, scorers, ...)")
    raw.setdefault("name", file.stem)
    raw["base_dir"] = str(file.resolve().parent)
    try:
        return Suite.model_validate(raw)
    except ValidationError as exc:
        raise SuiteError(f"{file}: {_problems(exc, 'suite')}") from None


def _problems(exc: ValidationError, root: str = "") -> str:
    """A validation error as one line: ``loc: message; ...`` (``root`` names an empty location)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or root}: {e['msg']}" for e in exc.errors())


def _case(row: dict[str, Any], base: Path, where: str) -> Case:
    row = dict(row)
    if "article_path" in row:
        article_file = _resolve(str(row.pop("article_path")), base)
        if not article_file.is_file():
            raise SuiteError(f"{where}: no article at {article_file}")
        row["article"] = article_file.read_text(encoding="utf-8")
    known = {"id", "article", "reference", "checks", "meta"}
    meta = {k: v for k, v in row.items() if k not in known}
    try:
        return Case.model_validate({**{k: v for k, v in row.items() if k in known}, "id": str(row.get("id", "")),
                                    "meta": {**row.get("meta", {}), **meta}})
    except ValidationError as exc:
        raise SuiteError(f"{where}: {_problems(exc)}") from None


def load_cases(suite: Suite, limit: int | None = None) -> list[Case]:
    """The suite's cases (inline ones first, then the dataset's rows), the first ``limit`` of them."""
    base = Path(suite.base_dir)
    cases = [_case(row, base, f"suite {suite.name}, case {i}") for i, row in enumerate(suite.cases, 1)]
    if suite.dataset:
        file = suite.resolve(suite.dataset)
        if not file.is_file():
            raise SuiteError(f"suite {suite.name}: no dataset at {file}")
        with file.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SuiteError(f"{file}:{lineno}: not JSON: {exc.msg}") from None
                cases.append(_case(row, file.parent, f"{file}:{lineno}"))
    seen: set[str] = set()
    for case in cases:
        if not case.id:
            raise SuiteError(f"suite {suite.name}: every case needs an `id`")
        if case.id in seen:
            raise SuiteError(f"suite {suite.name}: duplicate case id {case.id!r}")
        seen.add(case.id)
    n = limit if limit is not None else suite.limit
    if n is not None and suite.balance:
        cases = _alternate(cases, suite.balance)
    return cases[:n] if n is not None else cases


def _alternate(cases: list[Case], key: str) -> list[Case]:
    """``cases`` taken one from each group (the value of ``meta[key]``, groups in order of first appearance) in turn;
    a group that runs out is skipped."""
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(str(case.meta.get(key)), []).append(case)
    out: list[Case] = []
    for i in range(max((len(g) for g in groups.values()), default=0)):
        out.extend(g[i] for g in groups.values() if i < len(g))
    return out


def dataset_sha256(cases: list[Case]) -> str:
    """A hash of exactly what was evaluated (articles, references, checks), order included."""
    digest = hashlib.sha256()
    for case in cases:
        digest.update(json.dumps(case.model_dump(mode="json"), sort_keys=True).encode("utf-8") + b"\n")
    return digest.hexdigest()
