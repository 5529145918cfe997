"""The vector store: the ONLY module that talks to Chroma.

Chunks are kept as a vector and a metadata record whose TEXT key holds the chunk's text. Every call
goes through `Chroma`, typed in our terms (`Chunk`, IDs, similarities); large reads and writes are
cut to the most records Chroma takes at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlparse

import numpy as np

from qa.errors import StoreError
from qa.papers import Chunk
from qa.settings import Settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import GetResult

READ_PAGE = 10_000  # chunks per read when reading the whole collection (Chroma's SQLite caps query variables)
TEXT = "text"  # the metadata key of a chunk's text in the vector store

Metadata = Mapping[str, object]


def vector_store_errors() -> tuple[type[BaseException], ...]:
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
    except vector_store_errors() as e:
        reason = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise StoreError(f"{action}: the vector store failed ({reason})") from None


def _record(chunk: Chunk) -> dict[str, str | int]:
    """What the vector store keeps of a chunk besides its vector: the metadata and, under TEXT, the text.

    The text is metadata rather than a Chroma document: Chroma builds a full-text index of documents,
    which we never query (BM25 is our own) and which cost half the time of each upsert and a third of
    the disk.
    """
    return {**chunk.metadata(), TEXT: chunk.text}


def _text(document: str | None, meta: Metadata) -> str:
    """A stored chunk's text: from its metadata, or its document in stores written before that."""
    return str(meta.get(TEXT) or document or "")


def _chunk(chunk_id: str, document: str | None, meta: Metadata) -> Chunk:
    return Chunk.from_metadata(chunk_id, _text(document, meta), meta)


def _embeddings(vectors: Sequence[list[float]]) -> list[Sequence[float] | Sequence[int]]:
    return list(vectors)


def _chunks(ids: Sequence[str], documents: Sequence[str | None] | None,
            metas: Sequence[Metadata] | None) -> list[Chunk]:
    metas = metas or [{}] * len(ids)
    return [_chunk(i, d, m) for i, d, m in zip(ids, documents or [None] * len(ids), metas, strict=True)]


class Row(NamedTuple):
    """A stored chunk and the month (YYYYMM, 0: unknown) its metadata files it under."""

    chunk: Chunk
    month: int


def _rows(got: GetResult) -> list[Row]:
    metas = got["metadatas"] or []
    return [Row(chunk, int(month) if isinstance(month := meta.get("year_month"), int | float | str) and month else 0)
            for chunk, meta in zip(_chunks(got["ids"], got["documents"], metas), metas, strict=True)]


