"""Store health (`arxiv-qa check [--repair]`): do the catalog, the vector store and the BM25 index agree?

The catalog is the record of what the store holds. Every chunk it lists must have a readable vector
in the vector store, the vector store must hold no vector it does not list, every paper must have
chunks, and a saved BM25 index built for the current catalog generation must index exactly the
listed chunks (an index saved for an older generation is rebuilt at the next question anyway).

Checking holds the store's write lock, so the batch of an ingest in flight is never mistaken for
orphans. Repairing holds it for the whole repair: vectors the catalog does not know are deleted, the
papers whose vectors are missing or unreadable are embedded again, and the BM25 index is rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from qa.index.writer import Writer

EXAMPLES = 10  # IDs shown of each kind of disagreement
PROBE_PAGE = 1000  # vectors read per call while checking that they are readable


@dataclass
class Health:
    """How far the catalog, the vector store and the BM25 index agree."""

    papers: int = 0
    chunks: int = 0  # listed by the catalog
    vectors: int = 0  # held by the vector store
    missing: list[str] = field(default_factory=list)  # listed, without a readable vector
    orphans: list[str] = field(default_factory=list)  # held, not listed
    unchunked: list[str] = field(default_factory=list)  # papers with no chunk at all
    bm25: str = ""
    bm25_ok: bool = True
    interrupted: bool = False  # the last writer did not finish
    repaired: dict[str, int] | None = None

    @property
    def healthy(self) -> bool:
        return not (self.missing or self.orphans or self.unchunked) and self.bm25_ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy, "papers": self.papers, "chunks": self.chunks, "vectors": self.vectors,
            "missing": len(self.missing), "orphans": len(self.orphans), "papers_without_chunks": len(self.unchunked),
            "bm25": self.bm25, "bm25_ok": self.bm25_ok, "interrupted": self.interrupted,
            "examples": {"missing": self.missing[:EXAMPLES], "orphans": self.orphans[:EXAMPLES],
                         "papers_without_chunks": self.unchunked[:EXAMPLES]},
            "repaired": self.repaired,
        }


def check_store(store: Writer, repair: bool = False) -> Health:
    """The store's health; with `repair`, first make its parts agree (`StoreError` if it is read-only)."""
    if repair:
        with store.writing():
            return _repair(store)
    if store.read_only:  # nobody can be writing it
        return _check(store)
    with store.locked():
        return _check(store)


def _check(store: Writer) -> Health:
    listed: dict[str, list[str]] = dict(store.chunk_ids_by_paper())
    known = {i for ids in listed.values() for i in ids}
    held = set(store.vector_ids())
    health = Health(papers=len(listed), chunks=len(known), vectors=len(held), interrupted=store.interrupted)
    health.orphans = sorted(held - known)
    present = sorted(known & held)
    pages = (present[i : i + PROBE_PAGE] for i in range(0, len(present), PROBE_PAGE))
    unreadable = set().union(*map(store.unreadable, pages))
    health.missing = sorted((known - held) | unreadable)
    health.unchunked = sorted(key for key, ids in listed.items() if not ids)
    health.bm25, health.bm25_ok = _bm25_state(store, known)
    return health


def _bm25_state(store: Writer, known: set[str]) -> tuple[str, bool]:
    saved = store.saved_bm25_ids()
    if saved is None:
        return "not saved yet (built at the first question)", True
    generation, ids = saved
    if generation != store.generation():
        return "out of date (rebuilt at the next question)", True
    if len(ids) == len(known) and set(ids) == known:
        return f"{len(ids)} chunks, as the catalog", True
    extra, lacking = len(set(ids) - known), len(known - set(ids))
    return f"{len(ids)} chunks: {extra} not in the catalog, {lacking} of the catalog's missing", False


def _repair(store: Writer) -> Health:
    before = _check(store)
    broken = set(before.missing)
    owners = [key for key, ids in store.chunk_ids_by_paper() if not ids or broken.intersection(ids)]
    with store.batch():
        store.delete_vectors(before.orphans + sorted(broken & set(store.vector_ids())))
        store.changed()  # whatever changes, the BM25 index is rebuilt below
    embedded = sum(store.embed_again(group) for group in _groups(owners, store.settings.ingest_batch))
    store.rebuild_bm25()  # whatever the saved index says, built anew
    after = _check(store)
    after.interrupted = False  # what the last writer left was swept on taking the lock
    after.repaired = {"orphans_removed": len(before.orphans), "papers_embedded": len(owners),
                      "chunks_embedded": embedded, "bm25_rebuilt": 1}
    return after


def _groups(keys: list[str], size: int) -> Iterator[list[str]]:
    it = iter(keys)
    while group := list(islice(it, size)):
        yield group
