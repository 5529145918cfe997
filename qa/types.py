"""The plain data types that cross the layers: the `Filters` a search is limited to, a retrieved `Passage`,
and what an answer is made of, the `Answer`, its `Citation`s and its `UnsupportedClaim`s (the JSON every
front-end shows)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from qa.papers import LAST_MONTH, Chunk, Paper

REFUSAL = "The retrieved abstracts do not answer this question."


@dataclass(frozen=True)
class Filters:
    """What the question restricts the search to."""

    arxiv_ids: tuple[str, ...] = ()
    month_from: int | None = None  # YYYYMM, inclusive
    month_to: int | None = None
    categories: tuple[str, ...] = ()  # any of these (cs.CL, or an archive: cs)
    authors: tuple[str, ...] = ()  # every one of these among the authors

    @property
    def empty(self) -> bool:
        return not self.arxiv_ids and self.month_from is None and not self.by_metadata

    @property
    def by_metadata(self) -> bool:
        """Does it limit the search by category or author?"""
        return bool(self.categories or self.authors)

    @property
    def months(self) -> tuple[str | None, str | None]:
        """The date range as ("YYYY-MM" or None, "YYYY-MM" or None); None where it is open."""
        def shown(ym: int | None) -> str | None:
            return None if ym is None or ym <= 0 or ym >= LAST_MONTH else f"{ym // 100:04d}-{ym % 100:02d}"
        return shown(self.month_from), shown(self.month_to)

    def dates(self) -> str:
        """The date range in words: "between 2031-01 and 2031-12", "from 2031-01 on", "" for none.

        >>> Filters(month_from=203101, month_to=203112).dates()
        'between 2031-01 and 2031-12'
        """
        start, end = self.months
        if start and end:
            return f"in {start}" if start == end else f"between {start} and {end}"
        return f"from {start} on" if start else f"up to {end}" if end else ""

    def describe(self) -> str:
        """What the search was limited to, for a reader: "papers between 2031-01 and 2031-12; arXiv:2506.01939"."""
        parts = [f"papers {self.dates()}"] if self.dates() else []
        parts += [f"in {' or '.join(self.categories)}"] if self.categories else []
        parts += [f"by {' and '.join(self.authors)}"] if self.authors else []
        return "; ".join(parts + [f"arXiv:{i}" for i in self.arxiv_ids])

    def papers(self) -> str:
        """The papers searched, in words: "papers in cs.CL by Lin between 2025-01 and 2025-12"."""
        words = [f"in {' or '.join(self.categories)}"] if self.categories else []
        words += [f"by {' and '.join(self.authors)}"] if self.authors else []
        return " ".join(["papers", *words, *([self.dates()] if self.dates() else [])])

    def to_dict(self) -> dict[str, Any] | None:
        """The filters as the Answer JSON shows them (`filters`); None when the search was not limited."""
        if self.empty:
            return None
        start, end = self.months
        return {"arxiv_ids": list(self.arxiv_ids), "month_from": start, "month_to": end,
                "categories": list(self.categories), "authors": list(self.authors)}


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


@dataclass
class Passage:
    """A retrieved chunk with its fused score and its rank in each retriever (None: not found by it)."""

    chunk: Chunk
    score: float
    bm25_rank: int | None = None
    dense_rank: int | None = None
    dense_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {"key": c.doc_key, "arxiv_id": c.arxiv_id, "chunk_id": c.chunk_id, "text": c.text,
                "score": round(self.score, 6), "bm25_rank": self.bm25_rank, "dense_rank": self.dense_rank,
                "dense_score": None if self.dense_score is None else round(self.dense_score, 4)}


@dataclass
class Citation:
    """A paper an answer cites, and the text of its abstract that supports the answer."""

    key: str
    arxiv_id: str | None
    title: str | None
    url: str | None
    snippet: str
    title_guessed: bool = False  # the title is a label guessed from the abstract (the source gave none)
    authors: list[str] = field(default_factory=list)
    published: str | None = None  # first version, YYYY-MM-DD (the `Created:` date of a text dump)
    updated: str | None = None  # last version, YYYY-MM-DD
    versions: int | None = None
    categories: list[str] = field(default_factory=list)  # the primary one first
    doi: str | None = None
    journal_ref: str | None = None

    @classmethod
    def of(cls, key: str, paper: Paper | None, label: str | None, url: str | None, snippet: str) -> Citation:
        """The citation of the stored `paper` under `key`; `label` stands in for a title it lacks."""
        if paper is None:
            return cls(key, None, label, url, snippet, title_guessed=label is not None)
        return cls(key, paper.arxiv_id, paper.title or label, url, snippet,
                   title_guessed=not paper.title and label is not None, authors=paper.author_names,
                   published=_iso(paper.created), updated=_iso(paper.updated), versions=paper.versions,
                   categories=list(paper.categories), doi=paper.doi, journal_ref=paper.journal_ref)


@dataclass
class UnsupportedClaim:
    """A sentence of an LLM answer that the abstract it cites does not back (qa.answer.claims)."""

    sentence: str  # as it stands in the answer, its citation included
    key: str  # the cited paper it was checked against
    support: float  # 0..1 rounded to 3 places: below `claims.SUPPORT_THRESHOLD`, or 0 for a number not in it


@dataclass
class Answer:
    """An answer with its citations, what was retrieved, and how long each stage took."""

    question: str
    answer: str
    refused: bool
    mode: str  # "extractive" | "llm"
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    standalone_question: str | None = None  # the follow-up rewritten with its context, when it was
    removed_citations: list[str] = field(default_factory=list)  # cited keys not among the passages
    warnings: list[str] = field(default_factory=list)
    model: str | None = None
    unsupported_claims: list[UnsupportedClaim] = field(default_factory=list)  # LLM answers only
    filters: Filters | None = None  # what the search was limited to (IDs, months), when it was

    @property
    def fabricated_citations(self) -> int:
        return len(self.removed_citations)

    def to_dict(self) -> dict[str, Any]:
        """The Answer JSON every front-end shows (docs/ARCHITECTURE.md lists its fields)."""
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "mode": self.mode,
            "citations": [asdict(c) for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "standalone_question": self.standalone_question,
            "removed_citations": self.removed_citations,
            "fabricated_citations": self.fabricated_citations,
            "warnings": self.warnings,
            "model": self.model,
            "unsupported_claims": [asdict(c) for c in self.unsupported_claims],
            "filters": self.filters.to_dict() if self.filters else None,
        }
