"""The vector store: the ONLY module that talks to Chroma.

Chunks are kept as a vector and a metadata record whose TEXT key holds the chunk's text. Every call
goes through `Chroma`, typed in our terms (`Chunk`, IDs, similarities); large reads and writes are
cut to the most records Chroma takes at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache, cached_property
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


def _numbers(first: str, names: Iterable[str]) -> list[int]:
    """The numbers of the shards among `names` beside the first one, `first` (`<first>.<number>`), in order."""
    tails = (name[len(first) + 1:] for name in names if name.startswith(first + "."))
    return sorted(int(tail) for tail in tails if tail.isdigit())


def _folders(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.is_dir()] if parent.is_dir() else []


def shard_folders(first: Path) -> list[Path]:
    """The folders of an embedded store's shards after the first one, `first` (`<first>.1`, ...), oldest first."""
    return [_shard_folder(first, n) for n in _numbers(first.name, _folders(first.parent))]


def _shard_folder(first: Path, number: int) -> Path:
    return first.with_name(f"{first.name}.{number}")


@cache
def _shard_pool() -> ThreadPoolExecutor:
    """Threads asking the shards side by side (a Chroma server answers each over HTTP; Chroma's embedded search
    runs outside Python's lock)."""
    return ThreadPoolExecutor(4, thread_name_prefix="arxiv-qa-shards")


class Row(NamedTuple):
    """A stored chunk and the month (YYYYMM, 0: unknown) its metadata files it under."""

    chunk: Chunk
    month: int


def _rows(got: GetResult) -> list[Row]:
    metas = got["metadatas"] or []
    return [Row(chunk, int(month) if isinstance(month := meta.get("year_month"), int | float | str) and month else 0)
            for chunk, meta in zip(_chunks(got["ids"], got["documents"], metas), metas, strict=True)]


