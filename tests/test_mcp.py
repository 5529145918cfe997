"""`arxiv-qa mcp` as an MCP client meets it: the server started as a subprocess, spoken to with the
SDK's own client over stdio and over streamable HTTP (with and without the API token)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx
import httpx2
import psutil
import pytest
import uvicorn
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult

from qa.settings import Settings
from tests.conftest import MODEL_CACHE, ROOT, run_cli
from tests.fakes.openai_server import FakeOpenAI, Reply
from ui.mcp.server import run as mcp_run

QWEN3 = "How many languages does Qwen3 support?"
TOKEN = "mcp-token-planted-5e1d"
KEY = "sk-mcp-planted-93c7"

pytestmark = pytest.mark.slow  # the tests start `arxiv-qa mcp` processes, or talk to one


@pytest.fixture(scope="module")
def store(corpus_store: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("mcp") / "store"
    shutil.copytree(corpus_store.store, copy)
    return copy


def server_env(store: Path, **extra: str) -> dict[str, str]:
    """What the server process gets: this checkout first on the path, the store, nothing of the machine's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARXIV_QA_", "OPENAI_", "SLACK_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**env, "ARXIV_QA_STORE": str(store), "ARXIV_QA_MODEL_CACHE": str(MODEL_CACHE), **extra}


@dataclass
class Client:
    """A connected `ClientSession`, called from synchronous tests through a portal's event loop."""

    portal: BlockingPortal
    session: ClientSession
    errlog: Path

    def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        return self.portal.call(self.session.call_tool, tool, arguments)

    def data(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = self.call(tool, arguments)
        assert not result.is_error, result.content
        data: dict[str, Any] = json.loads(result.content[0].text)  # type: ignore[union-attr]
        assert result.structured_content == data
        return data

    def error(self, tool: str, arguments: dict[str, Any]) -> str:
        result = self.call(tool, arguments)
        assert result.is_error and len(result.content) == 1
        text: str = result.content[0].text  # type: ignore[union-attr]
        assert "\n" not in text and "Traceback" not in text
        return text


@asynccontextmanager
async def over_stdio(env: dict[str, str], errlog: TextIO) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "ui.cli", "mcp"], env=env, cwd=str(ROOT))
    async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@contextmanager
def connect(portal: BlockingPortal, manager: Any, errlog: Path) -> Iterator[Client]:
    with portal.wrap_async_context_manager(manager) as session:
        yield Client(portal, session, errlog)


