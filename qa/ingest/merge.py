"""Merging: the same paper seen in several files becomes one `Paper` with every source kept.

Records are matched by arXiv ID, else by their text: exactly after normalisation, or nearly (a
changed number, a fixed typo) through MinHash bands verified by a word-level similarity ratio.
A record with no ID takes the ID of the paper it matches; IDs are never guessed. Differing texts
are kept as variants; the primary text is the one of the earliest source. Texts are compared as
`cleaned` makes them (LaTeX made text); each variant keeps the text its earliest source gave.

`Merger` works on any `PaperIndex` (in memory here, SQLite in `qa.index.catalog`), so the rule is
written once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Protocol, TypeVar

import numpy as np

from qa.ingest import latex
from qa.papers import Paper, Source, Variant, normalize_text

T = TypeVar("T", date, int)
SIMILARITY = 0.9  # word-level ratio above which two texts are one paper's variants
_SHINGLE = 4
_BANDS, _ROWS = 8, 4
_PRIME = (1 << 61) - 1
_rng = np.random.default_rng(20250101)  # fixed: band keys are stored, so they must be stable
_A = _rng.integers(1, _PRIME, _BANDS * _ROWS, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, _BANDS * _ROWS, dtype=np.uint64)


@lru_cache(maxsize=4096)
def _band_keys(text: str) -> tuple[str, ...]:
    return tuple(_compute_band_keys(text))


def band_keys(text: str) -> list[str]:
    """Lookup keys of a text: its exact hash, and MinHash LSH bands over word 4-shingles.

    Remembered for the last few thousand texts: merging a record looks its keys up, and storing the
    paper it makes writes the same keys.
    """
    return list(_band_keys(text))


def _compute_band_keys(text: str) -> list[str]:
    words = normalize_text(text).split()
    keys = ["h:" + hashlib.sha256(" ".join(words).encode()).hexdigest()[:16]]
    shingles = {" ".join(words[i : i + _SHINGLE]) for i in range(max(1, len(words) - _SHINGLE + 1))}
    hashes = np.array(
        [int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little") >> 4 for s in shingles],
        dtype=np.uint64,
    )
    with np.errstate(over="ignore"):
        mins = ((hashes[:, None] * _A[None, :] + _B[None, :]) % np.uint64(_PRIME)).min(axis=0)
    for b in range(_BANDS):
        band = mins[b * _ROWS : (b + 1) * _ROWS].tobytes()
        keys.append(f"b{b}:" + hashlib.blake2b(band, digest_size=8).hexdigest())
    return keys


def similarity(a: str, b: str) -> float:
    """Word-level similarity of two texts in [0, 1] (1: equal after normalisation)."""
    wa, wb = normalize_text(a).split(), normalize_text(b).split()
    if wa == wb:
        return 1.0
    return SequenceMatcher(None, wa, wb, autojunk=False).ratio()


class PaperIndex(Protocol):
    """Where merged papers live while merging."""

    def by_id(self, arxiv_id: str) -> Paper | None: ...
    def candidates(self, keys: list[str], without_id: bool = False) -> list[Paper]: ...
    def put(self, paper: Paper, old_key: str | None) -> None: ...


def _best_match(paper: Paper, found: Iterable[Paper], need_no_id: bool) -> Paper | None:
    best, score = None, SIMILARITY
    for cand in found:
        if need_no_id and cand.arxiv_id:
            continue
        s = max(similarity(paper.abstract, v.text) for v in cand.variants)
        if s >= score:
            best, score = cand, s
    return best


def absorb(paper: Paper, record: Paper) -> Paper:
    """`paper` with `record` (one source, one text) merged in; the primary text is the earliest source's."""
    variants = [replace(v, sources=list(v.sources)) for v in paper.variants]
    _add_text(variants, record.abstract, record.abstract_raw, record.sources)
    return _rebuild(paper, variants, record)


def _add_text(variants: list[Variant], text: str, raw: str | None, sources: list[Source]) -> None:
    """`text` seen at `sources` added to `variants`: to the variant of the same text, else as a new one.

    Texts that differ only in their LaTeX are one variant, which keeps the original of its earliest source.
    """
    norm = normalize_text(text)
    same = next((v for v in variants if normalize_text(v.text) == norm), None)
    if same is None:
        variants.append(Variant(text, [], raw))
        same = variants[-1]
    elif sources and same.sources and min(sources) < same.sources[0]:
        same.raw = raw
    same.sources = sorted(set(same.sources) | set(sources))


