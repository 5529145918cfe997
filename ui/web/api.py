"""The HTTP API served beside the chat: POST /api/ask, GET /api/stats, GET /api/bibtex, GET /api/similar,
GET /api/healthz.

Requests are validated by pydantic models; every error is a JSON object {"error": "<one line>"}:
422 for a malformed request (or a body that cannot be decoded, or a malformed paper key), 400 for
input the library refuses (`BadInput`), 401 without the bearer token (when ARXIV_QA_API_TOKEN is
set), 404 for an unknown route or a paper key that names no paper (`NotFound`), 413 for a body
over `max_body_bytes`, 502 when the LLM endpoint fails, 503 when the store does. Answers are
computed in worker threads, extractive and LLM answers each by their own (`concurrency_limit`,
`llm_concurrency`); further requests wait for a free worker rather than fail.
"""

from __future__ import annotations

import logging
from functools import partial
from secrets import compare_digest
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.answer.chat import Message
from qa.answer.engine import QA
from qa.errors import BadInput, LLMError, NotFound, QAError, StoreError
from qa.index.bibtex import bibtex, parse_keys
from qa.index.similar import similar_papers
from qa.papers import paper_key
from qa.settings import MAX_K
from ui.web.inputs import month_range
from ui.web.workers import Workers

log = logging.getLogger("arxiv_qa.api")
MONTH = r"^\d{4}-\d{2}$"
BIBTEX_TYPE = "application/x-bibtex"


class HistoryMessage(BaseModel):
    """One earlier turn of the conversation."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AskRequest(BaseModel):
    """A question, and optionally the conversation so far and search options."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "What model sizes does the Qwen3 Embedding series come in?"},
        {"question": "And how many languages does it support?", "k": 6, "mode": "extractive", "history": [
            {"role": "user", "content": "What is Qwen3?"},
            {"role": "assistant", "content": "Qwen3 is the latest Qwen model family. [arXiv:2505.09388]"},
        ]},
    ]})
    question: str = Field(min_length=1, description="The question (the server's max_question_chars applies).")
    history: list[HistoryMessage] = Field(default_factory=list, max_length=100,
                                          description="Earlier turns, oldest first: follow-ups use them.")
    k: int | None = Field(None, ge=1, le=MAX_K, strict=True, description="Passages to retrieve (default: server's).")
    mode: Literal["auto", "extractive", "llm"] | None = Field(None, description="Answerer (default: server's).")
    month_from: str | None = Field(None, pattern=MONTH, description="Only papers from this month on (YYYY-MM).")
    month_to: str | None = Field(None, pattern=MONTH, description="Only papers up to this month (YYYY-MM).")
    category: str | None = Field(None, max_length=40, description="Only papers in this arXiv category (cs.CL) "
                                 "or archive (cs).")
    author: str | None = Field(None, max_length=200, description="Only papers with this author (a name or part "
                               "of one, on word boundaries: Lin).")


class CitationOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    key: str
    arxiv_id: str | None
    title: str | None
    url: str | None = Field(description="https://arxiv.org/abs/<id>; null for a doc: key (no arXiv ID).")
    snippet: str
    title_guessed: bool = Field(False, description="True when `title` is a label guessed from the abstract.")
    authors: list[str] = Field(default_factory=list)
    published: str | None = Field(None, description="First version (YYYY-MM-DD), when known.")
    updated: str | None = Field(None, description="Last version (YYYY-MM-DD), when known.")
    versions: int | None = None
    categories: list[str] = Field(default_factory=list, description="arXiv categories, the primary one first.")
    doi: str | None = None
    journal_ref: str | None = None


class UnsupportedClaimOut(BaseModel):
    sentence: str = Field(description="The sentence of the answer, its citation included.")
    key: str = Field(description="The cited paper the sentence was checked against.")
    support: float = Field(ge=0, le=1, description="Lexical and embedding support by the cited text "
                                                   "(0 when it states a number that text does not).")


class FiltersOut(BaseModel):
    arxiv_ids: list[str] = Field(description="arXiv IDs the question named: the search kept to those papers.")
    month_from: str | None = Field(description="First month searched (YYYY-MM); null: no lower limit.")
    month_to: str | None = Field(description="Last month searched (YYYY-MM); null: no upper limit.")
    categories: list[str] = Field(default_factory=list, description="Only papers in one of these categories.")
    authors: list[str] = Field(default_factory=list, description="Only papers with all of these authors.")


class AnswerOut(BaseModel):
    """The Answer JSON (the same as `arxiv-qa ask --json`)."""

    model_config = ConfigDict(extra="allow")
    question: str
    answer: str
    refused: bool
    mode: str
    citations: list[CitationOut]
    passages: list[dict[str, Any]]
    timings: dict[str, float]
    standalone_question: str | None
    warnings: list[str]
    model: str | None
    unsupported_claims: list[UnsupportedClaimOut] = Field(
        default_factory=list, description="LLM answers: cited sentences the cited abstract does not support.")
    filters: FiltersOut | None = Field(
        None, description="What the search was limited to (the month fields or IDs named in the question); "
                          "null when it searched every paper.")


