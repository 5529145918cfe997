"""Hybrid retrieval: fusion, filters, per-paper cap, and the persisted BM25 index kept in step."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.index.retrieve import Filters, Retriever, cap_per_paper, fuse, parse_filters
from qa.index.writer import Writer
from qa.ingest import ingest
from qa.papers import Chunk
from qa.settings import Settings
from tests.corpusgen import write_blocks


@pytest.fixture(scope="module")
def retriever(corpus_store: Settings) -> Retriever:
    return Retriever(Writer(corpus_store))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("papers from January 2025", Filters((), 202501, 202501)),
        ("what came out in Sept. 2024?", Filters((), 202409, 202409)),
        ("work published in 2024 on vision", Filters((), 202401, 202412)),
        ("What does arXiv:2506.01939v2 find?", Filters(("2506.01939",))),
        ("compare 2505.09388 and 2506.05176", Filters(("2505.09388", "2506.05176"))),
        ("old one arXiv:hep-th/9901001", Filters(("hep-th/9901001",))),
        ("What is Qwen2.5 about?", Filters()),
        ("the 2025 edition", Filters()),  # a bare year without "in/from" is not a filter
        ("2024 preprints on speech?", Filters((), 202401, 202412)),       # the year before the words for papers
        ("Which vision works of 2025 are here?", Filters((), 202501, 202512)),
        ("abstracts dated 2024", Filters((), 202401, 202412)),
        ("anything from the year 2025 about agents?", Filters((), 202501, 202512)),
        ("the 2025 benchmark results", Filters()),                     # "results" are not papers
    ],
)
def test_parse_filters(question: str, expected: Filters) -> None:
    assert parse_filters(question) == expected


def test_fuse_is_reciprocal_rank() -> None:
    scores = fuse([["a", "b", "c"], ["b", "a"]])
    assert scores["a"] == scores["b"] > scores["c"]
    assert abs(scores["c"] - 1 / 63) < 1e-12


@pytest.mark.parametrize("method", ["bm25", "dense", "hybrid"])
def test_each_method_finds_the_paper(retriever: Retriever, method: str) -> None:
    got = retriever.retrieve("Thinker-Talker architecture for streaming speech", k=5, method=method)
    assert got.passages[0].chunk.doc_key == "arXiv:2503.20215"
    if method == "bm25":
        assert all(p.dense_rank is None for p in got.passages)


def test_hybrid_combines_both_ranks(retriever: Retriever) -> None:
    got = retriever.retrieve("What model sizes does the Qwen3 Embedding series come in?", k=6)
    top = got.passages[0]
    assert top.chunk.doc_key == "arXiv:2506.05176" and top.bm25_rank and top.dense_rank
    assert [p.score for p in got.passages] == sorted((p.score for p in got.passages), reverse=True)


def test_at_most_the_cap_per_paper(retriever: Retriever) -> None:
    got = retriever.retrieve("Qwen2.5-1M long context inference framework sparse attention", k=10)
    keys = [p.chunk.doc_key for p in got.passages]
    assert max(keys.count(k) for k in keys) <= retriever.settings.max_passages_per_paper
    assert len(set(keys)) >= 5  # the room goes to other papers


def test_cap_per_paper_keeps_order() -> None:
    ids = ["arXiv:2401.00001#0:a", "arXiv:2401.00001#1:b", "arXiv:2401.00001#2:c", "doc:ab12#0:d", "doc:cd34#0:e"]
    assert cap_per_paper(ids, 2, 3) == ids[:2] + ids[3:4]
    assert cap_per_paper(iter(ids), 1, 9) == [ids[0], ids[3], ids[4]]


def test_filters_restrict_both_sides(retriever: Retriever) -> None:
    got = retriever.retrieve("reinforcement learning for language models", k=6, filters=Filters((), 202507, 202508))
    assert got.passages and {p.chunk.arxiv_id for p in got.passages} <= {"2507.18071", "2507.20352", "2508.02324"}
    pinned = retriever.retrieve("anything at all", k=6, filters=Filters(("2409.12191",)))
    assert {p.chunk.doc_key for p in pinned.passages} == {"arXiv:2409.12191"}
    unknown = retriever.retrieve("What is arXiv:2408.15262?", k=6)
    assert not unknown.passages and unknown.missing_ids == ("2408.15262",)


def test_bm25_is_saved_beside_the_store_and_not_rebuilt_at_start(corpus_store: Settings, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(corpus_store.store, tmp_path / "s")
    settings = corpus_store.model_copy(update={"store": tmp_path / "s"})
    Writer(settings).lexicon()  # built once (or loaded)
    assert (tmp_path / "s" / "bm25" / "manifest.json").is_file()

    def no_rebuild(self: Writer) -> None:
        raise AssertionError("rebuilt from scratch")

    monkeypatch.setattr(Writer, "_build_bm25", no_rebuild)
    fresh = Writer(settings)  # a new process would do the same: load, not rebuild
    assert fresh.lexicon().search("Thinker-Talker", 3)[0][0].startswith("arXiv:2503.20215#")


def test_bm25_follows_ingest(corpus_store: Settings, tmp_path: Path) -> None:
    shutil.copytree(corpus_store.store, tmp_path / "s")
    store = Writer(corpus_store.model_copy(update={"store": tmp_path / "s"}))
    before = len(store.lexicon().ids)
    dump = tmp_path / "more.txt"
    write_blocks(dump, 3, seed=3)
    dump.write_text("Zyxwvut " + dump.read_text())
    ingest(store, [str(dump)])
    assert len(store.lexicon().ids) > before
    assert store.lexicon().search("zyxwvut", 3)[0][0].startswith("arXiv:2401.10000#")
    reopened = Writer(store.settings)  # the saved index is the new one
    assert len(reopened.lexicon().ids) == len(store.lexicon().ids)


# --- dense search on a small store is exact, not left to the approximate graph ---
def _brute_force(store: Writer, question: str, allowed_keys: set[str] | None = None) -> list[str]:
    """Every stored chunk ranked by cosine similarity to the question (ties by ID), computed here from scratch."""
    got = store._chroma.collection.get(include=["embeddings", "metadatas"])
    query = np.asarray(store.embed_query(question), dtype=np.float64)
    scored = []
    for chunk_id, vector, meta in zip(got["ids"], got["embeddings"], got["metadatas"], strict=True):
        if allowed_keys is None or meta["doc_key"] in allowed_keys:
            v = np.asarray(vector, dtype=np.float64)
            scored.append((-float(v @ query / np.linalg.norm(v) / np.linalg.norm(query)), chunk_id))
    return [chunk_id for _, chunk_id in sorted(scored)]


@pytest.mark.parametrize("question", ["How does Qwen2-VL handle images of any resolution?",
                                      "What is group sequence policy optimization?", "model sizes"])
def test_dense_search_of_a_small_store_is_exact_without_the_graph(corpus_store: Settings, question: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    store = Writer(corpus_store)

    def graph(*args: object, **kw: object) -> None:
        raise AssertionError("the approximate graph was asked")

    monkeypatch.setattr(store._chroma, "nearest_ids", graph)
    expected = _brute_force(store, question)
    got = store.dense_search(store.embed_query(question), 20)
    assert [c.chunk_id for c, _ in got] == expected[:20]
    everything = store.dense_search(store.embed_query(question), 1000)
    assert [c.chunk_id for c, _ in everything] == expected and len(expected) == 57
    keys = {"arXiv:2409.12191", "arXiv:2505.09388"}
    allowed = store.mask(sorted(keys), None, None)
    filtered = store.dense_search(store.embed_query(question), 5, allowed=allowed)
    assert [c.chunk_id for c, _ in filtered] == _brute_force(store, question, keys)[:5]


def test_a_larger_store_uses_the_graph_and_the_exact_search_follows_writes(corpus_store: Settings, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(corpus_store.store, tmp_path / "s")  # Chroma's graph: the memory-mapped view is off
    store = Writer(corpus_store.model_copy(update={"store": tmp_path / "s", "dense_view": False}))
    dump = tmp_path / "more.txt"
    write_blocks(dump, 3, seed=3)
    dump.write_text("Zyxwvut " + dump.read_text())
    assert store.dense_search(store.embed_query("zyxwvut"), 3)  # the exact vectors are now cached
    ingest(store, [str(dump)])
    question = "Zyxwvut " + dump.read_text().split("\n")[3][:80]
    assert [c.chunk_id for c, _ in store.dense_search(store.embed_query(question), 60)] == \
        _brute_force(store, question)[:60]  # the new chunks are searched: the cache followed the write
    asked = []
    real = store._chroma.nearest_ids
    monkeypatch.setattr("qa.index.store.EXACT_DENSE_MAX", 10)
    monkeypatch.setattr(store._chroma, "nearest_ids", lambda *a, **kw: asked.append(a) or real(*a, **kw))
    assert store.dense_search(store.embed_query(question), 5) and asked


def test_only_the_kept_passages_are_read_and_an_unreadable_one_is_skipped(corpus_store: Settings,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    store = Writer(corpus_store)
    retriever = Retriever(store)
    question = "How does Qwen2-VL handle images of any resolution?"
    full = retriever.retrieve(question, k=6)
    assert len(full.passages) == 6 and full.passages[0].chunk.text
    reads: list[list[str]] = []
    real = store.chunks
    lost = full.passages[1].chunk.chunk_id  # as if its vector store record could not be read

    def chunks(ids: list[str]) -> dict[str, Chunk]:
        reads.append(list(ids))
        return {i: c for i, c in real(ids).items() if i != lost}

    monkeypatch.setattr(store, "chunks", chunks)
    got = retriever.retrieve(question, k=6)
    assert reads[0] == [p.chunk.chunk_id for p in full.passages]  # the six kept, not all that both legs found
    assert sum(map(len, reads)) <= 7 and lost not in [p.chunk.chunk_id for p in got.passages]
    kept = [p.chunk.chunk_id for p in full.passages if p.chunk.chunk_id != lost]
    assert [p.chunk.chunk_id for p in got.passages][:5] == kept and len(got.passages) == 6
    keys = [p.chunk.doc_key for p in got.passages]
    assert max(map(keys.count, keys)) <= store.settings.max_passages_per_paper
    assert all(p.score > 0 and (p.bm25_rank or p.dense_rank) for p in got.passages)


def test_a_first_question_builds_the_bm25_index_once(corpus_store: Settings, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Its dense leg (a thread) and its BM25 leg both need the index first: one builds it, the other waits."""
    import time

    shutil.copytree(corpus_store.store, tmp_path / "s")
    shutil.rmtree(tmp_path / "s" / "bm25")
    store = Writer(corpus_store.model_copy(update={"store": tmp_path / "s"}))
    store.embed_query("warm up")  # the model loaded: both legs reach the index at about the same time
    builds = []
    real = Writer._build_bm25

    def build(self: Writer) -> object:
        builds.append(1)
        time.sleep(0.3)
        return real(self)

    monkeypatch.setattr(Writer, "_build_bm25", build)
    got = Retriever(store).retrieve("How does Qwen2-VL handle images of any resolution?", k=4)
    assert builds == [1] and got.passages[0].chunk.doc_key == "arXiv:2409.12191"
