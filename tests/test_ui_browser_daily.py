"""The chat as a researcher keeps it open all day, in a real headless Chromium: the API docs with the
network cut off, the page's own title and icon, the filters an answer was searched under, each
answer's own sources, BibTeX export, WCAG A/AA (axe-core, light and dark), a phone screen, keyboard-only
use, 👎 with a comment, and the first screen's corpus overview, paper list and example questions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from qa.answer.engine import QA
from qa.index.overview import overview
from qa.index.store import Store
from qa.settings import Settings
from tests.conftest import CHROMIUM, ROOT, make_settings
from tests.test_api import running, store_copy
from tests.test_ui_browser import TIMING_JS, ask, last_answer
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


def artifact(name: str) -> Path:
    """Where a browser test leaves a screenshot (tests/artifacts/, copied to docs/ by `make screenshot`)."""
    path = ROOT / "tests" / "artifacts" / name
    path.parent.mkdir(exist_ok=True)
    return path


def open_chat(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(url + "/")
    page.wait_for_selector("#question textarea")
    # The load handlers have run (this browser's id is stored): a field filled before may be reset.
    page.wait_for_function("() => localStorage.getItem('arxiv-qa-browser') !== null")
    return page


def fill_settled(page: Any, values: dict[str, str]) -> None:
    """Fill labelled fields and wait until they keep their values: a field of a panel just opened can be
    filled by the browser before its component has mounted, which then sets it back to its own value."""
    for _ in range(30):
        for label, value in values.items():
            if page.get_by_label(label).input_value() != value:
                page.get_by_label(label).fill(value)
        page.wait_for_timeout(200)
        if all(page.get_by_label(label).input_value() == value for label, value in values.items()):
            return
    raise AssertionError(f"the fields would not keep {values}")


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
    fill_settled(page, {"From month": "2031-01", "To month": "2031-12"})
    ask(page, "How many languages does Qwen3 support?")
    text = last_answer(page).inner_text()
    assert "No papers between 2031-01 and 2031-12 in the store." in text
    assert "search limited to: papers between 2031-01 and 2031-12" in text
    fill_settled(page, {"From month": "", "To month": ""})
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
    assert card.is_visible() and card.locator("a").count() == card.locator(".similar a").count()
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


AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"  # axe-core 4.14.1, MPL-2.0 (header kept)
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe(page: Any) -> dict[str, Any]:
    """axe-core's WCAG 2.2 A and AA rules run over the whole page as it stands."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate("t => axe.run(document, {runOnly: {type: 'tag', values: t}})", WCAG_AA)
    return result


def described(violations: list[dict[str, Any]]) -> list[str]:
    return [f"{v['id']}: {n['target']} {n.get('failureSummary', '')[:200]}" for v in violations for n in v["nodes"]]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_wcag_aa_in_light_and_dark(offline: tuple[Any, list[str]], site: tuple[str, Path], theme: str) -> None:
    """Every panel open and an answer with its sources and BibTeX shown: no WCAG A/AA violation, contrast included."""
    page = offline[0].new_page()
    page.goto(f"{site[0]}/?__theme={theme}")
    page.wait_for_selector("#question textarea")
    assert page.evaluate("document.body.classList.contains('dark')") == (theme == "dark")
    for panel in ("Papers in the corpus", "Search options", "Add abstracts"):
        page.get_by_role("button", name=re.compile("^" + panel)).click()
    page.wait_for_selector(".upload-container")
    page.wait_for_selector("#papers tbody tr")
    first = axe(page)
    ask(page, "How many languages does Qwen3 support?")
    for control in ("details.answer-sources > summary", "details.bibtex > summary"):
        last_answer(page).locator(control).click()
    answered = axe(page)
    last_answer(page).scroll_into_view_if_needed()
    page.screenshot(path=str(artifact(f"screenshot-{theme}.png")))  # docs/ shows it (`make screenshot`)
    for result in (first, answered):
        print(f"\n[axe, {theme}] {sum(len(v['nodes']) for v in result['violations'])} violations")
        assert result["violations"] == [], described(result["violations"])
        checked = {p["id"]: len(p["nodes"]) for p in result["passes"]}
        assert checked.get("color-contrast", 0) >= 20  # the rule ran on the page's text, not on nothing
    # The check sees what it should: the old secondary grey (slate-400) on this page fails it.
    page.evaluate("""() => { const p = document.createElement('p'); p.id = 'probe'; p.textContent = 'grey text';
        p.style.color = '#94a3b8'; p.style.background = '#f8fafc'; document.querySelector('#sources').append(p); }""")
    probe = page.evaluate("() => axe.run('#probe', {runOnly: ['color-contrast']})")
    assert [v["id"] for v in probe["violations"]] == ["color-contrast"]