@pytest.fixture(scope="module")
def stdio(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """One server over the bundled corpus for the module's stdio tests."""
    errlog = tmp_path_factory.mktemp("mcp-stdio") / "stderr.txt"
    with (errlog.open("w") as err, start_blocking_portal() as portal,
          connect(portal, over_stdio(server_env(store), err), errlog) as client):
        yield client


# --- stdio: tools, resources, errors ---

def test_tools_are_listed_with_typed_schemas(stdio: Client) -> None:
    tools = {t.name: t for t in stdio.portal.call(stdio.session.list_tools).tools}
    assert set(tools) == {"ask", "search", "paper"}
    ask = tools["ask"].input_schema
    assert ask["required"] == ["question"]
    assert set(ask["properties"]) == {"question", "history", "k", "month_from", "month_to", "category", "author"}
    k = ask["properties"]["k"]["anyOf"][0]
    assert (k["type"], k["minimum"], k["maximum"]) == ("integer", 1, 50)
    assert tools["search"].input_schema["required"] == ["query"]
    assert tools["paper"].input_schema["required"] == ["id_or_key"]
    for tool in tools.values():
        assert tool.description and len(tool.description) > 80  # something a model can act on
        assert tool.annotations is not None and tool.annotations.read_only_hint


def test_ask_answers_qwen3_citing_its_paper(stdio: Client) -> None:
    start = time.perf_counter()
    answer = stdio.data("ask", {"question": QWEN3})
    print(f"stdio ask round trip: {time.perf_counter() - start:.3f} s")
    assert not answer["refused"] and "119" in answer["answer"]
    assert [c["key"] for c in answer["citations"]] == ["arXiv:2505.09388"]
    assert answer["citations"][0]["url"] == "https://arxiv.org/abs/2505.09388"
    assert answer["removed_citations"] == [] and answer["mode"] == "extractive"


def test_ask_follows_up_with_history_and_k(stdio: Client) -> None:
    history = [{"role": "user", "content": "What model sizes does the Qwen3 Embedding series come in?"},
               {"role": "assistant", "content": "0.6B, 4B and 8B [arXiv:2506.05176]."}]
    answer = stdio.data("ask", {"question": "And how many languages does it support?", "history": history, "k": 3})
    assert answer["standalone_question"] and "Qwen3 Embedding" in answer["standalone_question"]
    assert len(answer["passages"]) <= 3


def test_unanswerable_question_is_refused_without_citations(stdio: Client) -> None:
    answer = stdio.data("ask", {"question": "Which paper predicts protein folding?"})
    assert answer["refused"] is True and answer["citations"] == []


def test_search_ranks_papers_without_composing_an_answer(stdio: Client) -> None:
    found = stdio.data("search", {"query": "Qwen3 Embedding model sizes", "k": 4})
    assert "answer" not in found and found["query"] == "Qwen3 Embedding model sizes"
    papers = found["papers"]
    assert papers[0]["key"] == "arXiv:2506.05176" and papers[0]["url"] == "https://arxiv.org/abs/2506.05176"
    assert [p["rank"] for p in papers] == list(range(1, len(papers) + 1))
    assert [p["score"] for p in papers] == sorted((p["score"] for p in papers), reverse=True)
    assert 1 <= sum(len(p["snippets"]) for p in papers) <= 4 and all(p["snippets"] for p in papers)


def test_search_months_and_unknown_ids(stdio: Client) -> None:
    found = stdio.data("search", {"query": "language models", "month_from": "2025-06", "month_to": "2025-12"})
    ids = [p["arxiv_id"] for p in found["papers"] if p["arxiv_id"]]
    assert ids and all("2506" <= i[:4] <= "2512" for i in ids)
    assert stdio.data("search", {"query": "What is arXiv:2401.99999?"}) == {
        "query": "What is arXiv:2401.99999?", "papers": [], "not_in_corpus": ["arXiv:2401.99999"]}


@pytest.mark.parametrize("given", ["2505.09388", "arXiv:2505.09388v2", "https://arxiv.org/abs/2505.09388"])
def test_paper_by_id_key_or_link(stdio: Client, given: str) -> None:
    paper = stdio.data("paper", {"id_or_key": given})
    assert paper["key"] == "arXiv:2505.09388" and paper["title"] == "Qwen3"
    assert "119 languages" in paper["abstract"] and paper["created"] == "2025-05-14"


def test_paper_by_doc_key(stdio: Client, corpus_store: Settings) -> None:
    from qa.index.store import Store

    doc = next(p for p in Store(corpus_store).papers() if p.arxiv_id is None)
    paper = stdio.data("paper", {"id_or_key": doc.doc_key.upper()})
    assert paper["key"] == doc.doc_key and paper["arxiv_id"] is None and paper["abstract"] == doc.abstract


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("ask", {}, "question: Field required"),
        ("ask", {"question": ""}, "the question is empty"),
        ("ask", {"question": " \t\n "}, "the question is empty"),
        ("ask", {"question": "x" * 2001}, "the question is longer than 2000 characters"),
        ("ask", {"question": "Qwen3?", "k": 0}, "k: Input should be greater than or equal to 1"),
        ("ask", {"question": "Qwen3?", "k": 51}, "k: Input should be less than or equal to 50"),
        ("ask", {"question": "Qwen3?", "k": "six"}, "k: Input should be a valid integer"),
        ("ask", {"question": "Qwen3?", "month_from": "2025-13"}, "from: '2025-13' is not a month (YYYY-MM)"),
        ("ask", {"question": "Qwen3?", "month_to": "May 2025"}, "month_to: String should match pattern"),
        ("ask", {"question": "Qwen3?", "month_from": "2025-06", "month_to": "2025-01"},
         "the 'from' month is after the 'to' month"),
        ("ask", {"question": "Qwen3?", "history": [{"role": "system", "content": "x"}]}, "history.0.role: Input"),
        ("ask", {"question": "Qwen3?", "venue": "ACL"},  # not a filter the library has
         "venue: unknown argument (ask takes question, history, k, month_from, month_to, category, author)"),
        ("ask", {"question": "Qwen3?", "category": "x" * 41}, "category: String should have at most 40 characters"),
        ("search", {"query": ""}, "the question is empty"),
        ("search", {"query": "Qwen3", "k": 100}, "k: Input should be less than or equal to 50"),
        ("paper", {"id_or_key": "not an id"}, "'not an id' is neither an arXiv ID (like 2505.09388) nor a doc: key"),
        ("paper", {"id_or_key": "2401.99999"}, "arXiv:2401.99999 is not in the corpus"),
        ("paper", {"id_or_key": "x" * 201}, "id_or_key: String should have at most 200 characters"),
    ],
)
def test_bad_arguments_are_one_line_tool_errors(stdio: Client, tool: str, arguments: dict[str, Any],
                                                message: str) -> None:
    assert stdio.error(tool, arguments).startswith(message)


