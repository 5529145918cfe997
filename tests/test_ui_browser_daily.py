"""The chat as a researcher keeps it open all day, in a real headless Chromium: the API docs with the
network cut off, the page's own title and icon, the filters an answer was searched under, each
answer's own sources, BibTeX export, contrast (axe-core, light and dark), a phone screen, keyboard use
and 👎 with a comment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from qa.answer.engine import QA
from qa.index.store import Store
from qa.settings import Settings
from tests.conftest import CHROMIUM, make_settings
from tests.test_api import running, store_copy
from tests.test_ui_browser import ask, last_answer
from ui.web.server import create_app

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")]


@pytest.fixture(scope="module")
def site(corpus_store: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The served app on a copy of the corpus store; yields (URL, store directory)."""
    settings = make_settings(store_copy(corpus_store, tmp_path_factory, "daily"))
    with running(create_app(QA(settings, Store(settings)))) as url:
        yield url, settings.store


@pytest.fixture
def offline(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A browser context that can reach 127.0.0.1 only; yields it and the URLs it refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    refused: list[str] = []

    def gate(route: Any) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    yield context, refused
    context.close()


def open_chat(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#question textarea")
    return page


def test_api_docs_render_with_the_network_blocked(offline: tuple[Any, list[str]], site: tuple[str, Path]) -> None:
    context, refused = offline
    page = context.new_page()
    page.goto(site[0] + "/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {"/api/ask", "/api/stats", "/api/healthz"} <= {p.strip() for p in paths}
    page.locator(".opblock-summary-path", has_text="/api/ask").first.click()
    page.wait_for_selector(".opblock-body")
    assert "month_from" in page.locator(".opblock-body").first.inner_text()
    assert refused == []


def test_page_has_its_own_title_and_icon(offline: tuple[Any, list[str]], site: tuple[str, Path]) -> None:
    context, refused = offline
    page = open_chat(context, site[0])
    assert page.title() == "arXiv QA"
    icon = context.request.get(site[0] + "/favicon.ico")
    ours = (Path(__file__).parents[1] / "ui" / "web" / "favicon.png").read_bytes()
    assert icon.ok and icon.body() == ours and icon.headers["content-type"] == "image/png"
    assert refused == []


def test_answer_shows_its_filters_and_an_empty_month_range_says_so(offline: tuple[Any, list[str]],
                                                                 site: tuple[str, Path]) -> None:
    page = open_chat(offline[0], site[0])
    page.get_by_text("Search options").click()
    page.get_by_label("From month").fill("2031-01")
    page.get_by_label("To month").fill("2031-12")
    ask(page, "How many languages does Qwen3 support?")
    text = last_answer(page).inner_text()
    assert "No papers between 2031-01 and 2031-12 in the store." in text
    assert "search limited to: papers between 2031-01 and 2031-12" in text
    page.get_by_label("From month").fill("")
    page.get_by_label("To month").fill("")
    ask(page, "How many languages does Qwen3 support?")
    assert "search limited to" not in last_answer(page).inner_text()
    assert "119 languages" in last_answer(page).inner_text()


def feedback_lines(store: Path) -> list[dict[str, Any]]:
    path = store / "feedback.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_each_answer_keeps_its_sources_and_citations_lead_to_their_card(offline: tuple[Any, list[str]],
                                                                        site: tuple[str, Path]) -> None:
    page = open_chat(offline[0], site[0])
    ask(page, "What model sizes does the Qwen3 Embedding series come in?")
    ask(page, "How many languages does Qwen3 support?")
    first = page.locator('#chat [data-testid="bot"]').first
    control = first.locator("details.answer-sources > summary")
    assert control.inner_text().startswith("Sources (")
    card = first.locator('.source.k-arXiv-2506-05176')
    assert not card.is_visible()  # closed until asked for
    control.click()
    assert card.is_visible() and "0.6B" in card.inner_text()
    control.click()  # closed again: the citation in the text must open it
    first.locator('.cite.k-arXiv-2506-05176').first.click()
    page.wait_for_function("() => document.querySelector('#chat .source.current') !== null")
    assert card.is_visible() and "current" in (card.get_attribute("class") or "")
    assert card.evaluate("c => { const r = c.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }")
    assert len(page.context.pages) == 1  # the citation led to the card, not away to arXiv
    # the newer answer's sources are its own
    last = last_answer(page)
    assert last.locator('.source.k-arXiv-2505-09388').count() == 1
    assert last.locator('.source.k-arXiv-2506-05176').count() == 0


def test_a_doc_card_expands_to_the_full_abstract_by_keyboard(offline: tuple[Any, list[str]],
                                                             site: tuple[str, Path]) -> None:
    page = open_chat(offline[0], site[0])
    ask(page, "What is PolyMath?")
    answer = last_answer(page)
    cite = answer.locator('.cite.doc.k-doc-575304d32a8f').first
    cite.focus()
    page.keyboard.press("Enter")
    card = answer.locator('.source.k-doc-575304d32a8f')
    page.wait_for_function("() => document.querySelector('#chat .source.current') !== null")
    assert card.is_visible() and card.locator("a").count() == 0
    full = card.locator("details.full-abstract")
    assert not full.locator("p").is_visible()
    full.locator("summary").focus()
    page.keyboard.press("Enter")
    abstract = full.locator("p").inner_text()
    assert full.locator("p").is_visible() and "PolyMath" in abstract
    assert len(abstract) > len(card.locator(".source-text").inner_text()) - 10


def test_an_answer_exports_its_citations_as_bibtex(offline: tuple[Any, list[str]], site: tuple[str, Path]) -> None:
    page = open_chat(offline[0], site[0])
    ask(page, "How many languages does Qwen3 support?")
    box = last_answer(page).locator("details.bibtex")
    box.locator("summary").click()
    text = box.locator("pre").inner_text()
    cited = last_answer(page).locator(".answer-sources .source-head").evaluate_all(
        "hs => hs.map(h => h.textContent.trim().replace(/^\\d+\\s*/, '').split(' ')[0])")
    assert text.count("@misc{") == len(cited) >= 1
    assert "@misc{2505.09388," in text and "eprint={2505.09388}" in text and "archivePrefix={arXiv}" in text
    api = page.context.request.get(site[0] + "/api/bibtex?keys=" + ",".join(cited))
    assert api.ok and api.text().strip() == text.strip()


def test_thumbs_down_takes_an_optional_comment(offline: tuple[Any, list[str]], site: tuple[str, Path]) -> None:
    page = open_chat(offline[0], site[0])
    ask(page, "How many languages does Qwen3 support?")
    before = len(feedback_lines(site[1]))
    assert not page.locator("#comment textarea").is_visible()
    page.locator('#chat button[aria-label="Dislike"]').last.click()
    page.locator("#comment textarea").wait_for(state="visible")
    page.locator("#comment textarea").fill("It should say  which\nQwen3 sizes.")
    page.locator("#send-comment").click()
    page.wait_for_function("() => document.body.innerText.includes('your comment was saved')")
    lines = feedback_lines(site[1])[before:]
    assert [(line["vote"], line["comment"]) for line in lines] == [
        ("down", None), ("comment", "It should say which Qwen3 sizes.")]
    assert lines[1]["question"] == "How many languages does Qwen3 support?" and lines[1]["citations"]
    page.locator("#comment textarea").wait_for(state="hidden")
