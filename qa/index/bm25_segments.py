"""The on-disk parts of the BM25 index: immutable segments of postings, built a page at a time.

A segment holds, for the chunks it covers (its rows), each stemmed term's postings (row, term
frequency), each row's token count, chunk ID, doc key and year-month. It stores no scores: BM25
scores depend on corpus-wide figures (the number of chunks, their mean length, each term's document
frequency) that change whenever chunks are added or removed, so `qa.index.bm25.BM25Index` computes them at
query time over all its segments, with the global figures, exactly as bm25s would over one index.

A segment is a folder of `.npy` arrays (strings as one UTF-8 byte array plus offsets) opened with
`numpy.load(mmap_mode="r")`: opening one reads nothing, and a query touches only its terms' postings.
`SegmentWriter` builds one from pages of chunks; its memory is bounded by the rows of one segment.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from itertools import chain
from pathlib import Path
from typing import overload

import bm25s
import numpy as np
import Stemmer

_STEMMER = Stemmer.Stemmer("english")
SEGMENT_ROWS = 100_000  # chunks per segment while building: the build's memory is that of one segment


class Strings(Sequence[str]):
    """A read-only list of strings kept as one UTF-8 byte array and offsets (no Python object per string)."""

    def __init__(self, blob: np.ndarray, ptr: np.ndarray) -> None:
        self.blob, self.ptr = blob, ptr

    @classmethod
    def of(cls, strings: Iterable[str]) -> Strings:
        encoded = [s.encode() for s in strings]
        ptr = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=ptr[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), ptr)

    def __len__(self) -> int:
        return len(self.ptr) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        return bytes(self.blob[self.ptr[i] : self.ptr[i + 1]]).decode()

    def find(self, value: str, order: np.ndarray | None = None) -> int:
        """The row of `value` in these strings when sorted (through `order`, if given), or -1."""
        rows: Sequence[int] = order if order is not None else range(len(self))  # type: ignore[assignment]
        at = bisect_left(rows, value, key=lambda r: self[int(r)])
        if at < len(rows) and self[int(rows[at])] == value:
            return int(rows[at])
        return -1

    def rows_of(self, value: str, order: np.ndarray) -> np.ndarray:
        """Every row holding `value`, given `order` sorting these strings."""
        lo = bisect_left(order, value, key=lambda r: self[int(r)])
        hi = lo
        while hi < len(order) and self[int(order[hi])] == value:
            hi += 1
        return np.asarray(order[lo:hi], dtype=np.int64)


@dataclass
class Segment:
    """The postings and per-row facts of some chunks (see the module docstring). Immutable once built."""

    terms: Strings  # sorted
    post_ptr: np.ndarray  # int64, len(terms) + 1: postings of term t are post_ptr[t]:post_ptr[t+1]
    post_row: np.ndarray  # int32, increasing within a term
    post_tf: np.ndarray  # uint16 or uint32
    doc_len: np.ndarray  # int32: tokens per row
    ids: Strings
    id_hash: np.ndarray  # uint64, sorted: the `id_hashes` of the chunk IDs
    id_hash_row: np.ndarray  # int32: the row of each of them
    keys: Strings
    key_order: np.ndarray  # rows sorted by doc key
    months: np.ndarray  # int32
    name: str = ""  # its folder, once saved

    @property
    def rows(self) -> int:
        return len(self.doc_len)

    def term(self, token: str) -> int:
        return self.terms.find(token)

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = int(self.post_ptr[term]), int(self.post_ptr[term + 1])
        return self.post_row[a:b], self.post_tf[a:b]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, value in self._arrays():
            np.save(folder / f"{name}.npy", value)

    @classmethod
    def open(cls, folder: Path) -> Segment:
        def arr(name: str) -> np.ndarray:
            # Mapped, not read; held as a plain array over the mapping: slicing a np.memmap costs ~3 us of
            # Python per slice, and a question over a million-paper store takes thousands of slices.
            return np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r"))

        def strings(name: str) -> Strings:
            return Strings(arr(f"{name}.blob"), arr(f"{name}.ptr"))

        return cls(strings("terms"), arr("post_ptr"), arr("post_row"), arr("post_tf"), arr("doc_len"),
                   strings("ids"), arr("id_hash"), arr("id_hash_row"), strings("keys"), arr("key_order"),
                   arr("months"), folder.name)

    def _arrays(self) -> Iterator[tuple[str, np.ndarray]]:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Strings):
                yield f"{f.name}.blob", value.blob
                yield f"{f.name}.ptr", value.ptr
            elif isinstance(value, np.ndarray):
                yield f.name, value


class SegmentWriter:
    """Builds a Segment from pages of chunks; holds the (term, row, frequency) triples of its rows only."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.lens: list[np.ndarray] = []
        self.ids: list[str] = []
        self.keys: list[str] = []
        self.months: list[int] = []

    @property
    def rows(self) -> int:
        return len(self.ids)

    def add(self, ids: list[str], texts: list[str], keys: list[str], months: list[int]) -> None:
        """Append a page of chunks (their IDs, texts, doc keys and year-months) as the next rows."""
        if not ids:
            return
        tokenized = bm25s.tokenize(texts, stemmer=_STEMMER, return_ids=True, show_progress=False)
        remap = np.empty(max(tokenized.vocab.values(), default=-1) + 1, dtype=np.int64)
        for token, page_id in tokenized.vocab.items():
            remap[page_id] = self.vocab.setdefault(token, len(self.vocab))
        lens = np.fromiter(map(len, tokenized.ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(chain.from_iterable(tokenized.ids), dtype=np.int64, count=int(lens.sum()))
        rows = np.repeat(np.arange(self.rows, self.rows + len(ids), dtype=np.int64), lens)
        pairs, tf = np.unique((remap[flat] << 32) | rows, return_counts=True)  # sorted by term, then row
        self.parts.append(((pairs >> 32).astype(np.int32), (pairs & 0xFFFFFFFF).astype(np.int32),
                           tf.astype(np.uint32)))
        self.lens.append(lens.astype(np.int32))
        self.ids += ids
        self.keys += keys
        self.months += months

    def finish(self) -> Segment:
        """The segment of every row added (the writer is spent)."""
        words = sorted(self.vocab, key=self.vocab.__getitem__)
        order = sorted(range(len(words)), key=words.__getitem__)
        rank = np.empty(len(words), dtype=np.int32)
        rank[order] = np.arange(len(words), dtype=np.int32)
        term = rank[np.concatenate([p[0] for p in self.parts])] if self.parts else np.zeros(0, np.int32)
        rows = np.concatenate([p[1] for p in self.parts]) if self.parts else np.zeros(0, np.int32)
        tf = np.concatenate([p[2] for p in self.parts]) if self.parts else np.zeros(0, np.uint32)
        self.parts.clear()
        by_term = np.argsort(term, kind="stable")  # rows stay increasing within a term
        post_ptr = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term, minlength=len(words)), out=post_ptr[1:])
        del term
        rows, tf = rows[by_term], tf[by_term]
        del by_term
        small = tf.max(initial=0) < 2**16
        return Segment(
            Strings.of(words[i] for i in order), post_ptr, rows, tf.astype(np.uint16) if small else tf,
            np.concatenate(self.lens) if self.lens else np.zeros(0, np.int32),
            Strings.of(self.ids), *_hashed(self.ids), Strings.of(self.keys), _order(self.keys),
            np.array(self.months, dtype=np.int32))


