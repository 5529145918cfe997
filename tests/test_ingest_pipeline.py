"""The ingest pipeline's cheap paths: chunk counts read off one tokenization, lookup keys computed once,
chunk texts kept out of Chroma's full-text index, and the model fed batch by batch ahead of the writes.
Each cheap path must give exactly what the plain one gives."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llama_index.core.node_parser import SentenceSplitter

import qa.ingest.merge
from qa.index.retrieve import Retriever
from qa.index.writer import Writer
from qa.ingest import bundled_corpus, ingest
from qa.ingest.chunks import Chunker
from qa.ingest.embed import load_fast_tokenizer, load_tokenizer
from qa.ingest.merge import MemoryIndex, Merger
from qa.ingest.sources import read_papers
from qa.papers import Chunk, Paper, Source, sentence_pieces
from qa.settings import Settings
from tests.corpusgen import abstract, write_blocks

MAX, OVERLAP = 256, 24


class CountingTokenizer:
    """The plain token counter, counting its calls."""

    def __init__(self) -> None:
        self.inner = load_tokenizer("bundled")
        self.calls = 0

    def __call__(self, text: str) -> list[int]:
        self.calls += 1
        return self.inner(text)


def plain_splitter(max_tokens: int = MAX, punkt: bool = False) -> SentenceSplitter:
    """LlamaIndex's splitter counting every piece with the tokenizer; our sentences, or NLTK Punkt's."""
    return SentenceSplitter(chunk_size=max_tokens, chunk_overlap=min(OVERLAP, max_tokens // 4),
                            tokenizer=load_tokenizer("bundled"),
                            chunking_tokenizer_fn=None if punkt else sentence_pieces)


def corpus_texts() -> list[str]:
    texts = [p.abstract for f in sorted(bundled_corpus().iterdir()) for p in read_papers(f)]
    rng = random.Random(7)
    return texts + [abstract(rng, sentences=rng.randint(3, 30)) for _ in range(150)]


@pytest.mark.slow
def test_chunks_equal_the_plain_splitters_with_one_tokenization_per_abstract() -> None:
    texts = corpus_texts()
    counter = CountingTokenizer()
    chunker = Chunker(counter, MAX, OVERLAP, fast=load_fast_tokenizer("bundled"))
    plain = plain_splitter()
    multi = [t for t in texts if len(plain.split_text(t)) > 1]
    assert len(multi) > 50  # the comparison covers abstracts cut into several chunks
    assert [chunker.split(t) for t in texts] == [plain.split_text(t) for t in texts]
    assert counter.calls == 0  # every count came from the offsets of the one tokenization


@pytest.mark.slow
def test_our_sentences_chunk_abstracts_as_punkt_does() -> None:
    """The chunker cuts at our sentence ends, not NLTK Punkt's (LlamaIndex's default): same chunks here."""
    texts = corpus_texts()
    chunker = Chunker(load_tokenizer("bundled"), MAX, OVERLAP, fast=load_fast_tokenizer("bundled"))
    assert [chunker.split(t) for t in texts] == [plain_splitter(punkt=True).split_text(t) for t in texts]


def test_sentence_pieces_join_back_to_the_text() -> None:
    text = "We study X, e.g. in Fig. 2 of Smith et al. on Qwen2.5. Results improve 3.5x!  (a) More follows.\n"
    pieces = sentence_pieces(text)
    assert "".join(pieces) == text
    assert [p.strip() for p in pieces] == ["We study X, e.g. in Fig. 2 of Smith et al. on Qwen2.5.",
                                           "Results improve 3.5x!", "(a) More follows."]


def test_a_piece_that_cuts_a_word_is_counted_on_its_own() -> None:
    # One word of more word pieces than the window can only be cut between characters, inside the word.
    text = "Intro sentence here. " + "zqxjvkwp" * 12 + " and a tail."
    counter = CountingTokenizer()
    chunker = Chunker(counter, 64, OVERLAP, fast=load_fast_tokenizer("bundled"))
    assert chunker.split(text) == plain_splitter(64).split_text(text)
    assert len(chunker.split(text)) == 2  # cut inside the long word
    assert counter.calls > 0


ODD = st.sampled_from(["model", "3.5x", "e.g.", "Fig. 2", ";", ",", ".", "..", "  ", "\n", "\n\n\n", "naïve",
                       "数据集", "😀", "\x00", "\u200b", "x" * 120, "zqxjvkwp" * 6, "GSPO-v2", "(a)",
                       "arXiv:2506.05176", "é", "U.S.", "Dr.", "—", "...", "\t", "ß", "İ"])


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ODD, min_size=1, max_size=400).map(" ".join), st.sampled_from([32, 64, 256]))
def test_odd_texts_chunk_exactly_as_the_plain_splitter(text: str, max_tokens: int) -> None:
    chunker = Chunker(load_tokenizer("bundled"), max_tokens, OVERLAP, fast=load_fast_tokenizer("bundled"))
    try:
        expected = plain_splitter(max_tokens).split_text(text)
    except ValueError:  # a single token beyond the window: the fast path must refuse it as well
        with pytest.raises(ValueError):
            chunker.split(text)
        return
    assert chunker.split(text) == expected


def test_a_tokenizer_that_marks_spaces_gets_plain_counts() -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    byte_level = Tokenizer(models.BPE())
    byte_level.pre_tokenizer = pre_tokenizers.ByteLevel()
    counter = CountingTokenizer()
    chunker = Chunker(counter, MAX, OVERLAP, fast=byte_level)
    text = corpus_texts()[0]
    assert chunker.split(text) == plain_splitter().split_text(text)
    assert counter.calls > 0


def test_merging_computes_a_texts_lookup_keys_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = qa.ingest.merge._compute_band_keys

    def spy(text: str) -> list[str]:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(qa.ingest.merge, "_compute_band_keys", spy)
    qa.ingest.merge._band_keys.cache_clear()
    rng = random.Random(3)
    merger = Merger(MemoryIndex())
    records = [Paper(abstract=abstract(rng), sources=[Source("f.txt", i + 1)]) for i in range(20)]
    for record in records:
        merger.add(record)  # looks the keys up, then stores the new paper under the same keys
    assert len(calls) == 20
    qa.ingest.merge._band_keys.cache_clear()


def test_chunk_texts_are_metadata_not_chroma_documents(corpus_store: Settings) -> None:
    store = Writer(corpus_store)
    got = store._chroma.collection.get(include=["documents", "metadatas"])
    assert len(got["ids"]) == 57
    assert all(d is None for d in got["documents"])
    assert all(m["text"] for m in got["metadatas"])
    fts = sqlite3.connect(store.root / "chroma" / "chroma.sqlite3").execute(
        "SELECT count(*) FROM embedding_fulltext_search").fetchone()[0]
    assert fts == 0  # nothing in Chroma's full-text index, which nothing queries


def test_a_store_written_with_chroma_documents_still_reads(settings: Settings, tmp_path: Path) -> None:
    """Stores made before the texts moved to metadata keep them as documents; they must still answer."""
    path = tmp_path / "dump.txt"
    write_blocks(path, 4)
    store = Writer(settings)
    ingest(store, [str(path)])
    got = store._chroma.collection.get(include=["embeddings", "metadatas"])
    texts = {i: m.pop("text") for i, m in zip(got["ids"], got["metadatas"], strict=True)}
    store._chroma.collection.delete(ids=got["ids"])
    store._chroma.collection.add(ids=got["ids"], embeddings=got["embeddings"], metadatas=got["metadatas"],
                         documents=[texts[i] for i in got["ids"]])
    old = Writer(settings)  # a new process: BM25 rebuilt from what Chroma holds
    old._catalog.bump_generation()
    assert {i: c.text for i, c in old.chunks(got["ids"]).items()} == texts
    question = next(iter(texts.values())).split(".")[0]
    for method in ("bm25", "dense", "hybrid"):
        hits = Retriever(old).retrieve(question, method=method).passages
        assert hits and all(h.chunk.text == texts[h.chunk.chunk_id] for h in hits)


@pytest.mark.slow
def test_the_model_gets_each_batch_as_soon_as_it_is_chunked(settings: Settings, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "dump.txt"
    write_blocks(path, 20)
    store = Writer(settings.model_copy(update={"ingest_batch": 4}))
    events: list[tuple[str, Any]] = []
    real_later = Writer._embed_later
    real_chunks = Chunker.chunks

    def later(self: Writer, texts: list[str]) -> Any:
        events.append(("queued", len(texts)))
        return real_later(self, texts)

    def chunks(self: Chunker, paper: Paper) -> list[Chunk]:
        events.append(("chunk", paper.doc_key))
        return real_chunks(self, paper)

    monkeypatch.setattr(Writer, "_embed_later", later)
    monkeypatch.setattr(Chunker, "chunks", chunks)
    report = ingest(store, [str(path)])
    queued = [n for kind, n in events if kind == "queued"]
    assert len(queued) == 5  # one model call per batch of 4 papers
    assert sum(queued) == report.chunks_embedded == store.chunk_count()  # no text embedded twice
    first = next(i for i, (kind, _) in enumerate(events) if kind == "queued")
    assert sum(kind == "chunk" for kind, _ in events[:first]) == 4  # the model starts on the first batch
    assert sum(kind == "chunk" for kind, _ in events) == 20  # each paper chunked once (sync reuses it)
