"""The service's page in a real headless Chromium (Debian's, driven by Playwright; never a downloaded browser): paste
the seed article, summarise with the scripted fake, and check that every highlighted span is its evidence, by mouse,
by keyboard and at phone width."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from helpers import serving
from playwright.sync_api import Browser, Page, sync_playwright

from summarizer import Summarizer
from summarizer.service.app import ServiceConfig, create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: An emoji first: the server's offsets count code points, a browser's strings UTF-16 units.
PREFIX = "\N{SLIGHTLY SMILING FACE} Filed late: "


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (scripts/setup.sh test installs Debian's package)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("page") / "service.db"
    with serving(create_app(ServiceConfig(db=db, cache=False), session=Summarizer("fake/x", cache=False))) as url:
        yield url


def marks(page: Page) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.eval_on_selector_all(
        "#text mark", "ms => ms.map(m => ({claim: +m.dataset.claim, start: +m.dataset.start, end: +m.dataset.end, "
        "text: m.textContent, active: m.classList.contains('active')}))")
    return result


def summarise(page: Page, base: str, article: str) -> None:
    page.goto(f"{base}/")
    page.fill("#article", article)
    page.click("#go")
    page.wait_for_selector("#result:not([hidden])", timeout=30_000)


def test_the_page_highlights_each_claims_evidence(browser: Browser, base: str, seed: str, tmp_path: Path) -> None:
    article = PREFIX + seed
    expected = httpx2.post(f"{base}/v1/summaries", json={"article": article}, timeout=30).json()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    summarise(page, base, article)
    assert page.text_content("#headline") == expected["headline"]
    found = marks(page)
    assert found, "no evidence highlighted"
    points = list(article)
    for m in found:  # every highlighted piece is the article's text at its offsets
        assert m["text"] == "".join(points[m["start"] : m["end"]])
    for i, claim in enumerate(expected["claims"]):  # every evidence passage is highlighted whole
        for ev in claim["evidence"]:
            inside = [m for m in found if ev["start"] <= m["start"] and m["end"] <= ev["end"]]
            assert "".join(m["text"] for m in inside) == ev["text"], (i, ev["text"])
    buttons = page.query_selector_all(".claim")
    assert len(buttons) == len(expected["claims"])
    assert "said by" in (buttons[0].text_content() or "") or "own voice" in (buttons[0].text_content() or "")

    page.click(".claim[data-claim='1']")  # a click marks that claim's spans
    active = {m["claim"] for m in marks(page) if m["active"]}
    assert active == {1}
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    page.close()


def test_the_page_works_by_keyboard_at_phone_width(browser: Browser, base: str, seed: str) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 740})
    page.goto(f"{base}/")
    page.focus("#article")
    page.keyboard.insert_text(seed)
    page.keyboard.press("Tab")  # to the button (the key field is hidden while the service is open)
    assert page.evaluate("document.activeElement.id") == "go"
    page.keyboard.press("Enter")
    page.wait_for_selector("#result:not([hidden])", timeout=30_000)
    page.focus(".claim[data-claim='0']")
    page.keyboard.press("Tab")  # to the second claim: focusing it marks its spans
    assert page.evaluate("document.activeElement.dataset.claim") == "1"
    assert {m["claim"] for m in marks(page) if m["active"]} == {1}
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the phone
    page.close()


def test_the_page_asks_for_a_key_when_the_service_needs_one(browser: Browser, tmp_path: Path, seed: str) -> None:
    from summarizer.service.keys import KeyStore

    store = KeyStore(tmp_path / "s.db")
    key = store.create("page")[1]
    app = create_app(ServiceConfig(db=tmp_path / "s.db", cache=False), keys=store,
                     session=Summarizer("fake/x", cache=False))
    with serving(app) as url:
        page = browser.new_page()
        page.goto(f"{url}/")  # the page itself needs no key
        page.fill("#article", seed)
        page.click("#go")
        page.wait_for_selector("#status.error")
        assert "Unauthorized" in (page.text_content("#status") or "")
        assert page.is_visible("#key")
        page.fill("#key", key)
        page.click("#go")
        page.wait_for_selector("#result:not([hidden])", timeout=30_000)
        page.close()
