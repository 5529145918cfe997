"""A memory-mapped copy of what answering reads from Chroma, for a large embedded store: one part per BM25 segment.

Any first call to an embedded Chroma collection reads its whole HNSW index into memory: at 2 M chunks
that is over 3 GiB and about 5 s before a new process can answer (eval/bench/BENCHMARKS.md). This view
holds what answering needs from Chroma in files that are memory-mapped instead: opening it reads
nothing, and a question touches only the pages it visits. For each BM25 segment
(`qa.index.bm25_segments`), under `<store>/dense/<segment name>/`:

    vectors.npy   each row's unit vector, float16 (a zero row where the vector store had none)
    has.npy       which rows have a vector
    records.npy, records_ptr.npy   each row's chunk (text and metadata, JSON), as Chroma returns it
    graph.i8.usearch  an HNSW graph over the vectors (usearch, int8), keyed by the part's tag (24 bits of
                  a hash of its name) and the row in the segment

A search without a filter asks every segment's graph at once, in one call that leaves Python's lock
(usearch's `Indexes`), for the nearest candidates; it ranks them by their float16 vectors (cosine within
about 1e-3 of the float32 one). With a filter each segment is asked on its own, and one where few rows
are allowed (a narrow filter, removed rows) is searched exactly. Ties go to the smaller chunk ID, as in
`qa.index.store`'s exact search.

The view is derived data, like the BM25 index: a segment's part is built once from the vector store,
when the segment is first searched (`DenseView.open`), and never changes, since a segment never does;
the parts of segments the BM25 index no longer names are removed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

from qa.index.bm25 import BM25Index
from qa.index.bm25_segments import Segment, Strings
from qa.papers import Chunk

# The graph: as many links per vector and as wide a search while building as Chroma's own (M 16, ef 100); a
# search twice as wide as Chroma's, which its int8 vectors need to find as many of the nearest (recall@10 0.98
# against Chroma's 0.97 on 24k synthetic chunks, eval/scale.py; 0.96 at 100).
CONNECTIVITY = 16
EXPANSION_ADD = 100
EXPANSION_SEARCH = 200
# A segment is searched exactly (every allowed row scored) when it allows at most this many rows.
EXACT_ROWS = 4_096
# Candidates asked of a segment's graph: OVERSAMPLE times what the allowed share of its rows needs, and
# at least MIN_CANDIDATES; beyond MAX_CANDIDATES the allowed rows are scored exactly instead.
OVERSAMPLE = 2
MIN_CANDIDATES = 40
MAX_CANDIDATES = 2_000
SEARCH_THREADS = 4  # threads of one search, at most (and no more than the CPUs)
GRAPH = "graph.i8.usearch"
OLD_GRAPH = "graph.usearch"  # keyed by row alone, before the tags: such a part is built again
ROW_BITS = 40  # a graph's key: the part's tag above the row in the segment
ROW_MASK = (1 << ROW_BITS) - 1
# A part's first rows are linked on one thread, so a part this small is built the same every time (several threads
# inserting into a graph of a few dozen vectors left some poorly linked: 64 of 600 searches of a 57-vector graph
# missed a true neighbour, none on one thread); the rest are added on every core.
SERIAL_ROWS = 20_000
READ_ROWS = 5_000  # chunks read from the vector store per call while building
TEXT = "text"  # the key of a record's text
STALE_BUILD_S = 86_400  # a part being built this long ago was left by a process that stopped: removed

# Reads chunks from the vector store by ID: those it found, and their vectors as the rows of one array.
Fetch = Callable[[list[str]], tuple[list[Chunk], np.ndarray]]


def _threads() -> int:
    return max(1, min(SEARCH_THREADS, os.cpu_count() or 1))


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_threads(), thread_name_prefix="arxiv-qa-dense")


def tag_of(name: str) -> int:
    """A part's tag in its graph's keys: 24 bits of a hash of its segment's name."""
    return zlib.crc32(name.encode()) & 0xFFFFFF


