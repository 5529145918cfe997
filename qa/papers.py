"""Paper and Chunk types, and the two pure functions every format needs: arXiv-ID parsing and text keys.

A `Paper` is one abstract as merged from every place it was seen. Its `doc_key` is stable:
``arXiv:<id>`` when an ID is known, else ``doc:<12 hex>`` from the normalised text as its source
gave it (before its LaTeX was made text, `qa.ingest.latex`). IDs are never guessed: a paper keeps
``arxiv_id=None`` unless some source states it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import pairwise
from typing import Any

from qa.errors import BadInput

# New-style IDs (2007+): YYMM.NNNN or YYMM.NNNNN, optional version. Old style: archive/YYMMNNN.
NEW_ID_PATTERN = r"\d{4}\.\d{4,5}"
OLD_ID_PATTERN = r"[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7}"
# Not inside a longer word or number ("x2401.01234", "12401.01234"): a mid-word start also costs a scan
# of the old-style archive name at every letter, the bulk of an ingest's time in `mentioned_ids`.
ARXIV_ID_RE = re.compile(rf"(?<![\w.\-])(?:arXiv:)?(?P<id>{NEW_ID_PATTERN}|{OLD_ID_PATTERN})(?:v\d+)?", re.IGNORECASE)


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


def paper_key(id_or_key: str) -> str:
    """The store key a paper is asked for by.

    >>> paper_key("https://arxiv.org/abs/2505.09388v2"), paper_key("DOC:0123456789AB")
    ('arXiv:2505.09388', 'doc:0123456789ab')
    """
    text = id_or_key.strip()
    if text.lower().startswith("doc:"):
        return text.lower()
    arxiv_id = parse_arxiv_id(text)
    if arxiv_id is None:
        raise BadInput(f"{text[:80]!r} is neither an arXiv ID (like 2505.09388) nor a doc: key")
    return f"arXiv:{arxiv_id}"


LAST_MONTH = 999912  # YYYYMM after every real month: the open end of a date range
MONTHS = ("january february march april may june july august september october november december").split()


def _prefixes(word: str, least: int = 3) -> str:
    """A pattern for any prefix of `word` of at least `least` letters: jan, janu, ..., january."""
    tail = ""
    for ch in reversed(word[least:]):
        tail = f"(?:{ch}{tail})?"
    return word[:least] + tail


MONTH_RE = re.compile(
    r"\b(?P<month>" + "|".join(_prefixes(m) for m in MONTHS) + r")\.?,?\s+(?P<year>(?:19|20)\d\d)\b",
    re.IGNORECASE,
)


def id_month(arxiv_id: str | None) -> date | None:
    """First day of the month a new-style ID was issued in (``2505.09388`` -> 2025-05-01)."""
    if not arxiv_id or not re.fullmatch(NEW_ID_PATTERN, arxiv_id):
        return None
    yy, mm = int(arxiv_id[:2]), int(arxiv_id[2:4])
    return date(2000 + yy, mm, 1) if 1 <= mm <= 12 else None


_ABBREV = "".join(rf"(?<!\b{re.escape(a)})" for a in ("e.g.", "i.e.", "et al.", "vs.", "Fig.", "Eq.", "cf.", "approx.",
                                                      "Ref.", "Sec.", "Tab."))
# The space after a sentence's end (keeps "e.g.", "Qwen2.5", "et al." inside their sentence).
SENTENCE_END_RE = re.compile(_ABBREV + r"(?<=[.!?])\s+(?=[A-Z0-9(\[\"'$\\])")


def sentence_pieces(text: str) -> list[str]:
    """`text` cut after each sentence, the space that follows kept with it: the pieces join back to `text`."""
    bounds = [0, *(m.end() for m in SENTENCE_END_RE.finditer(text)), len(text)]
    return [text[a:b] for a, b in pairwise(bounds) if a < b]


def split_sentences(text: str) -> list[str]:
    """Sentences of an abstract (keeps "e.g.", "Qwen2.5", "et al." inside their sentence)."""
    return [s.strip() for s in sentence_pieces(text) if len(s.strip()) > 1]


def normalize_text(text: str) -> str:
    """Text as compared for identity: NFKC, lower case, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def text_key(text: str) -> str:
    """The ``doc:`` key of an abstract that has no arXiv ID: 12 hex of its normalised text's SHA-256."""
    return "doc:" + hashlib.sha256(normalize_text(text).encode()).hexdigest()[:12]


def arxiv_url(arxiv_id: str | None) -> str | None:
    """The abstract page of an ID, or None for a paper without one."""
    return f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None


_AUTHOR_SEP_RE = re.compile(r",\s*(?:and\s+)?|\s+and\s+|;\s*")