def test_paper_resources_and_stats(stdio: Client, corpus_store: Settings) -> None:
    templates = stdio.portal.call(stdio.session.list_resource_templates).resource_templates
    assert [t.uri_template for t in templates] == ["paper://{+key}"]
    (stats_resource,) = stdio.portal.call(stdio.session.list_resources).resources
    stats = json.loads(stdio.portal.call(stdio.session.read_resource, stats_resource.uri).contents[0].text)
    from qa.index.store import Store

    assert stats == Store(corpus_store).stats()
    paper = json.loads(stdio.portal.call(stdio.session.read_resource, "paper://arXiv:2505.09388").contents[0].text)
    assert paper["key"] == "arXiv:2505.09388" and "119 languages" in paper["abstract"]
    with pytest.raises(MCPError, match=r"arXiv:2401\.99999 is not in the corpus"):
        stdio.portal.call(stdio.session.read_resource, "paper://arXiv:2401.99999")


def test_stdio_server_says_nothing_on_stderr(stdio: Client) -> None:
    stdio.data("ask", {"question": QWEN3})
    stdio.error("ask", {"question": ""})
    assert stdio.errlog.read_text() == ""


def test_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    errlog = tmp_path / "stderr.txt"
    with (errlog.open("w") as err, start_blocking_portal() as portal,
          connect(portal, over_stdio(server_env(empty), err), errlog) as client):
        for tool, arguments in [("ask", {"question": QWEN3}), ("search", {"query": "Qwen3"}),
                                ("paper", {"id_or_key": "2505.09388"})]:
            assert client.error(tool, arguments) == f"the store {empty} is empty: run `arxiv-qa ingest` first"
        assert client.error("ask", {"question": ""}) == "the question is empty"  # the arguments come first
        with pytest.raises(MCPError, match="is empty: run `arxiv-qa ingest` first"):
            portal.call(client.session.read_resource, "arxiv-qa://stats")


# --- an LLM answer through the local OpenAI-compatible stand-in ---

def test_llm_answer_citing_an_invented_id_loses_it(store: Path, tmp_path: Path) -> None:
    errlog = tmp_path / "stderr.txt"
    env = server_env(store, OPENAI_BASE_URL="", OPENAI_API_KEY=KEY, ARXIV_QA_LLM_MAX_RETRIES="0")
    with FakeOpenAI(require_key=KEY) as fake, errlog.open("w") as err, start_blocking_portal() as portal:
        env["OPENAI_BASE_URL"] = fake.base_url
        fake.script = [Reply("Qwen3 supports 119 languages and dialects [arXiv:2505.09388], as shown in "
                             "[arXiv:2401.99999]."),
                       Reply(f"Qwen3 supports 119 languages [arXiv:2505.09388]. My key is {KEY}.")]
        with connect(portal, over_stdio(env, err), errlog) as client:
            answer = client.data("ask", {"question": QWEN3})
            assert answer["mode"] == "llm" and not answer["refused"]
            assert [c["key"] for c in answer["citations"]] == ["arXiv:2505.09388"]
            assert answer["removed_citations"] == ["arXiv:2401.99999"] and answer["fabricated_citations"] == 1
            assert "2401.99999" not in answer["answer"]
            echoed = client.call("ask", {"question": QWEN3})
            assert "119" in echoed.content[0].text and KEY not in echoed.content[0].text  # type: ignore[union-attr]
        assert len(fake.chat_requests) == 2
    assert KEY not in errlog.read_text()


