"""`arxiv-qa fetch` against an arXiv-API stand-in on 127.0.0.1: real metadata in, cited out; paging,
throttling, malformed and empty answers, bad input; nothing embedded twice."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from qa.errors import BadInput, RemoteError
from qa.index.writer import Writer
from qa.ingest.remote.api import ApiQuery, fetch
from qa.settings import Settings
from tests.arxiv_papers import QWEN25_KEY, corpus_abstract, papers
from tests.conftest import make_settings, run_cli
from tests.fakes.arxiv_server import FakeArxiv


@pytest.mark.slow
def test_fetch_ids_ingests_both_stats_counts_them_and_ask_cites_real_metadata(tmp_path: Path) -> None:
    store = tmp_path / "store"
    dump = tmp_path / "dump.txt"  # the Qwen2.5 abstract as a dump gives it: no ID, no title
    dump.write_text(f"Abstract:{corpus_abstract(QWEN25_KEY)}\n")
    assert run_cli("ingest", str(dump), store=store).returncode == 0
    with FakeArxiv(papers()) as api:
        api.faults = [(429, {"Retry-After": "1"}), (503, {})]  # throttled, then a server error: both retried
        env = {"ARXIV_QA_ARXIV_API_URL": api.url, "ARXIV_QA_ARXIV_DELAY": "0"}
        done = run_cli("fetch", "--ids", "2505.09388,2412.15115", store=store, env=env)
        assert done.returncode == 0, done.stderr
        assert len(api.requests) == 3 and api.requests[-1]["id_list"] == "2505.09388,2412.15115"
        assert "2 records from arXiv" in done.stdout and "1 new paper(s)" in done.stdout

        again = run_cli("fetch", "--ids", "2505.09388,2412.15115", store=store, env=env)
        assert "0 new paper(s), 0 chunks embedded" in again.stdout, again.stdout

    stats = json.loads(run_cli("stats", "--json", store=store).stdout)
    assert stats["papers"] == 2 and stats["without_arxiv_id"] == 0  # the dump's paper took its ID
    assert stats["arxiv_ids"] == ["2412.15115", "2505.09388"]
    assert stats["categories"] == {"cs.CL": 2, "cs.AI": 1}

    answer = json.loads(run_cli("ask", "How many tokens were the Qwen2.5 pre-training datasets scaled to?", "--json",
                                store=store).stdout)
    cited = {c["key"]: c for c in answer["citations"]}
    qwen25 = cited["arXiv:2412.15115"]
    assert qwen25["title"] == "Qwen2.5 Technical Report" and qwen25["title_guessed"] is False
    assert qwen25["authors"] == ["Qwen", "An Yang", "Baosong Yang", "Junyang Lin"]
    assert (qwen25["published"], qwen25["updated"], qwen25["versions"]) == ("2024-12-19", "2025-01-03", 2)
    assert qwen25["categories"] == ["cs.CL"]


@pytest.mark.slow
def test_a_label_guessed_from_the_abstract_is_marked(tmp_path: Path) -> None:
    dump = tmp_path / "dump.txt"
    dump.write_text(f"Abstract:{corpus_abstract(QWEN25_KEY)}\n")
    store = tmp_path / "store"
    assert run_cli("ingest", str(dump), store=store).returncode == 0
    question = "How many tokens were the Qwen2.5 pre-training datasets scaled to?"
    answer = json.loads(run_cli("ask", question, "--json", store=store).stdout)
    citation = answer["citations"][0]
    assert citation["key"] == QWEN25_KEY and citation["title_guessed"] is True and citation["authors"] == []


@pytest.fixture
def fast(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "store", arxiv_delay=0, arxiv_page_size=1, arxiv_retries=2)


def test_category_since_pages_through_the_results_newest_first(fast: Settings) -> None:
    with FakeArxiv(papers()) as api:
        settings = fast.model_copy(update={"arxiv_api_url": api.url})
        seen: list[tuple[int, int | None]] = []
        report = fetch(Writer(settings), ApiQuery(category="cs.CL", since=date(2025, 1, 1)),
                       lambda n, total: seen.append((n, total)))
        starts = [r["start"] for r in api.requests]
    assert starts == ["0", "1"] and seen == [(1, 2), (1, 2)]
    assert api.requests[0]["search_query"] == "cat:cs.CL AND submittedDate:[202501010000 TO 209912312359]"
    assert report.new_papers == 2 and report.ingest.chunks_embedded > 0
    assert Writer(settings).stats()["arxiv_ids"] == ["2505.09388", "2506.05176"]


def test_max_stops_early(fast: Settings) -> None:
    with FakeArxiv(papers()) as api:
        settings = fast.model_copy(update={"arxiv_api_url": api.url})
        report = fetch(Writer(settings), ApiQuery(query="all:Qwen", limit=2))
    assert report.records == 2 and len(api.requests) == 2


def test_empty_result_fetches_nothing(fast: Settings) -> None:
    with FakeArxiv(papers()) as api:
        settings = fast.model_copy(update={"arxiv_api_url": api.url})
        report = fetch(Writer(settings), ApiQuery(category="hep-th"))
    assert (report.requests, report.records, report.new_papers) == (1, 0, 0)


def test_malformed_xml_and_spent_retries_are_remote_errors_and_store_nothing(fast: Settings) -> None:
    with FakeArxiv(papers()) as api:
        settings = fast.model_copy(update={"arxiv_api_url": api.url})
        api.malformed = True
        with pytest.raises(RemoteError, match="malformed XML"):
            fetch(Writer(settings), ApiQuery(ids=("2505.09388",)))
        api.faults = [(503, {"Retry-After": "0"})] * 3
        with pytest.raises(RemoteError, match=r"HTTP 503 \(gave up after 3 tries\)"):
            fetch(Writer(settings), ApiQuery(ids=("2505.09388",)))
        with pytest.raises(BadInput, match="refused the query"):
            fetch(Writer(settings), ApiQuery(query="BAD("))
    assert Writer(settings).stats()["papers"] == 0


def test_interrupted_fetch_embeds_nothing_twice(fast: Settings) -> None:
    with FakeArxiv(papers()) as api:
        settings = fast.model_copy(update={"arxiv_api_url": api.url})
        first = Writer(settings)
        fetch(first, ApiQuery(ids=("2505.09388",)))  # the first page of an interrupted run
        rerun = fetch(Writer(settings), ApiQuery(ids=("2505.09388", "2506.05176")))
    assert rerun.new_papers == 1 and rerun.ingest.skipped_files == 1  # the kept page is skipped by its hash
    assert Writer(settings).stats()["chunks"] == first.embedded + rerun.ingest.chunks_embedded


@pytest.mark.parametrize("args, message", [
    ((), "nothing to fetch: give --ids, --query or --category"),
    (("--ids", "2505.09388,notanid"), "'notanid' is not an arXiv ID"),
    (("--category", "cs.CL", "--since", "2025-13-01"), "--since: '2025-13-01' is not a date"),
    (("--ids", "2505.09388", "--since", "2025-01-01"), "--since needs --query or --category"),
])
@pytest.mark.slow
def test_bad_input_is_one_line_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = run_cli("fetch", *args, store=tmp_path / "store", env={"ARXIV_QA_ARXIV_API_URL": "http://127.0.0.1:9/"})
    assert done.returncode == 2 and done.stderr.startswith(f"arxiv-qa: {message}"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_unreachable_api_is_one_line_exit_1(tmp_path: Path) -> None:
    env = {"ARXIV_QA_ARXIV_API_URL": "http://127.0.0.1:9/query", "ARXIV_QA_ARXIV_DELAY": "0",
           "ARXIV_QA_ARXIV_RETRIES": "0"}
    done = run_cli("fetch", "--ids", "2505.09388", store=tmp_path / "store", env=env)
    assert done.returncode == 1 and "request failed" in done.stderr and len(done.stderr.strip().splitlines()) == 1
