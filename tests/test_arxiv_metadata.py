"""Metadata kept and used: category and author filters (library, question text, CLI, HTTP API, MCP, chat),
per-category counts, similar papers, and a catalog made by the previous schema upgraded in place."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qa.answer.engine import QA
from qa.index.catalog import MIGRATIONS, SCHEMA_VERSION, Catalog, paper_to_json
from qa.index.retrieve import Retriever, parse_filters
from qa.index.similar import similar_papers
from qa.index.writer import Writer
from qa.ingest.remote.api import ApiQuery, fetch
from qa.papers import Paper, Source
from qa.settings import Settings
from qa.types import Filters
from tests.arxiv_papers import papers
from tests.conftest import make_settings, run_cli
from tests.fakes.arxiv_server import FakeArxiv
from ui.mcp.server import build as build_mcp
from ui.web import render
from ui.web.api import api_router, install_error_handlers

ALL = ("2505.09388", "2412.15115", "2506.05176", "2503.09852", "2501.00001")


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A store of the stand-in's five papers, fetched with their metadata."""
    settings = make_settings(tmp_path_factory.mktemp("meta") / "store", arxiv_delay=0)
    with FakeArxiv(papers()) as api:
        fetch(Writer(settings.model_copy(update={"arxiv_api_url": api.url})), ApiQuery(ids=ALL))
    yield settings


def keys_found(settings: Settings, query: str, filters: Filters | None = None) -> set[str]:
    return {p.chunk.doc_key for p in Retriever(Writer(settings)).retrieve(query, 10, filters).passages}


@pytest.mark.slow
def test_category_and_author_filters_narrow_retrieval_itself(fetched: Settings) -> None:
    assert keys_found(fetched, "random walks and Qwen models") >= {"arXiv:2501.00001", "arXiv:2505.09388"}
    assert keys_found(fetched, "Qwen models", Filters(categories=("math.PR",))) == {"arXiv:2501.00001"}
    assert keys_found(fetched, "random walks", Filters(categories=("cs",))) <= {
        f"arXiv:{i}" for i in ALL[:4]}
    by_lin = keys_found(fetched, "graphs", Filters(authors=("Lin",)))  # "Lin" is not "Collins"
    assert by_lin and by_lin <= {"arXiv:2505.09388", "arXiv:2412.15115", "arXiv:2506.05176"}
    assert keys_found(fetched, "Qwen", Filters(categories=("cs.CL",), authors=("Yanzhao Zhang",))) == {
        "arXiv:2506.05176"}


def test_filters_read_from_the_question(fetched: Settings) -> None:
    f = parse_filters("cs.CL papers from 2025 about text embedding")
    assert (f.categories, f.month_from, f.month_to) == (("cs.CL",), 202501, 202512)
    assert parse_filters("papers by Junyang Lin on multilingual support").authors == ("Junyang Lin",)
    assert parse_filters("How is GSPO improved by Qwen3?").authors == ()
    answer = QA(fetched).ask("What model sizes does the Qwen3 series offer, in cs.CL papers by Yanzhao Zhang?")
    assert {p.chunk.doc_key for p in answer.passages} == {"arXiv:2506.05176"}
    assert answer.to_dict()["filters"]["authors"] == ["Yanzhao Zhang"]
    nothing = QA(fetched).ask("What do papers by Nobody Known say about graphs?")
    assert nothing.refused and nothing.answer == "No papers by Nobody Known in the store."


@pytest.mark.slow
def test_ask_cli_category_and_author(fetched: Settings) -> None:
    done = run_cli("ask", "What do they find about speaking styles or graphs?", "--json", "--category", "math",
                   "--author", "Collins", store=fetched.store)
    answer = json.loads(done.stdout)
    assert answer["filters"]["categories"] == ["math"] and answer["filters"]["authors"] == ["Collins"]
    assert {p["key"] for p in answer["passages"]} == {"arXiv:2501.00001"}


