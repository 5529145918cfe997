"""Similar papers: the stored papers nearest to one paper, by the mean of its chunks' vectors.

    >>> [p.key for p in similar_papers(store, "arXiv:2505.09388", k=3)]   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qa.errors import NotFound
from qa.index.store import Store
from qa.papers import arxiv_url, paper_label

SEARCH_DEPTH = 8  # chunks looked at per paper wanted (a paper has several chunks; the asked-about one is skipped)


@dataclass
class SimilarPaper:
    """A paper near another one, with the cosine similarity of its nearest chunk."""

    key: str
    arxiv_id: str | None
    title: str | None
    title_guessed: bool
    score: float
    url: str | None
    categories: list[str] = field(default_factory=list)
    published: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "arxiv_id": self.arxiv_id, "title": self.title, "title_guessed": self.title_guessed,
                "score": round(self.score, 4), "url": self.url, "categories": self.categories,
                "published": self.published}


def similar_papers(store: Store, key: str, k: int = 5) -> list[SimilarPaper]:
    """The `k` stored papers most like the paper `key` (`NotFound` when the store has no such paper)."""
    if store.paper(key) is None:
        raise NotFound(f"{key} is not in the store")
    vector = store.paper_vector(key)
    if vector is None:
        return []
    best: dict[str, float] = {}
    for chunk, score in store.dense_search(vector, SEARCH_DEPTH * (k + 1)):
        if chunk.doc_key != key and score > best.get(chunk.doc_key, -1.0):
            best[chunk.doc_key] = score
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return [p for other, score in ranked if (p := _similar(store, other, score)) is not None]


def _similar(store: Store, key: str, score: float) -> SimilarPaper | None:
    paper = store.paper(key)
    if paper is None:
        return None
    label = paper.title or paper_label(paper.abstract)
    return SimilarPaper(key, paper.arxiv_id, label, not paper.title and label is not None, score,
                        arxiv_url(paper.arxiv_id), list(paper.categories),
                        paper.created.isoformat() if paper.created else None)
