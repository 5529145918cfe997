"""The writer: what ingest and repair write into a store, under its one-writer lock.

`Writer` is the read-only `Store` plus writing: merged papers and the ledger of ingested files into
the catalog, chunks and their vectors into the vector store, all-or-nothing per batch (`batch`).
The model embeds ahead in a background thread while ingest merges and writes (`prefetch`); a store
interrupted mid-write is swept at the next writer's start (`writing`). Ingest (`qa.ingest.pipeline`)
and repair (`qa.index.check`) call only the methods here, never the catalog or Chroma themselves.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path

from qa.errors import StoreError
from qa.index.bm25 import BM25Index
from qa.index.chroma import guard
from qa.index.dense_view import DenseView
from qa.index.lock import WriteLock
from qa.index.store import Store
from qa.ingest.chunks import Chunker, signature
from qa.ingest.embed import load_fast_tokenizer, load_tokenizer
from qa.papers import Chunk, Paper
from qa.settings import Settings

log = logging.getLogger(__name__)
FIRST_CALL_PAPERS = 16  # papers in the first call to the model while embedding ahead (see `prefetch`)


class Writer(Store):
    """A store opened for writing: ingest and repair go through it (one writer at a time, `qa.index.lock`)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.embedded = 0  # chunks embedded by this object, for reports and tests
        # Embed-ahead (see `prefetch`): per call, the chunks of each prospective paper, and the
        # background computation of their vectors by chunk text.
        self._ahead: deque[tuple[dict[str, tuple[Paper, list[Chunk]]], dict[str, Future[dict[str, list[float]]]]]] = (
            deque(maxlen=3))
        self._ahead_pool: ThreadPoolExecutor | None = None
        self._held = threading.local()  # the write lock, per thread: servers write from several

    @cached_property
    def chunker(self) -> Chunker:
        name = self.settings.embed_model
        return Chunker(load_tokenizer(name), self.settings.chunk_tokens, self.settings.chunk_overlap,
                       fast=load_fast_tokenizer(name))

    # --- the catalog, as ingest needs it (`qa.ingest.merge.PaperIndex` and the ledger of files) ---
    def candidates(self, keys: list[str], without_id: bool = False) -> list[Paper]:
        """Stored papers sharing one of the lookup `keys` (what a new record may be merged into); `without_id`:
        only those with no arXiv ID."""
        return self._catalog.candidates(keys, without_id)

    def put(self, paper: Paper, old_key: str | None) -> None:
        """Store `paper` (in place of the paper stored under `old_key`, if given)."""
        self._catalog.put(paper, old_key)

    def file_done(self, path: str, sha256: str) -> bool:
        """Was this file, with this content, ingested to the end?"""
        return self._catalog.file_done(path, sha256)

    def mark_file(self, path: str, sha256: str, records: int) -> None:
        self._catalog.mark_file(path, sha256, records)

    def papers_of_file(self, path: str) -> list[Paper]:
        """The stored papers a file gave a source to."""
        return self._catalog.papers_of_file(path)

    def forget_file(self, path: str, doc_key: str) -> None:
        """The paper `doc_key` no longer has a source in the file `path`."""
        self._catalog.forget_file(path, doc_key)

    def meta(self, key: str) -> str | None:
        return self._catalog.meta(key)

    def set_meta(self, key: str, value: str) -> None:
        self._catalog.set_meta(key, value)

    def paper_keys(self) -> list[str]:
        """The doc keys of every stored paper."""
        return [key for key, _ in self._catalog.chunk_ids_by_paper()]

    def paper_count(self) -> int:
        """How many papers the store holds."""
        return self._catalog.count()

    def download_dir(self, name: str) -> Path:
        """The folder of the store where pages fetched from arXiv by `name` (api, oai) are kept."""
        return self.root / "arxiv" / name

    # --- the ledger of chunks, as the health check and repair need it (`qa.index.check`) ---
    def chunk_ids_by_paper(self) -> Iterator[tuple[str, list[str]]]:
        """Each stored paper's doc key and the IDs of its chunks, as the catalog lists them."""
        return self._catalog.chunk_ids_by_paper()

    def saved_bm25_ids(self) -> tuple[int, list[str]] | None:
        """The catalog generation and chunk IDs of the saved BM25 index, or None when none is saved."""
        return BM25Index.saved_ids(self.root / "bm25")

    def rebuild_bm25(self) -> BM25Index:
        """Build the BM25 index from the vector store anew and save it (`arxiv-qa check --repair`)."""
        journal, generation = self._catalog.last_change(), self._catalog.generation()
        index = self._build_bm25()
        index.generation, index.journal = generation, journal
        with suppress(OSError):
            index.save(self.root / "bm25", generation)
        self._bm25 = (generation, index)
        return index

    def changed(self) -> None:
        """Mark the stored chunks as changed: the BM25 index is brought up to date at its next use."""
        self._catalog.bump_generation()

    def embed_again(self, keys: list[str]) -> int:
        """Embed the chunks of the papers `keys` again, as if they had none stored; how many were embedded."""
        with self.batch():
            for key in keys:
                ids, _ = self._catalog.chunk_state(key)
                self._catalog.set_chunks(key, ids, "")  # no signature: `sync` embeds every chunk
            return self.sync([p for key in keys if (p := self._catalog.get(key)) is not None])

    # --- writing ---
    @contextmanager
    def batch(self) -> Iterator[None]:
        """One all-or-nothing step of the catalog; vector writes inside it are idempotent upserts."""
        if self.read_only:
            raise StoreError(f"the store {self.root} is read-only: nothing can be added to it")
        with guard(f"cannot write to store {self.root}"), self._catalog.transaction():
            yield

    def sync(self, papers: Iterable[Paper], gone: Iterable[str] = ()) -> int:
        """Bring the vector store in line with `papers` (changed) and `gone` (deleted keys).

        Returns the number of chunks written. Chunks whose signature is unchanged are not touched.
        """
        stale: list[str] = []
        fresh: list[Chunk] = []
        relabel: list[Chunk] = []
        stored: set[str] = set()  # the IDs the catalog had for these papers: any other chunk is new to the vectors
        for key in gone:
            stale += self._catalog.orphan_chunk_ids(key)
        for paper in papers:
            old_ids, old_sig = self._catalog.chunk_state(paper.doc_key)
            stored.update(old_ids)
            chunks = self._chunks(paper)
            sig = signature(chunks)
            if sig == old_sig:
                continue
            if sig.split(":")[0] == old_sig.split(":")[0]:
                relabel += chunks  # same texts, new metadata: no need to embed again
            else:
                fresh += chunks
                stale += [i for i in old_ids if i not in {c.chunk_id for c in chunks}]
            self._catalog.set_chunks(paper.doc_key, [c.chunk_id for c in chunks], sig, first=not old_ids)
        if fresh or stale or relabel:
            self._catalog.bump_generation()
            self._catalog.set_meta("embed_model", self.settings.embed_model)
        self._write(fresh, stale, stored)
        self._chroma.relabel(relabel)  # same texts, new metadata
        for key in gone:
            self._catalog.delete(key)
        return len(fresh)

    def _reusable(self, stale: list[str]) -> dict[str, list[float]]:
        """Vectors of chunks about to be deleted, by text digest (a re-keyed paper keeps its vectors)."""
        if not stale:
            return {}
        return {i.rsplit(":", 1)[-1]: v for i, v in self._chroma.vectors(stale).items()}

    def _embed(self, chunks: list[Chunk], stale: list[str]) -> list[list[float]]:
        reuse = self._reusable(stale)
        todo = [c for c in chunks if c.chunk_id.rsplit(":", 1)[-1] not in reuse]
        new = self._vectors_ahead([c.text for c in todo])
        rest = list(dict.fromkeys(c.text for c in todo if c.text not in new))
        if rest:
            new.update(zip(rest, self.embed_texts(rest), strict=True))
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
                old_sig = self._catalog.chunk_state(paper.doc_key)[1]
                if signature(chunks).split(":")[0] != old_sig.split(":")[0]:  # texts not stored yet
                    texts += [c.text for c in chunks if c.text not in futures]
            if texts:
                todo = list(dict.fromkeys(texts))
                futures.update(dict.fromkeys(todo, self._embed_later(todo)))
        self._ahead.append((memo, futures))

    def _embed_later(self, texts: list[str]) -> Future[dict[str, list[float]]]:
        embedder = self._embedder  # built here, not in the worker thread
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
            self._catch_up_view()

    def _catch_up_view(self) -> None:
        """When answering reads the store's dense view (`Store.dense_view`), bring the BM25 index and the view up
        to date with what was just written, while Chroma is open here: else the first question after the
        write would open Chroma, which reads its whole index into memory, to read the new chunks."""
        if self.settings.chroma_url or not (self.root / "dense").is_dir():  # no view to keep up (nor a lexicon to load)
            return
        try:
            index = self.lexicon()
            if self._viewed(index):
                with guard("building the memory-mapped dense index failed"):
                    DenseView.complete(self.root / "dense", index, self._chroma.with_vectors)
        except (StoreError, OSError) as e:
            log.warning("the dense view is brought up to date at the next question instead: %s", e)

    @property
    def interrupted(self) -> bool:
        """Under the write lock: True when the last writer did not finish (the next one sweeps after it)."""
        return self._dirty_marker.exists()

    def _begin_writes(self) -> None:
        if self._dirty_marker.exists():
            self.sweep_orphans()
        with guard(f"cannot write to store {self.root}"):
            self._dirty_marker.touch()
            saved = BM25Index.saved_journal(self.root / "bm25")
            if saved:  # the saved BM25 index no longer needs the journal before it
                with self._catalog.transaction():
                    self._catalog.forget_changes(saved)

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
            known = self._catalog.all_chunk_ids()
            orphans = [i for i in self.vector_ids() if i not in known]
            self.delete_vectors(orphans)
        if orphans:
            log.warning("removed %d vectors left by an interrupted ingest", len(orphans))
        return len(orphans)

    def open_vectors(self) -> int:
        """Open the vector store as a write does: the shard new chunks go to, not the older ones (whose indexes
        Chroma would read into memory first). Returns how many chunks that shard holds."""
        return self._chroma.open_for_writing()

    def vector_ids(self) -> list[str]:
        """The IDs of every vector in the vector store."""
        return self._chroma.ids()

    def unreadable(self, ids: list[str]) -> set[str]:
        """The IDs among `ids` with no readable vector."""
        return self._chroma.unreadable(ids)

    def delete_vectors(self, ids: list[str]) -> None:
        self._chroma.delete(ids)

    def _write(self, fresh: list[Chunk], stale: list[str], stored: set[str] | None = None) -> None:
        if fresh:
            vectors = self._embed(fresh, stale)
            self._chroma.upsert(fresh, vectors, stored)
        self.delete_vectors(stale)

