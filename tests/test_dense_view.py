"""The memory-mapped dense view: it ranks as an exact search, follows ingests a part at a time, and lets a large
embedded store answer without opening Chroma."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.answer.engine import QA
from qa.index.bm25 import BM25Index
from qa.index.chroma import Chroma
from qa.index.dense_view import ROW_MASK, DensePart, DenseView
from qa.index.store import Store
from qa.index.writer import Writer
from qa.ingest import ingest
from qa.papers import Chunk
from qa.settings import Settings
from tests.corpusgen import write_blocks

QUESTIONS = ["How does Qwen2-VL handle images of any resolution?", "speech audio latency of a talker model",
             "reinforcement learning reward for reasoning", "mixture of experts routing"]


@pytest.fixture
def large(corpus_store: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A copy of the bundled store that counts as large: the view is used, and its graph searched."""
    shutil.copytree(corpus_store.store, tmp_path / "s")
    monkeypatch.setattr("qa.index.store.EXACT_DENSE_MAX", 10)
    monkeypatch.setattr("qa.index.dense_view.EXACT_ROWS", 8)
    monkeypatch.setattr("qa.index.dense_view.MIN_CANDIDATES", 12)
    return corpus_store.model_copy(update={"store": tmp_path / "s"})


def _exact(settings: Settings, vector: list[float], k: int, allowed: np.ndarray | None = None) -> list[str]:
    """The `k` nearest live chunks by every float32 vector in Chroma, ties to the smaller ID."""
    store = Store(settings)
    index = store.lexicon()
    ids = sorted(index.ids[r] for r in range(len(index.ids)) if not index.dead[r] and (allowed is None or allowed[r]))
    stored = store._chroma.vectors(ids)
    matrix = np.array([stored[i] for i in ids], dtype=np.float32)
    sims = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)) @ (np.array(vector) / np.linalg.norm(vector))
    return [ids[j] for j in np.lexsort((np.arange(len(ids)), -sims))[:k]]


def test_the_view_ranks_as_the_exact_search_and_holds_what_chroma_holds(large: Settings) -> None:
    store = Store(large)
    for question in QUESTIONS:
        vector = store.embed_query(question)
        got = store.dense_ids(vector, 10)
        assert [i for i, _ in got] == _exact(large, vector, 10), question
        chroma = dict(store._chroma.nearest_ids(vector, 10))
        assert all(abs(s - chroma[i]) < 2e-3 for i, s in got)  # float16 vectors: the same cosine, nearly
        assert store.chunks([i for i, _ in got]) == store._chroma.chunks([i for i, _ in got])
    view = store.dense_view()
    assert view is not None and all(p.graph is not None for p in view.parts)
    key = view.index.doc_keys[0]
    mask = store.mask([key], None, None)
    vector = store.embed_query(QUESTIONS[0])
    assert [i for i, _ in store.dense_ids(vector, 3, mask)] == _exact(large, vector, 3, mask)
    assert all(store.chunks([i])[i].doc_key == key for i, _ in store.dense_ids(vector, 3, mask))
    mean = np.mean([v for v in store._chroma.vectors(store._catalog.chunk_state(key)[0]).values()], axis=0)
    assert np.allclose(store.paper_vector(key), mean / np.linalg.norm(mean), atol=2e-3)