class ErrorOut(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": why} for code, why in [
        (400, "The question or an option cannot be used"), (401, "Missing or wrong bearer token"),
        (413, "Request body too large"), (422, "Malformed request"), (502, "The LLM endpoint failed"),
        (503, "The store is unavailable"),
    ]
}


def status_of(error: QAError) -> int:
    """The HTTP status of a library error."""
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, BadInput):
        return 400
    if isinstance(error, LLMError):
        return 502
    if isinstance(error, StoreError):
        return 503
    return 500


BEARER = HTTPBearer(auto_error=False, description="ARXIV_QA_API_TOKEN, when the server sets one.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def bearer_guard(token: str | None) -> Any:
    """A dependency requiring `Authorization: Bearer <token>` (nothing when no token is configured)."""

    def check(credentials: Credentials) -> None:
        if token is None:
            return
        given = credentials.credentials if credentials else ""
        if not compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "missing or wrong bearer token (Authorization: Bearer <token>)",
                                headers={"WWW-Authenticate": "Bearer"})

    return Depends(check)


def api_router(qa: QA, workers: Workers | None = None) -> APIRouter:
    """The /api routes over one warm `QA`."""
    token = qa.settings.secret("api_token")
    workers = workers or Workers(qa)
    router = APIRouter(prefix="/api", tags=["arxiv-qa"], responses=ERRORS)
    guarded = [bearer_guard(token)]

    @router.post("/ask", response_model=AnswerOut, dependencies=guarded)
    async def ask(request: AskRequest) -> dict[str, Any]:
        """Answer a question from the abstracts; every citation names a retrieved paper."""
        months = month_range(request.month_from, request.month_to)
        history = [Message(role=m.role, content=m.content) for m in request.history]
        run = partial(qa.ask, request.question, history, request.k, request.mode, months,
                      category=request.category, author=request.author)
        answer = await anyio.to_thread.run_sync(run, limiter=workers.for_mode(request.mode))
        return answer.to_dict()

    @router.get("/stats", dependencies=guarded)
    async def stats() -> dict[str, Any]:
        """Papers, IDs, chunks and variants in the store (as `arxiv-qa stats --json`)."""
        figures: dict[str, Any] = await anyio.to_thread.run_sync(qa.store.stats)
        return figures

    @router.get("/bibtex", dependencies=guarded, response_class=PlainTextResponse,
                responses={200: {"content": {BIBTEX_TYPE: {}}, "description": "One @misc entry per paper"},
                           404: {"model": ErrorOut, "description": "A key names no paper in the store"}})
    async def bibtex_of(keys: Annotated[str, Query(
            max_length=2000, description="Comma-separated arXiv IDs or doc: keys, e.g. 2505.09388,arXiv:2506.05176",
            examples=["2505.09388,arXiv:2506.05176"])]) -> PlainTextResponse:
        """BibTeX of papers in the store, in arXiv's @misc form (eprint, archivePrefix, primaryClass when known)."""
        try:
            parsed = parse_keys(keys)
        except BadInput as e:  # a malformed key is a malformed request, as a bad field of /ask is
            raise HTTPException(422, str(e)) from None
        text = await anyio.to_thread.run_sync(bibtex, qa.store, parsed)
        return PlainTextResponse(text, media_type=BIBTEX_TYPE)

    @router.get("/similar", dependencies=guarded,
                responses={404: {"model": ErrorOut, "description": "The key names no paper in the store"}})
    async def similar(key: Annotated[str, Query(max_length=200, description="An arXiv ID or doc: key",
                                                examples=["2505.09388"])],
                      k: Annotated[int, Query(ge=1, le=MAX_K, description="How many papers")] = 5) -> dict[str, Any]:
        """The stored papers most like one paper (by their embedded abstracts), most similar first."""
        try:
            wanted = paper_key(key)
        except BadInput as e:
            raise HTTPException(422, str(e)) from None
        found = await anyio.to_thread.run_sync(similar_papers, qa.store, wanted, k)
        return {"key": wanted, "similar": [p.to_dict() for p in found]}

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the server is up (needs no token)."""
        return {"status": "ok"}

    known = {route.path for route in router.routes if hasattr(route, "path")}

    @router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                      include_in_schema=False)
    async def unknown(request: Request, rest: str) -> None:
        if request.url.path in known:
            raise HTTPException(405, f"{request.method} is not allowed on {request.url.path}")
        raise HTTPException(404, f"no such route: {request.url.path} (see /docs)")

    return router


def one_line(error: RequestValidationError) -> str:
    """The first validation problem, as one line: `question: Field required`."""
    problems = error.errors()
    first = problems[0] if problems else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request body"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


UNPARSABLE = "There was an error parsing the body"


def install_error_handlers(app: FastAPI) -> None:
    """Every error of the API as {"error": "<one line>"}, never a traceback."""

    async def library_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, QAError)
        return JSONResponse({"error": str(exc)}, status_code=status_of(exc))

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"error": one_line(exc)}, status_code=422)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.detail == UNPARSABLE:  # FastAPI's answer to undecodable bytes
            return JSONResponse({"error": "request body: not valid UTF-8 JSON"}, status_code=422)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s", request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal error; see the server log"}, status_code=500)

    app.add_exception_handler(QAError, library_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
