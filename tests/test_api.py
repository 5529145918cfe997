"""The HTTP API on a live server on 127.0.0.1: ask, stats, healthz, bad input, the bearer token,
library errors as JSON, and the concurrency limit (excess requests wait, they do not fail)."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from qa.answer.engine import QA
from qa.errors import BadInput, LLMError, QAError, StoreError
from qa.index.store import Store
from qa.settings import Settings
from tests.conftest import make_settings
from tests.fakes.openai_server import Delay, FakeOpenAI, Reply
from ui.web.server import create_api, create_app

TOKEN = "s3cret-token"


@contextmanager
def running(app: FastAPI, port: int = 0) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 (a free port unless given) in a thread; yield its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=3))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def store_copy(corpus_store: Settings, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A private copy of the session's corpus store (tests may write to it)."""
    copy = tmp_path_factory.mktemp(name) / "store"
    shutil.copytree(corpus_store.store, copy)
    return copy


@pytest.fixture(scope="module")
def qa(corpus_store: Settings, tmp_path_factory: pytest.TempPathFactory) -> QA:
    settings = make_settings(store_copy(corpus_store, tmp_path_factory, "api"))
    engine = QA(settings, Store(settings))
    assert engine.warm
    return engine


@pytest.fixture(scope="module")
def url(qa: QA) -> Iterator[str]:
    with running(create_app(qa)) as base:
        yield base


@pytest.fixture(scope="module")
def guarded_url(qa: QA) -> Iterator[str]:
    settings = qa.settings.model_copy(update={"api_token": SecretStr(TOKEN)})
    with running(create_app(QA(settings, qa.store))) as base:
        yield base


def test_ask_returns_the_answer_json(url: str) -> None:
    got = httpx.post(f"{url}/api/ask", json={"question": "How many languages does Qwen3 support?"}, timeout=60)
    assert got.status_code == 200, got.text
    body = got.json()
    assert {"question", "answer", "refused", "mode", "citations", "passages", "timings"} <= set(body)
    assert not body["refused"] and "119" in body["answer"] and body["mode"] == "extractive"
    assert body["citations"][0] == {**body["citations"][0], "key": "arXiv:2505.09388",
                                    "url": "https://arxiv.org/abs/2505.09388"}


@pytest.mark.slow
def test_llm_answer_json_lists_its_unsupported_claims(qa: QA) -> None:
    with FakeOpenAI() as fake:
        fake.default = Reply("Qwen3 expands multilingual support to 119 languages [arXiv:2505.09388]. "
                             "Qwen3 supports 250 languages [arXiv:2505.09388].")
        settings = qa.settings.model_copy(update={"openai_base_url": fake.base_url})
        with running(create_api(QA(settings, qa.store))) as base:
            got = httpx.post(f"{base}/api/ask", json={"question": "How many languages does Qwen3 support?"}, timeout=60)
            extractive = httpx.post(f"{base}/api/ask", json={"question": "How many languages does Qwen3 support?",
                                                             "mode": "extractive"}, timeout=60)
            schema = httpx.get(f"{base}/openapi.json").json()["components"]["schemas"]
    assert got.status_code == 200 and got.json()["mode"] == "llm", got.text
    assert got.json()["unsupported_claims"] == [
        {"sentence": "Qwen3 supports 250 languages [arXiv:2505.09388].", "key": "arXiv:2505.09388", "support": 0.0}]
    assert extractive.json()["unsupported_claims"] == []
    assert set(schema["UnsupportedClaimOut"]["properties"]) == {"sentence", "key", "support"}


def test_follow_up_uses_the_history(url: str) -> None:
    history = [{"role": "user", "content": "What is the Qwen3 Embedding series?"},
               {"role": "assistant", "content": "A text embedding series. [arXiv:2506.05176]"}]
    got = httpx.post(f"{url}/api/ask", json={"question": "What model sizes does it come in?", "history": history,
                                             "k": 4, "mode": "extractive"}, timeout=60).json()
    assert "Qwen3" in (got["standalone_question"] or "") and "8B" in got["answer"]
    assert len(got["passages"]) <= 4