class DensePart:
    """The vectors and graph of one BM25 segment's rows, memory-mapped."""

    def __init__(self, folder: Path) -> None:
        from usearch.index import Index

        self.vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        self.has = np.load(folder / "has.npy")  # a byte per row: kept in memory
        self.records = Strings(np.load(folder / "records.npy", mmap_mode="r"),
                               np.load(folder / "records_ptr.npy", mmap_mode="r"))
        if (folder / OLD_GRAPH).exists():
            raise ValueError(f"{folder.name}: a graph keyed by row alone (an older view)")
        self.tag = tag_of(folder.name)
        self.graph = Index.restore(str(folder / GRAPH), view=True) if (folder / GRAPH).exists() else None
        if self.graph is not None:
            self.graph.expansion_search = EXPANSION_SEARCH  # type: ignore[misc]  # not kept in the file
        # A part without a graph (a few thousand rows an ingest added) is scored whole at each search: in memory.
        self.small = np.asarray(self.vectors, dtype=np.float32) if self.graph is None else None

    @staticmethod
    def built(folder: Path) -> bool:
        """Is the part in `folder` complete? (A build moves its folder in whole, `has.npy` included.)"""
        return (folder / "has.npy").exists()

    @staticmethod
    def build(folder: Path, segment: Segment, fetch: Fetch, dim: int | None = None) -> None:
        """Write the part of `segment` into `folder` (whole or not at all), its vectors read through `fetch`."""
        from usearch.index import Index

        ids = segment.ids
        vectors: np.ndarray | None = None
        has = np.zeros(segment.rows, dtype=bool)
        records = [""] * segment.rows
        for start in range(0, segment.rows, READ_ROWS):
            wanted = ids[start : min(start + READ_ROWS, segment.rows)]
            found, matrix = fetch(wanted)
            place = {chunk_id: start + i for i, chunk_id in enumerate(wanted)}
            for chunk in found:
                records[place[chunk.chunk_id]] = json.dumps({**chunk.metadata(), TEXT: chunk.text})
            if vectors is None and len(found) and matrix.size:
                vectors = np.zeros((segment.rows, matrix.shape[1]), dtype=np.float16)
            if vectors is None or not matrix.size:
                continue
            rows = np.array([place[c.chunk_id] for c in found], dtype=np.int64)
            unit = np.asarray(matrix, dtype=np.float32)
            norms = np.linalg.norm(unit, axis=1)
            ok = norms > 0
            vectors[rows[ok]] = unit[ok] / norms[ok, None]
            has[rows[ok]] = True
        if vectors is None:
            vectors = np.zeros((segment.rows, dim or 1), dtype=np.float16)
        text = Strings.of(records)
        tmp = folder.with_name(f"{folder.name}.tmp-{uuid.uuid4().hex[:8]}")
        tmp.mkdir(parents=True)
        try:
            np.save(tmp / "vectors.npy", vectors)
            np.save(tmp / "has.npy", has)
            np.save(tmp / "records.npy", text.blob)
            np.save(tmp / "records_ptr.npy", text.ptr)
            keys = np.flatnonzero(has)
            if len(keys) > EXACT_ROWS:  # a smaller part is always searched exactly
                graph = Index(ndim=vectors.shape[1], metric="cos", dtype="i8", connectivity=CONNECTIVITY,
                              expansion_add=EXPANSION_ADD, expansion_search=EXPANSION_SEARCH)
                tagged = keys.astype(np.uint64) | np.uint64(tag_of(folder.name) << ROW_BITS)
                graph.add(tagged[:SERIAL_ROWS], vectors[keys[:SERIAL_ROWS]].astype(np.float32), threads=1)
                if len(keys) > SERIAL_ROWS:
                    graph.add(tagged[SERIAL_ROWS:], vectors[keys[SERIAL_ROWS:]].astype(np.float32))
                graph.save(str(tmp / GRAPH))
            shutil.rmtree(folder, ignore_errors=True)  # a part left incomplete (it has no has.npy)
            try:
                tmp.replace(folder)
            except OSError:
                if not DensePart.built(folder):
                    raise  # else another process built the same part first: its copy is as good
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows (in this segment) of the `k` allowed rows nearest to the unit vector `query` (and any tying the
        k-th), with their cosine similarities; `allowed` marks the rows a search may return."""
        allowed = allowed & self.has
        count = int(allowed.sum())
        if k <= 0 or not count:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        wanted = max(MIN_CANDIDATES, math.ceil(OVERSAMPLE * k * len(allowed) / count))
        rows = None
        if self.graph is not None and count > EXACT_ROWS and wanted <= MAX_CANDIDATES:
            found = (self.graph.search(query, min(wanted, len(self.graph)), threads=1).keys & ROW_MASK).astype(np.int64)
            found = found[allowed[found]]
            if len(found) >= k:
                rows = found
        if rows is None:  # few rows allowed, or too few of them among the graph's candidates: all of them
            rows = np.flatnonzero(allowed)
        rows = np.sort(rows)
        return self.best(rows, self.similarity(rows, query), k)

    def similarity(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """The cosine similarity of each of `rows` (sorted) to the unit vector `query`.

        Not through BLAS: its threads spin on the cores after each small product, and the graph searches
        running next (on those cores) took twice as long (5.4 -> 12.3 ms at 2 M chunks on 2 cores)."""
        matrix = self.small[rows] if self.small is not None else np.asarray(self.vectors[rows], dtype=np.float32)
        return np.einsum("ij,j->i", matrix, query)  # type: ignore[no-any-return]

    @staticmethod
    def best(rows: np.ndarray, similarity: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The `k` rows of highest similarity and whatever ties the k-th, with their similarities."""
        if len(rows) > k:  # the k best and whatever ties the k-th (the caller breaks ties by chunk ID)
            keep = similarity >= similarity[np.argpartition(similarity, len(rows) - k)[len(rows) - k]]
            rows, similarity = rows[keep], similarity[keep]
        return rows, similarity