@pytest.mark.slow
def test_a_new_process_answers_from_the_view_without_opening_chroma(large: Settings,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    Store(large).warm()  # builds the view
    answered = QA(large).ask(QUESTIONS[0])

    def closed(self: Chroma) -> None:
        raise AssertionError("Chroma opened")

    monkeypatch.setattr(Chroma, "client", property(closed))
    engine = QA(large)
    again = engine.ask(QUESTIONS[0])
    assert engine.store.stats()["chunks"] == engine.store._catalog.count_chunk_ids() > 0
    assert again.answer == answered.answer and again.citations and again.citations == answered.citations
    assert [p.chunk for p in again.passages] == [p.chunk for p in answered.passages]


def test_an_ingest_adds_one_part_and_the_view_equals_one_built_anew(large: Settings, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    store = Writer(large)
    store.warm()
    parts = sorted(p.name for p in (large.store / "dense").iterdir())
    first = {p: (large.store / "dense" / p / "vectors.npy").stat().st_mtime_ns for p in parts}
    ids = write_blocks(tmp_path / "new.txt", 4, seed=11, first_id=30000)
    opened: list[str] = []
    with monkeypatch.context() as spied:  # the catch-up builds the new part and opens none of the others
        real = DensePart.__init__
        spied.setattr(DensePart, "__init__", lambda self, folder: opened.append(folder.name) or real(self, folder))
        ingest(Writer(large), [str(tmp_path / "new.txt")])
    assert opened == []
    now = sorted(p.name for p in (large.store / "dense").iterdir())  # caught up by the ingest itself
    assert len(now) == len(parts) + 1 and set(parts) < set(now)  # one more part, the others kept as they were
    assert all((large.store / "dense" / p / "vectors.npy").stat().st_mtime_ns == t for p, t in first.items())
    question = (tmp_path / "new.txt").read_text().split("\n")[0][:120]
    with monkeypatch.context() as closed:  # a new process after the ingest: no need to open Chroma
        closed.setattr(Chroma, "client", property(lambda self: pytest.fail("Chroma opened")))
        after = Store(large)
        vector = after.embed_query(question)
        got = after.dense_ids(vector, 12)
        assert got[0][0].startswith(f"arXiv:{ids[0]}#")
        assert after.chunks([got[0][0]])[got[0][0]].arxiv_id == ids[0]
    shutil.rmtree(large.store / "dense")
    rebuilt = Store(large)
    assert rebuilt.dense_ids(vector, 12) == got
    assert [i for i, _ in got] == _exact(large, vector, 12)


def _segment_index(tmp_path: Path, n: int, dim: int, seed: int = 0) -> tuple[BM25Index, dict[str, np.ndarray]]:
    """A saved BM25 index of `n` made-up chunks and a vector for each (in clusters, as text embeddings are)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dim))
    vectors = centres[rng.integers(0, 20, n)] + 0.5 * rng.standard_normal((n, dim))
    ids = [f"arXiv:2401.{i:05d}#0:{i:06x}" for i in range(n)]
    pages = [(ids[a : a + 500], [f"text {i}" for i in ids[a : a + 500]], [i.split("#")[0] for i in ids[a : a + 500]],
              [202401] * len(ids[a : a + 500])) for a in range(0, n, 500)]
    index = BM25Index.stream(pages, tmp_path / "bm25", segment_rows=1000)
    return index, {i: v.astype(np.float32) for i, v in zip(ids, vectors, strict=True)}


def _fetcher(vectors: dict[str, np.ndarray], missing: set[str] = frozenset()):  # type: ignore[no-untyped-def]
    def fetch(ids: list[str]) -> tuple[list[Chunk], np.ndarray]:
        found = [i for i in ids if i not in missing]
        chunks = [Chunk(i, i.split("#")[0], f"text {i}", i.split("#")[0][6:], None, None, "f", 0) for i in found]
        return chunks, np.array([vectors[i] for i in found], dtype=np.float32).reshape(len(found), -1)
    return fetch


def _brute(vectors: dict[str, np.ndarray], query: np.ndarray, k: int, keep: set[str]) -> list[str]:
    ids = sorted(keep)
    matrix = np.array([vectors[i] / np.linalg.norm(vectors[i]) for i in ids])
    sims = matrix @ (query / np.linalg.norm(query))
    return [ids[j] for j in np.lexsort((np.arange(len(ids)), -sims))[:k]]


@pytest.mark.slow
def test_the_graph_finds_the_nearest_and_never_a_removed_missing_or_filtered_row(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("qa.index.dense_view.EXACT_ROWS", 200)
    index, vectors = _segment_index(tmp_path, 3000, 32)
    missing = {f"arXiv:2401.{i:05d}#0:{i:06x}" for i in range(5, 3000, 97)}
    index.dead[np.arange(0, 3000, 13)] = True
    view = DenseView.open(tmp_path / "dense", index, _fetcher(vectors, missing))
    assert view is not None and len(view.parts) == 3 and all(p.graph is not None for p in view.parts)
    live = {index.ids[r] for r in range(3000) if not index.dead[r]} - missing
    rng = np.random.default_rng(1)
    recall = []
    for _ in range(30):
        query = rng.standard_normal(32).astype(np.float32)
        got = [i for i, _ in view.search(list(query), 10)]
        assert set(got) <= live and len(got) == 10
        recall.append(len(set(got) & set(_brute(vectors, query, 10, live))) / 10)
    assert np.mean(recall) >= 0.95
    allowed = np.zeros(3000, dtype=bool)
    allowed[rng.choice(3000, 40, replace=False)] = True  # a narrow filter: searched exactly
    query = rng.standard_normal(32).astype(np.float32)
    keep = {index.ids[r] for r in np.flatnonzero(allowed)} & live
    assert [i for i, _ in view.search(list(query), 5, allowed)] == _brute(vectors, query, 5, keep)
    assert view.chunks([next(iter(missing)), index.ids[0], index.ids[1]]) == \
        {index.ids[1]: _fetcher(vectors)([index.ids[1]])[0][0]}  # no record, removed, live


def test_a_small_part_is_built_the_same_every_time_and_its_graph_misses_no_neighbour(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("qa.index.dense_view.EXACT_ROWS", 8)
    index, vectors = _segment_index(tmp_path, 60, 384)
    segment, fetch = index.segments[0], _fetcher(vectors)
    rng = np.random.default_rng(2)
    queries = [vectors[index.ids[i]] + 0.3 * rng.standard_normal(384) for i in range(20)]
    built = []
    for n in range(8):  # several threads inserting into a graph this small left neighbours unlinked
        DensePart.build(tmp_path / f"p{n}", segment, fetch)
        part = DensePart(tmp_path / f"p{n}")
        assert part.graph is not None
        found = [[key & ROW_MASK for key in part.graph.search((q / np.linalg.norm(q)).astype(np.float32), 24,
                                                              threads=1).keys.tolist()] for q in queries]
        assert all(set(_brute(vectors, q, 12, set(index.ids))) <= {index.ids[r] for r in f}
                   for q, f in zip(queries, found, strict=True))
        built.append(found)
    assert all(b == built[0] for b in built)


def test_a_read_only_store_without_the_view_and_an_unreadable_vector_store_fall_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index, vectors = _segment_index(tmp_path, 600, 8)
    assert DenseView.open(tmp_path / "dense", index, None) is None  # nothing saved, nothing may be built
    assert not (tmp_path / "dense").exists()
    assert DenseView.open(tmp_path / "dense", index, _fetcher(vectors)) is not None
    assert DenseView.open(tmp_path / "dense", index, None) is not None  # saved: read-only is enough

    def broken(ids: list[str]) -> tuple[list[Chunk], np.ndarray]:
        raise OSError("disk gone")

    shutil.rmtree(tmp_path / "dense")
    with pytest.raises(OSError):
        DenseView.open(tmp_path / "dense", index, broken)
    assert not (tmp_path / "dense").exists() or not any((tmp_path / "dense").iterdir())  # no half-built part


def test_parts_of_segments_no_longer_in_the_index_are_removed(tmp_path: Path) -> None:
    index, vectors = _segment_index(tmp_path, 2000, 8)
    DenseView.open(tmp_path / "dense", index, _fetcher(vectors))
    assert len(list((tmp_path / "dense").iterdir())) == 2
    smaller = BM25Index(index.segments[:1])
    view = DenseView.open(tmp_path / "dense", smaller, _fetcher(vectors))
    assert view is not None and [p.name for p in (tmp_path / "dense").iterdir()] == [index.segments[0].name]
    DensePart(tmp_path / "dense" / index.segments[0].name)  # still whole


def test_a_damaged_part_is_built_again_and_another_process_build_is_left_alone(tmp_path: Path) -> None:
    index, vectors = _segment_index(tmp_path, 1500, 8)
    view = DenseView.open(tmp_path / "dense", index, _fetcher(vectors))
    assert view is not None
    query = list(np.ones(8, dtype=np.float32))
    expected = view.search(query, 5)
    first = tmp_path / "dense" / index.segments[0].name
    (first / "vectors.npy").write_bytes(b"not an array")
    assert DenseView.open(tmp_path / "dense", index, None) is None  # read-only: cannot mend it, no view
    mended = DenseView.open(tmp_path / "dense", index, _fetcher(vectors))
    assert mended is not None and mended.search(query, 5) == expected
    in_progress = tmp_path / "dense" / f"{index.segments[0].name}.tmp-abcd1234"
    in_progress.mkdir()
    DensePart.build(first, index.segments[0], _fetcher(vectors))  # built twice (two processes): still whole
    again = DenseView.open(tmp_path / "dense", index, _fetcher(vectors))
    assert again is not None and again.search(query, 5) == expected
    assert in_progress.exists()  # another process's build is left alone


def test_every_graph_is_searched_in_one_call_and_ranks_as_each_part_searched_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("qa.index.dense_view.EXACT_ROWS", 100)
    index, vectors = _segment_index(tmp_path, 2500, 16)
    index.dead[np.arange(0, 2500, 7)] = True
    view = DenseView.open(tmp_path / "dense", index, _fetcher(vectors))
    assert view is not None and view.graphs is not None and len(view.by_tag) == 3
    calls = []
    search = view.graphs.search
    monkeypatch.setattr(view.graphs, "search", lambda *a, **kw: calls.append(1) or search(*a, **kw))
    live = {index.ids[r] for r in range(2500) if not index.dead[r]}
    rng = np.random.default_rng(3)
    for _ in range(20):
        query = rng.standard_normal(16).astype(np.float32)
        merged = view.search(list(query), 10)
        assert merged == view.search(list(query), 10, np.ones(2500, dtype=bool))  # part by part
        assert [i for i, _ in merged] == _brute(vectors, query, 10, live)
    assert len(calls) == 20  # once per search without a filter; a filter asks each part on its own


def test_parts_whose_tags_collide_are_searched_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("qa.index.dense_view.EXACT_ROWS", 100)
    monkeypatch.setattr("qa.index.dense_view.tag_of", lambda name: 7)
    index, vectors = _segment_index(tmp_path, 2000, 16)
    view = DenseView.open(tmp_path / "dense", index, _fetcher(vectors))
    assert view is not None and view.graphs is None
    query = np.random.default_rng(4).standard_normal(16).astype(np.float32)
    assert [i for i, _ in view.search(list(query), 10)] == _brute(vectors, query, 10, set(index.ids))


def test_a_part_built_before_the_graphs_were_tagged_is_built_again(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("qa.index.dense_view.EXACT_ROWS", 100)
    index, vectors = _segment_index(tmp_path, 2000, 16)
    assert DenseView.open(tmp_path / "dense", index, _fetcher(vectors)) is not None
    first = tmp_path / "dense" / index.segments[0].name
    (first / "graph.i8.usearch").rename(first / "graph.usearch")  # keyed by row alone, as before
    assert DenseView.open(tmp_path / "dense", index, None) is None  # read-only: not searched with wrong keys
    view = DenseView.open(tmp_path / "dense", index, _fetcher(vectors))
    assert view is not None and view.graphs is not None
    assert (first / "graph.i8.usearch").exists() and not (first / "graph.usearch").exists()
    query = np.random.default_rng(5).standard_normal(16).astype(np.float32)
    assert [i for i, _ in view.search(list(query), 10)] == _brute(vectors, query, 10, set(index.ids))


@pytest.mark.slow
def test_a_process_that_opens_the_view_before_the_model_embeds(tmp_path: Path) -> None:
    """The order a warm-up or a benchmark takes: the graph library loaded first, then the ONNX model (a usearch
    release made that second import crash the process)."""
    import subprocess
    import sys

    from tests.conftest import MODEL_CACHE, ROOT

    code = f"""
import numpy as np
from pathlib import Path
from qa.index.bm25 import BM25Index
from qa.index.dense_view import DenseView
from tests.test_dense_view import _fetcher, _segment_index
index, vectors = _segment_index(Path({str(tmp_path)!r}), 600, 384)
view = DenseView.open(Path({str(tmp_path)!r}) / "dense", index, _fetcher(vectors))
assert view is not None
from usearch.index import Index  # the graph library, loaded
from qa.ingest.embed import load_embedder
model = load_embedder("bundled", 8, "onnx-int8", Path({str(MODEL_CACHE)!r}))
print(len(model.get_query_embedding("graph search")), len(view.search(model.get_query_embedding("x"), 3)))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["384", "3"]
