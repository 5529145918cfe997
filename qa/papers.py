"""Paper and Chunk types, and the two pure functions every format needs: arXiv-ID parsing and text keys.

A `Paper` is one abstract as merged from every place it was seen. Its `doc_key` is stable:
``arXiv:<id>`` when an ID is known, else ``doc:<12 hex>`` from the normalised text. IDs are never
guessed: a paper keeps ``arxiv_id=None`` unless some source states it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

# New-style IDs (2007+): YYMM.NNNN or YYMM.NNNNN, optional version. Old style: archive/YYMMNNN.
_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7}"
ARXIV_ID_RE = re.compile(rf"(?:arXiv:)?(?P<id>{_NEW_ID}|{_OLD_ID})(?:v\d+)?", re.IGNORECASE)


def parse_arxiv_id(text: str) -> str | None:
    """The arXiv ID in `text` without its version, or None.

    >>> parse_arxiv_id("arXiv:2505.09388v2")
    '2505.09388'
    >>> parse_arxiv_id("https://arxiv.org/abs/hep-th/9901001")
    'hep-th/9901001'
    >>> parse_arxiv_id("no id here") is None
    True
    """
    m = ARXIV_ID_RE.search(text.strip())
    return m.group("id") if m else None


def id_month(arxiv_id: str | None) -> date | None:
    """First day of the month a new-style ID was issued in (``2505.09388`` -> 2025-05-01)."""
    if not arxiv_id or not re.fullmatch(_NEW_ID, arxiv_id):
        return None
    yy, mm = int(arxiv_id[:2]), int(arxiv_id[2:4])
    return date(2000 + yy, mm, 1) if 1 <= mm <= 12 else None


def normalize_text(text: str) -> str:
    """Text as compared for identity: NFKC, lower case, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def text_key(text: str) -> str:
    """The ``doc:`` key of an abstract that has no arXiv ID: 12 hex of its normalised text's SHA-256."""
    return "doc:" + hashlib.sha256(normalize_text(text).encode()).hexdigest()[:12]


def arxiv_url(arxiv_id: str | None) -> str | None:
    """The abstract page of an ID, or None for a paper without one."""
    return f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None


@dataclass(frozen=True, order=True)
class Source:
    """One place a record was seen: the file and the 1-based record number inside it."""

    file: str
    position: int


@dataclass
class Variant:
    """One text of a paper, with every place that text was seen."""

    text: str
    sources: list[Source] = field(default_factory=list)


@dataclass
class Paper:
    """One abstract, merged from every source that carries it."""

    abstract: str
    arxiv_id: str | None = None
    title: str | None = None
    comments: str | None = None
    created: date | None = None
    categories: list[str] = field(default_factory=list)
    authors: str | None = None
    sources: list[Source] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)

    @property
    def doc_key(self) -> str:
        return f"arXiv:{self.arxiv_id}" if self.arxiv_id else text_key(self.abstract)

    @property
    def url(self) -> str | None:
        return arxiv_url(self.arxiv_id)

    @property
    def month(self) -> date | None:
        """The month the paper is dated by: its ``Created:`` date, else its ID's month."""
        return self.created.replace(day=1) if self.created else id_month(self.arxiv_id)


@dataclass(frozen=True)
class Chunk:
    """A piece of one paper's abstract, small enough for the embedding model's window."""

    chunk_id: str
    doc_key: str
    text: str
    arxiv_id: str | None
    created: date | None
    title: str | None
    source_file: str
    position: int  # index of the chunk inside its paper

    def metadata(self) -> dict[str, str | int]:
        """Flat metadata as the vector store keeps it (no None values)."""
        meta: dict[str, str | int] = {
            "doc_key": self.doc_key,
            "arxiv_id": self.arxiv_id or "",
            "created": self.created.isoformat() if self.created else "",
            "title": self.title or "",
            "source_file": self.source_file,
            "chunk_index": self.position,
        }
        month = self.created or id_month(self.arxiv_id)
        meta["year_month"] = month.year * 100 + month.month if month else 0
        return meta
