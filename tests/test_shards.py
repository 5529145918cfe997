"""Chroma shards: new chunks go to the newest collection once the older ones are full; a sharded store holds,
finds and answers exactly what one collection does, and a writer adding papers leaves the old shards alone."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qa.index.check import check_store
from qa.index.chroma import Chroma
from qa.index.retrieve import Retriever
from qa.index.store import Store
from qa.index.writer import Writer
from qa.ingest import ingest
from qa.settings import Settings
from tests.conftest import HASH, make_settings
from tests.corpusgen import write_blocks


def shard_ids(chroma: Chroma) -> list[list[str]]:
    """The IDs each shard holds, oldest shard first."""
    return [shard.get(include=[])["ids"] for shard in chroma.shards]


def assert_each_chunk_once(store: Writer) -> list[str]:
    held = [i for ids in shard_ids(store._chroma) for i in ids]
    assert len(held) == len(set(held)), "a chunk is in two shards"
    assert set(held) == {i for _, ids in store.chunk_ids_by_paper() for i in ids}
    return held


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The bundled corpus in shards of about 10 chunks (4 papers a batch)."""
    s = make_settings(tmp_path_factory.mktemp("sharded") / "store", shard_chunks=10, ingest_batch=4)
    ingest(Writer(s))
    return s


def test_the_bundled_corpus_in_shards_is_the_one_collection_store(sharded: Settings, corpus_store: Settings) -> None:
    store, whole = Writer(sharded), Writer(corpus_store)
    shards = shard_ids(store._chroma)
    assert len(shards) >= 5 and len(shard_ids(whole._chroma)) == 1
    assert sorted(p.name for p in sharded.store.iterdir() if p.name.startswith("chroma")) == [
        "chroma", *(f"chroma.{k}" for k in range(1, len(shards)))]  # a folder and database each
    assert all(10 <= len(ids) <= 10 + 4 * 3 for ids in shards[:-1])  # full, give or take a batch
    held = assert_each_chunk_once(store)
    assert sorted(held) == sorted(whole.vector_ids()) and store.chunk_count() == whole.chunk_count()
    assert store._chroma.chunks(held) == whole._chroma.chunks(held)
    mine, theirs = store._chroma.vectors(held), whole._chroma.vectors(held)
    assert mine.keys() == theirs.keys() and all(np.allclose(mine[i], theirs[i], atol=1e-5) for i in held)
    pages = {r.chunk.chunk_id: r for page in store._chroma.pages() for r in page}
    assert pages == {r.chunk.chunk_id: r for page in whole._chroma.pages() for r in page}


def test_a_sharded_store_searches_and_answers_as_one_collection(sharded: Settings, corpus_store: Settings) -> None:
    store, whole = Store(sharded), Store(corpus_store)
    for question in ("What sizes does Qwen2-VL come in?", "How is code generation with LLMs evaluated?",
                     "which paper trains long-context models to a million tokens"):
        vector = whole.embed_query(question)
        near = store._chroma.nearest_ids(vector, 8)
        assert [i for i, _ in near] == [i for i, _ in whole._chroma.nearest_ids(vector, 8)]
        assert [s for _, s in near] == sorted((s for _, s in near), reverse=True)
        among = [i for i, _ in near[1::2]]  # in several shards
        assert [i for i, _ in store._chroma.nearest_ids(vector, 3, among=among)] == among[:3]
        got = Retriever(store).retrieve(question, 5).passages
        want = Retriever(whole).retrieve(question, 5).passages
        assert [p.chunk.chunk_id for p in got] == [p.chunk.chunk_id for p in want]


