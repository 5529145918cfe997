"""The MCP server: tools `ask`, `search` and `paper`, resources `paper://<key>` and `arxiv-qa://stats`.

Built on the official SDK's `MCPServer`; served over stdio (what desktop clients start) or streamable
HTTP at http://127.0.0.1:<port>/mcp. Over HTTP, when ARXIV_QA_API_TOKEN is set every request must
carry `Authorization: Bearer <token>`; a request without it is refused with 401 before the MCP
handler sees it. A library error reaches the client as a tool error carrying the CLI's one-line
message; arguments that do not fit the schema are refused, in one line, before any work.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Annotated, Any, TextIO

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp_types import CallToolResult, InputRequiredResult, ToolAnnotations
from pydantic import Field, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from qa.answer.engine import QA
from qa.errors import BadInput, QAError
from qa.index.store import Store
from qa.settings import Settings
from ui.mcp.tools import Corpus
from ui.web.api import MONTH, HistoryMessage
from ui.web.guard import BEARER_ERROR, bearer_ok, header, refuse

MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "Answers questions from a corpus of arXiv abstracts. Every citation in an answer names a paper that "
    "was retrieved and is checked; when the abstracts do not answer, the answer says so (refused: true). "
    "Use `ask` for an answer, `search` to see which papers match, `paper` to read one abstract."
)
Question = Annotated[str, Field(description="The question, in plain words (at most the server's "
                                            "max_question_chars, 2000 by default). An arXiv ID in it pins "
                                            "that paper; 'papers from May 2025' limits the dates.")]
Query = Annotated[str, Field(description="What to look for: words, a topic, a method or an arXiv ID.")]
History = Annotated[list[HistoryMessage] | None, Field(
    max_length=100, description="Earlier turns of this conversation, oldest first, so that a follow-up "
                                "('and how many languages does it support?') is understood.")]
K = Annotated[int | None, Field(ge=1, le=50, description="Passages to retrieve (default 6).")]
MonthFrom = Annotated[str | None, Field(pattern=MONTH, description="Only papers from this month on (YYYY-MM).")]
MonthTo = Annotated[str | None, Field(pattern=MONTH, description="Only papers up to this month (YYYY-MM).")]
Category = Annotated[str | None, Field(max_length=40, description="Only papers in this arXiv category "
                                                                 "(cs.CL) or archive (cs).")]
Author = Annotated[str | None, Field(max_length=200, description="Only papers with this author (a name or part "
                                                                "of one: Lin).")]
IdOrKey = Annotated[str, Field(max_length=200, description="An arXiv ID (2505.09388), arXiv:2505.09388, an "
                                                          "arxiv.org link, or a doc: key from an answer.")]
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                            open_world_hint=False)


def one_line(error: ValidationError) -> str:
    """The first problem with the arguments: `k: Input should be less than or equal to 50`."""
    problems = error.errors()
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"]) or "arguments"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first['msg']}{more}"


class Server(MCPServer[Any]):
    """The SDK's server, with the library's errors, bad and unknown arguments as one-line tool errors."""

    async def call_tool(self, name: str, arguments: dict[str, Any],
                        context: Context[Any, Any] | None = None) -> CallToolResult | InputRequiredResult:
        schemas = {tool.name: tool.input_schema for tool in await self.list_tools()}
        known = list(schemas.get(name, {}).get("properties", {}))
        unknown = [arg for arg in arguments if known and arg not in known]
        if unknown:  # the SDK would drop it, and a filter the caller believes applied would silently not be
            raise ToolError(f"{unknown[0]}: unknown argument ({name} takes {', '.join(known)})")
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as e:
            cause = e.__cause__
            if isinstance(cause, QAError):
                raise ToolError(str(cause)) from None
            if isinstance(cause, ValidationError):
                raise ToolError(one_line(cause)) from None
            raise


def build(qa: QA) -> MCPServer[Any]:
    """The MCP server over one `QA`: its tools and resources."""
    corpus = Corpus(qa)

    @asynccontextmanager
    async def warmed(_: MCPServer[Any]) -> AsyncIterator[None]:
        # Over stdio this runs once the SDK has pointed fd 1 away from the wire, so nothing a library
        # prints while loading can corrupt the protocol.
        if not qa.store.is_empty():
            await anyio.to_thread.run_sync(lambda: qa.warm)
        yield None

    server = Server("arxiv-qa", version=version("arxiv-qa"), instructions=INSTRUCTIONS, log_level="WARNING",
                    lifespan=warmed)

    @server.tool(annotations=READ_ONLY)
    async def ask(question: Question, history: History = None, k: K = None, month_from: MonthFrom = None,
                  month_to: MonthTo = None, category: Category = None, author: Author = None) -> dict[str, Any]:
        """Answer a question from the arXiv abstracts, citing the papers it draws on.

        Returns the Answer: `answer` (text with [arXiv:ID] citations), `refused` (true when the
        abstracts do not answer: say so rather than guess), `citations` (key, arxiv_id, title, url and
        the supporting snippet of each cited paper; only these are verified), `removed_citations`
        (cited IDs that were not retrieved and were taken out), `unsupported_claims` (sentences the
        cited abstract does not back), `warnings`, and the retrieved `passages`.
        """
        return await corpus.ask(question, history or (), k, month_from, month_to, category, author)

    @server.tool(annotations=READ_ONLY)
    async def search(query: Query, k: K = None, month_from: MonthFrom = None, month_to: MonthTo = None,
                     category: Category = None, author: Author = None) -> dict[str, Any]:
        """Find the papers that best match a query (hybrid BM25 and dense search), without composing an answer.

        Returns `papers` in rank order, each with key, arxiv_id, title, url, score and the matching
        `snippets` of its abstract, and `not_in_corpus` for arXiv IDs in the query that are not stored.
        """
        return await corpus.search(query, k, month_from, month_to, category, author)

    @server.tool(annotations=READ_ONLY)
    async def paper(id_or_key: IdOrKey) -> dict[str, Any]:
        """One paper's metadata and full abstract: title, authors, categories, created date, comments,
        arxiv.org url, and its differing abstract texts (`variants`) when sources disagree."""
        return await corpus.paper(id_or_key)

    @server.resource("paper://{+key}", name="paper", mime_type="application/json",
                     description="A stored paper as JSON, e.g. paper://arXiv:2505.09388 or paper://doc:<12 hex>.")
    async def paper_resource(key: str) -> str:
        return json.dumps(await _resource(corpus.paper(key)), ensure_ascii=False)

    @server.resource("arxiv-qa://stats", name="corpus stats", mime_type="application/json",
                     description="Papers, arXiv IDs, chunks and variants in the store (as `arxiv-qa stats --json`).")
    async def stats_resource() -> str:
        return json.dumps(await _resource(corpus.stats()))

    return server


async def _resource(pending: Any) -> dict[str, Any]:
    """A resource's data; a library error becomes the SDK's resource error with the same one line."""
    try:
        result: dict[str, Any] = await pending
        return result
    except QAError as e:
        raise ResourceError(str(e)) from None


class TokenFirst:
    """401 for any HTTP request without the right bearer token (when one is set), before it is read."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and self.token is not None
                and not bearer_ok(header(scope, b"authorization"), self.token)):
            await refuse(send, 401, BEARER_ERROR, {"WWW-Authenticate": "Bearer"})
            return
        await self.app(scope, receive, send)


