"""The baseline: the plain LlamaIndex recipe, to show what our parsing, merging and hybrid retrieval add.

Whole files go through `SimpleDirectoryReader`, LlamaIndex's default splitter and an in-memory
`VectorStoreIndex` (dense only), with the store's embedding model passed explicitly (LlamaIndex's
global `Settings` are never touched). No records are parsed, so the nodes carry no paper keys.

How a node is mapped to a paper: the node text and every text of every stored paper are cut into
overlapping 8-word shingles (lower-cased word tokens). A paper is *in* a node when they share at
least `MIN_SHARED` shingles (a run of 10 or more words); the node counts as the paper whose first
shared shingle comes earliest in the node (a node covering several abstracts counts as the first one
it contains, even when it starts with only the tail of that abstract). A node sharing no run with any
paper (a header, a run of comment lines) counts as no paper and is skipped in the ranking.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from qa.index.store import Store
from qa.papers import Paper

if TYPE_CHECKING:
    from llama_index.core import VectorStoreIndex
    from llama_index.core.base.embeddings.base import BaseEmbedding

SHINGLE_WORDS = 8
MIN_SHARED = 3

Shingle = tuple[str, ...]


def words(text: str) -> list[str]:
    """Lower-cased word tokens of `text` (NFKC), as shingles compare them.

    >>> words("Qwen2.5-Coder: 5.5 trillion tokens!")
    ['qwen2', '5', 'coder', '5', '5', 'trillion', 'tokens']
    """
    return re.findall(r"\w+", unicodedata.normalize("NFKC", text).lower())


def shingles(tokens: Sequence[str], n: int = SHINGLE_WORDS) -> Iterator[Shingle]:
    """Every run of `n` consecutive tokens, in order.

    >>> list(shingles(["a", "b", "c", "d"], 3))
    [('a', 'b', 'c'), ('b', 'c', 'd')]
    """
    for i in range(len(tokens) - n + 1):
        yield tuple(tokens[i : i + n])


class ShingleMap:
    """Which stored paper a piece of text belongs to, by shared 8-word shingles."""

    def __init__(self, papers: Iterable[Paper]) -> None:
        self.owners: dict[Shingle, set[str]] = {}
        for paper in papers:
            for text in [paper.abstract, *(v.text for v in paper.variants)]:
                for shingle in shingles(words(text)):
                    self.owners.setdefault(shingle, set()).add(paper.doc_key)

    def papers_in(self, text: str) -> list[str]:
        """Doc keys of the papers `text` contains (see the module docstring), in the order they begin."""
        first: dict[str, int] = {}
        shared: Counter[str] = Counter()
        for position, shingle in enumerate(shingles(words(text))):
            for key in self.owners.get(shingle, ()):
                first.setdefault(key, position)
                shared[key] += 1
        inside = [key for key, count in shared.items() if count >= MIN_SHARED]
        return sorted(inside, key=lambda key: (first[key], -shared[key], key))

    def paper_of(self, text: str) -> str | None:
        """The doc key of the first paper `text` contains, or None: the paper a node counts as."""
        return next(iter(self.papers_in(text)), None)


def ranking(nodes: Iterable[Sequence[str]], every: bool = False) -> list[str]:
    """Papers ranked by first occurrence, each node counting as its first paper (with `every`: as all of them).

    >>> ranking([["a", "b"], [], ["c"], ["b"]]), ranking([["a", "b"], [], ["c"], ["b"]], every=True)
    (['a', 'c', 'b'], ['a', 'b', 'c'])
    """
    return list(dict.fromkeys(key for keys in nodes for key in (keys if every else keys[:1])))


def source_files(store: Store) -> list[Path]:
    """The files the store's papers were read from (those still on disk), sorted."""
    names: set[str] = set()
    for paper in store.papers():
        names.update(s.file for s in paper.sources)
        names.update(s.file for v in paper.variants for s in v.sources)
    return sorted(path for path in map(Path, names) if path.is_file())


class Baseline:
    """Dense retrieval over the plain recipe's nodes, ranked as papers."""

    def __init__(self, files: list[Path], embed_model: BaseEmbedding, papers: ShingleMap) -> None:
        self.files = files
        self.embed_model = embed_model
        self.papers = papers
        self._node_papers: dict[str, list[str]] = {}

    @classmethod
    def for_store(cls, store: Store) -> Baseline:
        """The baseline over the files `store` was built from, with the same embedding model."""
        return cls(source_files(store), store.llamaindex_embedding(), ShingleMap(store.papers()))

    @cached_property
    def index(self) -> VectorStoreIndex:
        from llama_index.core import SimpleDirectoryReader, VectorStoreIndex

        documents = SimpleDirectoryReader(input_files=self.files).load_data(show_progress=False) if self.files else []
        return VectorStoreIndex.from_documents(documents, embed_model=self.embed_model, show_progress=False)

    def node_papers(self, question: str, k: int) -> list[list[str]]:
        """For each of the `k` nodes nearest to `question`, best first: the papers it contains."""
        out = []
        for hit in self.index.as_retriever(similarity_top_k=k).retrieve(question):
            node_id = hit.node.node_id
            if node_id not in self._node_papers:
                self._node_papers[node_id] = self.papers.papers_in(hit.node.get_content())
            out.append(self._node_papers[node_id])
        return out
