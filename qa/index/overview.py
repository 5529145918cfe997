"""What a store holds, for a first screen: its size, date span, top categories, a list of its papers,
and example questions drawn from the papers themselves.

Nothing here is a fixed string about a particular corpus: a store of other papers gets its own
figures, list and examples.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from qa.index.store import Store
from qa.papers import Paper, split_sentences

LABEL_CHARS = 90
TOP_CATEGORIES = 5
# "we introduce PolyMath, …", "This paper introduces Group Sequence Policy Optimization (GSPO)": the name a
# paper gives the thing it presents, a run of capitalised words (digits, dots and hyphens allowed inside).
_INTRODUCES = re.compile(
    r"\b(?:introduces?|presents?|proposes?)\s+(?:the\s+|a\s+|an\s+)?"
    r"((?:[A-Z][\w.\-]*[\w])(?:\s+(?:[A-Z0-9][\w.\-]*[\w]))*)"
)


@dataclass(frozen=True)
class PaperRow:
    """One line of the paper list: its key, what to call it, and its date (or month) when known."""

    key: str
    label: str
    when: str

    def matches(self, words: list[str]) -> bool:
        """Does every word occur in the key, label or date (case-insensitive)?"""
        text = f"{self.key} {self.label} {self.when}".lower()
        return all(w in text for w in words)


@dataclass(frozen=True)
class Overview:
    """A store's figures and its papers, newest first."""

    papers: int
    chunks: int
    first: date | None
    last: date | None
    categories: list[tuple[str, int]] = field(default_factory=list)
    rows: list[PaperRow] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    def search(self, query: str, limit: int) -> tuple[list[PaperRow], int]:
        """The rows whose key, label or date hold every word of `query` (at most `limit`), and how many do."""
        words = query.lower().split()
        found = [r for r in self.rows if r.matches(words)] if words else self.rows
        return found[:limit], len(found)


def paper_date(paper: Paper) -> date | None:
    """The paper's date when the source gave one, else the month of its arXiv ID (its first day), else None."""
    return paper.created or paper.month


def label(paper: Paper) -> str:
    """The paper's title, or else its abstract's first sentence (cut at a word near `LABEL_CHARS`)."""
    text = paper.title or (split_sentences(paper.abstract) or [paper.abstract])[0]
    text = " ".join(text.split())
    if len(text) <= LABEL_CHARS:
        return text
    return text[:LABEL_CHARS].rsplit(" ", 1)[0] + "…"


def named_thing(abstract: str) -> str | None:
    """The name an abstract gives what it introduces, or None.

    >>> named_thing("In this paper, we introduce PolyMath, a multilingual benchmark.")
    'PolyMath'
    """
    match = _INTRODUCES.search(abstract)
    if match is None:
        return None
    name = match.group(1).strip(".-")
    return name if len(name) >= 3 and len(name.split()) <= 4 else None


def example_questions(papers: Iterable[Paper], n: int = 4) -> list[str]:
    """Questions the store can answer, from its newest papers: "What is <name>?" for papers that name what
    they introduce, and "What does arXiv:<id> find?" for the newest paper with an ID."""
    ordered = sorted(papers, key=lambda p: (paper_date(p) or date.min, p.doc_key), reverse=True)
    questions: list[str] = []
    newest_id = next((p.arxiv_id for p in ordered if p.arxiv_id), None)
    if newest_id:
        questions.append(f"What does arXiv:{newest_id} find?")
    seen: set[str] = set()
    for paper in ordered:
        name = named_thing(paper.abstract)
        if name and name.lower() not in seen and len(questions) < n:
            seen.add(name.lower())
            questions.append(f"What is {name}?")
    return questions


def overview(store: Store) -> Overview:
    """The store's figures, its papers (newest first) and example questions, read once from the catalog."""
    papers = list(store.papers())
    dated = sorted(d for p in papers if (d := paper_date(p)) is not None)
    categories = Counter(c for p in papers for c in p.categories)
    ordered = sorted(papers, key=lambda p: (paper_date(p) or date.min, p.doc_key), reverse=True)
    rows = [PaperRow(p.doc_key, label(p), when(p)) for p in ordered]
    first, last = (dated[0], dated[-1]) if dated else (None, None)
    return Overview(len(papers), store.answered_chunk_count(), first, last,
                    categories.most_common(TOP_CATEGORIES), rows, example_questions(papers))


def when(paper: Paper) -> str:
    """The paper's date as the list shows it: the day when given, the month of its ID otherwise, or ""."""
    if paper.created:
        return paper.created.isoformat()
    return paper.month.strftime("%Y-%m") if paper.month else ""
