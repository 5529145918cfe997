"""What the MCP tools and resources do over one warm `QA`: arguments checked first, then the library
called in a worker thread, the result as plain JSON-able data.

Every refusal is a `qa.errors.QAError` carrying the one-line message the CLI prints (`the question
is empty`, `the store … is empty: run `arxiv-qa ingest` first`); `ui.mcp.server` hands it to the
client as a tool error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio

from qa.answer.chat import Message
from qa.answer.citations import key_url
from qa.answer.engine import QA
from qa.errors import BadInput
from qa.index.retrieve import Retrieval, parse_filters, with_controls
from qa.papers import Paper, paper_key
from ui.web.api import HistoryMessage
from ui.web.inputs import month_range
from ui.web.workers import Workers


class Corpus:
    """The store behind the tools: one `QA`, and the workers its answers run on."""

    def __init__(self, qa: QA) -> None:
        self.qa = qa
        self.workers = Workers(qa)

    def ready(self) -> None:
        """BadInput when there is nothing to search (the same words as `arxiv-qa ask`)."""
        store = self.qa.store
        if store.is_empty():
            raise BadInput(f"the store {store.root} is empty: run `arxiv-qa ingest` first")

    async def ask(self, question: str, history: Sequence[HistoryMessage] = (), k: int | None = None,
                  month_from: str | None = None, month_to: str | None = None, category: str | None = None,
                  author: str | None = None) -> dict[str, Any]:
        """The checked Answer JSON (`Answer.to_dict`, as `arxiv-qa ask --json` prints it)."""
        self.qa.validate(question)
        months = month_range(month_from, month_to)
        limiter = self.workers.for_mode(None)
        turns = [Message(role=m.role, content=m.content) for m in history]

        def work() -> dict[str, Any]:
            self.ready()
            return self.qa.ask(question, turns, k, None, months, category=category, author=author).to_dict()

        result: dict[str, Any] = await anyio.to_thread.run_sync(work, limiter=limiter)
        return result

    async def search(self, query: str, k: int | None = None, month_from: str | None = None,
                     month_to: str | None = None, category: str | None = None,
                     author: str | None = None) -> dict[str, Any]:
        """The papers the hybrid search ranks highest for `query`, each with its matching passages."""
        query = self.qa.validate(query)
        months = month_range(month_from, month_to)

        def work() -> dict[str, Any]:
            self.ready()
            filters = with_controls(parse_filters(query), months, category, author)
            retrieval = self.qa.retriever.retrieve(query, k, filters)
            return self.ranked(query, retrieval)

        result: dict[str, Any] = await anyio.to_thread.run_sync(work, limiter=self.workers.extractive)
        return result

    def ranked(self, query: str, retrieval: Retrieval) -> dict[str, Any]:
        """Passages grouped by paper, papers in the order of their best passage."""
        papers: dict[str, dict[str, Any]] = {}
        for passage in retrieval.passages:
            key = passage.chunk.doc_key
            if key not in papers:
                papers[key] = {"rank": len(papers) + 1, "key": key, "arxiv_id": passage.chunk.arxiv_id,
                               "title": self.qa.label(key), "url": key_url(key),
                               "score": round(passage.score, 6), "snippets": []}
            papers[key]["snippets"].append(passage.chunk.text)
        return {"query": query, "papers": list(papers.values()),
                "not_in_corpus": [f"arXiv:{i}" for i in retrieval.missing_ids]}

    async def paper(self, id_or_key: str) -> dict[str, Any]:
        """A stored paper's metadata and abstract, by arXiv ID, `arXiv:` key, arxiv.org link or `doc:` key."""
        key = paper_key(id_or_key)

        def work() -> dict[str, Any]:
            self.ready()
            paper = self.qa.store.paper(key)
            if paper is None:
                raise BadInput(f"{key} is not in the corpus")
            return paper_json(paper, self.qa.label(key))

        result: dict[str, Any] = await anyio.to_thread.run_sync(work, limiter=self.workers.extractive)
        return result

    async def stats(self) -> dict[str, Any]:
        """Papers, IDs, chunks and variants in the store (as `arxiv-qa stats --json`)."""

        def work() -> dict[str, Any]:
            self.ready()
            return self.qa.store.stats()

        result: dict[str, Any] = await anyio.to_thread.run_sync(work, limiter=self.workers.extractive)
        return result


def paper_json(paper: Paper, label: str | None) -> dict[str, Any]:
    """What `paper` and `paper://<key>` show of one paper."""
    return {
        "key": paper.doc_key, "arxiv_id": paper.arxiv_id, "title": paper.title or label, "url": paper.url,
        "authors": paper.authors, "categories": paper.categories,
        "created": paper.created.isoformat() if paper.created else None,
        "updated": paper.updated.isoformat() if paper.updated else None, "versions": paper.versions,
        "doi": paper.doi, "journal_ref": paper.journal_ref,
        "comments": paper.comments, "abstract": paper.abstract,
        "variants": [v.text for v in paper.variants] if len(paper.variants) > 1 else [],
    }
