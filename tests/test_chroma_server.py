"""A Chroma server (`chroma run`) as the store's vector side, chosen by ARXIV_QA_CHROMA_URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import free_port, start_chroma

from tests.conftest import run_cli


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = start_chroma(tmp_path / "server", port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_ingest_and_ask_against_a_chroma_server(chroma_url: str, tmp_path: Path) -> None:
    env = {"ARXIV_QA_CHROMA_URL": chroma_url}
    store = tmp_path / "local"
    done = run_cli("ingest", store=store, env=env)
    assert done.returncode == 0, done.stderr
    assert not (store / "chroma").exists()  # the vectors live on the server
    stats = json.loads(run_cli("stats", "--json", store=store, env=env).stdout)
    assert (stats["papers"], stats["chunks"]) == (27, stats["chunks"]) and stats["chunks"] >= 27
    answer = json.loads(run_cli("ask", "How many languages does Qwen3 support?", "--json", store=store, env=env).stdout)
    assert "119" in answer["answer"] and answer["citations"][0]["key"] == "arXiv:2505.09388"
    assert all(p["bm25_rank"] or p["dense_rank"] for p in answer["passages"])
    again = run_cli("ingest", store=store, env=env)  # still incremental with the server
    assert "0 file(s) ingested, 5 unchanged" in again.stdout
