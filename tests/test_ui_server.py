"""`arxiv-qa serve` as a user starts it: the chat through gradio_client against a live server, the
page's handlers (feedback, uploads), safe-by-default binding and filling an empty store."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import pytest
from gradio_client import Client
from pydantic import SecretStr
from servers import free_port

from qa.engine import QA
from qa.errors import BadInput
from qa.ingest import ingest
from qa.settings import Settings
from qa.store import Store
from tests.conftest import make_settings, run_cli
from tests.test_api import running, store_copy
from ui import uploads
from ui.app import ChatApp, Conversation
from ui.server import chat_page, check_exposure, create_app, is_loopback, page_auth, prepare

QUESTION = "How many languages does Qwen3 support?"


@pytest.fixture(scope="module")
def served(corpus_store: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`python -m qa.cli serve --port N` on a copy of the corpus store; yields (URL, store)."""
    store, port = store_copy(corpus_store, tmp_path_factory, "serve"), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARXIV_QA_", "OPENAI_", "SLACK_"))}
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--port", str(port)],
                            env={**env, "ARXIV_QA_STORE": str(store)}, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else "serve exited"
            assert time.monotonic() < deadline, "serve did not start in time"
            try:
                if httpx.get(f"{url}/api/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url, store
    finally:
        proc.terminate()
        # Ends promptly, even with gradio_client's event streams open (uvicorn re-raises SIGTERM at the end).
        assert proc.wait(20) in (0, -signal.SIGTERM)


def last_answer(chat: list[dict[str, object]]) -> str:
    content = chat[-1]["content"]
    return "".join(part["text"] for part in content) if isinstance(content, list) else str(content)  # type: ignore[index]


def test_chat_through_gradio_client(served: tuple[str, Path]) -> None:
    client = Client(served[0], verbose=False)
    textbox, chat, sources = client.predict(QUESTION, api_name="/ask")
    answer = last_answer(chat)
    assert textbox == "" and "119 languages" in answer
    assert '<a class="cite" href="https://arxiv.org/abs/2505.09388"' in answer
    assert "<mark>" in sources and "https://arxiv.org/abs/2505.09388" in sources


def test_follow_up_uses_the_session_conversation(served: tuple[str, Path]) -> None:
    client = Client(served[0], verbose=False)
    client.predict("What is the Qwen3 Embedding series?", api_name="/ask")
    _, chat, _ = client.predict("What model sizes does it come in?", 4, "extractive", api_name="/ask")
    assert len(chat) == 4
    answer = last_answer(chat)
    assert "read as: “What model sizes does it come in? (regarding Qwen3 Embedding)”" in answer
    assert "8B" in answer and "https://arxiv.org/abs/2506.05176" in answer


def test_date_filter_and_bad_month_through_gradio_client(served: tuple[str, Path]) -> None:
    client = Client(served[0], verbose=False)
    _, chat, _ = client.predict(QUESTION, 6, "auto", "2024-07", "2024-12", api_name="/ask")
    assert "2505.09388" not in last_answer(chat)
    with pytest.raises(Exception, match="is not a month"):
        client.predict(QUESTION, 6, "auto", "2025-13", "any", api_name="/ask")


def test_page_and_api_share_the_port(served: tuple[str, Path]) -> None:
    assert httpx.get(served[0] + "/").status_code == 200
    assert httpx.get(served[0] + "/config").json()["title"] == "arXiv QA"
    assert httpx.get(served[0] + "/api/stats").json()["papers"] == 27


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("example.com", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(("auth", "token", "refused"), [
    (None, None, "ARXIV_QA_AUTH=user:password (the page's login) and ARXIV_QA_API_TOKEN"),
    ("team:pw", None, "ARXIV_QA_API_TOKEN"),
    (None, "t0k", "ARXIV_QA_AUTH"),
    ("team:pw", "t0k", None),
])
def test_non_loopback_needs_both_logins(tmp_path: Path, auth: str | None, token: str | None,
                                        refused: str | None) -> None:
    settings = make_settings(tmp_path, host="0.0.0.0", auth=auth and SecretStr(auth),
                             api_token=token and SecretStr(token))
    if refused is None:
        check_exposure(settings, insecure=False)
    else:
        with pytest.raises(BadInput, match=re.escape(refused)):
            check_exposure(settings, insecure=False)
    check_exposure(settings, insecure=True)


@pytest.mark.parametrize("env", [{}, {"ARXIV_QA_AUTH": "team:pw"}])
def test_serve_refuses_a_public_address_without_auth(tmp_path: Path, env: dict[str, str]) -> None:
    done = run_cli("serve", "--host", "0.0.0.0", "--port", str(free_port()), store=tmp_path / "s", env=env,
                   timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("arxiv-qa: refusing to serve 0.0.0.0 without authentication")
    assert len(done.stderr.strip().splitlines()) == 1 and "--insecure" in done.stderr
    assert not (tmp_path / "s").exists()  # refused before touching the store


@pytest.mark.parametrize("auth", ["nopassword", ":pw", "user:"])
def test_malformed_auth_is_bad_usage(tmp_path: Path, auth: str) -> None:
    with pytest.raises(BadInput, match="user:password"):
        page_auth(make_settings(tmp_path, auth=SecretStr(auth)))
    done = run_cli("serve", "--port", str(free_port()), store=tmp_path / "s", env={"ARXIV_QA_AUTH": auth})
    assert done.returncode == 2 and "ARXIV_QA_AUTH must be user:password" in done.stderr


def test_page_login_when_auth_is_set(corpus_store: Settings, tmp_path: Path) -> None:
    settings = corpus_store.model_copy(update={"auth": SecretStr("team:pw")})
    with running(create_app(QA(settings, Store(settings)))) as url, httpx.Client(base_url=url) as browser:
        assert browser.get("/config").status_code == 401
        assert browser.post("/login", data={"username": "team", "password": "bad"}).status_code == 400
        assert browser.post("/login", data={"username": "team", "password": "pw"}).status_code == 200
        assert browser.get("/config").json()["title"] == "arXiv QA"


def test_queue_runs_at_most_the_concurrency_limit(corpus_store: Settings) -> None:
    settings = corpus_store.model_copy(update={"concurrency_limit": 3})
    demo = chat_page(QA(settings, Store(settings)))
    assert demo._queue.default_concurrency_limit == 3


def test_empty_store_is_filled_from_the_bundled_corpus(tmp_path: Path) -> None:
    out = io.StringIO()
    qa = prepare(make_settings(tmp_path / "fresh"), out)
    assert qa.store.stats()["papers"] == 27
    assert out.getvalue().splitlines()[:2] == ["arxiv-qa: the store is empty; ingesting the bundled corpus",
                                               "arxiv-qa: ingested 50 records, 57 chunks"]  # no \r in a log
    prepare(make_settings(tmp_path / "fresh"), out := io.StringIO())  # a second start ingests nothing
    assert "ingesting" not in out.getvalue()


@pytest.fixture
def chat_app(corpus_store: Settings, tmp_path_factory: pytest.TempPathFactory) -> ChatApp:
    settings = make_settings(store_copy(corpus_store, tmp_path_factory, "handlers"))
    return ChatApp(QA(settings, Store(settings)))


def test_feedback_is_written_to_the_store(chat_app: ChatApp) -> None:
    convo = Conversation()
    *_, (_, _, _, convo) = chat_app.respond(QUESTION, convo, 6, "auto", "any", "any")
    chat_app.feedback(convo, gr.LikeData(None, {"index": 1, "value": "x", "liked": True}))
    chat_app.feedback(convo, gr.LikeData(None, {"index": 1, "value": "x", "liked": False}))
    chat_app.feedback(convo, gr.LikeData(None, {"index": 1, "value": "x", "liked": ""}))  # the vote taken back
    lines = [json.loads(line) for line in (chat_app.qa.store.root / "feedback.jsonl").read_text().splitlines()]
    assert [r["vote"] for r in lines] == ["up", "down", "none"]
    assert lines[0]["question"] == QUESTION and lines[0]["citations"][0]["key"] == "arXiv:2505.09388"


def test_errors_are_short_messages_on_the_page(chat_app: ChatApp) -> None:
    with pytest.raises(gr.Error, match="the question is empty"):
        next(chat_app.respond("   ", Conversation(), 6, "auto", "any", "any"))
    with pytest.raises(gr.Error, match="mode llm needs"):
        list(chat_app.respond(QUESTION, Conversation(), 6, "llm", "any", "any"))


def test_upload_is_ingested_in_the_background(chat_app: ChatApp, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    upload = tmp_path / "more.txt"
    upload.write_text("Zorblax is a method for quantum flux compression that reaches a 42 percent gain over "
                      "baselines on the FluxBench suite.\n\narXiv:2509.01234\nCreated: 2025-09-03\n")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01binary")
    release = threading.Event()

    def held_ingest(*args: Any, **kw: Any) -> Any:
        release.wait(30)
        return ingest(*args, **kw)

    monkeypatch.setattr(uploads, "ingest", held_ingest)
    with pytest.raises(gr.Error, match="choose one or more abstract files"):
        chat_app.upload([])
    progress, timer, _, _ = chat_app.upload([str(upload), str(bad)])
    assert "ingesting 2 file(s)" in progress and timer.active
    assert "ingesting 2 file(s)" in chat_app.status_line()
    with pytest.raises(gr.Error, match="still being ingested"):
        chat_app.upload([str(upload)])
    release.set()
    chat_app.job.wait(120)
    progress, status, timer = chat_app.poll()
    assert "done: 1 file(s) ingested" in progress and "skipped bad.txt" in progress and not timer.active
    assert "28 papers" in status
    assert (chat_app.qa.store.root / "uploads" / "more.txt").exists()
