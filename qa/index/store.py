"""The store: the ONLY module that talks to Chroma and owns the on-disk layout.

    <store>/chroma/        Chroma's persistent files (unless ARXIV_QA_CHROMA_URL names a server)
    <store>/catalog.sqlite merged papers, lookup keys, ingested files, chunk ledger (qa.index.catalog)
    <store>/bm25/          the BM25 index of the chunks, tagged with the catalog generation (qa.index.bm25)

Everything is opened lazily, so a command that needs only the catalog never loads the model.
"""

from __future__ import annotations

import logging
import math
import shutil
import sqlite3
import tempfile
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from qa.errors import StoreError
from qa.index.bm25 import BM25Index
from qa.index.catalog import Catalog
from qa.index.lock import WriteLock
from qa.ingest.chunks import Chunker, signature
from qa.ingest.embed import load_embedder, load_fast_tokenizer, load_tokenizer
from qa.ingest.papers import Chunk, Paper
from qa.settings import Settings

log = logging.getLogger(__name__)
READ_PAGE = 10_000  # chunks per read when reading the whole collection (Chroma's SQLite caps query variables)
# A filtered dense search first asks for OVERSAMPLE times the hits the filter's share of chunks needs,
# unfiltered (ids and distances only: a few ms for a thousand), and keeps the allowed ones; when that
# would mean more than MAX_WIDE_SEARCH hits (a narrow filter), it searches among the allowed IDs.
OVERSAMPLE = 2
MAX_WIDE_SEARCH = 1500
TEXT = "text"  # the metadata key of a chunk's text in the vector store
FIRST_CALL_PAPERS = 16  # papers in the first call to the model while embedding ahead (see `prefetch`)

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding


def _vector_store_errors() -> tuple[type[BaseException], ...]:
    import httpx
    from chromadb.errors import ChromaError

    # Chroma's HTTP client reports an unreachable server as ValueError.
    return (ChromaError, httpx.HTTPError, ValueError)


@contextmanager
def guard(action: str) -> Iterator[None]:
    """Storage failures (disk full, read-only, server down) as a one-line `StoreError`."""
    try:
        yield
    except StoreError:
        raise
    except sqlite3.Error as e:
        raise StoreError(f"{action}: the catalog failed ({str(e).splitlines()[0]})") from None
    except OSError as e:
        raise StoreError(f"{action}: {e.strerror or e}") from None
    except _vector_store_errors() as e:
        reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise StoreError(f"{action}: the vector store failed ({reason})") from None


def _record(chunk: Chunk) -> dict[str, str | int]:
    """What the vector store keeps of a chunk besides its vector: the metadata and, under TEXT, the text.

    The text is metadata rather than a Chroma document: Chroma builds a full-text index of documents,
    which we never query (BM25 is our own) and which cost half the time of each upsert and a third of
    the disk.
    """
    return {**chunk.metadata(), TEXT: chunk.text}


def _text(document: str | None, meta: Mapping[str, Any]) -> str:
    """A stored chunk's text: from its metadata, or its document in stores written before that."""
    return str(meta.get(TEXT) or document or "")


def _chunk(chunk_id: str, document: str | None, meta: Mapping[str, Any]) -> Chunk:
    return Chunk.from_metadata(chunk_id, _text(document, meta), meta)


