"""`arxiv-qa harvest` against an OAI-PMH stand-in on 127.0.0.1: resumption tokens, the next harvest from
where the last ended, a kill in the middle and a rerun equal to an uninterrupted harvest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from qa.index.catalog import Catalog, paper_to_json
from qa.index.writer import Writer
from qa.ingest.remote.oai import harvest, load_state
from qa.settings import Settings
from tests.arxiv_papers import papers
from tests.conftest import MODEL_CACHE, make_settings, run_cli
from tests.fakes.arxiv_server import FakeOAI, FakePaper


def oai_settings(store: Path, url: str) -> Settings:
    return make_settings(store, arxiv_delay=0, oai_url=url)


@pytest.mark.slow
def test_harvest_follows_tokens_and_the_second_harvest_fetches_nothing_new(tmp_path: Path) -> None:
    with FakeOAI(papers(), page_size=2) as oai:
        settings = oai_settings(tmp_path / "store", oai.url)
        oai.faults = [(503, {"Retry-After": "1"})]  # arXiv's "come back later"
        first = harvest(Writer(settings), "cs", start=date(2025, 1, 1))
        assert (first.records, first.new_papers) == (4, 4)  # the cs papers changed since 2025-01-01, in two pages
        assert [r.get("resumptionToken") is not None for r in oai.requests] == [False, False, True]
        assert load_state(Writer(settings), "cs", "arXiv").last == "2025-07-01"  # the day of its first answer

        second = harvest(Writer(settings), "cs")
        assert oai.requests[-1]["from"] == "2025-07-01"
        assert (second.records, second.new_papers, second.ingest.chunks_embedded) == (0, 0, 0)

        oai.papers.append(FakePaper("2507.00002", "A New Paper", "We study something new about transformers "
                                    "and report what we find.", ["Junyang Lin"], ["cs.LG"], "2025-07-01",
                                    "2025-07-01"))
        third = harvest(Writer(settings), "cs")
        assert (third.records, third.new_papers) == (1, 1)
    stored = Writer(settings).by_id("2412.15115")
    assert stored is not None and stored.title == "Qwen2.5 Technical Report"
    assert stored.author_names == ["Qwen", "An Yang", "Baosong Yang", "Junyang Lin"]
    assert (stored.created, stored.updated) == (date(2024, 12, 19), date(2025, 1, 3))


def _snapshot(store: Path) -> tuple[list[str], dict[str, int | list[str] | dict[str, int]]]:
    """The catalog's papers (file paths made relative to the store) and the store's figures."""
    settings = make_settings(store)
    catalog = Catalog(store / "catalog.sqlite")
    rows = [paper_to_json(p).replace(str(store), "<store>") for p in catalog.papers()]
    return rows, Writer(settings).stats()


@pytest.mark.slow
def test_killed_in_the_middle_and_rerun_equals_an_uninterrupted_harvest(tmp_path: Path) -> None:
    with FakeOAI(papers(), page_size=1) as oai:
        whole = tmp_path / "whole"
        harvest(Writer(oai_settings(whole, oai.url)), "cs", start=date(2025, 1, 1))
        oai.requests.clear()

        killed = tmp_path / "killed"
        oai.hold_at = 3  # the third page waits: the harvester is killed while it does
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("ARXIV_QA_")},
               "ARXIV_QA_STORE": str(killed), "ARXIV_QA_OAI_URL": oai.url, "ARXIV_QA_ARXIV_DELAY": "0",
               "ARXIV_QA_MODEL_CACHE": str(MODEL_CACHE)}
        proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "harvest", "--set", "cs", "--from", "2025-01-01"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 300
            while len(oai.requests) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(oai.requests) == 3, "the harvester never asked for the third page"
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            oai.hold_at = None
            oai.release.set()
        assert load_state(Writer(make_settings(killed)), "cs", "arXiv").page == 2  # two pages done

        oai.requests.clear()
        rerun = run_cli("harvest", "--set", "cs", store=killed,
                        env={"ARXIV_QA_OAI_URL": oai.url, "ARXIV_QA_ARXIV_DELAY": "0"})
        assert rerun.returncode == 0, rerun.stderr
        assert "resumptionToken" in oai.requests[0]  # resumed at the third page, not from the start
    assert _snapshot(killed) == _snapshot(whole)
    assert json.loads(run_cli("check", "--json", store=killed).stdout)["healthy"] is True


def test_an_oai_page_is_an_input_format_too(tmp_path: Path) -> None:
    with FakeOAI(papers(), page_size=10) as oai:
        harvest(Writer(oai_settings(tmp_path / "store", oai.url)), "math")
    page = next((tmp_path / "store" / "arxiv" / "oai").glob("*.xml"))
    from qa.ingest.sources import detect_format, read_papers

    assert detect_format(page) == "oai"
    (paper,) = read_papers(page)
    assert (paper.arxiv_id, paper.authors, paper.categories) == ("2501.00001", "Ada Collins", ["math.PR", "math.CO"])


@pytest.mark.parametrize("args, message", [
    (("--from", "2025-02-30"), "--from: '2025-02-30' is not a date (YYYY-MM-DD)"),
    (("--from", "2025-06-01", "--until", "2025-01-01"), "--from is after --until"),
])
@pytest.mark.slow
def test_bad_input_is_one_line_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = run_cli("harvest", *args, store=tmp_path / "store", env={"ARXIV_QA_OAI_URL": "http://127.0.0.1:9/"})
    assert done.returncode == 2 and done.stderr.strip() == f"arxiv-qa: {message}", done.stderr
