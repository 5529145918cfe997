"""The segmented, streamed BM25 index ranks as one in-memory bm25s index; updated in place, as one rebuilt."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import bm25s
import chromadb
import numpy as np
import pytest
import synth
from chromadb.config import Settings as ChromaSettings

from qa.index.bm25 import BM25Index, tokenize
from qa.index.bm25_segments import _STEMMER
from qa.index.writer import Writer
from qa.settings import Settings
from tests.conftest import ROOT

Chunks = tuple[list[str], list[str], list[str], list[int]]


def _bundled(settings: Settings) -> Chunks:
    """Every chunk of a store, read with chromadb itself (as an outside tool would)."""
    client = chromadb.PersistentClient(path=str(settings.store / "chroma"),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    got = client.get_collection(settings.collection).get(include=["metadatas"])
    ids, metas = got["ids"], got["metadatas"]
    return (ids, [m["text"] for m in metas], [m["doc_key"] for m in metas],
            [int(m.get("year_month") or 0) for m in metas])


def _generated(n: int, seed: int = 3) -> Chunks:
    rng = random.Random(seed)
    records = [synth.record(i, rng) for i in range(n)]
    ids = [f"arXiv:{r['id']}#0:{i:06x}" for i, r in enumerate(records)]
    return (ids, [" ".join(r["abstract"].split()) for r in records], [f"arXiv:{r['id']}" for r in records],
            [int(r["update_date"][:7].replace("-", "")) for r in records])


def _pages(chunks: Chunks, size: int) -> list[Chunks]:
    ids, texts, keys, months = chunks
    return [(ids[a : a + size], texts[a : a + size], keys[a : a + size], months[a : a + size])
            for a in range(0, len(ids), size)]


def _queries(chunks: Chunks, n: int = 40) -> list[str]:
    rng = random.Random(7)
    texts = chunks[1]
    out = ["Thinker-Talker", "zyxwvut not a word", "the of and"]  # a rare word, an unknown one, stop words only
    for _ in range(n):
        words = rng.choice(texts).split()
        start = rng.randrange(max(1, len(words) - 6))
        out.append(" ".join(words[start : start + rng.randint(1, 6)]))
    return out


def _reference(chunks: Chunks) -> bm25s.BM25:
    """The index as it was built before segments: bm25s over every chunk at once."""
    engine = bm25s.BM25()
    engine.index(bm25s.tokenize(chunks[1], stemmer=_STEMMER, show_progress=False), show_progress=False)
    return engine


def assert_same_ranking(got: list[tuple[str, float]], engine: bm25s.BM25, ids: list[str], query: str, k: int) -> None:
    """`got` is bm25s's top k: the same scores, and the same IDs up to the order among equal scores."""
    tokens = tokenize([query])[0]
    full = engine.get_scores(tokens) if tokens and any(t in engine.vocab_dict for t in tokens) else np.zeros(len(ids))
    expected = sorted(((float(s), ids[r]) for r, s in enumerate(full) if s > 0), key=lambda x: -x[0])[:k]
    assert [s for _, s in got] == pytest.approx([s for s, _ in expected], rel=1e-6), query
    if not expected:
        return
    last = expected[-1][0]  # IDs scoring the k-th score may be any of those that tie with it
    assert {i for i, s in got if s > last * (1 + 1e-6)} == {i for s, i in expected if s > last * (1 + 1e-6)}, query
    tied = {ids[r] for r, s in enumerate(full) if abs(s - last) <= last * 1e-6}
    assert {i for i, s in got if s <= last * (1 + 1e-6)} <= tied, query


