"""Saved conversations in a real headless Chromium: a reload and a server restart on the same store keep
the conversation (follow-ups included), the sidebar reopens, renames and deletes; another browser sees
none of them; the signed-in user owns them when ARXIV_QA_AUTH is set. Copy-answer and "retry with more
passages" on an answer.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from qa.answer.engine import QA
from qa.index.store import Store
from qa.settings import Settings
from tests.conftest import CHROMIUM, make_settings
from tests.test_api import running, store_copy
from tests.test_ui_browser import ask, last_answer
from ui.web.app import ChatApp, Conversation, Turn
from ui.web.saved import SAVED_FILE
from ui.web.server import create_app

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(settings: Settings, port: int) -> Iterator[str]:
    """A fresh app (a new QA over the store) on a fixed port: the browser's storage belongs to the port."""
    with running(create_app(QA(settings, Store(settings))), port) as url:
        yield url


def opened(page: Any, url: str, questions: int = 0) -> Any:
    """The page loaded, showing a conversation of `questions` questions (the load handlers have run)."""
    page.goto(url + "/")
    page.wait_for_selector("#question textarea")
    page.wait_for_function(f"() => document.querySelectorAll('#chat [data-testid=\"user\"]').length === {questions}")
    page.wait_for_function("() => localStorage.getItem('arxiv-qa-browser') !== null")  # the load handler ran
    return page


def questions(page: Any) -> list[str]:
    return [q.strip() for q in page.locator('#chat [data-testid="user"]').all_inner_texts()]


def saved_titles(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#saved label").all_inner_texts()]


def open_sidebar(page: Any) -> None:
    """Open the sidebar (closed, it sits off screen) with its toggle."""
    in_view = "() => { const r = document.querySelector('#saved').getBoundingClientRect(); return r.left >= 0; }"
    if not page.evaluate(in_view):
        page.get_by_role("button", name="Toggle Sidebar").click()
        page.wait_for_function(in_view)
        page.wait_for_timeout(400)  # the slide-in transition


def test_conversations_survive_reload_and_restart(browser: Any, corpus_store: Settings,
                                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = make_settings(store_copy(corpus_store, tmp_path_factory, "saved"))
    (settings.store / SAVED_FILE).unlink(missing_ok=True)  # only this test's conversations
    port = free_port()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    first, follow = "What is the Qwen3 Embedding series?", "What model sizes does it come in?"
    with serving(settings, port) as url:
        page = opened(context.new_page(), url)
        ask(page, first)
        ask(page, follow)
        opened(page, url, 2)  # a reload
        assert questions(page) == [first, follow] and "0.6B" in last_answer(page).inner_text()
    with serving(settings, port) as url:  # a new server process state on the same store
        page = opened(context.new_page(), url, 2)
        assert questions(page) == [first, follow]
        ask(page, "How many languages does it support?")  # the follow-up leans on the reopened turns
        assert "regarding Qwen3 Embedding" in last_answer(page).inner_text()
        page.get_by_role("button", name="New chat").click()
        page.wait_for_function("() => document.querySelectorAll('#chat [data-testid=\"user\"]').length === 0")
        ask(page, "What is PolyMath?")
        open_sidebar(page)
        assert saved_titles(page) == ["What is PolyMath?", first]
        page.locator("#saved label", has_text=first).click()  # reopen the older one
        page.wait_for_function(f"() => document.querySelector('#chat').innerText.includes({first!r})")
        assert questions(page) == [first, follow, "How many languages does it support?"]
        page.locator("#rename-title textarea, #rename-title input").first.fill("Qwen3 Embedding sizes")
        page.locator("#rename").click()
        page.wait_for_function("() => document.querySelector('#saved').innerText.includes('Qwen3 Embedding sizes')")
        assert saved_titles(page) == ["What is PolyMath?", "Qwen3 Embedding sizes"]
        page.locator("#delete").click()
        page.wait_for_function("() => !document.querySelector('#saved').innerText.includes('Qwen3 Embedding')")
        assert saved_titles(page) == ["What is PolyMath?"] and questions(page) == []
        stranger = opened(browser.new_context().new_page(), url)  # another browser: its own, empty list
        assert questions(stranger) == []
        open_sidebar(stranger)
        assert saved_titles(stranger) == []
    with sqlite3.connect(settings.store / SAVED_FILE) as db:
        assert [r[0] for r in db.execute("SELECT title FROM conversations")] == ["What is PolyMath?"]
    context.close()


def test_a_signed_in_user_owns_their_conversations(corpus_store: Settings, tmp_path: Path) -> None:
    """With ARXIV_QA_AUTH the owner is the user name, whatever browser id the page holds."""
    shutil.copytree(corpus_store.store, tmp_path / "store")
    settings = make_settings(tmp_path / "store")
    chat = ChatApp(QA(settings, Store(settings)))
    request = gr.Request(username="alice")
    _, convo, _, _ = chat.start("browser-1", Conversation(), request)
    assert convo.owner == "user:alice" and convo.turns == []
    convo.turns.append(Turn("What is Qwen3?", "<p>Qwen3 is a model.</p>", reply="Qwen3 is a model. [arXiv:2505.09388]"))
    chat.keep(convo)
    _, again, shown, _ = chat.start("another-browser", Conversation(), gr.Request(username="alice"))
    assert again.id == convo.id and again.history()[0]["content"] == "What is Qwen3?" and len(shown) == 2
    _, bob, _, _ = chat.start("browser-1", Conversation(), gr.Request(username="bob"))
    assert bob.turns == [] and chat.saved.listed("user:bob") == []
    _, anonymous, _, _ = chat.start("browser-1", Conversation(), gr.Request())
    assert anonymous.owner == "browser:browser-1" and anonymous.turns == []
    assert Conversation().owner is None  # an API client's conversation is never saved


def test_copy_answer_and_retry_with_more_passages(browser: Any, corpus_store: Settings,
                                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = make_settings(store_copy(corpus_store, tmp_path_factory, "retry"))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    with serving(settings, free_port()) as url:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
        page = opened(context.new_page(), url)
        ask(page, "How many languages does Qwen3 support?")
        assert "· 6 passages searched" in last_answer(page).inner_text()
        last_answer(page).locator("button.copy-answer").click()
        page.wait_for_function("() => document.querySelector('#chat .copy-answer').textContent === 'Copied'")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert "119 languages" in copied and "[arXiv:2505.09388]" in copied and "passages searched" not in copied
        page.locator("#retry").click()
        page.wait_for_function("() => document.querySelector('#chat').innerText.includes('12 passages searched')",
                               timeout=60_000)
        assert questions(page) == ["How many languages does Qwen3 support?"]  # the answer replaced, not added
        assert page.locator('#chat [data-testid="bot"]').count() == 1
    context.close()