class Chroma:
    """The store's Chroma collections (in a local folder, or on the server `Settings.chroma_url` names).

    The vectors live in shards: the collection `Settings.collection` names, then shards 1, 2, ... (on a
    server, the collections `<name>.1`, ...; embedded, a folder each beside the first, with a SQLite
    database of its own). New chunks go to the newest shard until it holds `Settings.shard_chunks`, then
    to a new one. Chroma saves a collection's whole index every thousand writes, and each write updates
    the indexes of one SQLite database, so a write into one huge collection costs in proportion to the
    store (a save alone takes 0.45 s at 1.2 M vectors); into a shard of bounded size it does not, and a
    writer adding papers never opens the older shards, whose indexes Chroma would read whole into memory
    first (seconds at a million vectors). A store below `shard_chunks` keeps one collection.

    A chunk stays in the shard it was first written to: reads, updates and deletes find it there,
    asking the newer shards first (they are the small ones) and taking the oldest for the rest.
    """

    def __init__(self, settings: Settings, folder: Callable[[], Path]) -> None:
        self.settings = settings
        self._folder = folder  # called when the client opens: a read-only store copies its folder first
        self._newest_holds: int | None = None  # chunks in the newest shard, once counted by a writer
        self._numbers: list[int] = []  # the shards' numbers, oldest first (0: the first)

    @cached_property
    def root(self) -> Path:
        """The first shard's folder (an embedded store)."""
        return self._folder()

    @cached_property
    def client(self) -> ClientAPI:
        """The first shard's client: a Chroma server's, or the one of an embedded store's folder."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        if self.settings.chroma_url:
            url = urlparse(self.settings.chroma_url)
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https",
                settings=ChromaSettings(anonymized_telemetry=False),
            )
        return self._embedded(self.root)

    @staticmethod
    def _embedded(folder: Path) -> ClientAPI:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        return chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(anonymized_telemetry=False))

    @staticmethod
    def _collection(client: ClientAPI, name: str) -> Collection:
        # embedding_function=None: Chroma's default one downloads a model; we always pass vectors.
        with guard("cannot open the vector store"):
            return client.get_or_create_collection(
                name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )

    @cached_property
    def collection(self) -> Collection:
        """The first (oldest) shard: the collection `Settings.collection` names."""
        return self._collection(self.client, self.settings.collection)

    def _shard(self, number: int) -> Collection:
        """Shard `number` (1, 2, ...): on a server, the collection `<collection>.<number>`; embedded, the collection
        in a folder of its own beside the first's (`chroma.<number>`), so that its writes never touch the
        first one's SQLite database, which grows with the store."""
        name = self.settings.collection
        if self.settings.chroma_url:
            return self._collection(self.client, f"{name}.{number}")
        with guard("cannot open the vector store"):
            client = self._embedded(_shard_folder(self.root, number))
        return self._collection(client, name)

    @cached_property
    def shards(self) -> list[Collection]:
        """Every shard, oldest first."""
        if self.settings.chroma_url:
            with guard("cannot open the vector store"):
                names = [c.name for c in self.client.list_collections()]
            self._numbers = [0, *_numbers(self.settings.collection, names)]
        else:
            self._numbers = [0, *_numbers(self.root.name, _folders(self.root.parent))]
        return [self.collection, *(self._shard(k) for k in self._numbers[1:])]

    @cached_property
    def max_batch(self) -> int:
        """The most records the vector store takes in one call (Chroma's `get_max_batch_size`)."""
        with guard("cannot open the vector store"):
            return max(1, int(self.client.get_max_batch_size()))

    def _pieces(self, n: int) -> Iterator[slice]:
        step = self.max_batch
        return (slice(start, start + step) for start in range(0, n, step))

    def _held(self, shard: Collection, ids: list[str]) -> set[str]:
        """The IDs among `ids` that `shard` holds."""
        found: set[str] = set()
        for piece in self._pieces(len(ids)):
            found.update(shard.get(ids=ids[piece], include=[])["ids"])
        return found

    def _holders(self, ids: list[str], oldest: int = 0) -> dict[str, int]:
        """The shard (its place in `shards`) holding each of `ids`, the shards asked from the newest down to the
        `oldest`-th; IDs none of them holds are left out."""
        where: dict[str, int] = {}
        rest = ids
        for k in range(len(self.shards) - 1, oldest - 1, -1):
            if not rest:
                break
            held = self._held(self.shards[k], rest)
            where.update(dict.fromkeys(held, k))
            rest = [i for i in rest if i not in held]
        return where

    def _route(self, ids: list[str]) -> list[tuple[Collection, list[str]]]:
        """`ids` grouped by the shard holding them, newest first; IDs no newer shard holds go to the oldest (which
        may not hold them either: a read leaves them out, a delete of them does nothing)."""
        where = self._holders(ids, oldest=1)
        groups = [(shard, [i for i in ids if where.get(i, 0) == k]) for k, shard in enumerate(self.shards)]
        return [(shard, group) for shard, group in reversed(groups) if group]

    # --- reading ---
    def count(self) -> int:
        with guard("counting chunks failed"):
            return sum(int(shard.count()) for shard in self.shards)

    def ids(self) -> list[str]:
        """The IDs of every vector in the store, page by page."""
        ids: list[str] = []
        with guard("reading the vector store failed"):
            for shard in self.shards:
                for offset in range(0, int(shard.count()), READ_PAGE):
                    ids += shard.get(include=[], limit=READ_PAGE, offset=offset)["ids"]
        return ids

    def pages(self) -> Iterator[list[Row]]:
        """Every stored chunk with its month, a page at a time (one read of a large collection exceeds SQLite's
        limits)."""
        for shard in self.shards:
            for offset in range(0, int(shard.count()), READ_PAGE):
                yield _rows(shard.get(include=["documents", "metadatas"], limit=READ_PAGE, offset=offset))

    def pages_of(self, ids: list[str]) -> Iterator[list[Row]]:
        """The stored chunks among `ids` with their months, as many per page as one call takes."""
        for shard, group in self._route(ids):
            for piece in self._pieces(len(group)):
                yield _rows(shard.get(ids=group[piece], include=["documents", "metadatas"]))

    def chunks(self, ids: list[str]) -> dict[str, Chunk]:
        """Stored chunks by ID (missing IDs are left out)."""
        found: dict[str, Chunk] = {}
        with guard("reading passages failed"):
            for shard, group in self._route(ids):
                got = shard.get(ids=group, include=["documents", "metadatas"])
                found.update((c.chunk_id, c) for c in _chunks(got["ids"], got["documents"], got["metadatas"]))
        return found

    def vectors(self, ids: list[str]) -> dict[str, list[float]]:
        """The stored vectors of `ids`, by ID."""
        found: dict[str, list[float]] = {}
        for shard, group in self._route(ids):
            for piece in self._pieces(len(group)):
                got = shard.get(ids=group[piece], include=["embeddings"])
                vectors = got["embeddings"] if got["embeddings"] is not None else []
                found.update((i, [float(x) for x in v]) for i, v in zip(got["ids"], vectors, strict=True))
        return found

    def with_vectors(self, ids: list[str]) -> tuple[list[Chunk], np.ndarray]:
        """The stored chunks among `ids`, and their vectors as the rows of one array."""
        chunks: list[Chunk] = []
        rows: list[np.ndarray] = []
        for shard, group in self._route(ids):
            for piece in self._pieces(len(group)):
                got = shard.get(ids=group[piece], include=["embeddings", "documents", "metadatas"])
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
            routed = self._route(ids)
        except vector_store_errors():  # cannot tell which shard holds what: unreadable in every one
            return set.intersection(*(self._unreadable_in(shard, ids) for shard in self.shards))
        return set().union(*(self._unreadable_in(shard, group) for shard, group in routed))

    def _unreadable_in(self, shard: Collection, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        try:
            got = shard.get(ids=ids, include=["embeddings"])
        except vector_store_errors():
            if len(ids) == 1:
                return set(ids)
            return self._unreadable_in(shard, ids[: len(ids) // 2]) | self._unreadable_in(shard, ids[len(ids) // 2 :])
        vectors = list(got["embeddings"]) if got["embeddings"] is not None else [None] * len(got["ids"])
        return set(ids) - {i for i, v in zip(got["ids"], vectors, strict=True) if v is not None and len(v)}

    def nearest_ids(self, vector: list[float], n: int, among: list[str] | None = None) -> list[tuple[str, float]]:
        """IDs and cosine similarities of the `n` chunks nearest to `vector` (among the IDs `among`, if given; no
        texts: a few ms for a thousand), from every shard."""
        asks: list[tuple[Collection, list[str] | None]] = (
            [(shard, None) for shard in self.shards] if among is None else [*self._route(among)])

        def ask(shard: Collection, group: list[str] | None) -> list[tuple[str, float]]:
            got = shard.query(query_embeddings=_embeddings([vector]), n_results=n, ids=group, include=["distances"])
            return [(i, 1.0 - float(d)) for i, d in zip(got["ids"][0], (got["distances"] or [[]])[0], strict=True)]

        if len(asks) == 1:
            return ask(*asks[0])
        found = [hit for hits in _shard_pool().map(lambda job: ask(*job), asks) for hit in hits]  # side by side
        found.sort(key=lambda hit: -hit[1])
        return found[:n]

    # --- writing ---
    def upsert(self, chunks: list[Chunk], vectors: list[list[float]], stored: Container[str] | None = None) -> None:
        """Write `chunks` with their vectors: each one stored already where it is, the others into the newest shard.

        `stored`: the IDs among them that may be stored already (the writer knows them from its catalog);
        the others are taken for new, and no shard is asked about them (each one asked opens its index).
        None: ask every shard.
        """
        ids = [c.chunk_id for c in chunks]
        where = self._holders(ids if stored is None else [i for i in ids if i in stored])
        for k, shard in enumerate(self.shards):
            mine = [n for n, i in enumerate(ids) if where.get(i) == k]
            self._upsert(shard, [chunks[n] for n in mine], [vectors[n] for n in mine])
        new = [n for n, i in enumerate(ids) if i not in where]
        for piece in self._pieces(len(new)):
            shard = self._newest(len(new[piece]))
            self._upsert(shard, [chunks[n] for n in new[piece]], [vectors[n] for n in new[piece]])

    def _upsert(self, shard: Collection, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        for piece in self._pieces(len(chunks)):
            shard.upsert(ids=[c.chunk_id for c in chunks[piece]], embeddings=_embeddings(vectors[piece]),
                         metadatas=[_record(c) for c in chunks[piece]])

    def open_for_writing(self) -> int:
        """Open the shard new chunks go to, as a write would (the older shards stay closed); how many it holds."""
        with guard("cannot open the vector store"):
            self._newest(0)
        return self._newest_holds or 0

    def _newest(self, adding: int) -> Collection:
        """The shard `adding` new chunks go to: the newest, or a new one when the newest is full."""
        shards = self.shards
        if self._newest_holds is None:
            self._newest_holds = int(shards[-1].count())
        if self._newest_holds >= self.settings.shard_chunks:
            self._numbers.append(self._numbers[-1] + 1)
            shards.append(self._shard(self._numbers[-1]))
            self._newest_holds = 0
        self._newest_holds += adding
        return shards[-1]

    def relabel(self, chunks: list[Chunk]) -> None:
        """Store new metadata for chunks whose texts (and so vectors) are unchanged."""
        by_id = {c.chunk_id: c for c in chunks}
        for shard, group in self._route(list(by_id)):
            for piece in self._pieces(len(group)):
                shard.update(ids=group[piece], metadatas=[_record(by_id[i]) for i in group[piece]])

    def delete(self, ids: list[str]) -> None:
        for shard, group in self._route(ids):
            for piece in self._pieces(len(group)):
                shard.delete(ids=group[piece])