def _check_corpus(chunks: Chunks, tmp_path: Path, segment_rows: int, k: int = 10) -> None:
    engine = _reference(chunks)
    folder = tmp_path / "bm25"
    folder.mkdir()
    streamed = BM25Index.stream(_pages(chunks, 10), folder, segment_rows=segment_rows)
    assert len(streamed.segments) == -(-len(chunks[0]) // segment_rows)
    streamed.save(folder, generation=1)
    loaded = BM25Index.load(folder, 1)
    assert loaded is not None and isinstance(loaded.segments[0].post_row.base, np.memmap)  # mapped, not read
    for query in _queries(chunks):
        tokens = tokenize([query])[0]
        reference = engine.get_scores(tokens) if any(t in engine.vocab_dict for t in tokens) else None
        if reference is not None:  # every chunk's score, not only the top ones
            assert np.array_equal(loaded.scores(tokens), reference), query
        assert_same_ranking(loaded.search(query, k), engine, chunks[0], query, k)
    for token in ("model", "thinker", "zyxwvut"):
        indptr, tid = engine.scores["indptr"], engine.vocab_dict.get(token)
        df = int(indptr[tid + 1] - indptr[tid]) if tid is not None else 0
        assert loaded.idf(token) == pytest.approx(np.log(1 + (len(chunks[0]) - df + 0.5) / (df + 0.5)))


def test_streamed_index_ranks_as_bm25s_on_the_bundled_corpus(corpus_store: Settings, tmp_path: Path) -> None:
    _check_corpus(_bundled(corpus_store), tmp_path, segment_rows=20)


@pytest.mark.slow
def test_streamed_index_ranks_as_bm25s_on_a_generated_corpus(tmp_path: Path) -> None:
    _check_corpus(_generated(3000), tmp_path, segment_rows=700, k=20)


def _subset(chunks: Chunks, keep: list[int]) -> Chunks:
    return tuple([part[i] for i in keep] for part in chunks)  # type: ignore[return-value]


@pytest.mark.slow
def test_an_updated_index_equals_a_rebuilt_one(tmp_path: Path) -> None:
    """Papers removed, changed and added in place rank as an index built from scratch over the result."""
    chunks = _generated(2000)
    ids, texts, keys, months = chunks
    old = BM25Index.stream(_pages(_subset(chunks, list(range(1500))), 100))
    # 1,500 first; then 40 of them go, 30 change their text (same ID: a relabel; new IDs: a new text), 500 arrive
    gone = set(range(0, 400, 10))
    changed = list(range(5, 305, 10))
    new_texts = {i: texts[i] + " retrieval retrieval zyxwvut" for i in changed}
    after_ids = [i for i in range(2000) if i not in gone]
    final: Chunks = ([ids[i] if i not in new_texts or i % 20 == 5 else ids[i] + "x" for i in after_ids],
                     [new_texts.get(i, texts[i]) for i in after_ids], [keys[i] for i in after_ids],
                     [months[i] + (1 if i in new_texts else 0) for i in after_ids])
    touched = sorted({keys[i] for i in [*gone, *changed, *range(1500, 2000)]})
    added_rows = [j for j, i in enumerate(after_ids) if keys[i] in touched]
    updated = old.updated(touched, BM25Index.stream(_pages(_subset(final, added_rows), 64)))
    rebuilt = BM25Index.stream(_pages(final, 100))
    assert updated.live == rebuilt.live == len(after_ids) and updated.avgdl == rebuilt.avgdl
    assert sorted(updated.position) == sorted(rebuilt.position)
    for query in [*_queries(final), "retrieval zyxwvut"]:
        assert updated.search(query, 15) == rebuilt.search(query, 15), query
        tokens = tokenize([query])[0]
        live = updated.scores(tokens)[updated.alive > 0]
        assert np.array_equal(np.sort(live), np.sort(rebuilt.scores(tokens))), query
    for j in (0, 3, 700):  # the month filter and the pinned-paper filter select the same chunks
        key = final[2][j]
        assert {updated.ids[r] for r in np.flatnonzero(updated.key_mask([key]) & (updated.alive > 0))} == {
            rebuilt.ids[r] for r in np.flatnonzero(rebuilt.key_mask([key]))}
        assert updated.months[updated.position[final[0][j]]] == final[3][j]
    saved = tmp_path / "bm25"
    updated.save(saved, 5)
    again = BM25Index.load(saved, 5)
    assert again is not None and again.search("retrieval zyxwvut", 15) == rebuilt.search("retrieval zyxwvut", 15)


def test_many_small_updates_are_merged_and_still_rank_as_a_rebuild() -> None:
    chunks = _generated(600)
    texts, keys = chunks[1], chunks[2]
    index = BM25Index.stream(_pages(_subset(chunks, list(range(100))), 50))
    for step in range(100, 600, 25):  # twenty ingests of 25 papers, each also changing an older paper's text
        changed = step - 50
        texts[changed] += " zyxwvut"
        batch = [changed, *range(step, step + 25)]
        index = index.updated([keys[i] for i in batch], BM25Index.stream(_pages(_subset(chunks, batch), 50)))
        assert len(index.segments) <= 10
    rebuilt = BM25Index.stream(_pages(chunks, 50))
    assert index.live == rebuilt.live == 600 and len(index.dead) < 600 + 20
    for query in [*_queries(chunks), "zyxwvut"]:
        assert index.search(query, 12) == rebuilt.search(query, 12), query


def test_the_store_updates_its_saved_index_instead_of_rebuilding(corpus_store: Settings, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from qa.ingest import ingest
    from tests.conftest import make_settings
    from tests.corpusgen import write_blocks

    shutil.copytree(corpus_store.store, tmp_path / "s")
    settings = make_settings(tmp_path / "s")
    store = Writer(settings)
    before = store.lexicon()
    rebuilt: list[int] = []
    original = Writer._build_bm25

    def counting(self: Writer) -> BM25Index:
        rebuilt.append(1)
        return original(self)

    monkeypatch.setattr(Writer, "_build_bm25", counting)
    write_blocks(tmp_path / "new.txt", 3, seed=5, first_id=20000)
    ingest(store, [str(tmp_path / "new.txt")])
    updated = Writer(settings).lexicon()
    assert not rebuilt and len(updated.segments) == len(before.segments) + 1
    assert updated.live == store.chunk_count() == len({i for _, ids in store.chunk_ids_by_paper() for i in ids})
    fresh = BM25Index.build(*_bundled(settings))
    for query in ["Thinker-Talker", "model training data", "speech audio latency"]:
        assert updated.search(query, 10) == fresh.search(query, 10)


def test_an_update_looks_up_older_rows_only_for_papers_that_had_chunks(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.ingest import ingest
    from tests.conftest import HASH, make_settings
    from tests.corpusgen import write_blocks

    settings = make_settings(tmp_path / "s", **HASH)
    first = tmp_path / "first.txt"
    old_ids = write_blocks(first, 6, seed=7)
    ingest(Writer(settings), [str(first)])
    saved = Writer(settings).lexicon()
    text = first.read_text()  # one stored paper's text changes; three new papers come
    head, tail = text.split(f"\n\narXiv:{old_ids[2]}", 1)
    first.write_text(head + " Its last sentence is new." + f"\n\narXiv:{old_ids[2]}" + tail)
    new_ids = write_blocks(tmp_path / "new.txt", 3, seed=8, first_id=20000)
    ingest(Writer(settings), [str(first), str(tmp_path / "new.txt")])
    store = Writer(settings)
    assert store._catalog.new_since(saved.journal, store._catalog.last_change()) == {f"arXiv:{i}" for i in new_ids}

    looked: list[str] = []
    original = BM25Index.rows_of_key

    def spy(self: BM25Index, doc_key: str) -> np.ndarray:
        looked.append(doc_key)
        return original(self, doc_key)

    monkeypatch.setattr(BM25Index, "rows_of_key", spy)
    updated = store.lexicon()
    assert looked == [f"arXiv:{old_ids[2]}"]
    assert updated.live == store.chunk_count()
    fresh = BM25Index.build(*_bundled(settings))
    for query in ["sparse mixture of experts", "last sentence is new", "reward policy gradient"]:
        assert updated.search(query, 10) == fresh.search(query, 10)


def _peak_of_build(chunks_count: int, work: Path, segment_rows: int = 1000) -> float:
    """Peak traced memory (MiB) of a streamed build of `chunks_count` generated chunks, in a new process."""
    code = f"""
import sys, tracemalloc
import numpy as np
sys.path[:0] = [{str(ROOT)!r}]
from qa.index.bm25 import BM25Index
def pages():
    rng = np.random.default_rng(1)
    for a in range(0, {chunks_count}, 500):  # Zipf-distributed words: a vocabulary that keeps growing
        texts = [" ".join(f"w{{z}}" for z in rng.zipf(1.3, 150)) for _ in range(500)]
        yield ([f"c{{i}}" for i in range(a, a + 500)], texts, [f"k{{i}}" for i in range(a, a + 500)], [0] * 500)
tracemalloc.start()
index = BM25Index.stream(pages(), __import__("pathlib").Path({str(work)!r}), segment_rows={segment_rows})
print(tracemalloc.get_traced_memory()[1] / 2**20, index.live)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[1]) == chunks_count
    return float(out[0])


@pytest.mark.slow
def test_the_streamed_build_holds_one_segment_whatever_the_corpus_size(tmp_path: Path) -> None:
    small = _peak_of_build(2000, tmp_path / "a")
    large = _peak_of_build(8000, tmp_path / "b")
    assert large < small * 1.25, (small, large)  # four times the chunks, not more memory
    whole = _peak_of_build(8000, tmp_path / "c", segment_rows=8000)  # the same chunks as one segment
    assert whole > small * 2, (small, whole)


def test_scored_postings_are_kept_least_recently_used_first_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache of scored postings evicts the tokens used longest ago, so a word every question has stays;
    what it returns is what scoring afresh returns."""
    chunks = _generated(600)
    index = BM25Index.stream(_pages(chunks, 200))
    df = {t: index._df(t) for t in ("model", "paper", "quantum", "learn")}  # stems
    assert all(df.values())
    monkeypatch.setattr("qa.index.bm25.CACHE_POSTINGS", df["model"] + max(df["paper"], df["quantum"]))
    fresh = {t: index.scores([t]) for t in df}  # each scored alone, afresh
    index._scored.clear()
    index._scored_size = 0
    for token in ("model", "paper", "model", "quantum"):  # 'paper' is the least recently used when room is needed
        assert np.array_equal(index.scores([token]), fresh[token])
    assert list(index._scored) == ["model", "quantum"]
    assert index._scored_size == df["model"] + df["quantum"]
    for query in ("model learning", "quantum paper model"):
        assert index.search(query, 5) == BM25Index.stream(_pages(chunks, 200)).search(query, 5)


@pytest.mark.parametrize("buckets", [2**64, 1])
def test_rows_of_ids_find_each_live_row_even_when_hashes_collide(monkeypatch: pytest.MonkeyPatch,
                                                                 buckets: int) -> None:
    """Chunk IDs to rows, the newest live copy, -1 for absent or removed IDs; with the 64-bit hash, and with
    one hash for every ID (each segment holds it many times: the IDs themselves must tell rows apart)."""
    import qa.index.bm25 as bm25_module
    from qa.index import bm25_segments

    real = bm25_segments.id_hashes
    weak = (lambda ids: real(ids) % np.uint64(buckets)) if buckets < 2**64 else real
    monkeypatch.setattr(bm25_segments, "id_hashes", weak)
    monkeypatch.setattr(bm25_module, "id_hashes", weak)
    ids, texts, keys, months = _generated(300)
    index = BM25Index.stream(_pages((ids, texts, keys, months), 100))
    gone = keys[:40:4]  # removed papers; the first five come back changed, in a segment of their own
    again = [i for i, key in enumerate(keys) if key in gone[:5]]
    index = index.updated(gone, BM25Index.build([ids[i] for i in again], [texts[i] + " changed" for i in again],
                                                [keys[i] for i in again], [months[i] for i in again]))
    asked = [*ids[::-1], "arXiv:9999.99999#0:000000"]
    got = dict(zip(asked, index.rows_of_ids(asked).tolist(), strict=True))
    live = {index.ids[r]: r for r in range(len(index.ids)) if not index.dead[r]}
    assert got == {i: live.get(i, -1) for i in asked}
    assert all(got[ids[i]] >= 300 for i in again)  # the changed papers' new rows
    assert [i for i in asked if got[i] < 0] == [ids[i] for i in range(299, -1, -1) if keys[i] in gone[5:]] + [
        "arXiv:9999.99999#0:000000"]