def test_phone_keeps_the_question_box_on_screen_and_the_sources_reachable(browser: Any,
                                                                          site: tuple[str, Path]) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = open_chat(context, site[0])
    box = page.locator("#question textarea")
    on_screen = ("e => { const r = e.getBoundingClientRect();"
                 " return r.top >= 0 && r.bottom <= innerHeight && r.height; }")
    assert page.evaluate("scrollY") == 0 and box.evaluate(on_screen)  # on the first screen, without scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    ask(page, "How many languages does Qwen3 support?")
    answer = last_answer(page)
    answer.locator("details.answer-sources > summary").click()
    card = answer.locator(".source.k-arXiv-2505-09388")
    card.evaluate("c => c.scrollIntoView({block: 'center'})")
    uncovered = """c => { const r = c.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); return c.contains(hit); }"""
    assert card.evaluate("c => c.getBoundingClientRect().top < innerHeight") and card.evaluate(uncovered)
    assert box.evaluate(on_screen)  # still pinned while reading the sources
    page.screenshot(path=str(artifact("screenshot-phone.png")))
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")  # the end of the page is not under it
    upload = page.get_by_text("Add abstracts").first
    assert upload.evaluate(uncovered) and box.evaluate(on_screen)
    context.close()


def tab_to(page: Any, key: str, reached: str, presses: int) -> bool:
    """Press `key` (Tab or Shift+Tab) until the script `reached` holds, at most `presses` times."""
    for _ in range(presses):
        page.keyboard.press(key)
        if page.evaluate(reached):
            return True
    return False


def test_keyboard_only(offline: tuple[Any, list[str]], site: tuple[str, Path]) -> None:
    """Tab to the question box, type, Enter; Tab back to a citation, Enter opens its card."""
    page = open_chat(offline[0], site[0])
    page.evaluate("document.activeElement.blur()")
    assert tab_to(page, "Tab", "() => document.activeElement.closest('#question') !== null", 60)
    page.evaluate(TIMING_JS)
    page.keyboard.type("How many languages does Qwen3 support?")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__timing.done !== null", timeout=60_000)
    assert tab_to(page, "Shift+Tab", "() => document.activeElement.matches('#chat .cite')", 40)
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#chat .source.current') !== null")
    card = last_answer(page).locator(".source.current")
    assert card.is_visible() and page.evaluate("document.activeElement.classList.contains('current')")
    assert len(page.context.pages) == 1


def test_first_screen_shows_the_corpus_its_papers_and_examples_as_buttons(offline: tuple[Any, list[str]],
                                                                         site: tuple[str, Path]) -> None:
    corpus = overview(Store(make_settings(site[1])))
    page = open_chat(offline[0], site[0])
    intro = page.locator("#chat .overview")
    assert f"{corpus.papers} papers · {corpus.chunks} chunks · dated 2024-07 to 2025-08" in intro.inner_text()
    assert "Top categories" not in intro.inner_text()  # the sample corpus carries none
    buttons = page.locator("#examples button")
    assert buttons.all_inner_texts() == corpus.examples and len(corpus.examples) == 4
    for theme in ("light", "dark"):  # a button: its own border and background, a pointer, in both themes
        page.goto(f"{site[0]}/?__theme={theme}")
        page.wait_for_selector("#examples button")
        style = buttons.first.evaluate("""b => { const s = getComputedStyle(b), p = getComputedStyle(document.body);
            return [s.borderTopWidth, s.borderTopStyle, s.cursor, s.backgroundColor !== p.backgroundColor]; }""")
        assert style[0] != "0px" and style[1] == "solid" and style[2] == "pointer" and style[3]
    page.get_by_role("button", name=re.compile("^Papers in the corpus")).click()
    rows = page.locator("#papers tbody tr")
    rows.first.wait_for()
    assert rows.count() == corpus.papers and "newest first" in page.locator("#papers").inner_text()
    assert rows.first.inner_text().split("\t")[1:] == ["arXiv:2508.02324", "2025-08"]
    page.get_by_label("Search the papers").fill("polymath")
    page.wait_for_function("() => document.querySelectorAll('#papers tbody tr').length === 1")
    assert "doc:575304d32a8f" in rows.first.inner_text()
    buttons.nth(1).click()  # asks it
    page.wait_for_selector("#chat .answer-meta", timeout=60_000)
    assert page.locator('#chat [data-testid="user"]').last.inner_text().strip() == corpus.examples[1]
    assert last_answer(page).locator(".refused").count() == 0 and last_answer(page).locator(".cite").count() >= 1
    assert not page.locator("#examples").is_visible()  # the first screen gives way to the conversation
