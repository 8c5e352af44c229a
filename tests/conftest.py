from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SUMMARIZER_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow (real models, servers)")


def pytest_configure(config: pytest.Config) -> None:
    # The scripted extractive model's statements are its passages, so each of its summaries would take one more call
    # to restate them; the tests that count calls, rounds and rows are about other things. Set for the whole run
    # (servers and commands the tests start inherit it); the restatement's own tests ask for it
    # (restate_copies=True).
    os.environ["SUMMARIZER_RESTATE"] = "0"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own SUMMARIZER_HOME, and no endpoint configured unless it sets one."""
    home = tmp_path_factory.mktemp("summarizer-home")
    monkeypatch.setenv("SUMMARIZER_HOME", str(home))
    for var in ("SUMMARIZER_CACHE_DIR", "SUMMARIZER_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def seed_path() -> Path:
    path = SHARED_DATA / "seed" / "nk-troops-russia.txt"
    if not path.is_file():
        pytest.fail(f"shared data not found at {path}; put shared/ beside the repo or set SUMMARIZER_SHARED_DATA")
    return path


@pytest.fixture(scope="session")
def seed(seed_path: Path) -> str:
    return seed_path.read_text(encoding="utf-8")