class DenseView:
    """The dense parts of every segment of a BM25 index, searched together (see the module docstring)."""

    def __init__(self, index: BM25Index, parts: list[DensePart]) -> None:
        from usearch.index import Indexes

        self.index, self.parts = index, parts
        graphs = [i for i, p in enumerate(parts) if p.graph is not None]
        self.by_tag = {parts[i].tag: i for i in graphs}
        self.graph_rows = sum(self.index.segments[i].rows for i in graphs)
        # Every graph searched in one call; not when two parts' tags collide (then each is asked on its own).
        linked = [g for i in graphs if (g := parts[i].graph) is not None]
        self.graphs = Indexes(linked) if linked and len(self.by_tag) == len(linked) else None

    @classmethod
    def open(cls, folder: Path, index: BM25Index, fetch: Fetch | None) -> DenseView | None:
        """The view of `index`'s segments saved in `folder`; the parts missing are built through `fetch` (None: a
        read-only store, so no view unless every part is there). Parts of other segments are removed."""
        names = [s.name for s in index.segments]
        if not all(names):  # an index held in memory only has no view
            return None
        parts = []
        for name, segment in zip(names, index.segments, strict=True):
            part = folder / name
            try:
                parts.append(DensePart(part))
                continue
            except (OSError, ValueError, RuntimeError):  # not built yet, or damaged: built (again)
                if fetch is None:
                    return None
            shutil.rmtree(part, ignore_errors=True)
            DensePart.build(part, segment, fetch)
            parts.append(DensePart(part))
        if fetch is not None:
            _remove_others(folder, names)
        return cls(index, parts)

    @staticmethod
    def complete(folder: Path, index: BM25Index, fetch: Fetch) -> None:
        """Build the parts of `index`'s segments that `folder` lacks and remove the parts of other segments,
        without opening the parts there (a writer's catch-up: the readers open the view, and one built
        damaged is built again by the first reader that can read the vector store)."""
        names = [s.name for s in index.segments]
        if not all(names):
            return
        for name, segment in zip(names, index.segments, strict=True):
            if not DensePart.built(folder / name):
                shutil.rmtree(folder / name, ignore_errors=True)
                DensePart.build(folder / name, segment, fetch)
        _remove_others(folder, names)

    def search(self, vector: list[float], k: int, allowed: np.ndarray | None = None) -> list[tuple[str, float]]:
        """IDs and cosine similarities of the `k` nearest chunks to `vector` among the live ones `allowed` marks
        (in the BM25 index's row order; None: all live ones), best first, ties by chunk ID."""
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        if k <= 0 or not norm:
            return []
        query /= norm
        if allowed is None and self.graphs is not None:
            every = self._search_graphs(query, k)
            if every is not None:
                return every
        live = ~self.index.dead if allowed is None else ~self.index.dead & (np.asarray(allowed) != 0)

        def search(i: int) -> list[tuple[float, str]]:
            part, start, segment = self.parts[i], self.index.starts[i], self.index.segments[i]
            if part.vectors.shape[1] != len(query):
                return []
            rows, similarity = part.search(query, k, live[start : start + segment.rows])
            return [(-float(s), segment.ids[int(r)]) for r, s in zip(rows, similarity, strict=True)]

        # The parts side by side: the graph searches run outside the interpreter lock.
        hits = [h for part in _pool().map(search, range(len(self.parts))) for h in part]
        return [(chunk_id, -neg) for neg, chunk_id in sorted(hits)[:k]]

    def _search_graphs(self, query: np.ndarray, k: int) -> list[tuple[str, float]] | None:
        """The search of every live row: every graph in one call, the parts without one scored whole; None when
        too few live rows are among the graphs' candidates (a search part by part finds them)."""
        if any(p.vectors.shape[1] != len(query) for p in self.parts):
            return None
        starts, dead = self.index.starts, self.index.dead
        if not self.index.live:
            return None
        wanted = max(MIN_CANDIDATES, math.ceil(OVERSAMPLE * k * len(dead) / self.index.live))
        if wanted > MAX_CANDIDATES:
            return None
        keys = np.asarray(self.graphs.search(query, wanted, threads=_threads()).keys,  # type: ignore[union-attr]
                          dtype=np.uint64)
        hits: list[tuple[float, str]] = []
        found = 0
        for tag in np.unique(keys >> np.uint64(ROW_BITS)):
            i = self.by_tag.get(int(tag))
            if i is None:
                return None
            part, start, segment = self.parts[i], starts[i], self.index.segments[i]
            rows = np.sort((keys[(keys >> np.uint64(ROW_BITS)) == tag] & np.uint64(ROW_MASK)).astype(np.int64))
            rows = rows[part.has[rows] & ~dead[start + rows]]
            found += len(rows)
            rows, similarity = part.best(rows, part.similarity(rows, query), k)
            hits += [(-float(s), segment.ids[int(r)]) for r, s in zip(rows, similarity, strict=True)]
        if found < k:
            return None
        for part, start, segment in zip(self.parts, starts, self.index.segments, strict=True):
            if part.graph is None:
                rows, similarity = part.search(query, k, ~dead[start : start + segment.rows])
                hits += [(-float(s), segment.ids[int(r)]) for r, s in zip(rows, similarity, strict=True)]
        return [(chunk_id, -neg) for neg, chunk_id in sorted(hits)[:k]]

    def chunks(self, ids: list[str]) -> dict[str, Chunk]:
        """The live chunks among `ids`, by ID (IDs not in the index are left out)."""
        found = {}
        for chunk_id, row in zip(ids, self.index.rows_of_ids(ids), strict=True):
            if row < 0:
                continue
            s = int(np.searchsorted(self.index.starts, row, side="right")) - 1
            record = self.parts[s].records[int(row) - self.index.starts[s]]
            if record:
                meta = json.loads(record)
                found[chunk_id] = Chunk.from_metadata(chunk_id, str(meta.pop(TEXT, "")), meta)
        return found

    def vectors_of(self, rows: np.ndarray) -> np.ndarray:
        """The unit vectors of rows of the BM25 index (float32; a zero row where none is stored)."""
        out = []
        for r in np.asarray(rows, dtype=np.int64):
            s = int(np.searchsorted(self.index.starts, r, side="right")) - 1
            out.append(np.asarray(self.parts[s].vectors[r - self.index.starts[s]], dtype=np.float32))
        return np.array(out, dtype=np.float32).reshape(len(out), -1)


def _remove_others(folder: Path, names: list[str]) -> None:
    """Remove the parts in `folder` of segments not among `names` (but not one another process is building)."""
    if folder.is_dir():
        for old in folder.iterdir():
            building = ".tmp-" in old.name and time.time() - old.stat().st_mtime < STALE_BUILD_S
            if old.name not in names and not building:
                shutil.rmtree(old, ignore_errors=True)