def test_date_filter(url: str) -> None:
    got = httpx.post(f"{url}/api/ask", json={"question": "How many languages does Qwen3 support?",
                                             "month_from": "2024-01", "month_to": "2024-12"}, timeout=60).json()
    assert all(p["arxiv_id"] is None or p["arxiv_id"].startswith("24") for p in got["passages"])
    assert "arXiv:2505.09388" not in [c["key"] for c in got["citations"]]
    assert got["filters"] == {"arxiv_ids": [], "month_from": "2024-01", "month_to": "2024-12",
                              "categories": [], "authors": []}


def test_unfiltered_answer_has_null_filters(url: str) -> None:
    got = httpx.post(f"{url}/api/ask", json={"question": "How many languages does Qwen3 support?"}, timeout=60)
    assert got.json()["filters"] is None


@pytest.mark.parametrize(("body", "message", "filters"), [
    ({"month_from": "2031-01", "month_to": "2031-12"}, "No papers between 2031-01 and 2031-12 in the store.",
     {"arxiv_ids": [], "month_from": "2031-01", "month_to": "2031-12", "categories": [], "authors": []}),
    ({"month_from": "2031-01"}, "No papers from 2031-01 on in the store.",
     {"arxiv_ids": [], "month_from": "2031-01", "month_to": None, "categories": [], "authors": []}),
])
def test_a_date_filter_that_excludes_every_paper_says_so(url: str, body: dict[str, str], message: str,
                                                        filters: dict[str, Any]) -> None:
    got = httpx.post(f"{url}/api/ask", json={"question": "How many languages does Qwen3 support?", **body},
                     timeout=60).json()
    assert got["refused"] and got["answer"] == message and got["passages"] == [] and got["citations"] == []
    assert got["filters"] == filters


def test_a_month_named_in_the_question_is_a_filter_too(url: str) -> None:
    got = httpx.post(f"{url}/api/ask", json={"question": "Which papers from March 2031 are about Qwen3?"},
                     timeout=60).json()
    assert got["answer"] == "No papers in 2031-03 in the store."
    assert got["filters"] == {"arxiv_ids": [], "month_from": "2031-03", "month_to": "2031-03",
                              "categories": [], "authors": []}


def test_stats_and_healthz(url: str) -> None:
    stats = httpx.get(f"{url}/api/stats").json()
    assert stats["papers"] == 27 and stats["chunks"] > 27 and "2505.09388" in stats["arxiv_ids"]
    assert httpx.get(f"{url}/api/healthz").json() == {"status": "ok"}


