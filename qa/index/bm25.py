"""The lexical side of retrieval: a BM25 index over the stored chunks (bm25s, English stemming).

It is saved beside the Chroma store with the catalog generation it was built from; `qa.index.store`
rebuilds it only when the chunks changed since, never at every start.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

_STEMMER = Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stemmed word tokens without English stop words (as the index sees them)."""
    out: list[list[str]] = bm25s.tokenize(list(texts), stemmer=_STEMMER, return_ids=False, show_progress=False)
    return out


class BM25Index:
    """BM25 over chunks, addressed by chunk ID, with each chunk's doc key and year-month for filtering."""

    def __init__(self, ids: list[str], doc_keys: list[str], months: np.ndarray, engine: bm25s.BM25 | None) -> None:
        self.ids = ids
        self.doc_keys = np.array(doc_keys, dtype=object)
        self.months = months
        self.engine = engine

    @classmethod
    def build(cls, ids: list[str], texts: list[str], doc_keys: list[str], months: list[int]) -> BM25Index:
        engine = None
        if ids:
            engine = bm25s.BM25()
            engine.index(bm25s.tokenize(texts, stemmer=_STEMMER, show_progress=False), show_progress=False)
        return cls(ids, doc_keys, np.array(months, dtype=np.int32), engine)

    def save(self, folder: Path, generation: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.engine is not None:
            self.engine.save(str(folder), show_progress=False)
        np.save(folder / "months.npy", self.months)
        meta = {"generation": generation, "ids": self.ids, "doc_keys": list(self.doc_keys)}
        tmp = folder / "chunks.json.tmp"
        tmp.write_text(json.dumps(meta))
        tmp.replace(folder / "chunks.json")  # written last: its presence means the index is whole

    @classmethod
    def load(cls, folder: Path, generation: int) -> BM25Index | None:
        """The saved index if it was built from `generation`, else None."""
        try:
            meta = json.loads((folder / "chunks.json").read_text())
            if meta["generation"] != generation:
                return None
            engine = bm25s.BM25.load(str(folder), show_progress=False) if meta["ids"] else None
            return cls(meta["ids"], meta["doc_keys"], np.load(folder / "months.npy"), engine)
        except (OSError, ValueError, KeyError):
            return None

    @staticmethod
    def saved_ids(folder: Path) -> tuple[int, list[str]] | None:
        """The catalog generation and chunk IDs of the index saved in `folder`, or None when there is none."""
        try:
            meta = json.loads((folder / "chunks.json").read_text())
            return int(meta["generation"]), list(meta["ids"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @cached_property
    def position(self) -> dict[str, int]:
        """The row of each chunk ID in `ids` (and so in `doc_keys`, `months` and filter masks)."""
        return {chunk_id: row for row, chunk_id in enumerate(self.ids)}

    def idf(self, token: str) -> float:
        """Inverse document frequency of a (stemmed) token; highest for a token no chunk has."""
        df = 0
        if self.engine is not None and (tid := self.engine.vocab_dict.get(token)) is not None:
            indptr = self.engine.scores["indptr"]
            df = int(indptr[tid + 1] - indptr[tid])
        n = len(self.ids)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """The `k` best (chunk ID, score) pairs with a positive score, among chunks `mask` allows."""
        tokens = tokenize([query])
        if self.engine is None or not tokens[0]:
            return []
        k = min(k, len(self.ids))
        docs, scores = self.engine.retrieve(tokens, k=k, show_progress=False, weight_mask=mask, n_threads=1)
        return [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
