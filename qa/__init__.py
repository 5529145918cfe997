"""arxiv-qa: question answering over arXiv abstracts with citations you can check.

The library does the work (`qa.ingest`, `qa.index.store`, `qa.answer.engine`); the CLI, the Gradio app, Slack
and the HTTP API only adapt input and output. The shortest way in:

    >>> import qa
    >>> answer = qa.ask("How many languages does Qwen3 support?")          # doctest: +SKIP
    >>> answer.answer, [c.key for c in answer.citations]                    # doctest: +SKIP
    >>> for piece in qa.stream("And what sizes does it come in?", history=[...]):  # doctest: +SKIP
    ...     print(piece)  # pieces of text, then the checked Answer

Both use the store and settings of the environment (`ARXIV_QA_STORE`, ...; see `.env.example`),
or the `settings` given; the engine (store, models) is built once per settings and kept warm.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.answer.chat import Message
    from qa.answer.engine import QA
    from qa.settings import Settings
    from qa.types import Answer

__all__ = ["ask", "get_engine", "stream"]

_engines: dict[tuple[str, ...], QA] = {}
_lock = threading.Lock()


def get_engine(settings: Settings | None = None) -> QA:
    """The warm `QA` engine for `settings` (default: from the environment), built on first use."""
    from qa.answer.engine import QA
    from qa.settings import Settings

    settings = settings or Settings()
    key = (settings.model_dump_json(), *settings.secret_values())  # the JSON masks secrets
    with _lock:
        if key not in _engines:
            _engines[key] = QA(settings)
        return _engines[key]


def ask(question: str, history: Sequence[Message] = (), *, k: int | None = None, mode: str | None = None,
        months: tuple[int | None, int | None] = (None, None), category: str | None = None,
        author: str | None = None, settings: Settings | None = None) -> Answer:
    """Answer `question` (a follow-up of `history`, role/content dicts, oldest first) with checked citations.

    `months` (YYYYMM from, to), `category` (cs.CL, or an archive: cs) and `author` limit the papers searched.
    """
    return get_engine(settings).ask(question, history, k, mode, months, category=category, author=author)


def stream(question: str, history: Sequence[Message] = (), *, k: int | None = None, mode: str | None = None,
           months: tuple[int | None, int | None] = (None, None), category: str | None = None,
           author: str | None = None, settings: Settings | None = None) -> Iterator[str | Answer]:
    """Like `ask`, but yields pieces of the answer's text as they are produced, then the checked `Answer`."""
    return get_engine(settings).stream(question, history, k, mode, months, category=category, author=author)