def test_openapi_docs(url: str) -> None:
    spec = httpx.get(f"{url}/openapi.json").json()
    assert {"/api/ask", "/api/stats", "/api/healthz"} <= set(spec["paths"])
    assert "AskRequest" in spec["components"]["schemas"]
    docs = httpx.get(f"{url}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


@pytest.mark.parametrize(("body", "message"), [
    ({}, "question: Field required"),
    ({"question": 5}, "question: Input should be a valid string"),
    ({"question": ""}, "question: String should have at least 1 character"),
    ({"question": "Q?", "k": 0}, "k: Input should be greater than or equal to 1"),
    ({"question": "Q?", "k": "3"}, "k: Input should be a valid integer"),
    ({"question": "Q?", "k": 51}, "k: Input should be less than or equal to 50"),
    ({"question": "Q?", "mode": "magic"}, "mode: Input should be 'auto', 'extractive' or 'llm'"),
    ({"question": "Q?", "history": [{"role": "system", "content": "x"}]}, "history.0.role"),
    ({"question": "Q?", "history": "hi"}, "history: Input should be a valid list"),
    ({"question": "Q?", "month_from": "May 2025"}, "month_from: String should match pattern"),
    ({"question": "Q?", "temperature": 2}, "temperature: Extra inputs are not permitted"),
    ([1, 2], "Input should be a valid dictionary"),
])
def test_malformed_request_is_422_with_one_line(url: str, body: Any, message: str) -> None:
    got = httpx.post(f"{url}/api/ask", json=body)
    assert got.status_code == 422
    error = got.json()["error"]
    assert message in error and "\n" not in error and "Traceback" not in got.text


def test_body_that_is_not_json_is_422(url: str) -> None:
    got = httpx.post(f"{url}/api/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert got.status_code == 422 and "JSON" in got.json()["error"]


@pytest.mark.parametrize(("body", "message"), [
    ({"question": "   "}, "the question is empty"),
    ({"question": "x" * 3000}, "longer than 2000"),
    ({"question": "Q?", "mode": "llm"}, "OPENAI_API_KEY"),
    ({"question": "Q?", "month_from": "2025-06", "month_to": "2025-01"}, "after"),
    ({"question": "Q?", "month_from": "2025-13"}, "is not a month"),
])
def test_input_the_library_refuses_is_400(url: str, body: dict[str, Any], message: str) -> None:
    got = httpx.post(f"{url}/api/ask", json=body, timeout=60)
    assert got.status_code == 400 and message in got.json()["error"]


@pytest.mark.parametrize("path", ["/api/ask", "/api/stats"])
@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x"])
def test_token_is_required_when_set(guarded_url: str, path: str, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    got = httpx.request("POST" if path == "/api/ask" else "GET", f"{guarded_url}{path}", headers=headers,
                        json={"question": "How many languages does Qwen3 support?"})
    assert got.status_code == 401 and "bearer token" in got.json()["error"]
    assert got.headers["www-authenticate"] == "Bearer"


def test_right_token_is_accepted_and_healthz_needs_none(guarded_url: str) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    got = httpx.post(f"{guarded_url}/api/ask", json={"question": "How many languages does Qwen3 support?"},
                     headers=auth, timeout=60)
    assert got.status_code == 200 and got.json()["citations"]
    assert httpx.get(f"{guarded_url}/api/stats", headers=auth).status_code == 200
    assert httpx.get(f"{guarded_url}/api/healthz").status_code == 200


class StubQA:
    """Stands in for QA where a library failure or a slow answer is needed."""

    def __init__(self, settings: Settings, error: QAError | None = None, delay: float = 0.0) -> None:
        self.settings = settings
        self.error = error
        self.delay = delay
        self.store = self
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def ask(self, question: str, *args: object, **filters: object) -> Any:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(self.delay)
        with self._lock:
            self.active -= 1
        if self.error:
            raise self.error
        from qa.types import Answer
        return Answer(question, "fine", False, "extractive")

    def resolve_mode(self, mode: str | None) -> str:
        return "extractive"

    def stats(self) -> dict[str, Any]:
        if self.error:
            raise self.error
        return {"papers": 0}


@pytest.mark.parametrize(("error", "status"), [
    (BadInput("bad question"), 400), (LLMError("the LLM endpoint timed out after 30 s"), 502),
    (StoreError("cannot open store /x: Permission denied"), 503),
])
def test_library_errors_are_json_with_their_status(tmp_path: Path, error: QAError, status: int) -> None:
    with running(create_api(StubQA(make_settings(tmp_path), error)) ) as base:  # type: ignore[arg-type]
        for got in (httpx.post(f"{base}/api/ask", json={"question": "Q?"}), httpx.get(f"{base}/api/stats")):
            assert got.status_code == status and got.json() == {"error": str(error)}


def test_unexpected_error_is_a_json_500_without_traceback(tmp_path: Path) -> None:
    stub = StubQA(make_settings(tmp_path), RuntimeError("boom"))  # type: ignore[arg-type]
    with running(create_api(stub)) as base:  # type: ignore[arg-type]
        got = httpx.post(f"{base}/api/ask", json={"question": "Q?"})
    assert got.status_code == 500 and got.json() == {"error": "internal error; see the server log"}


@pytest.mark.slow
def test_excess_requests_wait_for_a_worker(tmp_path: Path) -> None:
    stub = StubQA(make_settings(tmp_path, concurrency_limit=2), delay=0.3)
    with running(create_api(stub)) as base, ThreadPoolExecutor(6) as pool:  # type: ignore[arg-type]
        start = time.perf_counter()
        codes = list(pool.map(lambda i: httpx.post(f"{base}/api/ask", json={"question": f"Q{i}?"},
                                                   timeout=30).status_code, range(6)))
        took = time.perf_counter() - start
    assert codes == [200] * 6 and stub.peak == 2 and took >= 0.85


# --- request bodies: size limit before reading, token before the body (issue 13, item 9) ---

def send_raw(base: str, head: str, body: bytes = b"", chunks: int = 0, timeout: float = 10) -> tuple[int, float]:
    """Send a request by hand (`head` without its blank line), then `body`, then `chunks` MB of it
    more; the status of the response and the seconds until it came."""
    host, port = base.split("//")[1].split(":")
    start = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        with suppress(OSError):  # the server may close the connection while the rest is still coming
            for _ in range(chunks):
                sock.sendall(b"x" * 1_000_000)
        status = int(sock.recv(4096).split(b" ")[1])
    return status, time.perf_counter() - start


def post_head(path: str, length: int | None, *extra: str) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", *extra]
    lines.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize("path", ["/api/ask", "/gradio_api/queue/join", "/login", "/nope"])
def test_big_body_is_413_before_it_is_read(url: str, path: str) -> None:
    rss = psutil.Process().memory_info().rss
    status, took = send_raw(url, post_head(path, 300_000_000), chunks=20)  # 300 MB announced, 20 MB sent
    assert status == 413 and took < 5, (status, took)
    assert psutil.Process().memory_info().rss - rss < 15_000_000  # nothing of it was kept
    status, _ = send_raw(url, post_head(path, 1_000_001))  # one byte over the default limit
    assert status == 413


def test_chunked_body_is_cut_off_at_the_limit(url: str) -> None:
    chunk = b"%x\r\n%s\r\n" % (250_000, b" " * 250_000)
    status, took = send_raw(url, post_head("/api/ask", None), chunk * 8)  # 2 MB, no Content-Length
    assert status == 413 and took < 5
    body = json.dumps({"question": "How many languages does Qwen3 support?"}).encode()
    small = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    assert send_raw(url, post_head("/api/ask", None), small, timeout=60)[0] == 200  # a small one is read


def test_body_at_the_limit_is_read(url: str) -> None:
    body = json.dumps({"question": "x" * (1_000_000 - 20)}).encode()
    assert len(body) <= 1_000_000
    got = httpx.post(f"{url}/api/ask", content=body, headers={"content-type": "application/json"}, timeout=60)
    assert got.status_code == 400 and "longer than 2000" in got.json()["error"]  # read, then refused as a question


def test_token_is_checked_before_the_body(guarded_url: str) -> None:
    for path in ("/api/ask", "/api/stats", "/api/nope"):
        status, took = send_raw(guarded_url, post_head(path, 300_000_000), chunks=5)
        assert status == 401 and took < 5
    auth = f"Authorization: Bearer {TOKEN}"
    assert send_raw(guarded_url, post_head("/api/ask", 300_000_000, auth))[0] == 413


def test_body_limit_is_a_setting(tmp_path: Path) -> None:
    stub = StubQA(make_settings(tmp_path, max_body_bytes=2048))
    with running(create_api(stub)) as base:  # type: ignore[arg-type]
        assert send_raw(base, post_head("/api/ask", 2049))[0] == 413
        got = httpx.post(f"{base}/api/ask", json={"question": "x" * 1000})
        assert got.status_code == 200
        got = httpx.post(f"{base}/api/ask", json={"question": "x" * 3000})
        assert got.status_code == 413 and got.json() == {"error": "the request body is over 2,048 bytes"}


# --- one error shape everywhere (issue 13, item 12) ---

@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/nope", 404), ("GET", "/api/nope", 404), ("POST", "/api/ask/more", 404), ("GET", "/api", 404),
    ("GET", "/api/ask", 405), ("DELETE", "/api/stats", 405), ("POST", "/api/healthz", 405),
])
def test_unknown_routes_answer_an_error_json(url: str, method: str, path: str, status: int) -> None:
    got = httpx.request(method, f"{url}{path}")
    assert got.status_code == status and set(got.json()) == {"error"}, got.text
    assert "\n" not in got.json()["error"]


@pytest.mark.parametrize("body", [b'{"question": "\xff\xfe"}', "{\"question\": \"caf\u00e9\"}".encode("latin-1"),
                                  b"\xff\xfe{\x00}\x00", b"\x80"])
def test_undecodable_body_is_422(url: str, body: bytes) -> None:
    got = httpx.post(f"{url}/api/ask", content=body, headers={"content-type": "application/json"})
    assert got.status_code == 422 and set(got.json()) == {"error"}, got.text


# --- a slow LLM does not hold up extractive answers (issue 13, item 10) ---

@pytest.mark.slow
def test_slow_llm_answers_leave_the_extractive_workers_free(qa: QA) -> None:
    settings = qa.settings.model_copy(update={"concurrency_limit": 1, "llm_concurrency": 1, "llm_timeout": 30.0})
    with FakeOpenAI() as fake:
        fake.default = Delay(4.0, Reply("Qwen3 supports 119 languages [arXiv:2505.09388]."))
        settings = settings.model_copy(update={"openai_base_url": fake.base_url})
        with running(create_app(QA(settings, qa.store))) as base, ThreadPoolExecutor(3) as pool:
            slow = [pool.submit(httpx.post, f"{base}/api/ask", json={"question": "How many languages does Qwen3 "
                                                                     "support?", "mode": "llm"}, timeout=60)
                    for _ in range(3)]
            deadline = time.monotonic() + 10
            while not fake.chat_requests:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            start = time.perf_counter()
            got = httpx.post(f"{base}/api/ask", json={"question": "How many languages does Qwen3 support?",
                                                      "mode": "extractive"}, timeout=60)
            took = time.perf_counter() - start
            assert got.status_code == 200 and got.json()["mode"] == "extractive"
            assert took < 2.5, f"the extractive answer waited {took:.1f} s"
            assert not any(f.done() for f in slow)  # the LLM answers were still waiting meanwhile
            assert [f.result().json()["mode"] for f in slow] == ["llm"] * 3


def test_bibtex_of_cited_papers(url: str) -> None:
    got = httpx.get(f"{url}/api/bibtex", params={"keys": "2505.09388, arXiv:2506.05176v2"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/x-bibtex")
    entries = got.text.split("\n\n")
    assert len(entries) == 2 and entries[0].startswith("@misc{2505.09388,") and "@misc{2506.05176," in entries[1]
    for field in ("eprint={2505.09388}", "archivePrefix={arXiv}", "url={https://arxiv.org/abs/2505.09388}",
                  "year={2025}", "title={"):
        assert field in entries[0]


def test_bibtex_of_a_doc_key_has_no_eprint(url: str) -> None:
    got = httpx.get(f"{url}/api/bibtex", params={"keys": "doc:575304D32A8F"})
    assert got.status_code == 200 and got.text.startswith("@misc{doc:575304d32a8f,")
    assert "eprint" not in got.text and "no arXiv ID" in got.text


@pytest.mark.parametrize(("query", "status", "message"), [
    ({"keys": "2505.09388,9999.99999"}, 404, "not in the store: arXiv:9999.99999"),
    ({"keys": "doc:000000000000"}, 404, "not in the store: doc:000000000000"),
    ({"keys": "qwen3"}, 422, "keys: 'qwen3' is not an arXiv ID or doc: key"),
    ({"keys": " , "}, 422, "keys: give at least one"),
    ({"keys": ",".join(["2505.09388"] * 51)}, 422, "keys: at most 50"),
    ({"keys": "x" * 2001}, 422, "keys: String should have at most 2000 characters"),
    ({}, 422, "query.keys: Field required"),
])
def test_bibtex_bad_keys_are_json_errors(url: str, query: dict[str, str], status: int, message: str) -> None:
    got = httpx.get(f"{url}/api/bibtex", params=query)
    assert got.status_code == status and message in got.json()["error"], got.text


def test_bibtex_needs_the_token_when_set(guarded_url: str) -> None:
    assert httpx.get(f"{guarded_url}/api/bibtex", params={"keys": "2505.09388"}).status_code == 401
    got = httpx.get(f"{guarded_url}/api/bibtex", params={"keys": "2505.09388"},
                    headers={"Authorization": f"Bearer {TOKEN}"})
    assert got.status_code == 200 and "eprint={2505.09388}" in got.text