class Chroma:
    """One Chroma collection (a local folder, or the server `Settings.chroma_url` names)."""

    def __init__(self, settings: Settings, folder: Callable[[], Path]) -> None:
        self.settings = settings
        self._folder = folder  # called when the client opens: a read-only store copies its folder first

    @cached_property
    def client(self) -> ClientAPI:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.settings.chroma_url:
            url = urlparse(self.settings.chroma_url)
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        return chromadb.PersistentClient(path=str(self._folder()), settings=chroma_settings)

    @cached_property
    def collection(self) -> Collection:
        # embedding_function=None: Chroma's default one downloads a model; we always pass vectors.
        with guard("cannot open the vector store"):
            return self.client.get_or_create_collection(
                self.settings.collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )

    @cached_property
    def max_batch(self) -> int:
        """The most records the vector store takes in one call (Chroma's `get_max_batch_size`)."""
        with guard("cannot open the vector store"):
            return max(1, int(self.client.get_max_batch_size()))

    def _pieces(self, n: int) -> Iterator[slice]:
        step = self.max_batch
        return (slice(start, start + step) for start in range(0, n, step))

    # --- reading ---
    def count(self) -> int:
        with guard("counting chunks failed"):
            return int(self.collection.count())

    def ids(self) -> list[str]:
        """The IDs of every vector in the collection, page by page."""
        ids: list[str] = []
        with guard("reading the vector store failed"):
            for offset in range(0, self.count(), READ_PAGE):
                ids += self.collection.get(include=[], limit=READ_PAGE, offset=offset)["ids"]
        return ids

    def pages(self) -> Iterator[list[Row]]:
        """Every stored chunk with its month, a page at a time (one read of a large collection exceeds SQLite's
        limits)."""
        for offset in range(0, self.count(), READ_PAGE):
            yield _rows(self.collection.get(include=["documents", "metadatas"], limit=READ_PAGE, offset=offset))

    def pages_of(self, ids: list[str]) -> Iterator[list[Row]]:
        """The stored chunks among `ids` with their months, as many per page as one call takes."""
        for piece in self._pieces(len(ids)):
            yield _rows(self.collection.get(ids=ids[piece], include=["documents", "metadatas"]))

    def chunks(self, ids: list[str]) -> dict[str, Chunk]:
        """Stored chunks by ID (missing IDs are left out)."""
        if not ids:
            return {}
        with guard("reading passages failed"):
            got = self.collection.get(ids=ids, include=["documents", "metadatas"])
        return {c.chunk_id: c for c in _chunks(got["ids"], got["documents"], got["metadatas"])}

    def vectors(self, ids: list[str]) -> dict[str, list[float]]:
        """The stored vectors of `ids`, by ID."""
        found: dict[str, list[float]] = {}
        for piece in self._pieces(len(ids)):
            got = self.collection.get(ids=ids[piece], include=["embeddings"])
            vectors = got["embeddings"] if got["embeddings"] is not None else []
            found.update((i, [float(x) for x in v]) for i, v in zip(got["ids"], vectors, strict=True))
        return found

    def with_vectors(self, ids: list[str]) -> tuple[list[Chunk], np.ndarray]:
        """The stored chunks among `ids`, and their vectors as the rows of one array."""
        chunks: list[Chunk] = []
        rows: list[np.ndarray] = []
        for piece in self._pieces(len(ids)):
            got = self.collection.get(ids=ids[piece], include=["embeddings", "documents", "metadatas"])
            if got["embeddings"] is None or not len(got["ids"]):
                continue
            chunks += _chunks(got["ids"], got["documents"], got["metadatas"])
            rows.append(np.asarray(got["embeddings"], dtype=np.float32))
        return chunks, (np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32))

    def unreadable(self, ids: list[str]) -> set[str]:
        """The IDs among `ids` with no readable vector: absent, or failing to read (group halved until alone)."""
        if not ids:
            return set()
        try:
            got = self.collection.get(ids=ids, include=["embeddings"])
        except vector_store_errors():
            if len(ids) == 1:
                return set(ids)
            return self.unreadable(ids[: len(ids) // 2]) | self.unreadable(ids[len(ids) // 2 :])
        vectors = list(got["embeddings"]) if got["embeddings"] is not None else [None] * len(got["ids"])
        return set(ids) - {i for i, v in zip(got["ids"], vectors, strict=True) if v is not None and len(v)}

    def nearest_ids(self, vector: list[float], n: int, among: list[str] | None = None) -> list[tuple[str, float]]:
        """IDs and cosine similarities of the `n` chunks nearest to `vector` (among the IDs `among`, if given; no
        texts: a few ms for a thousand)."""
        got = self.collection.query(query_embeddings=_embeddings([vector]), n_results=n, ids=among,
                                    include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(got["ids"][0], (got["distances"] or [[]])[0], strict=True)]

    # --- writing ---
    def upsert(self, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        for piece in self._pieces(len(chunks)):
            self.collection.upsert(ids=[c.chunk_id for c in chunks[piece]], embeddings=_embeddings(vectors[piece]),
                                   metadatas=[_record(c) for c in chunks[piece]])

    def relabel(self, chunks: list[Chunk]) -> None:
        """Store new metadata for chunks whose texts (and so vectors) are unchanged."""
        for piece in self._pieces(len(chunks)):
            self.collection.update(ids=[c.chunk_id for c in chunks[piece]],
                                   metadatas=[_record(c) for c in chunks[piece]])

    def delete(self, ids: list[str]) -> None:
        for piece in self._pieces(len(ids)):
            self.collection.delete(ids=ids[piece])
