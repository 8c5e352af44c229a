"""Prompt templates: files under ``prompts/<name>/`` rendered with Jinja2, versioned by their content.

Each prompt is a folder with ``system.jinja``, ``user.jinja`` and ``reask.jinja``. Its version is
``<name>-<first 10 hex digits of the SHA-256 of its files>``, so editing a template changes the version, which is part
of every cache key and every report.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from .errors import ConfigurationError

_FILES = ("system.jinja", "user.jinja", "reask.jinja")


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

    def render(self, which: str, **context: Any) -> str:
        return self.templates[which].render(**context).strip()

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
    return Prompt(name=name, version=f"{name}-{digest.hexdigest()[:10]}", templates=templates)


_INSTRUCTIONS: dict[str, str] = {}


def _instructions(prompt: Prompt) -> str:
    if (text := _INSTRUCTIONS.get(prompt.version)) is None:
        text = _INSTRUCTIONS[prompt.version] = prompt.render("system", schema="")
    return text