def cleaned(paper: Paper) -> Paper:
    """`paper` with the LaTeX of its texts made text (`qa.ingest.latex.to_text`), the originals kept as `raw`.

    Works on a record as read (no variants) and on a merged paper, whose texts are cleaned again from
    their originals (variants that then differ only in their LaTeX become one). The doc key, taken from
    the original text, does not change. A text that would come out blank stays as it was.
    """
    title = latex.to_text(paper.title) if paper.title else paper.title
    if not paper.variants:
        text, raw = _clean(paper.abstract, paper.abstract_raw)
        return replace(paper, abstract=text, abstract_raw=raw, title=title)
    variants: list[Variant] = []
    for v in sorted(paper.variants, key=lambda v: v.sources[0] if v.sources else Source("", 0)):
        _add_text(variants, *_clean(v.text, v.raw), v.sources)
    return _rebuild(replace(paper, title=title), variants)


def _clean(text: str, raw: str | None) -> tuple[str, str | None]:
    """(cleaned text, original or None when they are the same) of a text whose original is `raw` or itself."""
    original = text if raw is None else raw
    clean = latex.to_text(original)
    if clean == original or not clean.strip():
        return original, None
    return clean, original


def _rebuild(paper: Paper, variants: list[Variant], record: Paper | None = None) -> Paper:
    variants = sorted((v for v in variants if v.sources), key=lambda v: v.sources[0])
    r = record or paper
    comments = [c for c in dict.fromkeys([paper.comments, r.comments]) if c]
    return replace(
        paper,
        abstract=variants[0].text,
        abstract_raw=variants[0].raw,
        arxiv_id=paper.arxiv_id or r.arxiv_id,
        title=paper.title or r.title,
        comments="; ".join(comments) or None,
        created=paper.created or r.created,
        categories=paper.categories or r.categories,
        authors=paper.authors or r.authors,
        updated=_latest(paper.updated, r.updated),
        versions=_latest(paper.versions, r.versions),
        doi=paper.doi or r.doi,
        journal_ref=paper.journal_ref or r.journal_ref,
        sources=sorted({s for v in variants for s in v.sources}),
        variants=variants,
    )


def _latest(a: T | None, b: T | None) -> T | None:
    """The later of two dates (or the larger of two version counts): a newer copy of a paper knows more."""
    return b if a is None else a if b is None else max(a, b)


def without_sources(paper: Paper, drop: Callable[[Variant, Source], bool]) -> Paper | None:
    """`paper` less the sources `drop` picks (per variant); None when nothing is left of it."""
    variants = [replace(v, sources=[s for s in v.sources if not drop(v, s)]) for v in paper.variants]
    if not any(v.sources for v in variants):
        return None
    return _rebuild(paper, variants)


def as_new(record: Paper) -> Paper:
    """A single-source record as a Paper of its own."""
    return replace(record, variants=[Variant(record.abstract, list(record.sources), record.abstract_raw)])


class Merger:
    """Adds records to an index one at a time, matching each to the paper it belongs to."""

    def __init__(self, index: PaperIndex) -> None:
        self.index = index

    def find(self, record: Paper) -> Paper | None:
        """The indexed paper `record` belongs to, if any."""
        if record.arxiv_id:
            hit = self.index.by_id(record.arxiv_id)
            if hit:
                return hit
        # By text: an ID-bearing record may only claim a paper that has no ID yet.
        found = self.index.candidates(band_keys(record.abstract), without_id=record.arxiv_id is not None)
        return _best_match(record, found, need_no_id=record.arxiv_id is not None)

    def add(self, record: Paper) -> Paper:
        """Merge one record in; returns the paper as it now stands."""
        match = self.find(record)
        merged = absorb(match, record) if match else as_new(record)
        if merged != match:  # a record seen before changes nothing: no write
            self.index.put(merged, match.doc_key if match else None)
        return merged


class MemoryIndex:
    """A `PaperIndex` in a dict, for merging a batch of files in memory."""

    def __init__(self) -> None:
        self.papers: dict[str, Paper] = {}
        self.keys: dict[str, set[str]] = {}

    def by_id(self, arxiv_id: str) -> Paper | None:
        return self.papers.get(f"arXiv:{arxiv_id}")

    def candidates(self, keys: list[str], without_id: bool = False) -> list[Paper]:
        hits = {k for key in keys for k in self.keys.get(key, ())}
        return [p for k in sorted(hits) if (p := self.papers.get(k)) is not None and not (without_id and p.arxiv_id)]

    def put(self, paper: Paper, old_key: str | None) -> None:
        if old_key:
            self.papers.pop(old_key, None)
        self.papers[paper.doc_key] = paper
        for v in paper.variants:
            for key in band_keys(v.text):
                self.keys.setdefault(key, set()).add(paper.doc_key)


def merge_papers(records: Iterable[Paper]) -> list[Paper]:
    """Merge records in memory; the papers sorted by doc key."""
    index = MemoryIndex()
    merger = Merger(index)
    for record in records:
        merger.add(record)
    return sorted(index.papers.values(), key=lambda p: p.doc_key)