class Store:
    """A store directory (and optionally a Chroma server) holding papers and their embedded chunks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.store).expanduser()
        self.embedded = 0  # chunks embedded by this object, for reports and tests
        self._bm25: tuple[int, BM25Index] | None = None
        self._count: tuple[int, int] | None = None
        # Embed-ahead (see `prefetch`): per call, the chunks of each prospective paper, and the
        # background computation of their vectors by chunk text.
        self._ahead: deque[tuple[dict[str, tuple[Paper, list[Chunk]]], dict[str, Future[dict[str, list[float]]]]]] = (
            deque(maxlen=3))
        self._ahead_pool: ThreadPoolExecutor | None = None
        self._held = threading.local()  # the write lock, per thread: servers write from several

    @cached_property
    def catalog(self) -> Catalog:
        with guard(f"cannot open store {self.root}"):
            if not (self.root / "catalog.sqlite").exists():
                self.root.mkdir(parents=True, exist_ok=True)
            return Catalog(self.root / "catalog.sqlite")

    @property
    def read_only(self) -> bool:
        return self.catalog.read_only

    @cached_property
    def client(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.settings.chroma_url:
            url = urlparse(self.settings.chroma_url)
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        return chromadb.PersistentClient(path=str(self._chroma_dir()), settings=chroma_settings)

    def _chroma_dir(self) -> Path:
        """Chroma's folder; for a read-only store, a private copy (Chroma cannot open read-only files)."""
        folder = self.root / "chroma"
        if not self.read_only:
            return folder
        copy = Path(tempfile.mkdtemp(prefix="arxiv-qa-ro-")) / "chroma"
        if folder.is_dir():
            shutil.copytree(folder, copy)
        log.warning("store %s is read-only: answering from a temporary copy; ingest is off", self.root)
        return copy

    @cached_property
    def collection(self) -> Any:
        # embedding_function=None: Chroma's default one downloads a model; we always pass vectors.
        with guard("cannot open the vector store"):
            return self.client.get_or_create_collection(
                self.settings.collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )

    @cached_property
    def embedder(self) -> BaseEmbedding:
        s = self.settings
        built_with = self.catalog.meta("embed_model")
        if built_with and built_with != s.embed_model:
            raise StoreError(f"the store {self.root} was embedded with model {built_with!r}: set "
                             f"ARXIV_QA_EMBED_MODEL={built_with} or use another store")
        return load_embedder(s.embed_model, s.embed_batch_size, s.embed_backend, s.model_cache)

    @cached_property
    def chunker(self) -> Chunker:
        name = self.settings.embed_model
        return Chunker(load_tokenizer(name), self.settings.chunk_tokens, self.settings.chunk_overlap,
                       fast=load_fast_tokenizer(name))

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One all-or-nothing step of the catalog; vector writes inside it are idempotent upserts."""
        if self.read_only:
            raise StoreError(f"the store {self.root} is read-only: nothing can be added to it")
        with guard(f"cannot write to store {self.root}"), self.catalog.transaction():
            yield

    def sync(self, papers: Iterable[Paper], gone: Iterable[str] = ()) -> int:
        """Bring the vector store in line with `papers` (changed) and `gone` (deleted keys).

        Returns the number of chunks written. Chunks whose signature is unchanged are not touched.
        """
        stale: list[str] = []
        fresh: list[Chunk] = []
        relabel: list[Chunk] = []
        for key in gone:
            stale += self.catalog.orphan_chunk_ids(key)
        for paper in papers:
            old_ids, old_sig = self.catalog.chunk_state(paper.doc_key)
            chunks = self._chunks(paper)
            sig = signature(chunks)
            if sig == old_sig:
                continue
            if sig.split(":")[0] == old_sig.split(":")[0]:
                relabel += chunks  # same texts, new metadata: no need to embed again
            else:
                fresh += chunks
                stale += [i for i in old_ids if i not in {c.chunk_id for c in chunks}]
            self.catalog.set_chunks(paper.doc_key, [c.chunk_id for c in chunks], sig)
        if fresh or stale or relabel:
            self.catalog.bump_generation()
            self.catalog.set_meta("embed_model", self.settings.embed_model)
        self._write(fresh, stale)
        for piece in self._pieces(len(relabel)):  # same texts, new metadata
            self.collection.update(ids=[c.chunk_id for c in relabel[piece]],
                                   metadatas=[_record(c) for c in relabel[piece]])
        for key in gone:
            self.catalog.delete(key)
        return len(fresh)

    def _reusable(self, stale: list[str]) -> dict[str, list[float]]:
        """Vectors of chunks about to be deleted, by text digest (a re-keyed paper keeps its vectors)."""
        if not stale:
            return {}
        found: dict[str, list[float]] = {}
        for piece in self._pieces(len(stale)):
            got = self.collection.get(ids=stale[piece], include=["embeddings"])
            found.update((i.rsplit(":", 1)[-1], list(v)) for i, v in zip(got["ids"], got["embeddings"], strict=True))
        return found

    def _embed(self, chunks: list[Chunk], stale: list[str]) -> list[list[float]]:
        reuse = self._reusable(stale)
        todo = [c for c in chunks if c.chunk_id.rsplit(":", 1)[-1] not in reuse]
        new = self._vectors_ahead([c.text for c in todo])
        rest = list(dict.fromkeys(c.text for c in todo if c.text not in new))
        if rest:
            new.update(zip(rest, self.embedder.get_text_embedding_batch(rest), strict=True))
        self.embedded += len(todo)
        fresh = {c.chunk_id for c in todo}
        return [new[c.text] if c.chunk_id in fresh else reuse[c.chunk_id.rsplit(":", 1)[-1]] for c in chunks]

    # --- embed-ahead: the model works on the next batch while this one is merged and written ---
    def prefetch(self, batches: list[list[Paper]]) -> None:
        """Start embedding, in a background thread, the chunks the papers of `batches` have that the store lacks.

        Ingest passes the records of the next few batches, each as a new paper, so the model runs
        while the rest of the pipeline (merge, vector upsert, catalog commit) works on the current one.
        Each batch is its own call to the model, queued as soon as it is chunked, so the vectors of a
        batch are ready without waiting for the rest; the first call takes only FIRST_CALL_PAPERS papers,
        so the model starts at once. (Fewer, larger calls cost the model less than many small ones.)
        Nothing is written here: `sync` takes the vectors from here when the papers it stores turn
        out as predicted, and embeds anything else itself. A wrong guess (a record merged into a
        paper that has another text) costs only its embedding.
        """
        memo: dict[str, tuple[Paper, list[Chunk]]] = {}
        futures: dict[str, Future[dict[str, list[float]]]] = {}
        calls = [batch for batch in batches if batch]
        if self._ahead_pool is None and calls and len(calls[0]) > FIRST_CALL_PAPERS:  # get the model going
            calls[:1] = [calls[0][:FIRST_CALL_PAPERS], calls[0][FIRST_CALL_PAPERS:]]
        for papers in calls:
            texts: list[str] = []
            for paper in papers:
                chunks = self.chunker.chunks(paper)
                memo[paper.doc_key] = (paper, chunks)
                old_sig = self.catalog.chunk_state(paper.doc_key)[1]
                if signature(chunks).split(":")[0] != old_sig.split(":")[0]:  # texts not stored yet
                    texts += [c.text for c in chunks if c.text not in futures]
            if texts:
                todo = list(dict.fromkeys(texts))
                futures.update(dict.fromkeys(todo, self._embed_later(todo)))
        self._ahead.append((memo, futures))

    def _embed_later(self, texts: list[str]) -> Future[dict[str, list[float]]]:
        embedder = self.embedder  # built here, not in the worker thread
        if self._ahead_pool is None:
            self._ahead_pool = ThreadPoolExecutor(1, thread_name_prefix="arxiv-qa-embed")
        return self._ahead_pool.submit(lambda: dict(zip(texts, embedder.get_text_embedding_batch(texts), strict=True)))

    def end_prefetch(self) -> None:
        """Drop what `prefetch` computed and stop its thread (after ingest, or when it failed)."""
        self._ahead.clear()
        if self._ahead_pool is not None:
            self._ahead_pool.shutdown(wait=False, cancel_futures=True)
            self._ahead_pool = None

    def _chunks(self, paper: Paper) -> list[Chunk]:
        for memo, _ in self._ahead:
            hit = memo.pop(paper.doc_key, None)
            if hit is not None and hit[0] == paper:
                return hit[1]
        return self.chunker.chunks(paper)

    def _vectors_ahead(self, texts: list[str]) -> dict[str, list[float]]:
        """Vectors `prefetch` computed for `texts` (waiting for them if need be), by text."""
        found: dict[str, list[float]] = {}
        for text in texts:
            for _, futures in self._ahead:
                future = futures.get(text)
                if future is not None:
                    found[text] = future.result()[text]
                    break
        return found

    # --- one writer at a time, and crash hygiene: vectors written by a batch whose commit never happened ---
    @property
    def _dirty_marker(self) -> Path:
        return self.root / ".ingest-unfinished"

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's write lock (`qa.index.lock`) for the block; re-entering from inside it is a no-op."""
        if self._lock is not None:
            yield
            return
        with WriteLock(self.root, self.settings.write_lock_wait) as lock:
            self._held.lock = lock
            try:
                yield
            finally:
                self._held.lock = None

    @property
    def _lock(self) -> WriteLock | None:
        """The write lock if this thread holds it (another thread of this process waits for it as a process would)."""
        lock: WriteLock | None = getattr(self._held, "lock", None)
        return lock

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the write lock for a whole ingest or repair.

        Under the lock, what an interrupted writer left is swept first, and the store is marked as
        being written until the block ends without an error (a failed run leaves the mark, so the
        next writer sweeps after it). Re-entering from inside the block is a no-op.
        """
        if self._lock is not None:
            yield
            return
        if self.read_only:
            raise StoreError(f"the store {self.root} is read-only: nothing can be added to it")
        with self.locked():
            try:
                self._begin_writes()
                yield
                self._end_writes()
            finally:
                self.end_prefetch()

    @property
    def interrupted(self) -> bool:
        """Under the write lock: True when the last writer did not finish (the next one sweeps after it)."""
        return self._dirty_marker.exists()

    def _begin_writes(self) -> None:
        if self._dirty_marker.exists():
            self.sweep_orphans()
        with guard(f"cannot write to store {self.root}"):
            self._dirty_marker.touch()

    def _end_writes(self) -> None:
        with suppress(OSError):
            self._dirty_marker.unlink()

    def sweep_orphans(self) -> int:
        """Delete vectors the catalog does not know (their batch was rolled back). Returns how many.

        Only under the write lock: another writer's vectors are unknown to the catalog until its
        batch commits, and must not be taken for orphans.
        """
        if self._lock is None:
            raise StoreError("internal error: orphan vectors are swept only under the store's write lock")
        with guard("cleaning up an interrupted ingest failed"):
            known = self.catalog.all_chunk_ids()
            orphans = [i for i in self.vector_ids() if i not in known]
            self.delete_vectors(orphans)
        if orphans:
            log.warning("removed %d vectors left by an interrupted ingest", len(orphans))
        return len(orphans)

    @cached_property
    def max_batch(self) -> int:
        """The most records the vector store takes in one call (Chroma's `get_max_batch_size`)."""
        with guard("cannot open the vector store"):
            return max(1, int(self.client.get_max_batch_size()))

    def _pieces(self, n: int) -> Iterator[slice]:
        step = self.max_batch
        return (slice(start, start + step) for start in range(0, n, step))

    def vector_ids(self) -> list[str]:
        """The IDs of every vector in the collection, page by page."""
        ids: list[str] = []
        with guard("reading the vector store failed"):
            for offset in range(0, self.chunk_count(), READ_PAGE):
                ids += self.collection.get(include=[], limit=READ_PAGE, offset=offset)["ids"]
        return ids

    def unreadable(self, ids: list[str]) -> set[str]:
        """The IDs among `ids` with no readable vector: absent, or failing to read (group halved until alone)."""
        if not ids:
            return set()
        try:
            got = self.collection.get(ids=ids, include=["embeddings"])
        except _vector_store_errors():
            if len(ids) == 1:
                return set(ids)
            return self.unreadable(ids[: len(ids) // 2]) | self.unreadable(ids[len(ids) // 2 :])
        vectors = got["embeddings"] if got["embeddings"] is not None else [None] * len(got["ids"])
        return set(ids) - {i for i, v in zip(got["ids"], vectors, strict=True) if v is not None and len(v)}

    def delete_vectors(self, ids: list[str]) -> None:
        for piece in self._pieces(len(ids)):
            self.collection.delete(ids=ids[piece])

    def _write(self, fresh: list[Chunk], stale: list[str]) -> None:
        if fresh:
            vectors = self._embed(fresh, stale)
            for piece in self._pieces(len(fresh)):
                chunks = fresh[piece]
                self.collection.upsert(ids=[c.chunk_id for c in chunks], embeddings=vectors[piece],
                                       metadatas=[_record(c) for c in chunks])
        self.delete_vectors(stale)

    # --- reading, for retrieval ---
    def bm25(self) -> BM25Index:
        """The BM25 index of the stored chunks; rebuilt (and saved) only when the chunks changed."""
        generation = self.catalog.generation()
        cached = self._bm25
        if cached is not None and cached[0] == generation:
            return cached[1]
        index = BM25Index.load(self.root / "bm25", generation)
        if index is None:
            index = self._build_bm25()
            with suppress(OSError):  # a read-only store still answers, from the index in memory
                index.save(self.root / "bm25", generation)
        self._bm25 = (generation, index)
        return index

    def saved_bm25_ids(self) -> tuple[int, list[str]] | None:
        """The catalog generation and chunk IDs of the saved BM25 index, or None when none is saved."""
        return BM25Index.saved_ids(self.root / "bm25")

    def _build_bm25(self) -> BM25Index:
        ids: list[str] = []
        texts: list[str] = []
        keys: list[str] = []
        months: list[int] = []
        with guard("building the BM25 index failed"):
            # Page by page: one read of a large collection exceeds SQLite's limit on query variables.
            for offset in range(0, self.chunk_count(), READ_PAGE):
                got = self.collection.get(include=["documents", "metadatas"], limit=READ_PAGE, offset=offset)
                metas = got["metadatas"] or []
                ids += got["ids"]
                texts += [_text(d, m) for d, m in zip(got["documents"] or [None] * len(metas), metas, strict=True)]
                keys += [str(m["doc_key"]) for m in metas]
                months += [int(m.get("year_month") or 0) for m in metas]
        return BM25Index.build(ids, texts, keys, months)

    def dense_search(self, vector: list[float], k: int, allowed: np.ndarray | None = None) -> list[tuple[Chunk, float]]:
        """The `k` nearest chunks to `vector` (cosine similarity), among those `allowed` marks (None: all).

        `allowed` marks the chunks a filter allows (non-zero) in the order of `bm25().ids`, as
        `qa.index.retrieve.bm25_mask` makes it. That is much faster than a Chroma `where` on a large store:
        Chroma evaluates a metadata filter over every chunk that matches it (hundreds of ms at 100k
        chunks), while a search restricted to IDs, or a wider unfiltered search whose hits are then
        filtered here, takes a few ms.
        """
        if allowed is not None:
            return self._dense_among(vector, k, allowed)
        k = min(k, self._chunk_count_now())
        if k <= 0:
            return []
        with guard("dense search failed"):
            got = self.collection.query(query_embeddings=[vector], n_results=k,
                                        include=["documents", "metadatas", "distances"])
        rows = zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True)
        return [(_chunk(i, d, m), 1.0 - float(dist)) for i, d, m, dist in rows]

    def _dense_among(self, vector: list[float], k: int, allowed: np.ndarray) -> list[tuple[Chunk, float]]:
        index = self.bm25()
        rows = np.flatnonzero(allowed)
        k = min(k, len(rows))
        if k <= 0:
            return []
        total = len(index.ids)
        wide = math.ceil(OVERSAMPLE * k * total / len(rows))  # unfiltered hits needed to find k allowed ones
        with guard("dense search failed"):
            if wide <= MAX_WIDE_SEARCH:
                got = self.collection.query(query_embeddings=[vector], n_results=min(wide, total),
                                            include=["distances"])
                position = index.position
                hits = [(i, d) for i, d in zip(got["ids"][0], got["distances"][0], strict=True)
                        if (p := position.get(i)) is not None and allowed[p]][:k]
                if len(hits) == k or wide >= total:
                    found = self.chunks([i for i, _ in hits])
                    return [(found[i], 1.0 - float(d)) for i, d in hits if i in found]
            got = self.collection.query(query_embeddings=[vector], n_results=k, ids=[index.ids[r] for r in rows],
                                        include=["documents", "metadatas", "distances"])
        rows_got = zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True)
        return [(_chunk(i, d, m), 1.0 - float(dist)) for i, d, m, dist in rows_got]

    def chunks(self, ids: list[str]) -> dict[str, Chunk]:
        """Stored chunks by ID (missing IDs are left out)."""
        if not ids:
            return {}
        with guard("reading passages failed"):
            got = self.collection.get(ids=ids, include=["documents", "metadatas"])
        rows = zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        return {i: _chunk(i, d, m) for i, d, m in rows}

    def paper(self, doc_key: str) -> Paper | None:
        return self.catalog.get(doc_key)

    def chunk_count(self) -> int:
        with guard("counting chunks failed"):
            return int(self.collection.count())

    def _chunk_count_now(self) -> int:
        """`chunk_count`, remembered while the catalog generation stands (counting takes ms on a big store)."""
        generation = self.catalog.generation()
        if self._count is None or self._count[0] != generation:
            self._count = (generation, self.chunk_count())
        return self._count[1]

    def stats(self) -> dict[str, Any]:
        """The figures of `arxiv-qa stats`."""
        papers = list(self.catalog.papers())
        ids = sorted(p.arxiv_id for p in papers if p.arxiv_id)
        return {
            "papers": len(papers),
            "with_arxiv_id": len(ids),
            "without_arxiv_id": len(papers) - len(ids),
            "chunks": self.chunk_count(),
            "papers_with_variants": sum(1 for p in papers if len(p.variants) > 1),
            "arxiv_ids": ids,
        }

    def is_empty(self) -> bool:
        return not (self.root / "catalog.sqlite").exists() or next(self.catalog.papers(), None) is None
