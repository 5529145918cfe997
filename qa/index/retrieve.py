"""Hybrid retrieval: BM25 and dense search fused by reciprocal rank, with filters from the question.

An arXiv ID in the question pins that paper; a month or year ("papers from January 2025") limits
the search to it; so do an arXiv category ("cs.CL papers about ...") and an author ("papers by
Junyang Lin on ..."). Every filter is a mask over the chunks that both BM25 and the dense search
take, so it narrows the search itself rather than its results.

At most `max_passages_per_paper` passages come from one paper, so one long
abstract cannot crowd out the rest.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from qa.index.store import Store
from qa.papers import LAST_MONTH, MONTH_RE, MONTHS, NEW_ID_PATTERN, OLD_ID_PATTERN, Chunk, doc_key_of
from qa.types import Filters, Passage

RRF_K = 60  # the usual reciprocal-rank-fusion constant
_PAPER_NOUNS = r"(?:papers?|works?|stud(?:y|ies)|articles?|abstracts?|publications?|preprints?|submissions?)"
_YEAR_RE = re.compile(  # "from 2024", "from the year 2024", "from early 2024", "dated 2024", "2024 papers"
    r"\b(?:(?:in|from|of|during|since|before|after|dated?)\s+(?:the\s+year\s+)?(?:(?:early|late|mid)[\s\-]+)?|year\s+)"
    r"(?P<year>(?:19|20)\d\d)\b"
    rf"|\b(?P<adj>(?:19|20)\d\d)(?:'s)?\s+(?:\w+\s+)?{_PAPER_NOUNS}\b", re.IGNORECASE)
_ARCHIVES = r"cs|math|stat|eess|econ|q-bio|q-fin|physics|astro-ph|cond-mat|nlin"
_CATEGORY_RE = re.compile(
    rf"(?<![\w./-])(?P<category>(?:{_ARCHIVES})\.[A-Za-z][A-Za-z\-]*"
    r"|hep-th|hep-ph|hep-ex|hep-lat|gr-qc|quant-ph|nucl-th|nucl-ex|math-ph)(?![\w/])")
_AUTHOR_NAME = r"[A-Z][\w'\-]*\.?(?:\s+[A-Z][\w'\-]*\.?){0,3}"
_AUTHOR_RE = re.compile(
    r"\b(?:(?:papers?|work|articles?|preprints?|abstracts?)\s+(?:(?:co-?)?authored\s+|written\s+)?"
    rf"|(?:co-?)?authored\s+|written\s+)by\s+(?P<name>{_AUTHOR_NAME})")
_ID_MENTION_RE = re.compile(rf"\b({NEW_ID_PATTERN})(?:v\d+)?\b|arXiv:\s*({OLD_ID_PATTERN})", re.IGNORECASE)


def with_dates(filters: Filters, month_from: int | None, month_to: int | None) -> Filters:
    """`filters` with an explicit date range (YYYYMM, inclusive) in place of any the question stated."""
    if month_from is None and month_to is None:
        return filters
    return replace(filters, month_from=month_from or 0, month_to=month_to or LAST_MONTH)


def with_controls(filters: Filters, months: tuple[int | None, int | None] = (None, None),
                  category: str | None = None, author: str | None = None) -> Filters:
    """`filters` with what a front-end's controls set: a date range, a category, an author (each in place
    of any the question stated)."""
    filters = with_dates(filters, *months)
    if category and category.strip():
        filters = replace(filters, categories=(category.strip(),))
    if author and author.strip():
        filters = replace(filters, authors=(author.strip(),))
    return filters


def parse_filters(question: str) -> Filters:
    """Filters stated in a question.

    >>> parse_filters("Which papers from January 2025 are about long context?")
    Filters(arxiv_ids=(), month_from=202501, month_to=202501, categories=(), authors=())
    >>> parse_filters("What does arXiv:2506.01939 find?").arxiv_ids
    ('2506.01939',)
    >>> f = parse_filters("cs.CL papers by Junyang Lin on embeddings")
    >>> f.categories, f.authors
    (('cs.CL',), ('Junyang Lin',))
    """
    ids = tuple(dict.fromkeys(m.group(1) or m.group(2) for m in _ID_MENTION_RE.finditer(question)))
    categories = tuple(dict.fromkeys(m["category"] for m in _CATEGORY_RE.finditer(question)))
    authors = tuple(dict.fromkeys(m["name"] for m in _AUTHOR_RE.finditer(question)))
    start, end = _months_named(question)
    return Filters(ids, start, end, categories, authors)


def _months_named(question: str) -> tuple[int | None, int | None]:
    """The range of months (YYYYMM) a question names: one month, or the months of a year."""
    m = MONTH_RE.search(question)
    if m:
        month = next(i for i, name in enumerate(MONTHS, 1) if name.startswith(m["month"][:3].lower()))
        ym = int(m["year"]) * 100 + month
        return ym, ym
    y = _YEAR_RE.search(question)
    if y:
        year = int(y["year"] or y["adj"])
        return year * 100 + 1, year * 100 + 12
    return None, None


@dataclass
class Retrieval:
    """What one search found, and how long each side took."""

    passages: list[Passage]
    filters: Filters
    timings: dict[str, float] = field(default_factory=dict)
    missing_ids: tuple[str, ...] = ()  # pinned IDs that are not in the store
    no_papers_in_months: bool = False  # the date filter leaves no paper of the store to search
    no_papers_matching: bool = False  # the category or author filter leaves no paper of the store to search


def _mask(store: Store, filters: Filters, pinned_keys: list[str], among: list[str] | None) -> np.ndarray | None:
    """1 for the chunks the filters allow, 0 for the others (None: no filter)."""
    return store.mask(pinned_keys, filters.month_from, filters.month_to, among)


def fuse(rankings: list[list[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal-rank fusion of several ranked ID lists."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank + 1)
    return scores


# The dense legs of searches in flight (threads start on first use; a server answers a few questions at once).
_DENSE_THREADS = ThreadPoolExecutor(4, thread_name_prefix="arxiv-qa-dense")


class Retriever:
    """Searches one store; `method` is `hybrid` (default), `bm25` or `dense`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.settings = store.settings

    def pinned_keys(self, filters: Filters) -> tuple[list[str], tuple[str, ...]]:
        """Doc keys of the pinned IDs that are stored, and the pinned IDs that are not."""
        keys, missing = [], []
        for arxiv_id in filters.arxiv_ids:
            paper = self.store.by_id(arxiv_id)
            if paper:
                keys.append(paper.doc_key)
            else:
                missing.append(arxiv_id)
        return keys, tuple(missing)

    def any_in_months(self, filters: Filters) -> bool:
        """Does any chunk of the store fall in the filters' date range? (True without one.)"""
        mask = self.store.mask([], filters.month_from, filters.month_to)
        return mask is None or bool(mask.any())

    def retrieve(self, query: str, k: int | None = None, filters: Filters | None = None,
                 method: str = "hybrid") -> Retrieval:
        """The best passages for `query` under its filters (parsed from it unless given)."""
        k = k or self.settings.top_k
        filters = parse_filters(query) if filters is None else filters
        keys, missing = self.pinned_keys(filters)
        among = self.store.keys_matching(filters.categories, filters.authors) if filters.by_metadata else None
        result = Retrieval([], filters, missing_ids=missing, no_papers_in_months=not self.any_in_months(filters),
                           no_papers_matching=among == [])
        if (filters.arxiv_ids and not keys) or result.no_papers_in_months or result.no_papers_matching:
            return result  # only unknown IDs were asked about, or no paper fits the filters: nothing may stand in
        depth = max(4 * k, 24)
        mask = _mask(self.store, filters, keys, among)
        # The dense leg (query embedding, then the vector index; both leave Python's lock) runs in a thread
        # while BM25 scores here, so a hybrid search takes about its slower leg, not their sum.
        pending = _DENSE_THREADS.submit(self._dense, query, depth, mask, result) if method != "bm25" else None
        lexical = self._bm25(query, depth, mask, result) if method != "dense" else []
        dense = pending.result() if pending else []
        result.passages = self._fuse(lexical, dense, k)
        return result

    def _bm25(self, query: str, depth: int, mask: np.ndarray | None, result: Retrieval) -> list[tuple[str, float]]:
        with _timer(result.timings, "bm25"):
            return self.store.lexical_search(query, depth, mask)

    def _dense(self, query: str, depth: int, mask: np.ndarray | None, result: Retrieval) -> list[tuple[str, float]]:
        with _timer(result.timings, "embed_query"):
            vector = self.store.embed_query(query)
        with _timer(result.timings, "dense"):
            # Filters as a mask over the chunks, like BM25's: far faster in Chroma than a `where`.
            return self.store.dense_ids(vector, depth, allowed=mask)

    def _fuse(self, lexical: list[tuple[str, float]], dense: list[tuple[str, float]], k: int) -> list[Passage]:
        """Both rankings fused, capped per paper, cut to `k`; only the texts of the passages kept are read."""
        scores = fuse([[i for i, _ in lexical], [i for i, _ in dense]])
        bm25_rank = {i: r for r, (i, _) in enumerate(lexical, 1)}
        dense_rank = {i: (r, s) for r, (i, s) in enumerate(dense, 1)}
        ranked = sorted(scores, key=lambda i: (-scores[i], i))
        found: dict[str, Chunk] = {}
        missing: set[str] = set()  # in an index but not readable from the vector store: skipped
        while True:
            kept = cap_per_paper((i for i in ranked if i not in missing), self.settings.max_passages_per_paper, k)
            wanted = [i for i in kept if i not in found]
            found.update(self.store.chunks(wanted))
            lost = {i for i in wanted if i not in found}
            if not lost:
                break
            missing |= lost
        return [Passage(found[i], scores[i], bm25_rank.get(i), *dense_rank.get(i, (None, None))) for i in kept]


def cap_per_paper(ranked: Iterable[str], cap: int, k: int) -> list[str]:
    """The first `k` chunk IDs of `ranked` with at most `cap` from any one paper (its doc key starts the ID)."""
    taken: dict[str, int] = {}
    out = []
    for chunk_id in ranked:
        key = doc_key_of(chunk_id)
        if taken.get(key, 0) < cap:
            taken[key] = taken.get(key, 0) + 1
            out.append(chunk_id)
            if len(out) == k:
                break
    return out


class _timer:
    """Adds the seconds a block takes to `timings[name]`."""

    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = self.timings.get(self.name, 0.0) + time.perf_counter() - self.start