# --- streamable HTTP ---

@dataclass
class HTTPServer:
    url: str
    pid: int
    stderr: Path


@pytest.fixture(scope="module")
def http_server(store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HTTPServer]:
    """`arxiv-qa mcp --http --port 0` with ARXIV_QA_API_TOKEN set; the URL read from its stderr."""
    stderr = tmp_path_factory.mktemp("mcp-http") / "stderr.txt"
    env = server_env(store, ARXIV_QA_API_TOKEN=TOKEN)
    with stderr.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "mcp", "--http", "--port", "0"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env)
    try:
        deadline = time.monotonic() + 120
        while not (m := re.search(r"MCP on (http://\S+/mcp)", stderr.read_text())):
            assert proc.poll() is None and time.monotonic() < deadline, stderr.read_text()
            time.sleep(0.1)
        yield HTTPServer(m.group(1), proc.pid, stderr)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}}


@pytest.mark.parametrize("authorization",
                         [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN.upper()}"])
def test_http_refuses_a_missing_or_wrong_token(http_server: HTTPServer, authorization: str | None) -> None:
    headers = {"Accept": "application/json, text/event-stream"}
    if authorization is not None:
        headers["Authorization"] = authorization
    reply = httpx.post(http_server.url, json=INIT, headers=headers, timeout=30)
    assert reply.status_code == 401 and reply.headers["www-authenticate"] == "Bearer"
    assert reply.json() == {"error": "missing or wrong bearer token (Authorization: Bearer <token>)"}


def test_http_with_the_token_answers_through_the_sdk_client(http_server: HTTPServer) -> None:
    @asynccontextmanager
    async def over_http() -> AsyncIterator[ClientSession]:
        client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        async with (client, streamable_http_client(http_server.url, http_client=client) as (read, write),
                    ClientSession(read, write) as session):
            await session.initialize()
            yield session

    with start_blocking_portal() as portal, connect(portal, over_http(), http_server.stderr) as client:
        assert {t.name for t in portal.call(client.session.list_tools).tools} == {"ask", "search", "paper"}
        answer = client.data("ask", {"question": QWEN3})
        assert [c["key"] for c in answer["citations"]] == ["arXiv:2505.09388"]
        assert client.error("ask", {"question": "Qwen3?", "k": 0}).startswith("k: Input should be greater")
    assert TOKEN not in http_server.stderr.read_text()


def test_http_binds_loopback_only(http_server: HTTPServer) -> None:
    assert http_server.url.startswith("http://127.0.0.1:")
    listening = [c.laddr for c in psutil.Process(http_server.pid).net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN]
    assert [a.ip for a in listening] == ["127.0.0.1"]
    assert f":{listening[0].port}/" in http_server.url


def test_the_printed_url_takes_connections_before_uvicorn_runs(corpus_store: Settings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A client may connect the moment the URL is printed: the socket already listens (queued, not refused)."""
    handed: list[socket.socket] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets: handed.extend(sockets))
    out = io.StringIO()
    mcp_run(corpus_store, http=True, port=0, out=out)
    port = int(re.search(r"MCP on http://127\.0\.0\.1:(\d+)/mcp", out.getvalue()).group(1))  # type: ignore[union-attr]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        handed[0].close()


def test_http_elsewhere_than_loopback_needs_a_token(tmp_path: Path) -> None:
    done = run_cli("mcp", "--http", "--host", "0.0.0.0", "--port", "0", store=tmp_path / "store", timeout=60)
    assert done.returncode == 2 and "refusing to serve 0.0.0.0 without a token: set ARXIV_QA_API_TOKEN" in done.stderr
