"""Storage faults: read-only store, disk full, a failing write, the Chroma server going away.

Each ends in a one-line message, what can still be served is served, and nothing already stored
is lost or duplicated. The read-only and disk-full cases use real mounts (a read-only bind mount,
a small tmpfs), which need root; the simulated write error runs everywhere.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import free_port, start_chroma

from qa.answer.engine import QA
from qa.errors import StoreError
from qa.index.writer import Writer
from qa.ingest import bundled_corpus, ingest
from qa.settings import Settings
from tests.conftest import make_settings, run_cli


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def read_only_store(corpus_store: Settings, tmp_path: Path) -> Iterator[Path]:
    source, target = tmp_path / "rw", tmp_path / "ro"
    shutil.copytree(corpus_store.store, source)
    target.mkdir()
    if not (_mount("--bind", str(source), str(target)) and _mount("-o", "remount,bind,ro", str(target))):
        subprocess.run(["umount", str(target)], capture_output=True)
        pytest.skip("a read-only bind mount needs root (CI runs as root)")
    try:
        yield target
    finally:
        subprocess.run(["umount", "--lazy", str(target)], check=True)


@pytest.mark.slow
def test_read_only_store_answers_and_refuses_to_ingest(read_only_store: Path, tmp_path: Path) -> None:
    before = sorted(p.name for p in read_only_store.rglob("*"))
    answer = json.loads(run_cli("ask", "How many languages does Qwen3 support?", "--json",
                                store=read_only_store).stdout)
    assert "119" in answer["answer"]
    assert json.loads(run_cli("stats", "--json", store=read_only_store).stdout)["papers"] == 27
    extra = tmp_path / "extra.txt"
    shutil.copy(bundled_corpus() / "000_ad384d0920ecebd8.txt", extra)
    done = run_cli("ingest", str(extra), store=read_only_store)
    assert done.returncode == 1 and "read-only" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in read_only_store.rglob("*")) == before


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(disk)):
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=True)  # this process may hold files


@pytest.mark.slow
def test_disk_full_is_one_line_and_loses_nothing(small_disk: Path, tmp_path: Path) -> None:
    store = small_disk / "s"
    first = tmp_path / "first.txt"
    shutil.copy(bundled_corpus() / "004_4dab0063bb368887.txt", first)
    assert run_cli("ingest", str(first), store=store).returncode == 0
    kept = json.loads(run_cli("stats", "--json", store=store).stdout)
    full = run_cli("ingest", store=store)  # the whole corpus does not fit
    assert full.returncode == 1 and "cannot write to store" in full.stderr
    assert len(full.stderr.strip().splitlines()) == 1 and "Traceback" not in full.stderr
    stats = run_cli("stats", "--json", store=store)  # Chroma cannot even open on a full disk:
    assert stats.returncode == 0 or (stats.returncode == 1 and "disk is full" in stats.stderr)  # said in a line
    assert _mount("-o", "remount,size=64m", str(small_disk))
    after = json.loads(run_cli("stats", "--json", store=store).stdout)
    assert set(kept["arxiv_ids"]) <= set(after["arxiv_ids"])  # nothing stored before is lost
    done = run_cli("ingest", store=store)  # with room again, the same command completes the store
    assert done.returncode == 0, done.stderr
    final = Writer(make_settings(store))
    ids = final._chroma.collection.get()["ids"]
    assert final.stats()["papers"] == 27 and len(ids) == len(set(ids)) == final._catalog.count_chunk_ids()


@pytest.mark.slow
def test_failing_vector_write_rolls_back_and_the_next_run_cleans_up(settings: Settings, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from chromadb.errors import InternalError

    store = Writer(settings)
    ingest(store, [str(bundled_corpus() / "000_ad384d0920ecebd8.txt")])
    papers = store.stats()["papers"]
    real_upsert = type(store._chroma.collection).upsert
    calls = {"n": 0}

    def flaky(self: object, **kw: object) -> None:
        real_upsert(self, **kw)  # the vectors land...
        calls["n"] += 1
        raise InternalError("database or disk is full")  # ...but the write is reported failed

    monkeypatch.setattr(type(store._chroma.collection), "upsert", flaky)
    with pytest.raises(StoreError, match="disk is full"):
        ingest(store, [str(bundled_corpus())])
    monkeypatch.undo()
    assert calls["n"] == 1 and store.stats()["papers"] == papers  # the batch was rolled back
    assert store.chunk_count() > store._catalog.count_chunk_ids()  # orphan vectors, for now
    fresh = Writer(settings)
    ingest(fresh, [str(bundled_corpus())])
    ids = fresh._chroma.collection.get()["ids"]
    assert fresh.stats()["papers"] == 27 and len(ids) == len(set(ids)) == fresh._catalog.count_chunk_ids()


@pytest.mark.slow
def test_chroma_server_down_mid_session_then_back(tmp_path: Path) -> None:
    port = free_port()
    server = start_chroma(tmp_path / "server", port)
    settings = make_settings(tmp_path / "local", chroma_url=f"http://127.0.0.1:{port}")
    try:
        ingest(Writer(settings))
        qa = QA(settings, Writer(settings))
        assert not qa.ask("How many languages does Qwen3 support?").refused
        server.terminate()
        server.wait(timeout=30)
        with pytest.raises(StoreError) as err:
            qa.ask("What is GSPO?")
        assert "vector store failed" in str(err.value) and "\n" not in str(err.value)
        server = start_chroma(tmp_path / "server", port)
        assert "119" in qa.ask("How many languages does Qwen3 support?").answer  # serving again
    finally:
        server.terminate()
        server.wait(timeout=30)
