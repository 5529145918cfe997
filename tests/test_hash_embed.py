"""The `hash` embedder (ARXIV_QA_EMBED_MODEL=hash): deterministic, lexical, and never mixed with a real model."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from qa.errors import StoreError
from qa.index.retrieve import Retriever
from qa.index.store import Store
from qa.index.writer import Writer
from qa.ingest import ingest
from qa.ingest.embed import HASH, load_embedder
from qa.ingest.hash_embed import DIM, HashEmbedding, hash_vector
from tests.conftest import make_settings, run_cli
from tests.corpusgen import write_blocks

QWEN3_EMBEDDING = "2506.05176"  # "the Qwen3 Embedding series ... text embedding and reranking"


def test_vectors_are_unit_length_deterministic_and_the_same_everywhere() -> None:
    text = "Qwen3 embedding, Qwen3 reranking"
    vector = hash_vector(text)
    assert len(vector) == DIM and math.isclose(sum(x * x for x in vector), 1.0)
    assert vector == hash_vector(text) == HashEmbedding().get_text_embedding(text)
    assert HashEmbedding().get_query_embedding(text) == vector
    assert hash_vector("QWEN3 Embedding reranking qwen3!") == vector  # case and punctuation do not count
    # Pinned: a hash of the word's bytes, not Python's per-process string hash, so every process agrees.
    nonzero = {i: round(x, 4) for i, x in enumerate(vector) if x}
    assert nonzero == {0: -0.4082, 149: -0.8165, 235: -0.4082}
    assert hash_vector("") == hash_vector("...") == [1.0] + [0.0] * (DIM - 1)  # no words: still a unit vector


def test_shared_words_make_vectors_near() -> None:
    def cosine(a: str, b: str) -> float:
        return sum(x * y for x, y in zip(hash_vector(a), hash_vector(b), strict=True))

    question = "multilingual reranking model"
    assert cosine(question, "a multilingual reranking model for search") > 0.5
    assert abs(cosine(question, "protein folding under pressure")) < 0.2


def test_load_embedder_gives_it_for_any_backend(tmp_path: Path) -> None:
    for backend in ("onnx-int8", "onnx", "torch"):
        embedder = load_embedder(HASH, 8, backend, tmp_path / "cache")
        assert isinstance(embedder, HashEmbedding) and embedder.embed_batch_size == 8
    assert not (tmp_path / "cache").exists()  # nothing exported, nothing loaded


@pytest.fixture(scope="module")
def hash_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus embedded with `hash` (seconds: no model)."""
    root = tmp_path_factory.mktemp("hash") / "store"
    report = ingest(Writer(make_settings(root, embed_model=HASH)))
    assert not report.errors and report.chunks_embedded > 0
    return root


def test_a_hash_store_finds_the_paper_sharing_the_question_words(hash_store: Path) -> None:
    store = Store(make_settings(hash_store, embed_model=HASH))
    assert store.stats()["papers"] == 27
    question = "Qwen3 Embedding series text embedding and reranking"
    top, _ = store.dense_search(store.embed_query(question), 1)[0]
    # A k beyond the store's size gives every chunk once, nearest first (no count of the store is taken).
    every = store.dense_search(store.embed_query(question), 10_000)
    assert len(every) == store.chunk_count() == len({c.chunk_id for c, _ in every})
    assert every[0][0].chunk_id == top.chunk_id and [s for _, s in every] == sorted((s for _, s in every), reverse=True)
    assert store.paper(top.doc_key).arxiv_id == QWEN3_EMBEDDING  # type: ignore[union-attr]
    found = Retriever(store).retrieve(question, 3, method="dense")
    assert found.passages and found.passages[0].chunk.doc_key == top.doc_key
    # The same question twice, or from a new Store, ranks the same.
    again = Retriever(Store(make_settings(hash_store, embed_model=HASH))).retrieve(question, 3, method="dense")
    assert [p.chunk.chunk_id for p in again.passages] == [p.chunk.chunk_id for p in found.passages]


def test_a_hash_store_refuses_the_real_model_and_keeps_its_vectors(hash_store: Path, tmp_path: Path) -> None:
    real = make_settings(hash_store)  # embed_model=bundled
    with pytest.raises(StoreError, match=r"embedded with model 'hash'.*ARXIV_QA_EMBED_MODEL=hash"):
        Store(real).embed_query("anything")
    before = Store(make_settings(hash_store, embed_model=HASH)).stats()
    write_blocks(tmp_path / "more.txt", 3)
    with pytest.raises(StoreError, match="embedded with model 'hash'"):
        ingest(Writer(real), [str(tmp_path / "more.txt")])
    after = Writer(make_settings(hash_store, embed_model=HASH))
    assert after.stats() == before and after.meta("embed_model") == HASH  # nothing of the other model went in


def test_a_real_store_refuses_hash(tmp_path: Path) -> None:
    # The check comes before the model is loaded: a store marked as the bundled model's is enough.
    store = tmp_path / "store"
    Writer(make_settings(store)).set_meta("embed_model", "bundled")
    with pytest.raises(StoreError, match="embedded with model 'bundled'"):
        Store(make_settings(store, embed_model=HASH)).embed_query("anything")


@pytest.mark.slow
def test_the_cli_says_so_in_one_line(hash_store: Path) -> None:
    done = run_cli("ask", "What is Qwen3 Embedding?", store=hash_store)  # the default model
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert "embedded with model 'hash'" in done.stderr and "ARXIV_QA_EMBED_MODEL=hash" in done.stderr
    answered = run_cli("ask", "What is Qwen3 Embedding?", "--json", store=hash_store,
                       env={"ARXIV_QA_EMBED_MODEL": HASH})
    assert answered.returncode == 0, answered.stderr
