"""The answer workers shared by the page and the HTTP API.

Extractive answers and LLM answers each have their own workers (`concurrency_limit` and
`llm_concurrency`), so questions waiting on a slow LLM endpoint never hold up an extractive one.
A request waiting for a worker holds no thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

import anyio

from qa.answer.engine import QA

T = TypeVar("T")
_END = object()


class Workers:
    """One capacity limiter per kind of answer."""

    def __init__(self, qa: QA) -> None:
        self.qa = qa
        self.extractive = anyio.CapacityLimiter(qa.settings.concurrency_limit)
        self.llm = anyio.CapacityLimiter(qa.settings.llm_concurrency)

    def for_mode(self, mode: str | None) -> anyio.CapacityLimiter:
        """The workers of a question asked in `mode` (BadInput for a mode that cannot be used)."""
        return self.llm if self.qa.resolve_mode(mode) == "llm" else self.extractive


async def in_threads(items: Iterator[T]) -> AsyncIterator[T]:
    """The items of a blocking iterator, each produced in a worker thread."""
    while (item := await anyio.to_thread.run_sync(next, items, _END)) is not _END:
        yield item  # type: ignore[misc]
