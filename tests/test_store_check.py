"""One writer per store, and `arxiv-qa check [--repair]`: catalog, vectors and BM25 index agree.

Two ingests on one store used to run at once: the second swept the first one's uncommitted vectors
as "left by an interrupted ingest", and nothing noticed. Now a write lock serialises writers, and
`check` finds (and `--repair` mends) vectors deleted or added behind the store's back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from qa.errors import StoreBusy, StoreError
from qa.index.bm25 import BM25Index
from qa.index.check import check_store
from qa.index.lock import LOCK_FILE, WriteLock
from qa.index.writer import Writer
from qa.ingest import ingest
from qa.settings import Settings
from tests.conftest import HASH, MODEL_CACHE, make_settings, run_cli
from tests.corpusgen import write_blocks


def _collection(store: Path) -> chromadb.Collection:
    """The store's Chroma collection, opened with chromadb itself (as an outside tool would)."""
    client = chromadb.PersistentClient(path=str(store / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    return client.get_collection("abstracts")


def _check(store: Path, *args: str) -> tuple[int, dict[str, object]]:
    done = run_cli("check", "--json", *args, store=store)
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture
def store_copy(corpus_store: Settings, tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(corpus_store.store, copy)
    return copy


@pytest.mark.slow
def test_check_finds_deleted_and_stray_vectors_and_repair_mends_them(store_copy: Path) -> None:
    code, health = _check(store_copy)
    assert code == 0 and health["healthy"] and health["chunks"] == health["vectors"] == 57
    collection = _collection(store_copy)
    victims = sorted(collection.get(include=[])["ids"])[::10]  # 6 vectors deleted behind the store's back
    stray = collection.get(ids=victims[:1], include=["embeddings", "metadatas"])
    collection.delete(ids=victims)
    collection.add(ids=["doc:stray#0:x"], embeddings=stray["embeddings"], metadatas=stray["metadatas"])
    del collection
    code, health = _check(store_copy)
    assert code == 1 and not health["healthy"]
    assert (health["missing"], health["orphans"], health["vectors"]) == (6, 1, 52)
    assert health["examples"]["missing"] == victims and health["examples"]["orphans"] == ["doc:stray#0:x"]  # type: ignore[index]
    text = run_cli("check", store=store_copy)
    assert text.returncode == 1 and "NOT healthy" in text.stdout and "6 of the catalog's chunks missing" in text.stdout
    code, health = _check(store_copy, "--repair")
    assert code == 0 and health["healthy"] and health["repaired"]["orphans_removed"] == 1  # type: ignore[index]
    assert health["repaired"]["chunks_embedded"] >= 6  # type: ignore[index]
    assert _check(store_copy) == (0, {**health, "repaired": None})
    listed = Writer(make_settings(store_copy))._catalog.all_chunk_ids()
    assert sorted(_collection(store_copy).get(include=[])["ids"]) == sorted(listed)
    answer = json.loads(run_cli("ask", "How many languages does Qwen3 support?", "--json", store=store_copy).stdout)
    assert "119" in answer["answer"]


def test_check_finds_a_bm25_index_that_disagrees(store_copy: Path) -> None:
    store = Writer(make_settings(store_copy))
    store.lexicon()  # saved for the current generation
    saved = BM25Index.load(store_copy / "bm25")
    assert saved is not None
    saved.dead[-2:] = True  # two chunks the catalog has, gone from the index
    BM25Index(saved.segments, saved.dead, saved.generation, saved.journal).save(store_copy / "bm25", saved.generation)
    health = check_store(Writer(make_settings(store_copy)))
    assert not health.healthy and not health.bm25_ok and "2 of the catalog's missing" in health.bm25
    repaired = check_store(Writer(make_settings(store_copy)), repair=True)
    assert repaired.healthy and repaired.bm25 == "57 chunks, as the catalog"


@pytest.mark.slow
def test_check_of_no_store_is_bad_input(tmp_path: Path) -> None:
    done = run_cli("check", store=tmp_path / "nothing")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "no store" in done.stderr


@pytest.mark.slow
def test_a_second_writer_in_the_same_process_waits_then_gives_up_naming_the_holder(settings: Settings,
                                                                                   tmp_path: Path) -> None:
    dump = tmp_path / "dump.txt"
    write_blocks(dump, 2)
    store = Writer(settings.model_copy(update={**HASH, "write_lock_wait": 0.6}))
    holding, done = threading.Event(), threading.Event()

    def upload() -> None:  # another writer on the same store: an upload being ingested by `serve`, say
        with store.writing():
            holding.set()
            done.wait(60)

    writer = threading.Thread(target=upload)
    writer.start()
    try:
        assert holding.wait(60)
        started = time.monotonic()
        with pytest.raises(StoreBusy) as busy:
            ingest(store, [str(dump)])
        assert time.monotonic() - started >= 0.6
    finally:
        done.set()
        writer.join()
    message = str(busy.value)
    assert f"pid {os.getpid()}" in message and "since 20" in message and "\n" not in message
    assert store.is_empty()
    assert ingest(store, [str(dump)]).records == 2  # the lock is free again
    with WriteLock(store.root, 0), pytest.raises(StoreBusy):  # held by another open file, as by a process
        ingest(store, [str(dump)])
    with pytest.raises(StoreError, match="only under the store's write lock"):
        store.sweep_orphans()


def _holder(store: Path) -> dict[str, object]:
    try:
        holder = json.loads((store / LOCK_FILE).read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _start_ingest(path: Path, store: Path, wait: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARXIV_QA_")}
    env.update(ARXIV_QA_STORE=str(store), ARXIV_QA_MODEL_CACHE=str(MODEL_CACHE), ARXIV_QA_INGEST_BATCH="4",
               ARXIV_QA_WRITE_LOCK_WAIT=wait)
    return subprocess.Popen([sys.executable, "-m", "ui.cli", "ingest", str(path)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_two_ingest_processes_on_one_store_take_turns(tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    write_blocks(first, 150, seed=1, first_id=10000)
    write_blocks(second, 40, seed=2, first_id=20000)
    store = tmp_path / "s"
    a = _start_ingest(first, store, "0")
    deadline = time.monotonic() + 120
    while _holder(store).get("pid") != a.pid and a.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert a.poll() is None, "the first ingest ended before the second could start"
    refused = _start_ingest(second, store, "0")  # does not wait: refused at once
    _, refused_err = refused.communicate(timeout=120)
    waiting = _start_ingest(second, store, "300")  # waits for its turn
    time.sleep(1)
    assert a.poll() is None and waiting.poll() is None
    a_out, _ = a.communicate(timeout=300)
    b_out, b_err = waiting.communicate(timeout=300)
    assert a.returncode == 0 and "150 records stored" in a_out
    assert waiting.returncode == 0 and "40 records stored" in b_out, b_err
    errors = [line for line in refused_err.splitlines() if line.startswith("arxiv-qa:")]
    assert refused.returncode == 1 and "Traceback" not in refused_err
    assert len(errors) == 1 and f"being written by pid {a.pid}, `arxiv-qa ingest {first}`" in errors[0]
    code, health = _check(store)
    assert code == 0 and health["papers"] == 190 and health["chunks"] == health["vectors"]
    stats = json.loads(run_cli("stats", "--json", store=store).stdout)
    assert stats["papers"] == 190 and stats["chunks"] == health["chunks"]
