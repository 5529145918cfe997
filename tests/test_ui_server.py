"""`arxiv-qa serve` as a user starts it: the chat through gradio_client against a live server, the
page's handlers (feedback, uploads), safe-by-default binding and filling an empty store."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import gradio as gr
import httpx
import pytest
import uvicorn
from gradio_client import Client
from pydantic import SecretStr
from servers import free_port

from qa.answer.engine import QA
from qa.errors import BadInput
from qa.index.writer import Writer
from qa.ingest import ingest
from qa.settings import Settings
from tests.conftest import ROOT, make_settings, run_cli
from tests.fakes.openai_server import Delay, FakeOpenAI, Reply
from tests.test_api import running, store_copy
from ui.web import uploads
from ui.web.app import EXAMPLE_SLOTS, ChatApp, Conversation
from ui.web.guard import LoginBackoff
from ui.web.server import chat_page, check_exposure, create_app, is_loopback, page_auth, prepare, serve
from ui.web.workers import Workers

QUESTION = "How many languages does Qwen3 support?"


@pytest.fixture(scope="module")
def served(corpus_store: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`python -m ui.cli serve --port N` on a copy of the corpus store; yields (URL, store)."""
    store, port = store_copy(corpus_store, tmp_path_factory, "serve"), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARXIV_QA_", "OPENAI_", "SLACK_"))}
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--port", str(port)],
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


@pytest.mark.slow
def test_chat_through_gradio_client(served: tuple[str, Path]) -> None:
    client = Client(served[0], verbose=False)
    textbox, chat, sources = client.predict(QUESTION, api_name="/ask")
    answer = last_answer(chat)
    assert textbox == "" and "119 languages" in answer
    assert '<a class="cite k-arXiv-2505-09388" href="https://arxiv.org/abs/2505.09388"' in answer
    assert "<mark>" in sources and "https://arxiv.org/abs/2505.09388" in sources


@pytest.mark.slow
def test_follow_up_uses_the_session_conversation(served: tuple[str, Path]) -> None:
    client = Client(served[0], verbose=False)
    client.predict("What is the Qwen3 Embedding series?", api_name="/ask")
    _, chat, _ = client.predict("What model sizes does it come in?", 4, "extractive", api_name="/ask")
    assert len(chat) == 4
    answer = last_answer(chat)
    assert "read as: “What model sizes does it come in? (regarding Qwen3 Embedding)”" in answer
    assert "8B" in answer and "https://arxiv.org/abs/2506.05176" in answer


@pytest.mark.slow
def test_date_filter_and_bad_month_through_gradio_client(served: tuple[str, Path]) -> None:
    client = Client(served[0], verbose=False)
    _, chat, _ = client.predict(QUESTION, 6, "auto", "2024-07", "2024-12", api_name="/ask")
    assert "2505.09388" not in last_answer(chat)
    with pytest.raises(Exception, match="is not a month"):
        client.predict(QUESTION, 6, "auto", "2025-13", "any", api_name="/ask")


@pytest.mark.slow
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


def test_the_printed_url_takes_connections_before_uvicorn_runs(corpus_store: Settings, monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    """A client may connect the moment the URL is printed: the socket already listens (queued, not refused)."""
    handed: list[socket.socket] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: handed.extend(sockets))
    out = io.StringIO()
    serve(make_settings(store_copy(corpus_store, tmp_path_factory, "listen"), port=0), out=out)
    port = int(re.search(r"chat on http://127\.0\.0\.1:(\d+)/", out.getvalue()).group(1))  # type: ignore[union-attr]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        handed[0].close()


@pytest.mark.parametrize(("auth", "token", "refused"), [
    (None, None, "ARXIV_QA_AUTH=user:password (the page's login) and ARXIV_QA_API_TOKEN"),
    ("team:pw", None, "ARXIV_QA_API_TOKEN"),
    (None, "t0k", "ARXIV_QA_AUTH"),
    ("team:pw", "", "ARXIV_QA_API_TOKEN"),
    ("team:pw", "  ", "ARXIV_QA_API_TOKEN"),
    ("", "t0k", "ARXIV_QA_AUTH"),
    ("team:pw", "t0k", None),
])
def test_non_loopback_needs_both_logins(tmp_path: Path, auth: str | None, token: str | None,
                                        refused: str | None) -> None:
    settings = make_settings(tmp_path, host="0.0.0.0", auth=None if auth is None else SecretStr(auth),
                             api_token=None if token is None else SecretStr(token))
    if refused is None:
        check_exposure(settings, insecure=False)
    else:
        with pytest.raises(BadInput, match=re.escape(refused)):
            check_exposure(settings, insecure=False)
    check_exposure(settings, insecure=True)


