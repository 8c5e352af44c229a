"""Bad input, each row of docs/design.md's table: a clear result, or one line and its exit code before any model
call on an article that will be refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import assert_grounded

from summarizer import ArticleError, Limits, ScriptedModel, Summarizer

REPO = Path(__file__).resolve().parents[1]
FRENCH = ("Le gouvernement a annoncé mardi un plan de 3 milliards d'euros pour les hôpitaux. « Nous devons agir "
          "vite », a déclaré la ministre de la Santé. Les syndicats jugent la somme insuffisante.")
CHINESE = "政府周二宣布了一项为医院提供三十亿欧元的计划。卫生部长说：“我们必须迅速行动。”工会认为这笔钱不够。"
THAI = "รัฐบาลประกาศแผนงบประมาณสามพันล้านยูโรสำหรับโรงพยาบาลเมื่อวันอังคารรัฐมนตรีกล่าวว่าเราต้องเร่งดำเนินการ"
HTML = ("<!DOCTYPE html><html><head><title>News</title></head><body><article><p>The minister said on Tuesday "
        "that hospitals would get more money.</p></article></body></html>")
LINE = ("An unbroken line of reporting goes on and on without a single newline in it at all. " * 2500)[:200_000]

REFUSED = [
    ("empty", b"", "empty"),
    ("whitespace", b"   \n\t  \n", "only whitespace"),
    ("nul bytes", b"Some text\x00\x01\x02 with NULs in it and more words", "binary"),
    ("undecodable", b"Caf\xe9 au lait is a drink that many people enjoy every day", "not UTF-8"),
    ("one word", b"Breaking", "too short"),
    ("html page", HTML.encode(), "HTML page"),
    ("chinese", CHINESE.encode(), "without spaces"),
    ("thai", THAI.encode(), "without spaces"),
    ("10 MB", ("A sentence of a very long article. " * 300_000).encode(), "too long"),
    ("200,000 characters on one line", LINE.encode(), "too long"),
]


@pytest.mark.parametrize(("name", "data", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_before_any_model_call(name: str, data: bytes, message: str) -> None:
    model = ScriptedModel()
    with Summarizer(model, cache=False) as session, pytest.raises(ArticleError, match=message):
        session.summarize(data)
    assert not model.requests


@pytest.mark.parametrize(("name", "data", "message"), REFUSED[:8], ids=[r[0] for r in REFUSED[:8]])
def test_the_cli_says_it_in_one_line_with_exit_3(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes(data)
    done = subprocess.run([sys.executable, "-m", "summarizer", "summarize", str(path), "-m", "fake/x"],
                          capture_output=True, text=True, cwd=REPO, timeout=120, env=dict(os.environ))
    assert done.returncode == 3 and message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_long_line_within_a_raised_limit_is_split_and_grounded() -> None:
    with Summarizer(ScriptedModel(context_window=8192), cache=False,
                    limits=Limits(max_article_chars=250_000)) as session:
        s = session.summarize(LINE)
    assert s.provenance.parts > 1
    assert_grounded(s, LINE)


def test_a_language_written_with_spaces_works_and_is_grounded() -> None:
    with Summarizer(ScriptedModel(), cache=False) as session:
        s = session.summarize(FRENCH)
    assert_grounded(s, FRENCH)
    assert s.claims and s.claims[0].evidence[0].text.startswith("Le gouvernement")


@pytest.mark.parametrize(("args", "env", "code", "message"), [
    (["-m", "nope/x"], {}, 4, "unknown model provider"),
    (["-m", "openai/gpt-4o-mini"], {}, 4, "OPENAI_API_KEY"),
    (["-m", "local/no-such-model"], {}, 4, "unknown embedded model"),
])
def test_configuration_errors(seed_path: Path, args: list[str], env: dict[str, str], code: int,
                              message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "summarizer", "summarize", str(seed_path), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=120, env={**os.environ, **env})
    assert done.returncode == code and message in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1


def test_a_missing_file(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "summarizer", "summarize", str(tmp_path / "nope.txt")],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 3 and "no such file" in done.stderr