@pytest.fixture
def spied(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Every call made on a Chroma collection, as (the collection's ID, method)."""
    from chromadb.api.models.Collection import Collection

    calls: list[tuple[str, str]] = []
    for method in ("get", "upsert", "update", "delete", "query", "count"):
        real = getattr(Collection, method)

        def spy(self: Collection, *args: object, _real: object = real, _method: str = method,
                **kwargs: object) -> object:
            calls.append((str(self.id), _method))
            return _real(self, *args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(Collection, method, spy)
    yield calls


def test_adding_papers_writes_the_newest_shard_only_and_changes_stay_in_place(
        tmp_path: Path, spied: list[tuple[str, str]]) -> None:
    s = make_settings(tmp_path / "store", shard_chunks=12, ingest_batch=5, **HASH)
    first, added = tmp_path / "first.txt", tmp_path / "added.txt"
    ids = write_blocks(first, 30, seed=1)
    ingest(Writer(s), [str(first)])
    before = shard_ids(Writer(s)._chroma)
    assert len(before) >= 3

    ids_of = [str(shard.id) for shard in Writer(s)._chroma.shards]
    spied.clear()
    write_blocks(added, 10, seed=2, first_id=20000)
    report = ingest(Writer(s), [str(added)])  # a new process's writer: only new papers
    assert report.records == 10 and report.chunks_embedded >= 10 and not report.errors
    touched = {shard for shard, _ in spied}
    assert touched and touched.isdisjoint(ids_of[:-1])  # the newest shard, or ones made since: no older one opened
    assert {shard for shard, method in spied if method == "upsert"}
    store = Writer(s)
    assert_each_chunk_once(store)

    # A paper of the oldest shard changes its text: its new chunks go to the newest shard, the old ones leave.
    text = first.read_text()
    state = Writer(s)._catalog.chunk_state
    assert set(state(f"arXiv:{ids[0]}")[0] + state(f"arXiv:{ids[1]}")[0]) <= set(before[0])
    head, tail = text.split(f"\n\narXiv:{ids[1]}", 1)
    text = head + " A sentence added at the end." + f"\n\narXiv:{ids[1]}" + tail
    first.write_text(text)
    old = state(f"arXiv:{ids[1]}")[0]
    ingest(Writer(s), [str(first)])
    store = Writer(s)
    assert_each_chunk_once(store)
    shards = shard_ids(store._chroma)
    new = store._catalog.chunk_state(f"arXiv:{ids[1]}")[0]
    gone = set(old) - set(new)
    assert gone and not gone & {i for ids in shards for i in ids}
    assert check_store(store).healthy

    # New metadata for a chunk of the oldest shard is written where it is.
    chunk = store._chroma.chunks(state(f"arXiv:{ids[0]}")[0][:1]).popitem()[1]
    store._chroma.relabel([dataclasses.replace(chunk, title="A title at last")])
    assert shard_ids(store._chroma)[0] == shards[0]
    assert store._chroma.chunks([chunk.chunk_id])[chunk.chunk_id].title == "A title at last"
    assert_each_chunk_once(store)


def test_check_finds_and_repairs_a_vector_lost_from_a_newer_shard(tmp_path: Path) -> None:
    s = make_settings(tmp_path / "store", shard_chunks=12, ingest_batch=5, **HASH)
    corpus = tmp_path / "c.txt"
    write_blocks(corpus, 30, seed=3)
    ingest(Writer(s), [str(corpus)])
    store = Writer(s)
    newer = store._chroma.shards[1]
    lost = newer.get(include=[], limit=2)["ids"]
    newer.delete(ids=lost)
    health = check_store(Writer(s))
    assert not health.healthy and set(health.missing) == set(lost)
    repaired = check_store(Writer(s), repair=True)
    assert repaired.healthy and repaired.repaired["chunks_embedded"] >= 2
    assert_each_chunk_once(Writer(s))


@pytest.mark.slow
def test_a_chroma_server_keeps_the_shards_as_collections(tmp_path: Path) -> None:
    from servers import free_port, start_chroma

    port = free_port()
    server = start_chroma(tmp_path / "server", port)
    try:
        s = make_settings(tmp_path / "local", chroma_url=f"http://127.0.0.1:{port}", shard_chunks=12,
                          ingest_batch=5, **HASH)
        corpus = tmp_path / "c.txt"
        write_blocks(corpus, 30, seed=4)
        ingest(Writer(s), [str(corpus)])
        store = Writer(s)
        names = sorted(c.name for c in store._chroma.client.list_collections())
        assert names[0] == "abstracts" and names[1:] == [f"abstracts.{k}" for k in range(1, len(names))]
        assert len(names) >= 3 and not (tmp_path / "local" / "chroma").exists()
        assert len(assert_each_chunk_once(store)) >= 30
        assert check_store(store).healthy
        question = "sparse mixture of experts quantization"
        assert Retriever(Store(s)).retrieve(question, 5, method="dense").passages
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_read_only_sharded_store_answers_from_a_copy_of_every_shard(sharded: Settings, tmp_path: Path) -> None:
    import shutil
    import subprocess

    source, target = tmp_path / "rw", tmp_path / "ro"
    shutil.copytree(sharded.store, source)
    target.mkdir()
    mount = [["mount", "--bind", str(source), str(target)], ["mount", "-o", "remount,bind,ro", str(target)]]
    if not all(subprocess.run(m, capture_output=True).returncode == 0 for m in mount):
        subprocess.run(["umount", str(target)], capture_output=True)
        pytest.skip("a read-only bind mount needs root (CI runs as root)")
    try:
        store, writable = Store(sharded.model_copy(update={"store": target})), Store(sharded)
        assert store.read_only and len(store._chroma.shards) == len(writable._chroma.shards) >= 5
        assert store.chunk_count() == writable.chunk_count()
        vector = writable.embed_query("What sizes does Qwen2-VL come in?")
        assert store._chroma.nearest_ids(vector, 6) == writable._chroma.nearest_ids(vector, 6)
    finally:
        subprocess.run(["umount", "--lazy", str(target)], check=True)


def test_a_server_pointed_at_a_store_with_shard_folders_is_warned_about(tmp_path: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    store = tmp_path / "store"
    (store / "chroma.1").mkdir(parents=True)
    (store / "chroma.old").mkdir()
    embedded = Store(make_settings(store, **HASH))._chroma  # its own shards: nothing to say
    assert embedded.settings.chroma_url is None and not caplog.records
    served = Store(make_settings(store, chroma_url="http://127.0.0.1:9", **HASH))._chroma
    assert served.settings.chroma_url
    assert len(caplog.records) == 1 and "chroma.1)" in caplog.text and "chroma.old" not in caplog.text