def is_loopback(host: str) -> bool:
    """Is `host` an address only this machine can reach?"""
    try:
        return host.lower() == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


BACKLOG = 2048  # uvicorn's own


def listen(host: str, port: int) -> socket.socket:
    """The HTTP socket, bound before the models load so a taken port fails at once (QAError, exit 1)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        raise QAError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    return sock


def run(settings: Settings, http: bool = False, host: str = "127.0.0.1", port: int = 8765,
        out: TextIO = sys.stderr) -> None:
    """Serve the MCP server over stdio, or over streamable HTTP at http://host:port/mcp, until stopped."""
    token = settings.secret("api_token")
    if http and token is None and not is_loopback(host):
        raise BadInput(f"refusing to serve {host} without a token: set ARXIV_QA_API_TOKEN")
    sock = listen(host, port) if http else None
    qa = QA(settings, Store(settings))
    qa.resolve_mode(None)  # a bad mode setting fails now, not on the first question
    server = build(qa)  # loads the models as it starts, before the first question
    if sock is None:
        server.run("stdio")
        return
    if not qa.store.is_empty():
        qa.warm  # noqa: B018  (the models load before the server listens, not in the first session)
    app = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host,
                                     max_request_body_size=settings.max_body_bytes)
    shown = f"[{host}]" if ":" in host else host
    sock.listen(BACKLOG)  # connections made once the URL is printed queue until uvicorn accepts them
    out.write(f"arxiv-qa: MCP on http://{shown}:{sock.getsockname()[1]}{MCP_PATH} (Ctrl-C stops)\n")
    out.flush()
    config = uvicorn.Config(TokenFirst(app, token), log_level="warning", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])