def test_api_ask_filters_and_similar(fetched: Settings) -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(api_router(QA(fetched)))
    client = TestClient(app)
    r = client.post("/api/ask", json={"question": "How many languages does Qwen3 support?", "category": "cs.SD"})
    assert r.status_code == 200 and {p["key"] for p in r.json()["passages"]} == {"arXiv:2503.09852"}
    assert r.json()["filters"]["categories"] == ["cs.SD"]
    r = client.post("/api/ask", json={"question": "How many languages does Qwen3 support?", "author": "An Yang"})
    cited = r.json()["citations"]
    assert cited[0]["key"] == "arXiv:2505.09388" and cited[0]["authors"][-1] == "Junyang Lin"
    assert client.post("/api/ask", json={"question": "Qwen3?", "author": "x" * 201}).status_code == 422

    similar = client.get("/api/similar", params={"key": "2505.09388", "k": 2}).json()
    assert similar["key"] == "arXiv:2505.09388" and len(similar["similar"]) == 2
    assert "arXiv:2505.09388" not in {p["key"] for p in similar["similar"]}
    assert client.get("/api/similar", params={"key": "2401.99999"}).status_code == 404
    assert client.get("/api/similar", params={"key": "nonsense"}).status_code == 422
    assert client.get("/api/stats").json()["categories"]["cs.CL"] == 3


def test_mcp_ask_and_search_take_category_and_author(fetched: Settings) -> None:
    server = build_mcp(QA(fetched))

    async def call(tool: str, arguments: dict[str, object]) -> dict[str, object]:
        result = await server.call_tool(tool, arguments)
        assert not result.is_error, result
        data: dict[str, object] = result.structured_content  # type: ignore[union-attr,assignment]
        return data

    found = anyio.run(call, "search", {"query": "Qwen models", "category": "math.PR"})
    assert [p["key"] for p in found["papers"]] == ["arXiv:2501.00001"]  # type: ignore[index]
    answer = anyio.run(call, "ask", {"question": "What bound do they prove?", "author": "Ada Collins"})
    assert {p["key"] for p in answer["passages"]} == {"arXiv:2501.00001"}  # type: ignore[index]


@pytest.mark.slow
def test_similar_papers_cli_and_library(fetched: Settings) -> None:
    near = similar_papers(Writer(fetched), "arXiv:2505.09388", k=4)
    assert len(near) == 4 and near[0].key in {"arXiv:2412.15115", "arXiv:2506.05176"}
    assert near[-1].key in {"arXiv:2501.00001", "arXiv:2503.09852"}  # the unrelated ones come last
    assert [p.score for p in near] == sorted((p.score for p in near), reverse=True)
    done = run_cli("similar", "2505.09388", "--k", "2", "--json", store=fetched.store)
    assert [p["key"] for p in json.loads(done.stdout)["similar"]] == [p.key for p in near[:2]]
    bad = run_cli("similar", "not-an-id", store=fetched.store)
    assert bad.returncode == 2 and bad.stderr.startswith("arxiv-qa: 'not-an-id' is neither an arXiv ID")


def test_chat_shows_filters_controls_and_similar_papers(fetched: Settings) -> None:
    from ui.web.app import ChatApp

    chat = ChatApp(QA(fetched))
    answer = chat.qa.ask("How many languages does Qwen3 support?", category="cs.CL", author="An Yang")
    assert answer.citations and answer.filters is not None and answer.filters.authors == ("An Yang",)
    similar = chat.similar_of(answer)
    html = render.sources_html(answer, {}, similar)
    assert "Similar papers" in html and "arXiv:2412.15115" in html
    assert len(chat.check("Qwen3?", None, 6, "extractive", "", "", "cs.CL", "Lin")) == 8  # type: ignore[arg-type]


def test_an_older_catalog_is_migrated_keeping_everything(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:2]:  # the schema as the previous version left it
        migration(db)
    db.execute("PRAGMA user_version = 2")
    old = Paper("We prove a bound.", "2501.00001", "Mixing Times", categories=["math.PR", "math.CO"],
                authors="Ada Collins, Lin Wei", sources=[Source("a.json", 1)])
    data = json.loads(paper_to_json(old))
    for name in ("updated", "versions", "doi", "journal_ref"):  # fields the previous version did not keep
        del data[name]
    db.execute("INSERT INTO papers (doc_key, arxiv_id, data, chunk_ids, chunk_sig) VALUES (?, ?, ?, '[\"c1\"]', 's')",
               (old.doc_key, old.arxiv_id, json.dumps(data)))
    db.close()

    catalog = Catalog(path)
    assert catalog.version == SCHEMA_VERSION == 6
    assert catalog.get("arXiv:2501.00001") == old and catalog.chunk_state("arXiv:2501.00001") == (["c1"], "s")
    assert catalog.keys_matching(categories=("math.CO",)) == ["arXiv:2501.00001"]
    assert catalog.keys_matching(categories=("math",), authors=("Lin",)) == ["arXiv:2501.00001"]
    assert catalog.keys_matching(authors=("Collin",)) == []  # word boundaries
    assert catalog.category_counts() == {"math.CO": 1, "math.PR": 1}
