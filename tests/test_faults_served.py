"""Faults while serving: the LLM endpoint down, failing with 500 or past its timeout, and the Chroma
server going away mid-session. Each request that cannot be answered gets a one-line JSON error, the
server keeps answering what it can (health, extractive answers), and it serves fully again once the
fault is gone. The endpoints are real servers on 127.0.0.1."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from servers import free_port, start_chroma

from qa.answer.engine import QA
from qa.errors import LLMError
from qa.index.writer import Writer
from qa.ingest import ingest
from qa.settings import Settings
from tests.conftest import make_settings
from tests.fakes.openai_server import Delay, FakeOpenAI, Reply, Status
from tests.test_api import running
from ui.web.server import create_app

KEY = "sk-served-fault-planted-31"
QUESTION = "How many languages does Qwen3 support?"


def llm_settings(corpus_store: Settings, base_url: str, **kw: object) -> Settings:
    return corpus_store.model_copy(update={"openai_base_url": base_url, "openai_api_key": SecretStr(KEY),
                                           "llm_timeout": 1.0, "llm_max_retries": 1, **kw})


def ask(client: httpx.Client, mode: str | None = None) -> httpx.Response:
    body: dict[str, object] = {"question": QUESTION}
    if mode:
        body["mode"] = mode
    return client.post("/api/ask", json=body, timeout=60)


def one_line_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    message = response.json()["error"]
    assert isinstance(message, str) and "\n" not in message and "Traceback" not in message
    assert KEY not in response.text
    return message


@pytest.mark.slow
def test_llm_endpoint_down(corpus_store: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = llm_settings(corpus_store, f"http://127.0.0.1:{free_port()}/v1")  # nothing listens there
    with pytest.raises(LLMError, match="cannot reach"):
        QA(settings, Writer(settings)).ask(QUESTION, mode="llm")
    with running(create_app(QA(settings, Writer(settings)))) as url, httpx.Client(base_url=url) as client:
        assert "cannot reach" in one_line_error(ask(client, "llm"), 502)
        fallback = ask(client)  # auto: the LLM is configured but down, so the answer is extractive
        assert fallback.status_code == 200
        answer = fallback.json()
        assert answer["mode"] == "extractive" and "119" in answer["answer"]
        assert any("answered extractively instead" in w for w in answer["warnings"])
        assert client.get("/api/healthz").json() == {"status": "ok"}
        assert client.get("/api/stats").json()["papers"] == 27
    assert KEY not in caplog.text


@pytest.mark.slow
@pytest.mark.parametrize("fault", [Status(500), Delay(5.0)], ids=["http-500", "past-the-timeout"])
def test_llm_failing_then_recovering(corpus_store: Settings, fault: object) -> None:
    with FakeOpenAI(require_key=KEY) as fake:
        settings = llm_settings(corpus_store, fake.base_url)
        with running(create_app(QA(settings, Writer(settings)))) as url, httpx.Client(base_url=url) as client:
            fake.script = [fault, fault]  # the first try and its one retry
            message = one_line_error(ask(client, "llm"), 502)
            assert ("500" in message) if isinstance(fault, Status) else ("did not answer within" in message)
            assert len(fake.chat_requests) == 2  # retried once, then gave up
            fake.script = [Reply("Qwen3 supports 119 languages and dialects [arXiv:2505.09388].")]
            recovered = ask(client, "llm")
            assert recovered.status_code == 200 and recovered.json()["mode"] == "llm"
            assert [c["key"] for c in recovered.json()["citations"]] == ["arXiv:2505.09388"]


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    port = free_port()
    servers = [start_chroma(tmp_path / "server", port)]
    yield port, servers
    for server in servers:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_chroma_server_down_while_serving(tmp_path: Path, chroma: tuple[int, list[subprocess.Popen[bytes]]]) -> None:
    port, servers = chroma
    settings = make_settings(tmp_path / "local", chroma_url=f"http://127.0.0.1:{port}")
    ingest(Writer(settings))
    with running(create_app(QA(settings, Writer(settings)))) as url, httpx.Client(base_url=url) as client:
        assert ask(client).status_code == 200
        servers[0].terminate()
        servers[0].wait(timeout=30)
        assert "vector store failed" in one_line_error(ask(client), 503)
        assert client.get("/api/healthz").status_code == 200  # the server itself is still up
        servers.append(start_chroma(tmp_path / "server", port))
        back = ask(client)
        assert back.status_code == 200 and "119" in back.json()["answer"]
        assert back.json()["citations"][0]["key"] == "arXiv:2505.09388"
    # Nothing was lost or duplicated while the server was away.
    store = Writer(settings)
    ids = store._chroma.collection.get()["ids"]
    assert store.stats()["papers"] == 27 and len(ids) == len(set(ids)) == store._catalog.count_chunk_ids()
