"""The lexical side of retrieval: a BM25 index over the stored chunks (bm25s tokens, English stemming).

The index is a list of immutable segments (`qa.index.bm25_segments`), saved beside the Chroma store and
memory-mapped when opened, plus the rows removed since they were written (tombstones). Scores are
computed at query time with the statistics of the live rows of every segment (their number, mean
length, each term's document frequency), with bm25s's formula ("lucene": k1 = 1.5, b = 0.75) and
float arithmetic, so an index of several segments ranks as one bm25s index built over the same chunks,
and an index updated in place ranks as one rebuilt. Ties are broken by chunk ID.

So the build streams (one segment in memory at a time), opening costs nothing per chunk, and adding
chunks writes one more segment (`updated`): `qa.index.store` rebuilds only when no index is saved or the
catalog cannot say what changed, never at every start.
"""

from __future__ import annotations

import json
import math
import operator
import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from functools import cached_property
from pathlib import Path
from typing import Any, SupportsIndex, overload

import bm25s
import numpy as np

from qa.index.bm25_segments import _STEMMER, SEGMENT_ROWS, Segment, build_segments, id_hashes, merge

K1, B = 1.5, 0.75  # bm25s's defaults, which the index was always built with
FORMAT = 2
MANIFEST = "manifest.json"
CACHE_POSTINGS = 12_000_000  # scored postings kept between queries (4 bytes each): the common terms'
MERGE_SEGMENTS = 8  # more small segments than this (from updates) are merged into one


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stemmed word tokens without English stop words (as the index sees them)."""
    out: list[list[str]] = bm25s.tokenize(list(texts), stemmer=_STEMMER, return_ids=False, show_progress=False)
    return out


class _Ids(Sequence[str]):
    """The chunk ID of every row, over all segments (removed rows included: rows never move)."""

    def __init__(self, segments: list[Segment], starts: list[int]) -> None:
        self.segments, self.starts = segments, starts

    def __len__(self) -> int:
        return int(self.starts[-1] + self.segments[-1].rows) if self.segments else 0

    @overload
    def __getitem__(self, row: SupportsIndex) -> str: ...
    @overload
    def __getitem__(self, row: slice) -> list[str]: ...
    def __getitem__(self, row: SupportsIndex | slice) -> str | list[str]:
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        row = operator.index(row)
        row += len(self) if row < 0 else 0
        if not 0 <= row < len(self):
            raise IndexError(row)
        s = int(np.searchsorted(self.starts, row, side="right")) - 1
        return self.segments[s].ids[row - self.starts[s]]


class _Positions(Mapping[str, int]):
    """The row of each live chunk ID (binary search in each segment's sorted IDs, newest segment first)."""

    def __init__(self, index: BM25Index) -> None:
        self.index = index

    def __getitem__(self, chunk_id: str) -> int:
        row = int(self.index.rows_of_ids([chunk_id])[0])
        if row < 0:
            raise KeyError(chunk_id)
        return row

    def __iter__(self) -> Iterator[str]:
        return (self.index.ids[r] for r in np.flatnonzero(~self.index.dead))

    def __len__(self) -> int:
        return self.index.live


class BM25Index:
    """BM25 over chunks, addressed by chunk ID, with each chunk's doc key and year-month for filtering."""

    def __init__(self, segments: list[Segment], dead: np.ndarray | None = None, generation: int = -1,
                 journal: int = 0) -> None:
        self.segments = segments
        self.starts = [0, *np.cumsum([s.rows for s in segments]).tolist()][: len(segments)]
        rows = sum(s.rows for s in segments)
        self.dead = np.zeros(rows, dtype=bool) if dead is None else np.asarray(dead, dtype=bool)
        self.generation, self.journal = generation, journal  # what the index was built from (see qa.index.store)
        self.ids = _Ids(segments, self.starts)
        self.months = np.concatenate([s.months for s in segments]) if segments else np.zeros(0, np.int32)
        self.live = rows - int(self.dead.sum())
        lengths = sum(int(s.doc_len[~self.dead[a : a + s.rows]].sum(dtype=np.int64))
                      for s, a in zip(segments, self.starts, strict=True))
        self.avgdl = lengths / self.live if self.live else 1.0
        self._dead_rows = np.flatnonzero(self.dead)
        self._dead_in = [bool(self.dead[a : a + s.rows].any()) for s, a in zip(segments, self.starts, strict=True)]
        self._term_cache: dict[str, list[tuple[int, int]]] = {}
        self._df_cache: dict[str, int] = {}
        self._norms: dict[int, np.ndarray] = {}  # per segment: each row's length normalisation (see _norm)
        self._scored: OrderedDict[str, list[tuple[int, np.ndarray, np.ndarray]]] = OrderedDict()  # least recent first
        self._scored_size = 0
        self._scored_lock = threading.Lock()

    # --- building and storing ---
    @classmethod
    def build(cls, ids: list[str], texts: list[str], doc_keys: list[str], months: list[int]) -> BM25Index:
        return cls.stream([(ids, texts, doc_keys, months)])

    @classmethod
    def stream(cls, pages: Iterable[tuple[list[str], list[str], list[str], list[int]]],
               folder: Path | None = None, generation: int = -1, journal: int = 0,
               segment_rows: int | None = None) -> BM25Index:
        """The index of pages of (ids, texts, doc keys, year-months); with `folder`, each segment is written
        there as soon as it is full and then memory-mapped, so memory holds one segment at a time."""
        segments = []
        for segment in build_segments(pages, segment_rows):
            if folder is not None:
                segment = _store_segment(folder, segment)
            segments.append(segment)
        return cls(segments, generation=generation, journal=journal)

    def updated(self, gone_keys: Iterable[str], added: BM25Index) -> BM25Index:
        """This index without the rows of `gone_keys` (and of the chunk IDs `added` has), plus `added`'s rows."""
        dead = self.dead.copy()
        for key in gone_keys:
            dead[self.rows_of_key(key)] = True
        rows = self.rows_of_ids(list(added.ids))
        dead[rows[rows >= 0]] = True
        segments = [*self.segments, *added.segments]
        index = BM25Index(segments, np.concatenate([dead, added.dead]), added.generation, added.journal)
        return index.compacted()

    def compacted(self) -> BM25Index:
        """This index with its trailing small segments merged into one once there are more than MERGE_SEGMENTS.

        Each update appends a small segment; merging them keeps the segments a query visits few, and
        drops their removed rows. Rows move, so the result is a new index (same rankings).
        """
        small = 0
        while small < len(self.segments) and self.segments[-1 - small].rows < SEGMENT_ROWS // 2:
            small += 1
        if small <= MERGE_SEGMENTS:
            return self
        first = len(self.segments) - small
        parts = [(seg, self.dead[a : a + seg.rows]) for seg, a in zip(self.segments[first:], self.starts[first:],
                                                                      strict=True)]
        merged = merge(parts)
        return BM25Index([*self.segments[:first], merged],
                         np.concatenate([self.dead[: self.starts[first]], np.zeros(merged.rows, dtype=bool)]),
                         self.generation, self.journal)

    def save(self, folder: Path, generation: int) -> None:
        """Write what is not on disk yet and then the manifest (its presence means the index is whole)."""
        folder.mkdir(parents=True, exist_ok=True)
        for i, segment in enumerate(self.segments):
            if not segment.name or not (folder / segment.name).is_dir():
                self.segments[i] = _store_segment(folder, segment)
        dead = f"dead-{uuid.uuid4().hex[:12]}.npy"
        np.save(folder / dead, self.dead)
        old = _read_manifest(folder)
        manifest: dict[str, Any] = {"format": FORMAT, "generation": generation, "journal": self.journal,
                    "segments": [s.name for s in self.segments], "dead": dead, "live": self.live}
        tmp = folder / f"{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest))
        tmp.replace(folder / MANIFEST)
        self.generation = generation
        if old:  # what only the previous manifest named (a reader that has it mapped keeps its pages)
            keep = {*manifest["segments"], dead}
            for name in [*old.get("segments", []), old.get("dead", "")]:
                if name and name not in keep:
                    shutil.rmtree(folder / name, ignore_errors=True) if (folder / name).is_dir() else \
                        (folder / name).unlink(missing_ok=True)

    @classmethod
    def load(cls, folder: Path, generation: int | None = None) -> BM25Index | None:
        """The saved index if it was built from `generation` (None: whatever generation), else None."""
        meta = _read_manifest(folder)
        if meta is None or (generation is not None and meta["generation"] != generation):
            return None
        try:
            segments = [Segment.open(folder / name) for name in meta["segments"]]
            dead = np.load(folder / meta["dead"])
            return cls(segments, dead, int(meta["generation"]), int(meta["journal"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @staticmethod
    def saved_ids(folder: Path) -> tuple[int, list[str]] | None:
        """The catalog generation and live chunk IDs of the index saved in `folder`, or None when there is none."""
        index = BM25Index.load(folder)
        return None if index is None else (index.generation, list(index.position))

    @staticmethod
    def saved_journal(folder: Path) -> int:
        """The catalog change journal entry the index saved in `folder` was built up to (0: none saved)."""
        meta = _read_manifest(folder)
        return int(meta["journal"]) if meta and isinstance(meta.get("journal"), int) else 0

    # --- looking up ---
    @cached_property
    def position(self) -> Mapping[str, int]:
        """The row of each live chunk ID in `ids` (and so in `doc_keys`, `months` and filter masks)."""
        return _Positions(self)

    @cached_property
    def doc_keys(self) -> np.ndarray:
        """The doc key of every row, as an array of str objects (built on first use: `key_mask` is cheaper)."""
        return np.array([k for s in self.segments for k in s.keys], dtype=object)

    @cached_property
    def alive(self) -> np.ndarray:
        """1.0 for a live row, 0.0 for a removed one."""
        return (~self.dead).astype(np.float32)

    def rows_of_ids(self, chunk_ids: list[str]) -> np.ndarray:
        """The live row of each chunk ID, or -1 (a vectorised search of each segment's sorted ID hashes).

        A hash found once in a segment is taken as its ID (two of a million IDs share a 64-bit hash with
        odds of about 1 in 10^7); a hash found twice is told apart by the IDs themselves.
        """
        wanted = id_hashes(chunk_ids)
        out = np.full(len(chunk_ids), -1, dtype=np.int64)
        order = np.argsort(wanted)  # sorted needles: each search walks the segment's hashes in order
        for s in reversed(range(len(self.segments))):  # the newest segment holds the newest row of an ID
            pending = order[out[order] < 0]
            if not len(pending):
                break
            seg, start, n = self.segments[s], self.starts[s], len(self.segments[s].id_hash)
            if not n:
                continue
            needles = wanted[pending]
            lo = np.searchsorted(seg.id_hash, needles)
            found = seg.id_hash[np.minimum(lo, n - 1)] == needles
            twice = found & (seg.id_hash[np.minimum(lo + 1, n - 1)] == needles) & (lo + 1 < n)
            once = found & ~twice
            rows = start + seg.id_hash_row[lo[once]].astype(np.int64)
            live = ~self.dead[rows]
            out[pending[once][live]] = rows[live]
            for j, at in zip(pending[twice].tolist(), lo[twice].tolist(), strict=True):
                while at < n and seg.id_hash[at] == wanted[j]:
                    row = int(seg.id_hash_row[at])
                    if not self.dead[start + row] and seg.ids[row] == chunk_ids[j]:
                        out[j] = start + row
                        break
                    at += 1
        return out

    def rows_of_key(self, doc_key: str) -> np.ndarray:
        """The rows (live or not) of a paper's chunks."""
        parts = [a + s.keys.rows_of(doc_key, s.key_order) for s, a in zip(self.segments, self.starts, strict=True)]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def key_mask(self, doc_keys: Iterable[str]) -> np.ndarray:
        """True for the rows of the papers `doc_keys`."""
        mask = np.zeros(len(self.dead), dtype=bool)
        for key in doc_keys:
            mask[self.rows_of_key(key)] = True
        return mask

    def _terms(self, token: str) -> list[tuple[int, int]]:
        """(segment, term) of `token` in each segment that has it."""
        found = self._term_cache.get(token)
        if found is None:
            if len(self._term_cache) > 200_000:
                self._term_cache.clear()
            found = [(s, t) for s, seg in enumerate(self.segments) if (t := seg.term(token)) >= 0]
            self._term_cache[token] = found
        return found

    def _df(self, token: str) -> int:
        df = self._df_cache.get(token)
        if df is None:
            df = 0
            for s, t in self._terms(token):
                rows, _ = self.segments[s].postings(t)
                df += len(rows) - int(self.dead[self.starts[s] + rows].sum()) if self._dead_in[s] else len(rows)
            if len(self._df_cache) > 200_000:
                self._df_cache.clear()
            self._df_cache[token] = df
        return df

    def idf(self, token: str) -> float:
        """Inverse document frequency of a (stemmed) token; highest for a token no chunk has."""
        df = self._df(token)
        return math.log(1 + (self.live - df + 0.5) / (df + 0.5))

    # --- scoring ---
    def _token_scores(self, token: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(segment, rows, float32 scores) of `token`'s postings, as bm25s would have precomputed them."""
        cached = self._scored.get(token)
        if cached is not None:
            with suppress(KeyError):  # another thread may have just evicted it
                self._scored.move_to_end(token)
            return cached
        df = self._df(token)
        idf = np.float32(math.log(1 + (self.live - df + 0.5) / (df + 0.5))).astype(np.float64)
        out = []
        for s, t in self._terms(token):
            seg = self.segments[s]
            rows, tf = seg.postings(t)
            # tf / (norm + tf) * idf in float64 as bm25s computes it, into one buffer (no temporary arrays)
            tf32 = tf.astype(np.float32)
            tfc = self._norm(s).take(rows)
            np.add(tfc, tf32, out=tfc)
            np.divide(tf32, tfc, out=tfc)
            np.multiply(tfc, idf, out=tfc)
            out.append((s, rows, tfc.astype(np.float32)))
        size = sum(len(r) for _, r, _ in out)
        with self._scored_lock:  # the least recently used tokens make room (common words stay)
            while self._scored and self._scored_size + size > CACHE_POSTINGS:
                self._scored_size -= sum(len(r) for _, r, _ in self._scored.popitem(last=False)[1])
            if token not in self._scored and size <= CACHE_POSTINGS:
                self._scored[token] = out
                self._scored_size += size
        return out

    def _norm(self, s: int) -> np.ndarray:
        """K1 * (1 - B + B * length / average length) of each row of segment `s` (float64: 8 bytes a row)."""
        norm = self._norms.get(s)
        if norm is None:
            norm = self._norms[s] = K1 * ((1 - B) + B * self.segments[s].doc_len / np.float64(self.avgdl))
        return norm

    def scores(self, tokens: list[str]) -> np.ndarray:
        """The BM25 score of every row for a tokenized query (0 for removed rows)."""
        scores = np.zeros(len(self.dead), dtype=np.float32)
        for token in tokens:
            for s, rows, values in self._token_scores(token):
                # add.at: a third of the time of `view[rows] += values` (rows are unique: the same sums)
                np.add.at(scores[self.starts[s] : self.starts[s] + self.segments[s].rows], rows, values)
        scores[self._dead_rows] = 0
        return scores

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The `k` best (chunk ID, score) pairs with a positive score, among chunks `mask` allows."""
        tokens = tokenize([query])
        if not self.live or not tokens[0] or k <= 0:
            return []
        scores = self.scores(tokens[0])
        if mask is not None:
            scores *= mask
        hits = np.flatnonzero(scores > 0)
        if len(hits) > k:  # the k best, and whatever ties the k-th (ties are broken by chunk ID)
            values = scores[hits]
            hits = hits[values >= np.partition(values, len(hits) - k)[len(hits) - k]]
        best = sorted((-float(scores[r]), self.ids[int(r)]) for r in hits)[:k]
        return [(chunk_id, -neg) for neg, chunk_id in best]


def _store_segment(folder: Path, segment: Segment) -> Segment:
    """Write `segment` under a new name in `folder` and map it back (its arrays leave memory)."""
    name = f"seg-{uuid.uuid4().hex[:12]}"
    segment.save(folder / name)
    return Segment.open(folder / name)


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        meta: Any = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("format") == FORMAT else None
