"""Prompt templates: files under ``prompts/<name>/`` rendered with Jinja2, versioned by their content.

Each prompt is a folder with ``system.jinja``, ``user.jinja`` and ``reask.jinja``, and optionally ``examples.json``:
worked examples sent as chat turns before the question (each a ``context`` for the user template and the ``answer``
the assistant gives). Its version is ``<name>-<first 10 hex digits of the SHA-256 of its files>``, so editing a
template or an example changes the version, which is part of every cache key and every report.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from .errors import ConfigurationError

_FILES = ("system.jinja", "user.jinja", "reask.jinja")
_EXAMPLES = "examples.json"


@cache
def prompts_dir() -> Path:
    """The installed prompts (inside the wheel), else the source checkout's top-level ``prompts/``."""
    packaged = Path(str(resources.files("summarizer"))) / "prompts"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "prompts"


@dataclass(frozen=True)
class Prompt:
    """A named, versioned set of templates."""

    name: str
    version: str
    templates: dict[str, jinja2.Template]
    #: Worked examples (``examples.json``): each a ``context`` for the user template and the ``answer`` (JSON).
    examples: tuple[dict[str, Any], ...] = ()

    def render(self, which: str, **context: Any) -> str:
        return self.templates[which].render(**context).strip()

    def example_turns(self) -> list[dict[str, str]]:
        """The worked examples as chat turns: the user message each context renders to, then its answer."""
        turns = []
        for example in self.examples:
            turns.append({"role": "user", "content": self.render("user", **example["context"])})
            turns.append({"role": "assistant", "content": json.dumps(example["answer"], ensure_ascii=False)})
        return turns

    def instructions(self) -> str:
        """The system message without its schema: the prompt's own words, which an answer must never repeat."""
        return _instructions(self)

    @classmethod
    def load(cls, name: str, directory: Path | None = None, files: tuple[str, ...] = _FILES) -> Prompt:
        """The prompt in ``<directory>/<name>/``: ``files`` (a chat prompt's by default), versioned by their hash."""
        return _load(name, directory or prompts_dir(), files)


@cache
def _load(name: str, directory: Path, files: tuple[str, ...] = _FILES) -> Prompt:
    folder = directory / name
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
    )
    digest = hashlib.sha256()
    templates: dict[str, jinja2.Template] = {}
    for filename in files:
        path = folder / filename
        if not path.is_file():
            raise ConfigurationError(f"prompt {name!r} is missing {path}")
        digest.update(filename.encode() + b"\0" + path.read_bytes() + b"\0")
        templates[filename.removesuffix(".jinja")] = env.get_template(filename)
    examples: list[dict[str, Any]] = []
    if (path := folder / _EXAMPLES).is_file():
        digest.update(_EXAMPLES.encode() + b"\0" + path.read_bytes() + b"\0")
        try:
            examples = json.loads(path.read_text(encoding="utf-8"))
            if not all(isinstance(e, dict) and {"context", "answer"} <= e.keys() for e in examples):
                raise ValueError("each example needs a 'context' and an 'answer'")
        except ValueError as exc:
            raise ConfigurationError(f"prompt {name!r}: {path} is not a list of examples: {exc}") from exc
    return Prompt(name=name, version=f"{name}-{digest.hexdigest()[:10]}", templates=templates,
                  examples=tuple(examples))


_INSTRUCTIONS: dict[str, str] = {}


def _instructions(prompt: Prompt) -> str:
    if (text := _INSTRUCTIONS.get(prompt.version)) is None:
        text = _INSTRUCTIONS[prompt.version] = prompt.render("system", schema="")
    return text