@pytest.mark.parametrize("env", [{}, {"ARXIV_QA_AUTH": "team:pw"},
                                 {"ARXIV_QA_AUTH": "team:pw", "ARXIV_QA_API_TOKEN": ""},
                                 {"ARXIV_QA_AUTH": " ", "ARXIV_QA_API_TOKEN": "   "}])
@pytest.mark.slow
def test_serve_refuses_a_public_address_without_auth(tmp_path: Path, env: dict[str, str]) -> None:
    done = run_cli("serve", "--host", "0.0.0.0", "--port", str(free_port()), store=tmp_path / "s", env=env,
                   timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("arxiv-qa: refusing to serve 0.0.0.0 without authentication")
    assert len(done.stderr.strip().splitlines()) == 1 and "--insecure" in done.stderr
    assert not (tmp_path / "s").exists()  # refused before touching the store


@pytest.mark.slow
@pytest.mark.parametrize("auth", ["nopassword", ":pw", "user:"])
def test_malformed_auth_is_bad_usage(tmp_path: Path, auth: str) -> None:
    with pytest.raises(BadInput, match="user:password"):
        page_auth(make_settings(tmp_path, auth=SecretStr(auth)))
    done = run_cli("serve", "--port", str(free_port()), store=tmp_path / "s", env={"ARXIV_QA_AUTH": auth})
    assert done.returncode == 2 and "ARXIV_QA_AUTH must be user:password" in done.stderr


def test_page_login_when_auth_is_set(corpus_store: Settings, tmp_path: Path) -> None:
    settings = corpus_store.model_copy(update={"auth": SecretStr("team:pw")})
    with running(create_app(QA(settings, Writer(settings)))) as url, httpx.Client(base_url=url) as browser:
        assert browser.get("/config").status_code == 401
        assert browser.post("/login", data={"username": "team", "password": "bad"}).status_code == 400
        assert browser.post("/login", data={"username": "team", "password": "pw"}).status_code == 200
        assert browser.get("/config").json()["title"] == "arXiv QA"


def test_answers_run_on_their_own_workers(corpus_store: Settings) -> None:
    settings = corpus_store.model_copy(update={"concurrency_limit": 3, "llm_concurrency": 2})
    workers = Workers(QA(settings, Writer(settings)))
    demo = chat_page(workers.qa, workers)
    assert demo._queue.default_concurrency_limit == 3
    asks = [fn for fn in demo.fns.values() if fn.fn is not None and fn.fn.__name__ == "respond"]
    # Enter, the Ask button, Retry with more passages and each example question ask; the workers limit them all
    assert len(asks) == 3 + EXAMPLE_SLOTS and all(fn.concurrency_limit is None for fn in asks)
    assert (workers.extractive.total_tokens, workers.llm.total_tokens) == (3, 2)


@pytest.mark.slow
def test_slow_llm_answers_leave_the_page_free_for_extractive_ones(corpus_store: Settings) -> None:
    """Two questions waiting on a slow LLM (one worker) do not make an extractive question wait."""
    with FakeOpenAI() as fake:
        fake.default = Delay(5.0, Reply("Qwen3 supports 119 languages [arXiv:2505.09388]."))
        settings = corpus_store.model_copy(update={"concurrency_limit": 1, "llm_concurrency": 1,
                                                   "openai_base_url": fake.base_url, "llm_timeout": 30.0})
        with running(create_app(QA(settings, Writer(settings)))) as url:
            slow = [Client(url, verbose=False).submit(QUESTION, 6, "llm", api_name="/ask") for _ in range(2)]
            deadline = time.monotonic() + 30
            while not fake.chat_requests:
                assert time.monotonic() < deadline, "the LLM was never asked"
                time.sleep(0.05)
            start = time.perf_counter()
            _, chat, _ = Client(url, verbose=False).predict(QUESTION, 6, "extractive", api_name="/ask")
            took = time.perf_counter() - start
            assert "119 languages" in last_answer(chat)
            assert took < 4, f"the extractive answer waited {took:.1f} s"
            assert not any(job.done() for job in slow)
            assert all("119 languages" in last_answer(job.result(timeout=60)[1]) for job in slow)


@pytest.mark.slow
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
    return ChatApp(QA(settings, Writer(settings)))


def drain(updates: AsyncIterator[Any], limit: int | None = None) -> list[Any]:
    """The updates an async handler yields (at most `limit` of them)."""
    async def collect() -> list[Any]:
        out = []
        async for update in updates:
            out.append(update)
            if limit is not None and len(out) >= limit:
                break
        return out

    return anyio.run(collect)


def test_feedback_is_written_to_the_store(chat_app: ChatApp) -> None:
    convo = Conversation()
    *_, (_, _, _, convo) = drain(chat_app.respond(QUESTION, convo, 6, "auto", "any", "any"))
    chat_app.feedback(convo, gr.LikeData(None, {"index": 1, "value": "x", "liked": True}))
    chat_app.feedback(convo, gr.LikeData(None, {"index": 1, "value": "x", "liked": False}))
    chat_app.feedback(convo, gr.LikeData(None, {"index": 1, "value": "x", "liked": ""}))  # the vote taken back
    lines = [json.loads(line) for line in (chat_app.qa.store.root / "feedback.jsonl").read_text().splitlines()]
    assert [r["vote"] for r in lines] == ["up", "down", "none"]
    assert lines[0]["question"] == QUESTION and lines[0]["citations"][0]["key"] == "arXiv:2505.09388"


def test_errors_are_short_messages_on_the_page(chat_app: ChatApp) -> None:
    with pytest.raises(gr.Error, match="the question is empty"):
        drain(chat_app.respond("   ", Conversation(), 6, "auto", "any", "any"), 1)
    with pytest.raises(gr.Error, match="mode llm needs"):
        drain(chat_app.respond(QUESTION, Conversation(), 6, "llm", "any", "any"))


def test_upload_is_ingested_in_the_background(chat_app: ChatApp, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # as if Gradio's upload route had put them there
    upload = tmp_path / "more.txt"
    upload.write_text("Zorblax is a method for quantum flux compression that reaches a 42 percent gain over "
                      "baselines on the FluxBench suite.\n\narXiv:2509.01234\nCreated: 2025-09-03\n")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01binary")
    chat_app.job.gate.uploaded = {str(upload), str(bad)}
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


# --- the upload handler takes only uploaded files (issue 13, item 3) ---

NOTES = ("Zorblax is a method for quantum flux compression that reaches a 42 percent gain over baselines on the "
         "FluxBench suite.\n\narXiv:2509.01234\nCreated: 2025-09-03\n")


@pytest.fixture
def upload_server(corpus_store: Settings, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, QA, Path]]:
    """A live server whose Gradio upload folder is tmp_path/gradio; yields (URL, QA, that folder)."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    settings = make_settings(store_copy(corpus_store, tmp_path_factory, "uploads"), max_upload_mb=1)
    qa = QA(settings, Writer(settings))
    with running(create_app(qa)) as url:
        yield url, qa, tmp_path / "gradio"


def run_upload(url: str, *paths: str) -> httpx.Response:
    """The page's "Ingest files" event called over Gradio's API, naming `paths`."""
    files = [{"path": p, "orig_name": Path(p).name, "meta": {"_type": "gradio.FileData"}} for p in paths]
    return httpx.post(f"{url}/gradio_api/run/upload", json={"data": [files]}, timeout=60)


def server_paths(tmp_path: Path, folder: Path) -> list[str]:
    """Files on the server that were never uploaded, named every way a request could name them."""
    notes = tmp_path / "server-notes.txt"
    notes.write_text(NOTES)
    kaggle = tmp_path / "private.jsonl"
    kaggle.write_text((ROOT / "tests" / "data" / "kaggle_snapshot.jsonl").read_text().splitlines()[0] + "\n")
    planted = folder / ("0" * 64) / "planted.txt"  # in the upload folder, but not received by its route
    planted.parent.mkdir(parents=True)
    planted.write_text(NOTES)
    link = folder / ("1" * 64) / "link.txt"
    link.parent.mkdir(parents=True)
    link.symlink_to(notes)
    return [str(notes), str(kaggle), str(ROOT / "tests" / "data" / "arxiv_api.atom.xml"),
            str(ROOT / "tests" / "data" / "kaggle_snapshot.jsonl"), f"{folder}/../server-notes.txt",
            "server-notes.txt", str(planted), str(link), f"file://{notes}"]


@pytest.mark.slow
def test_upload_handler_refuses_server_files(upload_server: tuple[str, QA, Path], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    url, qa, folder = upload_server
    monkeypatch.chdir(tmp_path)
    probes = server_paths(tmp_path, folder)
    uploaded = httpx.post(f"{url}/gradio_api/upload", files={"files": ("more.txt", NOTES.encode())}).json()
    refused = [run_upload(url, path) for path in probes] + [run_upload(url, uploaded[0], probes[0])]
    assert len(refused) == 10 and all(r.status_code != 200 for r in refused), [r.text for r in refused]
    assert not (qa.store.root / "uploads").exists()
    assert httpx.get(f"{url}/api/stats").json()["papers"] == 27  # nothing was ingested
    got = run_upload(url, uploaded[0])  # a file that did come through the upload route is taken
    assert got.status_code == 200 and "ingesting 1 file(s)" in got.json()["data"][0]
    deadline = time.monotonic() + 120
    while httpx.get(f"{url}/api/stats").json()["papers"] != 28:
        assert time.monotonic() < deadline, "the upload was not ingested"
        time.sleep(0.2)
    assert [p.name for p in (qa.store.root / "uploads").iterdir()] == ["more.txt"]


def test_upload_over_the_limit_is_refused(upload_server: tuple[str, QA, Path]) -> None:
    url, _, _ = upload_server
    big = ("x" * 1000 + "\n") * 1100  # 1.1 MB, over max_upload_mb=1
    got = httpx.post(f"{url}/gradio_api/upload", files={"files": ("big.txt", big.encode())})
    assert got.status_code == 413


def test_upload_gate_checks_each_file_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    small, big = tmp_path / "gradio" / "a" / "small.txt", tmp_path / "gradio" / "b" / "big.txt"
    for path, size in ((small, 10), (big, 2000)):
        path.parent.mkdir(parents=True)
        path.write_text("x" * size)
    gate = uploads.UploadGate(1000, {str(small), str(big)})
    assert gate.check([str(small)]) == [str(small)]
    with pytest.raises(BadInput, match=r"^big.txt is over the upload limit"):
        gate.check([str(big)])
    for path in (tmp_path / "elsewhere.txt", tmp_path / "gradio" / "a" / ".." / "a" / "missing.txt"):
        with pytest.raises(BadInput, match="was not uploaded through this page"):
            gate.check([str(path)])
    with pytest.raises(BadInput) as refused:
        gate.check([str(tmp_path / "x.txt")])
    assert str(tmp_path) not in str(refused.value)  # the message names no server directory


# --- the login form backs off (issue 13, item 11) ---

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_login_backoff_doubles_and_forgets() -> None:
    clock = Clock()
    backoff = LoginBackoff(free=5, base=1.0, cap=8.0, window=60.0, clock=clock)
    waits = []
    for _ in range(9):
        assert backoff.wait("a") == 0
        backoff.attempt("a")  # and it fails
        waits.append(backoff.wait("a"))
        clock.now += backoff.wait("a")
    assert waits == [0, 0, 0, 0, 1, 2, 4, 8, 8]  # free attempts, then doubling up to the cap
    assert backoff.wait("b") == 0  # per client
    clock.now += 61
    assert backoff.wait("a") == 0
    backoff.attempt("a")
    assert backoff.wait("a") == 0  # forgotten after the window
    for _ in range(4):
        backoff.attempt("a")
    backoff.succeeded("a")
    assert backoff.wait("a") == 0  # a login clears them


def test_login_backoff_memory_is_bounded() -> None:
    backoff = LoginBackoff(size=100)
    for n in range(1000):
        backoff.attempt(f"10.0.{n // 256}.{n % 256}")
    assert len(backoff._clients) <= 100


@pytest.mark.slow
def test_login_form_backs_off_after_failures(corpus_store: Settings) -> None:
    clock = Clock()
    settings = corpus_store.model_copy(update={"auth": SecretStr("team:pw")})
    app = create_app(QA(settings, Writer(settings)), LoginBackoff(clock=clock))
    with running(app) as url, httpx.Client(base_url=url) as browser:
        start = time.perf_counter()
        codes = [browser.post("/login", data={"username": "team", "password": f"guess{n}"}).status_code
                 for n in range(200)]
        took = time.perf_counter() - start
        assert codes == [400] * 5 + [429] * 195, codes
        blocked = browser.post("/login", data={"username": "team", "password": "pw"})
        assert blocked.status_code == 429 and blocked.headers["retry-after"] == "1"  # even the right password
        assert blocked.json() == {"error": "too many failed logins; try again in 1 s"}
        clock.now += 1
        assert browser.post("/login", data={"username": "team", "password": "bad"}).status_code == 400
        assert browser.post("/login", data={"username": "team", "password": "pw"}).status_code == 429
        clock.now += 2
        assert browser.post("/login", data={"username": "team", "password": "pw"}).status_code == 200
        assert browser.get("/config").json()["title"] == "arXiv QA"
        assert [browser.post("/login", data={"username": "team", "password": "x"}).status_code
                for _ in range(6)] == [400] * 5 + [429]  # the success cleared the failures
    assert took < 30
