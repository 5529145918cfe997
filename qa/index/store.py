"""The store: a store directory opened for answering, and the on-disk layout it owns.

    <store>/chroma/        Chroma's persistent files (unless ARXIV_QA_CHROMA_URL names a server; qa.index.chroma)
    <store>/catalog.sqlite merged papers, lookup keys, ingested files, chunk ledger (qa.index.catalog)
    <store>/bm25/          the BM25 index of the chunks: memory-mapped segments and a manifest naming them,
                           tagged with the catalog generation and change journal entry it was built from
    <store>/dense/         for a large embedded store, the chunks' vectors and an HNSW graph per BM25 segment,
                           memory-mapped (qa.index.dense_view)
    <store>/arxiv/api/, <store>/arxiv/oai/   pages fetched from arXiv, kept and ingested as files (qa.ingest.remote)

`Store` is the read-only view answering uses: papers by key or ID, lexical and dense search, stored
chunks, embeddings of questions. Its parts (catalog, vector store, embedding model, BM25 index) are
private; `qa.index.writer.Writer` adds what ingest and repair write. Everything is opened lazily,
so a command that needs only the catalog never loads the model.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import suppress
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from qa.errors import StoreError
from qa.index.bm25 import BM25Index
from qa.index.catalog import Catalog
from qa.index.chroma import Chroma, Row, guard, shard_folders
from qa.index.dense_view import DenseView
from qa.ingest.embed import load_embedder, load_encoder
from qa.papers import LAST_MONTH, Chunk, Paper
from qa.settings import Settings

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from qa.ingest.onnx_embed import OnnxEncoder

log = logging.getLogger(__name__)
# A filtered dense search first asks for OVERSAMPLE times the hits the filter's share of chunks needs,
# unfiltered (ids and distances only: a few ms for a thousand), and keeps the allowed ones; when that
# would mean more than MAX_WIDE_SEARCH hits (a narrow filter), it searches among the allowed IDs.
OVERSAMPLE = 2
MAX_WIDE_SEARCH = 1500
# Up to this many chunks, dense search is exact: every stored vector scored in numpy (30 MiB at the limit,
# under 2 ms a question). The same store then ranks the same way in every process, whatever shape Chroma's
# approximate (HNSW) graph took; a larger store uses the graph.
EXACT_DENSE_MAX = 20_000


def _bm25_page(rows: list[Row]) -> tuple[list[str], list[str], list[str], list[int]]:
    """A page of stored chunks as `BM25Index.stream` takes it: IDs, texts, doc keys, months."""
    return ([r.chunk.chunk_id for r in rows], [r.chunk.text for r in rows], [r.chunk.doc_key for r in rows],
            [r.month for r in rows])


class Store:
    """A store directory (and optionally a Chroma server) holding papers and their embedded chunks, read-only."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = Path(settings.store).expanduser()
        self._bm25: tuple[int, BM25Index] | None = None
        self._vectors: tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None  # see _exact_vectors
        self._view: tuple[int, DenseView | None] | None = None  # see dense_view
        self._loading = threading.RLock()  # one thread loads the BM25 index or the exact vectors, others wait

    # --- the parts, private: callers use the methods below ---
    @cached_property
    def _catalog(self) -> Catalog:
        with guard(f"cannot open store {self.root}"):
            if not (self.root / "catalog.sqlite").exists():
                self.root.mkdir(parents=True, exist_ok=True)
            return Catalog(self.root / "catalog.sqlite")

    @property
    def read_only(self) -> bool:
        return self._catalog.read_only

    @cached_property
    def _chroma(self) -> Chroma:
        if self.settings.chroma_url:
            local = [p.name for p in shard_folders(self.root / "chroma")]
            if local:  # an embedded store's shards: a server started on its `chroma` folder holds the first only
                log.warning("store %s has vectors in shard folders (%s) that a Chroma server does not serve: "
                            "answers miss their chunks; ingest into the server, or unset ARXIV_QA_CHROMA_URL",
                            self.root, ", ".join(local))
        return Chroma(self.settings, self._chroma_dir)

    def _chroma_dir(self) -> Path:
        """Chroma's folder; for a read-only store, a private copy (Chroma cannot open read-only files)."""
        folder = self.root / "chroma"
        if not self.read_only:
            return folder
        copy = Path(tempfile.mkdtemp(prefix="arxiv-qa-ro-")) / "chroma"
        for shard in (folder, *shard_folders(folder)):  # and the folders of its shards (`qa.index.chroma`)
            if shard.is_dir():
                shutil.copytree(shard, copy.with_name(shard.name))
        log.warning("store %s is read-only: answering from a temporary copy; ingest is off", self.root)
        return copy

    def _model_checked(self) -> Settings:
        s = self.settings
        built_with = self._catalog.meta("embed_model")
        if built_with and built_with != s.embed_model:
            raise StoreError(f"the store {self.root} was embedded with model {built_with!r}: set "
                             f"ARXIV_QA_EMBED_MODEL={built_with} or use another store")
        return s

    @cached_property
    def _encoder(self) -> OnnxEncoder | None:
        """The ONNX model without LlamaIndex, for questions (None: the model needs LlamaIndex, or is `hash`)."""
        s = self._model_checked()
        return load_encoder(s.embed_model, s.embed_batch_size, s.embed_backend, s.model_cache)

    @cached_property
    def _embedder(self) -> BaseEmbedding:
        """The model as a LlamaIndex embedding (ingest embeds chunks with it); the ONNX one shares `_encoder`."""
        s = self._model_checked()
        encoder = self._encoder
        if encoder is not None:
            from qa.ingest.onnx_llamaindex import OnnxEmbedding

            return OnnxEmbedding(encoder)
        return load_embedder(s.embed_model, s.embed_batch_size, s.embed_backend, s.model_cache)

    def _query_model(self) -> OnnxEncoder | BaseEmbedding:
        """What embeds questions and sentences: the embedder if one is loaded (or set, as the benchmarks do), else
        the ONNX model alone, so that answering never imports LlamaIndex."""
        if "_embedder" in self.__dict__:
            return self._embedder
        return self._encoder or self._embedder

    # --- papers ---
    def paper(self, doc_key: str) -> Paper | None:
        return self._catalog.get(doc_key)

    def by_id(self, arxiv_id: str) -> Paper | None:
        """The stored paper with this arXiv ID (without version), if any."""
        return self._catalog.by_id(arxiv_id)

    def mentioning(self, arxiv_id: str) -> list[Paper]:
        """A few stored papers whose record mentions `arxiv_id` without being it (in their comments, say)."""
        return self._catalog.mentioning(arxiv_id)

    def papers(self) -> Iterator[Paper]:
        """Every stored paper, by doc key."""
        return self._catalog.papers()

    def generation(self) -> int:
        """A number that changes whenever the stored chunks do (caches key on it)."""
        return self._catalog.generation()

    # --- embedding ---
    def embed_query(self, text: str) -> list[float]:
        """The vector of a question, with the model the store was embedded with."""
        return list(self._query_model().get_query_embedding(text))

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """The vectors of passages of text (sentences, chunks), with the store's model."""
        return [list(v) for v in self._query_model().get_text_embedding_batch(texts)]

    def llamaindex_embedding(self) -> BaseEmbedding:
        """The store's model as LlamaIndex's embedding object, for the plain LlamaIndex baseline (`qa.evaluation`)."""
        return self._embedder

    # --- lexical search ---
    def lexicon(self) -> BM25Index:
        """The BM25 index of the stored chunks (its term weights serve answerers): loaded (memory-mapped) when
        saved for the catalog's generation, else brought up to date from the saved one with the papers changed
        since (`qa.index.bm25`), else built."""
        journal = self._catalog.last_change()  # read before the generation: see `_update_bm25`
        generation = self._catalog.generation()
        cached = self._bm25
        if cached is not None and cached[0] == generation:
            return cached[1]
        with self._loading:  # a question's two legs may both ask first: one loads or builds, the other waits
            cached = self._bm25
            if cached is not None and cached[0] == generation:
                return cached[1]
            folder = self.root / "bm25"
            index = BM25Index.load(folder)
            if index is None or index.generation != generation:
                index = (self._update_bm25(index, journal) if index is not None else None) or self._build_bm25()
                index.generation, index.journal = generation, journal
                with suppress(OSError):  # a read-only store still answers, from the index in memory
                    index.save(folder, generation)
            self._bm25 = (generation, index)
            return index

    def _build_bm25(self) -> BM25Index:
        """The BM25 index of every stored chunk, built page by page: segments go to disk as they fill."""
        folder = self.root / "bm25"
        with guard("building the BM25 index failed"):
            pages = (_bm25_page(rows) for rows in self._chroma.pages())
            if self.read_only:  # answering from a read-only store: in memory
                return BM25Index.stream(pages)
            folder.mkdir(parents=True, exist_ok=True)
            return BM25Index.stream(pages, folder)

    def _update_bm25(self, saved: BM25Index, journal: int) -> BM25Index | None:
        """`saved` with the chunks of the papers changed since it was built, or None when a rebuild is due.

        The catalog's change journal names the papers whose chunks changed (`Catalog.changed_since`): their
        rows are removed from the index (a new paper's only rows can be those of its chunk IDs, found by
        hash) and their chunks now in the store appended as a new segment. A
        paper changed while `saved` was being built is simply done again (remove, then append).
        """
        keys = self._catalog.changed_since(saved.journal, journal)
        if keys is None or len(keys) > max(1000, saved.live // 4):  # too much changed: rebuilding is as cheap
            return None
        ids = [i for key in keys for i in self._catalog.chunk_state(key)[0]]
        with guard("updating the BM25 index failed"):
            added = BM25Index.stream(_bm25_page(rows) for rows in self._chroma.pages_of(ids))
        new = self._catalog.new_since(saved.journal, journal)  # no older rows to find (a second of lookups at 1M)
        return saved.updated([k for k in keys if k not in new], added)

    def lexical_search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The `k` best chunk IDs for `query` by BM25, with their scores, among those `allowed` marks (None: all)."""
        return self.lexicon().search(query, k, allowed)

    def mask(self, doc_keys: list[str], month_from: int | None, month_to: int | None,
             among: list[str] | None = None) -> np.ndarray | None:
        """1 for the chunks of `doc_keys` (if any) in the months (YYYYMM, inclusive) given, 0 for the others.

        `among`, when given, allows only the chunks of those papers too (a category or author filter,
        `keys_matching`). None when nothing is filtered. The order is the BM25 index's, as
        `dense_search` takes it.
        """
        if not doc_keys and month_from is None and among is None:
            return None
        index = self.lexicon()
        mask = index.alive.copy()  # removed rows are never allowed
        if doc_keys:
            mask *= index.key_mask(doc_keys)
        if among is not None:
            mask *= index.key_mask(among)
        if month_from is not None:
            mask *= (index.months >= month_from) & (index.months <= (month_to or LAST_MONTH))
        return mask

    def keys_matching(self, categories: tuple[str, ...] = (), authors: tuple[str, ...] = ()) -> list[str]:
        """Doc keys of the stored papers in any of `categories` and by all of `authors` (`Catalog.keys_matching`)."""
        return self._catalog.keys_matching(categories, authors)

    # --- dense search ---
    def dense_search(self, vector: list[float], k: int, allowed: np.ndarray | None = None) -> list[tuple[Chunk, float]]:
        """The `k` nearest chunks to `vector` (cosine similarity), among those `allowed` marks (None: all)."""
        near = self.dense_ids(vector, k, allowed)
        found = self.chunks([i for i, _ in near])
        return [(found[i], s) for i, s in near if i in found]

    def dense_ids(self, vector: list[float], k: int, allowed: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The IDs of the `k` nearest chunks to `vector` with their cosine similarity, among those `allowed` marks.

        IDs only: reading the texts of a hundred chunks from Chroma takes longer than the search itself
        (tens of ms at 2M chunks), so a caller fetches the texts of the few it keeps (`chunks`).
        `allowed` marks the chunks a filter allows (non-zero) in the order of the BM25 index, as
        `mask` makes it. That is much faster than a Chroma `where` on a large store: Chroma
        evaluates a metadata filter over every chunk that matches it (hundreds of ms at 100k
        chunks), while a search restricted to IDs, or a wider unfiltered search whose hits are then
        filtered here, takes a few ms.
        """
        exact = self._exact_vectors()
        if exact is not None:
            return self._dense_exact(vector, k, allowed, *exact)
        view = self.dense_view()
        if view is not None:
            return view.search(vector, k, allowed)
        if allowed is not None:
            return self._dense_among(vector, k, allowed)
        if k <= 0:  # a k beyond the store's size gives what there is (counting would take seconds at 2M chunks)
            return []
        with guard("dense search failed"):
            return self._chroma.nearest_ids(vector, k)

    def _exact_vectors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """For a small store, in the BM25 index's row order: every chunk's unit vector, which rows have one, and
        each row's place in chunk-ID order (ties in similarity go to the smaller ID)."""
        index = self.lexicon()
        if len(index.ids) > EXACT_DENSE_MAX:
            return None
        with self._loading:
            cached = self._vectors
            if cached is not None and cached[0] == index.generation:
                return cached[1]
            ids = index.ids[:]
            with guard("reading vectors failed"):
                found = self._chroma.vectors([i for i, dead in zip(ids, index.dead, strict=True) if not dead])
            rows = [r for r, i in enumerate(ids) if i in found and not index.dead[r]]
            matrix = np.zeros((len(ids), len(next(iter(found.values()), []))), dtype=np.float32)
            matrix[rows] = [found[ids[r]] for r in rows]
            norms = np.linalg.norm(matrix, axis=1)
            readable = norms > 0
            matrix[readable] /= norms[readable, None]
            id_rank = np.empty(len(ids), dtype=np.int64)
            id_rank[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
            self._vectors = (index.generation, (matrix, readable, id_rank))
            return matrix, readable, id_rank

    def dense_view(self, build: bool = True) -> DenseView | None:
        """For a large embedded store, the memory-mapped copy of its chunks, vectors and an HNSW graph, a part per
        BM25 segment, its missing parts built from the vector store first (`qa.index.dense_view`).

        None with a Chroma server (which holds the index in its own process), for a small store (searched
        exactly), for a read-only store without the view saved, and when the vector store cannot be read
        (answering then asks Chroma, as without the view). `build=False`: None unless the view of the
        current BM25 index is open already (for callers that would otherwise never need the BM25 index).
        """
        cached = self._view
        if not build and (cached is None or self._bm25 is None or cached[0] != self._bm25[0]):
            return None
        index = self.lexicon()
        if not self._viewed(index):
            return None
        with self._loading:
            cached = self._view
            if cached is not None and cached[0] == index.generation:
                return cached[1]
            view = None
            try:
                with guard("building the memory-mapped dense index failed"):
                    view = DenseView.open(self.root / "dense", index,
                                          None if self.read_only else self._chroma.with_vectors)
            except (StoreError, OSError) as e:
                log.warning("%s; searching the vector store instead", e)
            self._view = (index.generation, view)
            return view

    def _viewed(self, index: BM25Index) -> bool:
        """Whether answering searches `index`'s chunks through the dense view (an embedded store, large enough)."""
        return not self.settings.chroma_url and self.settings.dense_view and len(index.ids) > EXACT_DENSE_MAX

    def _dense_exact(self, vector: list[float], k: int, allowed: np.ndarray | None, matrix: np.ndarray,
                     readable: np.ndarray, id_rank: np.ndarray) -> list[tuple[str, float]]:
        """The IDs of the `k` allowed chunks of highest cosine similarity to `vector`, exactly."""
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        rows = np.flatnonzero(readable if allowed is None else readable & (allowed != 0))
        if k <= 0 or not len(rows) or not norm or matrix.shape[1] != len(query):
            return []
        similarity = matrix[rows] @ (query / norm)
        if len(rows) > k:  # the k best and whatever ties the k-th
            kth = similarity[np.argpartition(similarity, len(rows) - k)[len(rows) - k]]
            keep = similarity >= kth
            rows, similarity = rows[keep], similarity[keep]
        best = np.lexsort((id_rank[rows], -similarity))[:k]
        ids = self.lexicon().ids
        return [(ids[int(rows[i])], float(similarity[i])) for i in best]

    def _dense_among(self, vector: list[float], k: int, allowed: np.ndarray) -> list[tuple[str, float]]:
        index = self.lexicon()
        rows = np.flatnonzero(allowed)
        k = min(k, len(rows))
        if k <= 0:
            return []
        total = len(index.ids)
        wide = math.ceil(OVERSAMPLE * k * total / len(rows))  # unfiltered hits needed to find k allowed ones
        with guard("dense search failed"):
            if wide <= MAX_WIDE_SEARCH:
                near = self._chroma.nearest_ids(vector, min(wide, total))
                where = index.rows_of_ids([i for i, _ in near])
                hits = [(i, s) for (i, s), p in zip(near, where, strict=True) if p >= 0 and allowed[p]][:k]
                if len(hits) == k or wide >= total:
                    return hits
            return self._chroma.nearest_ids(vector, k, among=[index.ids[r] for r in rows])

    def paper_vector(self, doc_key: str) -> list[float] | None:
        """The mean of the stored vectors of a paper's chunks, made unit length (None when it has none)."""
        view = self.dense_view()
        if view is not None:  # the vectors from the memory-mapped view (Chroma's would load its whole index)
            rows = view.index.rows_of_key(doc_key)
            vectors = [v for v in view.vectors_of(rows[~view.index.dead[rows]]) if v.any()]
        else:
            ids = self._catalog.chunk_state(doc_key)[0]
            with guard("reading vectors failed"):
                vectors = [np.asarray(v) for v in self._chroma.vectors(ids).values()] if ids else []
        if not vectors:
            return None
        mean = np.mean(np.array(vectors, dtype=np.float32), axis=0)
        norm = float(np.linalg.norm(mean))
        return [float(x) for x in (mean / norm if norm else mean)]

    # --- chunks and figures ---
    def chunks(self, ids: list[str]) -> dict[str, Chunk]:
        """Stored chunks by ID (missing IDs are left out)."""
        view = self.dense_view(build=False)
        if view is not None:  # a large embedded store: from the memory-mapped copy, Chroma left closed
            return view.chunks(ids)
        return self._chroma.chunks(ids)

    def chunk_count(self) -> int:
        """How many chunks the vector store holds."""
        return self._chroma.count()

    def answered_chunk_count(self) -> int:
        """How many chunks answering searches: with the dense view open, its live rows (Chroma left closed),
        else the vector store's count."""
        view = self.dense_view(build=False)
        return view.index.live if view is not None else self.chunk_count()

    def stats(self) -> dict[str, int | list[str] | dict[str, int]]:
        """The figures of `arxiv-qa stats`."""
        papers = list(self._catalog.papers())
        ids = sorted(p.arxiv_id for p in papers if p.arxiv_id)
        return {
            "papers": len(papers),
            "with_arxiv_id": len(ids),
            "without_arxiv_id": len(papers) - len(ids),
            "chunks": self.answered_chunk_count(),
            "papers_with_variants": sum(1 for p in papers if len(p.variants) > 1),
            "arxiv_ids": ids,
            "categories": self._catalog.category_counts(),
        }

    def is_empty(self) -> bool:
        return not (self.root / "catalog.sqlite").exists() or next(self._catalog.papers(), None) is None

    def warm(self) -> None:
        """Load the embedding model and the BM25 index now rather than at the first question."""
        self.embed_query("warm up")
        self.lexicon()
        self._exact_vectors()
        self.dense_view()
