"""The chat in a real headless Chromium: a streamed answer with arXiv links and highlighted sources,
follow-ups, 👍 feedback, an abstract carrying HTML shown as text, errors as short messages, uploads,
and an LLM answer streaming in piece by piece. Prints the first-token and full-answer latency and
saves a screenshot to tests/artifacts/screenshot-chat.png (`make screenshot` copies it to docs/ for the README).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from qa.answer.engine import QA
from qa.index.writer import Writer
from qa.ingest import ingest
from qa.settings import Settings
from tests.conftest import CHROMIUM, ROOT, make_settings
from tests.fakes.openai_server import FakeOpenAI, _chunk, _chunk_base, split_text
from tests.test_api import running, store_copy
from ui.web.server import create_app

EVIL = "<script>alert(1)</script><b>bold</b>"
EVIL_FILE = (f"{EVIL} Zorblax is a quantum flux compression method that reaches a 42 percent gain on the FluxBench "
             "suite. It writes ${7*7} and {{value}} literally, links [here](javascript:alert(2)) and shows "
             "<img src=x onerror=alert(3)> as text.\n\narXiv:2509.01234\nCreated: 2025-09-03\n")
SCREENSHOT = ROOT / "tests" / "artifacts" / "screenshot-chat.png"
LLM_REPLY = "Qwen3 expands multilingual support to 119 languages and dialects [arXiv:2505.09388]."

if not CHROMIUM.exists() and os.environ.get("CI"):
    raise RuntimeError("CI must run the browser tests, but /usr/bin/chromium is missing (make test installs it)")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: `apt-get install chromium` "
                                 "(make test installs it when run as root)")]

# Records, in the page, when Enter is pressed, when the newest answer first shows text, and when it is final.
TIMING_JS = """() => {
  const t = window.__timing = {enter: null, first: null, done: null};
  const box = document.querySelector('#question textarea');
  box.addEventListener('keydown', e => { if (e.key === 'Enter') t.enter = performance.now(); }, {capture: true});
  const bots = () => document.querySelectorAll('#chat [data-testid="bot"]');
  const before = bots().length;
  new MutationObserver(() => {
    const all = bots();
    if (t.enter === null || all.length <= before) return;
    const last = all[all.length - 1];
    if (t.first === null && last.innerText.trim() && !last.querySelector('.thinking')) t.first = performance.now();
    if (t.done === null && last.querySelector('.answer-meta')) t.done = performance.now();
  }).observe(document.querySelector('#chat'), {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def site(corpus_store: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The served app on a copy of the corpus store plus one abstract full of HTML; yields (URL, store)."""
    settings = make_settings(store_copy(corpus_store, tmp_path_factory, "browser"))
    store = Writer(settings)
    evil = tmp_path_factory.mktemp("evil") / "evil.txt"
    evil.write_text(EVIL_FILE, encoding="utf-8")
    assert not ingest(store, [str(evil)]).errors
    with running(create_app(QA(settings, store))) as url:
        yield url, settings.store


@pytest.fixture
def page(browser: Any, site: tuple[str, Path]) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(site[0] + "/")
    page.wait_for_selector("#question textarea")
    yield page
    context.close()


def ask(page: Any, question: str, timeout: float = 60_000) -> dict[str, float]:
    """Type a question, press Enter, wait for the final answer; the latencies in seconds."""
    page.wait_for_selector("#chat")  # re-rendered after "New chat": the observer needs it there
    page.evaluate(TIMING_JS)
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function("() => window.__timing.done !== null", timeout=timeout)
    t = page.evaluate("() => window.__timing")
    return {"first_token": (t["first"] - t["enter"]) / 1000, "full_answer": (t["done"] - t["enter"]) / 1000}


def last_answer(page: Any) -> Any:
    return page.locator('#chat [data-testid="bot"]').last


def test_chat_answers_with_arxiv_links_and_highlighted_sources(page: Any, tmp_path: Path) -> None:
    first = ask(page, "What model sizes does the Qwen3 Embedding series come in?")
    answer = last_answer(page)
    assert "0.6B, 4B, 8B" in answer.inner_text()
    assert answer.locator('a[href="https://arxiv.org/abs/2506.05176"]').count() >= 1
    second = ask(page, "How many languages does Qwen3 support?")
    link = last_answer(page).locator('a[href="https://arxiv.org/abs/2505.09388"]')
    assert link.count() >= 1 and link.first.get_attribute("target") == "_blank"
    assert "119 languages" in last_answer(page).inner_text()
    sources = page.locator("#sources")
    assert "119 languages" in sources.locator("mark").first.inner_text()
    assert sources.locator('a[href="https://arxiv.org/abs/2505.09388"]').count() == 1
    assert "28 papers" in page.locator("#status").inner_text()
    assert page.dialogs == []
    page.wait_for_timeout(300)  # let the last repaint settle
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    shutil.copy(SCREENSHOT, tmp_path / SCREENSHOT.name)
    for name, t in (("Qwen3 Embedding sizes", first), ("Qwen3 languages", second)):
        print(f"\n[browser latency, extractive] {name}: first token {t['first_token']:.2f} s, "
              f"full answer {t['full_answer']:.2f} s")
    assert first["full_answer"] < 30 and second["full_answer"] < 30


def test_follow_up_and_feedback(page: Any, site: tuple[str, Path]) -> None:
    ask(page, "What is the Qwen3 Embedding series?")
    ask(page, "What model sizes does it come in?")
    assert "(regarding Qwen3 Embedding)" in last_answer(page).inner_text()
    feedback = site[1] / "feedback.jsonl"
    before = feedback.read_text().count("\n") if feedback.exists() else 0
    page.locator('#chat button[aria-label="Like"]').last.click()
    page.wait_for_function("() => document.body.innerText.includes('your feedback was saved')")
    lines = [json.loads(line) for line in feedback.read_text().splitlines()]
    assert len(lines) == before + 1
    assert lines[-1]["vote"] == "up" and lines[-1]["question"] == "What model sizes does it come in?"
    assert lines[-1]["citations"] and {"time", "answer"} <= set(lines[-1])


def test_new_chat_starts_a_new_conversation(page: Any) -> None:
    ask(page, "How many languages does Qwen3 support?")
    page.get_by_role("button", name="New chat").click()
    page.wait_for_function("() => document.querySelectorAll('#chat [data-testid=\"bot\"]').length === 0")
    assert "appear here" in page.locator("#sources").inner_text()
    ask(page, "What model sizes does it come in?")
    assert "regarding" not in last_answer(page).inner_text()  # no earlier turn to lean on


def test_abstract_html_renders_as_text(page: Any) -> None:
    ask(page, "What is Zorblax?")
    answer, sources = last_answer(page), page.locator("#sources")
    assert page.dialogs == []  # no script ran, no onerror fired
    for shown in (answer, sources):
        text = shown.inner_text()
        assert EVIL in text and "Zorblax" in text
        assert shown.locator("script, img, b").count() == 0
    # "${7*7}" is LaTeX math to the ingest, which keeps its text "7*7"; nothing evaluates it.
    assert "7*7" in sources.inner_text() and "49" not in sources.inner_text()
    assert answer.locator('a[href^="javascript"]').count() == 0
    assert answer.locator('a[href="https://arxiv.org/abs/2509.01234"]').count() >= 1


def test_doc_key_source_has_no_link(page: Any) -> None:
    ask(page, "What is PolyMath?")
    sources = page.locator("#sources")
    assert "doc:575304d32a8f" in sources.inner_text() and "no arXiv ID" in sources.inner_text()
    # The card links nowhere; the only links are to stored papers like it (its "Similar papers" list).
    assert sources.locator("a").count() == sources.locator(".similar a").count()
    answer = last_answer(page)
    assert answer.locator("a").count() == answer.locator(".similar a").count()
    assert sources.locator('a[href*="575304d32a8f"]').count() == 0


def test_bad_input_is_a_short_message(page: Any) -> None:
    page.locator("#question textarea").fill("x" * 2100)
    page.locator("#question textarea").press("Enter")
    page.wait_for_function("() => document.body.innerText.includes('longer than 2000 characters')")
    assert "Traceback" not in page.locator("body").inner_text()


def test_upload_is_ingested_with_visible_progress(page: Any, tmp_path: Path) -> None:
    upload = tmp_path / "flux.txt"
    upload.write_text("Quibbleflux is a benchmark of 77 tasks for tensor permutation kernels on exotic hardware."
                      "\n\narXiv:2509.04321\nCreated: 2025-09-10\n", encoding="utf-8")
    page.get_by_text("Add abstracts").click()
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    page.get_by_role("button", name="Ingest files").click()
    page.wait_for_function("() => document.querySelector('#ingest-progress').innerText.includes('done:')",
                           timeout=120_000)
    assert "1 file(s) ingested" in page.locator("#ingest-progress").inner_text()
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('29 papers')")
    ask(page, "How many tasks does Quibbleflux have?")
    assert last_answer(page).locator('a[href="https://arxiv.org/abs/2509.04321"]').count() >= 1


def slow_stream(text: str, delay: float) -> Any:
    """A fake-endpoint behaviour streaming `text` word by word, `delay` seconds apart."""
    def serve(ex: Any) -> None:
        base = _chunk_base(ex)
        ex.start_sse()
        ex.send_event(_chunk(base, {"role": "assistant", "content": ""}))
        for piece in split_text(text):
            ex.wait(delay)
            ex.send_event(_chunk(base, {"content": piece}))
        ex.send_event(_chunk(base, {}, "stop"))
        ex.end_sse()
    return serve


def test_llm_answer_streams_into_the_page(browser: Any, corpus_store: Settings) -> None:
    with FakeOpenAI(default=slow_stream(LLM_REPLY, 0.15)) as fake:
        settings = corpus_store.model_copy(update={"openai_base_url": fake.base_url,
                                                   "openai_api_key": SecretStr("sk-test"), "llm_timeout": 10.0})
        with running(create_app(QA(settings, Writer(settings)))) as url:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(url + "/")
            page.wait_for_selector("#question textarea")
            assert "answers: LLM gpt-4o-mini" in page.locator("#status").inner_text()
            t = ask(page, "How many languages does Qwen3 support?")
            answer = last_answer(page)
            assert answer.locator('a.cite[href="https://arxiv.org/abs/2505.09388"]').count() == 1
            assert "LLM gpt-4o-mini" in answer.inner_text()
            context.close()
    print(f"\n[browser latency, LLM streaming 0.15 s/word] first token {t['first_token']:.2f} s, "
          f"full answer {t['full_answer']:.2f} s")
    assert t["full_answer"] - t["first_token"] > 0.8  # the words arrived one by one, not all at the end