def author_names(authors: str | None) -> list[str]:
    """The names in an author list as arXiv gives it, an affiliation in parentheses left out.

    >>> author_names("C. Balazs, E. L. Berger (ANL), and C.-P. Yuan")
    ['C. Balazs', 'E. L. Berger', 'C.-P. Yuan']
    """
    if not authors:
        return []
    depth, plain = 0, []
    for ch in authors:  # nested parentheses (affiliations) dropped
        depth += ch == "("
        if depth == 0:
            plain.append(ch)
        depth -= ch == ")" and depth > 0
    return [n.strip() for n in _AUTHOR_SEP_RE.split("".join(plain)) if n.strip()]


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
    raw: str | None = None  # the text as its source gave it, when making its LaTeX text changed it


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
    abstract_raw: str | None = None  # the abstract as its source gave it, when making its LaTeX text changed it
    updated: date | None = None  # the date of its last version, when the source gives it
    versions: int | None = None  # how many versions it has, when the source says
    doi: str | None = None
    journal_ref: str | None = None

    @property
    def author_names(self) -> list[str]:
        """The authors one by one (`authors` is one string, as the sources give it)."""
        return author_names(self.authors)

    @property
    def doc_key(self) -> str:
        if self.arxiv_id:
            return f"arXiv:{self.arxiv_id}"
        return text_key(self.abstract if self.abstract_raw is None else self.abstract_raw)

    @property
    def url(self) -> str | None:
        return arxiv_url(self.arxiv_id)

    @property
    def month(self) -> date | None:
        """The month the paper is dated by: its ``Created:`` date, else its ID's month."""
        return self.created.replace(day=1) if self.created else id_month(self.arxiv_id)


def chunk_id(doc_key: str, position: int, text_digest: str) -> str:
    """A chunk's ID: its paper's doc key, its place in the paper and a digest of its text (`doc_key_of` inverts)."""
    return f"{doc_key}#{position}:{text_digest}"


def doc_key_of(chunk_id: str) -> str:
    """The doc key a chunk ID starts with."""
    return chunk_id.rsplit("#", 1)[0]


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

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: Mapping[str, Any]) -> Chunk:
        """The Chunk the vector store holds under `chunk_id` (inverse of `metadata`)."""
        created = str(meta.get("created") or "")
        return cls(
            chunk_id=chunk_id,
            doc_key=str(meta["doc_key"]),
            text=text,
            arxiv_id=str(meta.get("arxiv_id") or "") or None,
            created=date.fromisoformat(created) if created else None,
            title=str(meta.get("title") or "") or None,
            source_file=str(meta.get("source_file") or ""),
            position=int(meta.get("chunk_index") or 0),
        )


_NAME = r"[A-Z][\w.\-]*(?:[\s\-][A-Z0-9][\w.\-]*){0,3}"
_INTRO_RE = re.compile(
    r"\b(?:introduce|introduces|present|presents|propose|proposes|named|dubbed|called)\s+(?:the\s+|an?\s+)?"
    r"(?:\\textbf\{)?(?P<name>" + _NAME + r")\}?\$?(?:\s*\((?P<acronym>[A-Z][\w\-]+)\))?"
)
# "we present a series of math-specific large language models: Qwen2.5-Math and ..."
_INTRO_SERIES_RE = re.compile(
    r"\b(?:introduce|introduces|present|presents|propose|proposes|release|releases)\s+(?:a|an|the|our)\s+"
    r"(?:new\s+)?(?:family|series|suite|set|collection)\s+of\b[^.:]{0,80}:\s*(?P<name>" + _NAME + r")"
)
NAMELIKE_RE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:[.\-][A-Za-z0-9]+)*\b")
_NOT_NAMES = {"LLM", "AI", "SFT", "RL", "MoE", "API", "CoT", "GPU", "SOTA", "NLP",  # plurals ("LLMs"): namelike
              "MLLM", "Series", "In", "We", "Our", "This", "The", "To", "However", "Moreover"}


_ACRONYM_COMPOUND_RE = re.compile(r"[A-Z]{2,}s?(?:-[a-z]+)+")


def namelike(word: str) -> bool:
    """Does `word` look like the name of a model, method or benchmark (Qwen3, GPT-4o, MMLU)?"""
    if _ACRONYM_COMPOUND_RE.fullmatch(word):  # "LLM-synthesized", "BERT-based": a description, not a name
        return False
    if re.fullmatch(r"[A-Z]{2,}s", word):  # "CPUs", "VLMs": the plural of an acronym names a class of things
        return False
    return word not in _NOT_NAMES and len(word) >= 3 and (
        any(c.isupper() for c in word[1:]) or (word[0].isupper() and any(c.isdigit() for c in word))
    )


@lru_cache(maxsize=4096)
def paper_label(abstract: str) -> str | None:
    """A short name for a paper with no title: what its abstract introduces, else its most used name.

    >>> paper_label("In this work, we introduce the Qwen3 Embedding series, a significant advance.")
    'Qwen3 Embedding'
    >>> paper_label("This paper introduces Group Sequence Policy Optimization (GSPO), our algorithm.")
    'GSPO'
    >>> paper_label("We present a series of math models: Alpha-Math and Alpha-Math-Instruct. Beta-RM, Beta-RM.")
    'Alpha-Math'
    >>> paper_label("Training with rationales has been shown to help. We find it does not.") is None
    True
    """
    for m in _INTRO_RE.finditer(abstract):
        if m["acronym"] and namelike(m["acronym"]):
            return m["acronym"]
        name = re.sub(r"\s+(?:Series|Models?|Family)$", "", m["name"].strip(" .,-"))
        if namelike(name.split()[0]):
            return name
    for m in _INTRO_SERIES_RE.finditer(abstract):
        name = m["name"].strip(" .,-")
        if namelike(name.split()[0]):
            return name
    counts: dict[str, int] = {}
    for word in NAMELIKE_RE.findall(abstract):
        if namelike(word):
            counts[word] = counts.get(word, 0) + 1
    best = max(counts.items(), key=lambda kv: kv[1], default=None)
    return best[0] if best and best[1] >= 2 else None