def id_hashes(ids: Iterable[str]) -> np.ndarray:
    """A 64-bit hash of each chunk ID: looking IDs up is a vectorised search of sorted hashes."""
    return np.fromiter((int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest(), "little") for i in ids),
                       dtype=np.uint64)


def _hashed(ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    hashes = id_hashes(ids)
    order = np.argsort(hashes, kind="stable")
    return hashes[order], order.astype(np.int32)


def _order(strings: list[str]) -> np.ndarray:
    return np.array(sorted(range(len(strings)), key=strings.__getitem__), dtype=np.int32)


def build_segments(pages: Iterable[tuple[list[str], list[str], list[str], list[int]]],
                   rows: int | None = None) -> Iterator[Segment]:
    """Segments of at most about `rows` chunks from pages of (ids, texts, doc keys, year-months), one at a time."""
    rows = rows or SEGMENT_ROWS
    writer = SegmentWriter()
    for page in pages:
        writer.add(*page)
        if writer.rows >= rows:
            yield writer.finish()
            writer = SegmentWriter()
    if writer.rows:
        yield writer.finish()


def merge(parts: list[tuple[Segment, np.ndarray]]) -> Segment:
    """One segment of the live rows of `parts` (each a segment and its removed-rows mask), in their order.

    For the small segments updates leave behind: it holds all their postings in memory at once.
    """
    words = sorted({w for seg, _ in parts for w in seg.terms})
    number = {w: i for i, w in enumerate(words)}
    terms, rows, tfs, lens, ids, keys, months = [], [], [], [], [], [], []
    start = 0
    for seg, dead in parts:
        live = ~np.asarray(dead, dtype=bool)
        renumber = np.cumsum(live) - 1 + start
        term_of = np.repeat(np.array([number[w] for w in seg.terms], dtype=np.int32), np.diff(seg.post_ptr))
        keep = live[seg.post_row]
        terms.append(term_of[keep])
        rows.append(renumber[seg.post_row[keep]].astype(np.int32))
        tfs.append(np.asarray(seg.post_tf[keep], dtype=np.uint32))
        kept = np.flatnonzero(live)
        lens.append(np.asarray(seg.doc_len[kept], dtype=np.int32))
        months.append(np.asarray(seg.months[kept], dtype=np.int32))
        ids += [seg.ids[int(r)] for r in kept]
        keys += [seg.keys[int(r)] for r in kept]
        start += len(kept)
    term = np.concatenate(terms)
    by_term = np.argsort(term, kind="stable")  # segments in order, rows increasing in each: rows stay sorted
    post_ptr = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum(np.bincount(term, minlength=len(words)), out=post_ptr[1:])
    tf = np.concatenate(tfs)[by_term]
    return Segment(Strings.of(words), post_ptr, np.concatenate(rows)[by_term],
                   tf.astype(np.uint16) if tf.max(initial=0) < 2**16 else tf, np.concatenate(lens),
                   Strings.of(ids), *_hashed(ids), Strings.of(keys), _order(keys), np.concatenate(months))
